"""Every public name of TF 1.15's tf.contrib.layers, walked on TF 2 after install().

The names come from contrib_bn.compat.contrib_layers_names (TF 1.15.5's own
list, checked under TF 1.15 by compat_tests/test_contrib_layers_names.py).
For each, install() must serve something that builds and runs in
`tf.compat.v1` graph mode, or raise the documented error: `pip install
tf-slim` without tf_slim, the TF 2 replacement for names nobody provides.
Resolving is not enough: tf_slim 1.1.0 imports on Keras 3, yet a function can
still fail on its first call, so each provided name is called here with a
small recipe and its graph is run.
"""

import importlib
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from contrib_bn.compat import layers_registry as registry
from contrib_bn.compat import replacements

v1 = tf.compat.v1
_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SUBPROCESS_TIMEOUT = 300


pytestmark = pytest.mark.usefixtures('installed')


def _images(shape=(2, 6, 6, 3)):
  return tf.constant(np.linspace(-1.0, 1.0, int(np.prod(shape))).reshape(
      shape).astype(np.float32))


def _matrix():
  return tf.constant(np.linspace(-1.0, 1.0, 12).reshape(3, 4).astype(
      np.float32))


def _fc_family(name):
  return lambda layers: getattr(layers, name)(_matrix(), 5)


def _conv(name, shape, kernel):
  return lambda layers: getattr(layers, name)(_images(shape), 4, kernel)


def _pool(name, shape):
  return lambda layers: getattr(layers, name)(_images(shape), 2)


def _optimize_loss(layers):
  weights = v1.get_variable('w', [4, 1])
  loss = tf.reduce_sum(tf.matmul(_matrix(), weights) ** 2)
  return layers.optimize_loss(loss, v1.train.get_or_create_global_step(),
                              learning_rate=0.1, optimizer='SGD')


def _rev_block(layers):
  def half(x):
    return x * 0.5
  x1, x2 = tf.split(_matrix(), 2, axis=1)
  return layers.rev_block(x1, x2, half, half, num_layers=2)


def _rev_block_class(layers):
  def half(x):
    return x * 0.5
  x1, x2 = tf.split(_matrix(), 2, axis=1)
  return layers.RevBlock(half, half, num_layers=1)((x1, x2))


def _recompute_grad(layers):
  # As TF 1.15 required, the variables are created inside the function.
  @layers.recompute_grad
  def block(x):
    return tf.tanh(tf.matmul(x, v1.get_variable('w', [4, 4])))

  output = block(_matrix())
  return tf.gradients(tf.reduce_sum(output), v1.trainable_variables())


def _summaries(layers):
  module = layers.summaries
  return module.summarize_activation(tf.nn.relu(_matrix(), name='act'))


def _stack(layers):
  return layers.stack(_matrix(), layers.fully_connected, [5, 3])


def _repeat(layers):
  return layers.repeat(_images(), 2, layers.conv2d, 3, [3, 3])


def _scale_gradient(layers):
  x = _matrix()
  return tf.gradients(tf.reduce_sum(layers.scale_gradient(x, 2.0)), x)


# Name -> a call building a small graph from tf.contrib.layers; what it
# returns is run after the variables are initialized.
RECIPES = {
    'GDN': lambda layers: layers.GDN()(_images()),
    'avg_pool2d': _pool('avg_pool2d', (2, 6, 6, 3)),
    'avg_pool3d': _pool('avg_pool3d', (2, 4, 4, 4, 3)),
    'bias_add': lambda layers: layers.bias_add(_matrix()),
    'conv1d': _conv('conv1d', (2, 6, 3), 3),
    'conv2d': _conv('conv2d', (2, 6, 6, 3), 3),
    'conv2d_in_plane': lambda layers: layers.conv2d_in_plane(_images(), 3),
    'conv2d_transpose': _conv('conv2d_transpose', (2, 6, 6, 3), 3),
    'conv3d': _conv('conv3d', (2, 4, 4, 4, 3), 3),
    'conv3d_transpose': _conv('conv3d_transpose', (2, 4, 4, 4, 3), 3),
    'convolution': _conv('convolution', (2, 6, 6, 3), 3),
    'convolution1d': _conv('convolution1d', (2, 6, 3), 3),
    'convolution2d': _conv('convolution2d', (2, 6, 6, 3), 3),
    'convolution2d_in_plane': (
        lambda layers: layers.convolution2d_in_plane(_images(), 3)),
    'convolution2d_transpose': _conv('convolution2d_transpose',
                                     (2, 6, 6, 3), 3),
    'convolution3d': _conv('convolution3d', (2, 4, 4, 4, 3), 3),
    'convolution3d_transpose': _conv('convolution3d_transpose',
                                     (2, 4, 4, 4, 3), 3),
    'dense_to_sparse': lambda layers: layers.dense_to_sparse(
        tf.constant([[1, 2, 0], [3, 0, 0]])).values,
    'dropout': lambda layers: layers.dropout(_matrix(), 0.5,
                                             is_training=True),
    'elu': _fc_family('elu'),
    'flatten': lambda layers: layers.flatten(_images()),
    'fully_connected': _fc_family('fully_connected'),
    'gdn': lambda layers: layers.gdn(_images()),
    'group_norm': lambda layers: layers.group_norm(
        _images((2, 4, 4, 4)), groups=2),
    'images_to_sequence': lambda layers: layers.images_to_sequence(
        _images()),
    'instance_norm': lambda layers: layers.instance_norm(_images()),
    'layer_norm': lambda layers: layers.layer_norm(_images()),
    'legacy_fully_connected': lambda layers: layers.legacy_fully_connected(
        _matrix(), 5),
    'legacy_linear': lambda layers: layers.legacy_linear(_matrix(), 5),
    'legacy_relu': lambda layers: layers.legacy_relu(_matrix(), 5),
    'linear': _fc_family('linear'),
    'max_pool2d': _pool('max_pool2d', (2, 6, 6, 3)),
    'max_pool3d': _pool('max_pool3d', (2, 4, 4, 4, 3)),
    'maxout': lambda layers: layers.maxout(_images((2, 3, 3, 4)), 2),
    'one_hot_encoding': lambda layers: layers.one_hot_encoding(
        tf.constant([0, 2, 1]), 3),
    'optimize_loss': _optimize_loss,
    'recompute_grad': _recompute_grad,
    'relu': _fc_family('relu'),
    'relu6': _fc_family('relu6'),
    'repeat': _repeat,
    'rev_block': _rev_block,
    'RevBlock': _rev_block_class,
    'scale_gradient': _scale_gradient,
    'separable_conv2d': lambda layers: layers.separable_conv2d(
        _images(), 4, 3, 1),
    'separable_convolution2d': lambda layers: layers.separable_convolution2d(
        _images(), 4, 3, 1),
    'sequence_to_images': lambda layers: layers.sequence_to_images(
        _images((6, 2, 3)), 2),
    'softmax': lambda layers: layers.softmax(_matrix()),
    'spatial_softmax': lambda layers: layers.spatial_softmax(_images()),
    'stack': _stack,
    'summaries': _summaries,
    'summarize_activation': lambda layers: layers.summarize_activation(
        tf.nn.relu(_matrix(), name='act')),
    'summarize_activations': lambda layers: (
        v1.add_to_collection('activations', _matrix()),
        layers.summarize_activations())[1],
    'summarize_collection': lambda layers: (
        v1.add_to_collection('c', _matrix()),
        layers.summarize_collection('c'))[1],
    'summarize_tensor': lambda layers: layers.summarize_tensor(_matrix()),
    'summarize_tensors': lambda layers: layers.summarize_tensors(
        [_matrix(), tf.reduce_sum(_matrix())]),
    'unit_norm': lambda layers: layers.unit_norm(_matrix(), 1),
    # contrib_bn's own: tests/test_contrib_layers.py and the goldens compare
    # them with TF 1.15; here they only have to run.
    'batch_norm': lambda layers: layers.batch_norm(_images(),
                                                   is_training=True),
    'xavier_initializer': lambda layers: layers.xavier_initializer()([3, 3]),
    'xavier_initializer_conv2d': (
        lambda layers: layers.xavier_initializer_conv2d()([3, 3, 2, 2])),
    'variance_scaling_initializer': (
        lambda layers: layers.variance_scaling_initializer()([3, 3])),
    'l1_regularizer': lambda layers: layers.l1_regularizer(0.5)(_matrix()),
    'l2_regularizer': lambda layers: layers.l2_regularizer(0.5)(_matrix()),
    'l1_l2_regularizer': lambda layers: layers.l1_l2_regularizer()(
        _matrix()),
    'sum_regularizer': lambda layers: layers.sum_regularizer(
        [layers.l1_regularizer(0.5)])(_matrix()),
    'apply_regularization': lambda layers: layers.apply_regularization(
        layers.l1_regularizer(0.5), [_matrix()]),
}

# Values, not functions: what TF 1.15.5 had.
CONSTANTS = {
    'OPTIMIZER_CLS_NAMES': lambda value: sorted(value) == [
        'Adagrad', 'Adam', 'Ftrl', 'Momentum', 'RMSProp', 'SGD'],
    'OPTIMIZER_SUMMARIES': lambda value: sorted(value) == [
        'global_gradient_norm', 'gradient_norm', 'gradients', 'learning_rate',
        'loss'],
}


def test_every_public_name_has_one_verdict():
  provided = set(registry.provided_names())
  assert provided | set(registry.UNPROVIDED) == set(registry.PUBLIC_NAMES)
  assert not provided & set(registry.UNPROVIDED)
  assert set(RECIPES) | set(CONSTANTS) == provided
  assert len(registry.PUBLIC_NAMES) == 98


def _run(fetch):
  with v1.Session() as session:
    session.run(v1.global_variables_initializer())
    return session.run(fetch)


def _finite(value):
  for leaf in tf.nest.flatten(value):
    if leaf is None:
      continue
    leaf = np.asarray(leaf)
    if leaf.dtype.kind in 'fc':
      assert np.all(np.isfinite(leaf))


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_provided_name_builds_and_runs_in_graph_mode(name):
  layers = tf.compat.v1.contrib.layers
  graph = tf.Graph()
  with graph.as_default():
    v1.set_random_seed(1)
    fetch = RECIPES[name](layers)
    assert fetch is not None, name
    _finite(_run(fetch))
  if registry.provider(name) == registry.TF_SLIM:
    assert getattr(layers, name) is registry.resolve(name)
    from tensorflow.contrib.layers import python as legacy  # pylint: disable=g-import-not-at-top
    assert getattr(legacy.layers, name) is registry.resolve(name)


@pytest.mark.parametrize('name', sorted(CONSTANTS))
def test_constants_hold_tf1_values(name):
  assert CONSTANTS[name](getattr(tf.compat.v1.contrib.layers, name))


@pytest.mark.parametrize('name', registry.PUBLIC_NAMES)
def test_name_imports_or_raises_documented_error(name):
  namespace = importlib.import_module('tensorflow.contrib.layers')
  dotted = 'tf.contrib.layers.' + name
  if registry.provider(name) is not None:
    module = {}
    exec('from tensorflow.contrib.layers import %s as value' % name, module)  # pylint: disable=exec-used
    assert module['value'] is getattr(namespace, name) is getattr(
        tf.contrib.layers, name)
    return
  replacement = replacements.REPLACEMENTS[dotted]
  with pytest.raises(AttributeError) as info:
    getattr(tf.contrib.layers, name)
  assert str(info.value).startswith(dotted + ' is not available')
  assert str(info.value).endswith('On TF 2.x use %s.' % replacement)
  with pytest.raises(ImportError) as info:
    exec('from tensorflow.contrib.layers import %s' % name, {})  # pylint: disable=exec-used
  assert 'On TF 2.x use %s.' % replacement in str(info.value)


@pytest.mark.parametrize('name', registry.UNPROVIDED)
def test_replacement_exists_on_tf2(name):
  text = replacements.REPLACEMENTS['tf.contrib.layers.' + name]
  value = tf
  for part in text.split()[0].split('.')[1:]:
    value = getattr(value, part)
  assert value is not None


@pytest.mark.parametrize('home', ['layers', 'normalization', 'optimizers',
                                  'rev_block_lib', 'summaries',
                                  'initializers', 'regularizers'])
def test_legacy_module_paths_hold_their_names(home):
  from contrib_bn.compat import contrib_layers_names  # pylint: disable=g-import-not-at-top
  module = importlib.import_module(
      'tensorflow.contrib.layers.python.layers.' + home)
  names = contrib_layers_names.HOMES[home]
  assert names
  for name in names:
    assert getattr(module, name) is getattr(tf.contrib.layers, name), name


_WITHOUT_SLIM = textwrap.dedent("""
    import sys

    class HideSlim(object):
      def find_spec(self, name, path=None, target=None):
        if name == 'tf_slim' or name.startswith('tf_slim.'):
          raise ModuleNotFoundError('hidden for the test', name=name)
        return None

    sys.meta_path.insert(0, HideSlim())
    import tensorflow.compat.v1 as tf
    import contrib_bn
    from contrib_bn.compat import layers_registry as registry
    contrib_bn.install()
    from tensorflow.contrib.layers import batch_norm, xavier_initializer
    raised = 0
    for name in registry.provided_names(registry.TF_SLIM):
      for how in ('attribute', 'from', 'legacy'):
        try:
          if how == 'attribute':
            getattr(tf.contrib.layers, name)
          elif how == 'from':
            exec('from tensorflow.contrib.layers import ' + name, {})
          else:
            exec('from tensorflow.contrib.layers.python.layers import ' +
                 name, {})
        except ImportError as error:
          assert 'pip install tf-slim' in str(error), (name, str(error))
          assert name in str(error), (name, str(error))
          raised += 1
        else:
          raise AssertionError(name + ' resolved without tf_slim')
    print('raised %d' % raised)
""")


def test_without_tf_slim_its_names_say_pip_install():
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', PYTHONPATH=_REPO)
  result = subprocess.run(
      [sys.executable, '-c', _WITHOUT_SLIM], cwd=_REPO, env=env,
      capture_output=True, text=True, timeout=_SUBPROCESS_TIMEOUT,
      check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  expected = 3 * len(registry.provided_names(registry.TF_SLIM))
  assert 'raised %d' % expected in result.stdout
