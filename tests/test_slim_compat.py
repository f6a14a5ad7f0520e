"""install() repairs tf_slim and serves batch_norm's tf.contrib neighbourhood.

Covers: tf_slim's batch_norm names and both arg_scope implementations, the
`tensorflow.contrib.slim` import paths, the ImportError without tf_slim, the
legacy `tensorflow.contrib.*.python.*` module paths, and the replacement
hints in the errors of names contrib_bn does not provide.
"""

import importlib
import os
import subprocess
import sys
import textwrap
import types

import pytest
import tensorflow as tf

import contrib_bn

installer = importlib.import_module('contrib_bn.compat.install')
slim_support = importlib.import_module('contrib_bn.compat.slim')
replacements = importlib.import_module('contrib_bn.compat.replacements')
contrib_layers = importlib.import_module('contrib_bn.compat.contrib_layers')
layer = importlib.import_module('contrib_bn.compat.scoped_layer')
scoping = importlib.import_module('contrib_bn.compat.arg_scope')

tf_slim = pytest.importorskip(
    'tf_slim', reason='tf-slim is in the test extra: pip install .[test]')

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SUBPROCESS_TIMEOUT = 300

_SLIM_MODULES = ('tf_slim', 'tf_slim.layers', 'tf_slim.layers.layers')
v1 = tf.compat.v1


@pytest.fixture(autouse=True)
def not_installed():
  installer.uninstall()
  yield
  installer.uninstall()


def _slim_batch_norms():
  return [sys.modules[name].batch_norm for name in _SLIM_MODULES]


def _variables_of(build):
  graph = tf.Graph()
  with graph.as_default():
    build(v1.placeholder(tf.float32, [2, 8, 8, 3]))
    return sorted(v.op.name for v in v1.global_variables())


def test_install_rebinds_every_slim_name_and_uninstall_restores():
  originals = _slim_batch_norms()
  assert all(f is originals[0] for f in originals)
  assert originals[0].__module__ == 'tf_slim.layers.layers'
  contrib_bn.install()
  replaced = _slim_batch_norms()
  assert all(f is slim_support.slim_batch_norm() for f in replaced)
  assert tf.contrib.slim is tf_slim
  contrib_bn.uninstall()
  assert _slim_batch_norms() == originals


def test_slim_arg_scope_applies_to_repaired_batch_norm():
  contrib_bn.install()

  def build(images):
    with tf_slim.arg_scope([tf_slim.batch_norm], scale=True,
                           is_training=False):
      tf_slim.batch_norm(images, scope='scoped')
    tf_slim.batch_norm(images, scope='plain')

  names = _variables_of(build)
  assert 'scoped/gamma' in names
  assert 'plain/gamma' not in names
  assert 'plain/beta' in names


@pytest.mark.parametrize('listed', ['slim', 'contrib_bn', 'tf.contrib'])
@pytest.mark.parametrize('scope_impl', ['slim', 'contrib_bn'])
def test_either_arg_scope_with_either_function(listed, scope_impl):
  contrib_bn.install()
  function = {'slim': tf_slim.batch_norm, 'contrib_bn': layer.batch_norm,
              'tf.contrib': tf.contrib.layers.batch_norm}[listed]
  scope = {'slim': tf_slim.arg_scope, 'contrib_bn': scoping.arg_scope}[
      scope_impl]

  def build(images):
    with scope([function], scale=True):
      tf_slim.batch_norm(images)

  assert 'BatchNorm/gamma' in _variables_of(build)


def test_slim_scope_wins_over_contrib_bn_scope_and_call_wins_over_both():
  contrib_bn.install()

  def build(images):
    with scoping.arg_scope([layer.batch_norm], scale=False, center=False):
      with tf_slim.arg_scope([tf_slim.batch_norm], scale=True):
        tf_slim.batch_norm(images, scope='a')
        tf_slim.batch_norm(images, scale=False, scope='b')

  names = _variables_of(build)
  assert 'a/gamma' in names and 'a/beta' not in names
  assert 'b/gamma' not in names


def test_normalizer_fn_in_slim_conv2d():
  contrib_bn.install()

  def build(images):
    with tf_slim.arg_scope([tf_slim.conv2d], normalizer_fn=tf_slim.batch_norm,
                           normalizer_params={'scale': True}):
      tf_slim.conv2d(images, 4, [3, 3], scope='conv')

  assert _variables_of(build) == [
      'conv/BatchNorm/beta', 'conv/BatchNorm/gamma',
      'conv/BatchNorm/moving_mean', 'conv/BatchNorm/moving_variance',
      'conv/weights']


def test_slim_arg_scoped_arguments_are_batch_norms():
  contrib_bn.install()
  assert tf_slim.has_arg_scope(tf_slim.batch_norm)
  # tf_slim derives the names from code-object offsets (TF1's method, which
  # misses some); the registration is contrib_bn's function's.
  arguments = tf_slim.arg_scoped_arguments(tf_slim.batch_norm)
  assert 'is_training' in arguments and 'zero_debias_moving_mean' in arguments


def test_contrib_slim_import_paths():
  contrib_bn.install()
  import tensorflow.contrib.slim as slim  # pylint: disable=g-import-not-at-top
  from tensorflow.contrib import slim as slim_from  # pylint: disable=g-import-not-at-top
  from tensorflow.contrib.slim.nets import resnet_v1  # pylint: disable=g-import-not-at-top
  from tensorflow.contrib.slim import nets  # pylint: disable=g-import-not-at-top
  import tensorflow.contrib.slim.nets.inception_v3 as inception_v3  # pylint: disable=g-import-not-at-top
  import tf_slim.nets  # pylint: disable=g-import-not-at-top
  assert slim is tf_slim and slim_from is tf_slim
  assert nets is tf_slim.nets
  assert resnet_v1 is tf_slim.nets.resnet_v1
  assert inception_v3 is sys.modules['tf_slim.nets.inception_v3']
  assert v1.contrib.slim.batch_norm is slim_support.slim_batch_norm()
  contrib_bn.uninstall()
  assert not any(name.startswith('tensorflow.contrib')
                 for name in sys.modules)


_IMPORT_ORDER = textwrap.dedent("""
    import sys
    import tensorflow.compat.v1 as tf
    tf.disable_eager_execution()
    import contrib_bn
    if {slim_first}:
      import tf_slim as slim
      from tf_slim.nets import resnet_v1
      contrib_bn.install()
    else:
      contrib_bn.install()
      import tf_slim as slim
      from tf_slim.nets import resnet_v1
    with slim.arg_scope(resnet_v1.resnet_arg_scope()):
      blocks = [resnet_v1.resnet_v1_block('block1', base_depth=2,
                                          num_units=1, stride=1)]
      resnet_v1.resnet_v1(tf.placeholder(tf.float32, [2, 16, 16, 3]), blocks,
                          num_classes=3, is_training=True, scope='net')
    names = [v.op.name for v in tf.global_variables()]
    assert 'net/conv1/BatchNorm/moving_mean' in names, names
    moving_means = [n for n in names if n.endswith('/moving_mean')]
    assert len(moving_means) == 5, moving_means
    assert len(tf.get_collection(tf.GraphKeys.UPDATE_OPS)) == 10
    print('built %d variables' % len(names))
""")


@pytest.mark.parametrize('slim_first', [True, False],
                         ids=['slim_imported_first', 'install_first'])
def test_nets_build_whatever_the_import_order(slim_first):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', PYTHONPATH=_REPO)
  result = subprocess.run(
      [sys.executable, '-c', _IMPORT_ORDER.format(slim_first=slim_first)],
      cwd=_REPO, env=env, capture_output=True, text=True,
      timeout=_SUBPROCESS_TIMEOUT, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'built' in result.stdout


_WITHOUT_SLIM = textwrap.dedent("""
    import importlib, sys

    class HideSlim(object):
      def find_spec(self, name, path=None, target=None):
        if name == 'tf_slim' or name.startswith('tf_slim.'):
          raise ModuleNotFoundError('hidden for the test', name=name)
        return None

    sys.meta_path.insert(0, HideSlim())
    import tensorflow.compat.v1 as tf
    import contrib_bn
    contrib_bn.install()
    failures = []
    def expect_import_error(what, action):
      try:
        action()
      except ImportError as error:
        assert 'pip install tf-slim' in str(error), (what, str(error))
        failures.append(what)
      else:
        raise AssertionError(what + ' did not raise')
    expect_import_error('attribute', lambda: tf.contrib.slim)
    expect_import_error('import', lambda: importlib.import_module(
        'tensorflow.contrib.slim'))
    expect_import_error('nets', lambda: importlib.import_module(
        'tensorflow.contrib.slim.nets'))
    def from_import():
      from tensorflow.contrib import slim
    expect_import_error('from', from_import)
    assert tf.contrib.layers.xavier_initializer is not None
    assert 'slim' not in dir(tf.contrib)
    print('raised: ' + ' '.join(failures))
""")


def test_without_tf_slim_names_say_pip_install():
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', PYTHONPATH=_REPO)
  result = subprocess.run(
      [sys.executable, '-c', _WITHOUT_SLIM], cwd=_REPO, env=env,
      capture_output=True, text=True, timeout=_SUBPROCESS_TIMEOUT,
      check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'raised: attribute import nets from' in result.stdout


def test_repair_without_tf_slim_raises(monkeypatch):
  monkeypatch.setattr(slim_support, 'is_available', lambda: False)
  with pytest.raises(ImportError, match='pip install tf-slim'):
    slim_support.repair()


# Legacy module paths of TF 1.15 and what each must hold.
_LEGACY = {
    'tensorflow.contrib.layers.python.layers': (
        ['batch_norm', 'xavier_initializer', 'l2_regularizer',
         'apply_regularization']),
    'tensorflow.contrib.layers.python.layers.layers': ['batch_norm'],
    'tensorflow.contrib.layers.python.layers.initializers': (
        ['xavier_initializer', 'xavier_initializer_conv2d',
         'variance_scaling_initializer']),
    'tensorflow.contrib.layers.python.layers.regularizers': (
        ['l1_regularizer', 'l2_regularizer', 'l1_l2_regularizer',
         'sum_regularizer', 'apply_regularization']),
    'tensorflow.contrib.framework.python.ops': (
        ['arg_scope', 'add_arg_scope', 'current_arg_scope', 'has_arg_scope']),
    'tensorflow.contrib.framework.python.ops.arg_scope': (
        ['arg_scope', 'add_arg_scope', 'current_arg_scope',
         'arg_scoped_arguments']),
}


@pytest.mark.parametrize('module_name', sorted(_LEGACY))
def test_legacy_module_paths_import(module_name):
  contrib_bn.install()
  module = importlib.import_module(module_name)
  for name in _LEGACY[module_name]:
    expected = (getattr(scoping, name) if 'framework' in module_name else
                layer.batch_norm if name == 'batch_norm' else
                getattr(contrib_layers, name))
    assert getattr(module, name) is expected, name
  contrib_bn.uninstall()
  with pytest.raises(ImportError):
    importlib.import_module(module_name)


def test_legacy_code_builds_through_every_import_path():
  contrib_bn.install()
  # pylint: disable=g-import-not-at-top
  from tensorflow.contrib.layers.python import layers as tf_layers
  from tensorflow.contrib.layers.python.layers import initializers
  from tensorflow.contrib.layers.python.layers import regularizers
  from tensorflow.contrib.framework.python.ops import arg_scope
  from tensorflow.contrib import layers, framework
  # pylint: enable=g-import-not-at-top
  graph = tf.Graph()
  with graph.as_default():
    images = v1.placeholder(tf.float32, [2, 4, 4, 3])
    kernel = v1.get_variable(
        'kernel', [3, 3, 3, 5],
        initializer=initializers.xavier_initializer_conv2d(seed=1),
        regularizer=regularizers.l2_regularizer(1e-4))
    net = tf.nn.conv2d(images, kernel, [1, 1, 1, 1], 'SAME')
    with arg_scope([tf_layers.batch_norm], scale=True):
      net = tf_layers.batch_norm(net, is_training=True)
    with framework.arg_scope([layers.batch_norm], center=False):
      net = layers.batch_norm(net, scope='second')
    penalty = layers.apply_regularization(layers.l1_regularizer(1e-5),
                                          [kernel])
    names = [v.op.name for v in v1.global_variables()]
    losses = v1.get_collection(v1.GraphKeys.REGULARIZATION_LOSSES)
  assert 'BatchNorm/gamma' in names and 'second/beta' not in names
  assert penalty.op.name == 'get_regularization_penalty'
  # The kernel's l2 penalty from get_variable, and the applied l1 penalty.
  assert len(losses) == 2 and losses[-1] is penalty


# The tf.contrib names with a replacement; those of tf.layers (refused by
# TensorFlow with Keras 3, not by install()) are built in
# tests/test_scan_programs.py.
_CONTRIB_REPLACEMENTS = sorted(n for n in replacements.REPLACEMENTS
                               if n.startswith('tf.contrib.'))


@pytest.mark.parametrize('dotted', _CONTRIB_REPLACEMENTS)
def test_replacement_named_in_error(dotted):
  contrib_bn.install()
  *parents, name = dotted.split('.')[2:]
  namespace = tf.contrib
  with pytest.raises(AttributeError) as info:
    for parent in parents:
      namespace = getattr(namespace, parent)
    getattr(namespace, name)
  message = str(info.value)
  assert 'is not available' in message
  replacement = replacements.REPLACEMENTS[dotted]
  if message.startswith(dotted + ' '):
    assert message.endswith(' On TF 2.x use %s.' % replacement)
  else:
    # The whole module is missing (tf.contrib.metrics): its error lists
    # where each of its common names went.
    assert '%s -> %s' % (dotted, replacement) in message


def _resolve(path):
  root, *rest = path.split('.')
  obj = {'tf_slim': tf_slim, 'tf': tf}[root]
  for part in rest:
    obj = getattr(obj, part)
  return obj


@pytest.mark.parametrize('dotted', _CONTRIB_REPLACEMENTS)
def test_named_replacement_exists_on_tf2(dotted):
  text = replacements.REPLACEMENTS[dotted]
  if text.startswith('no single TF 2 function'):
    # The text names the streaming variant it warns about.
    target = 'tf.compat.v1.metrics.accuracy'
  else:
    target = text.split()[0]
  found = _resolve(target)
  # tf.contrib.layers.feature_column was a module; its replacement is one.
  assert callable(found) or isinstance(found, types.ModuleType), target


def test_legacy_path_names_get_the_public_names_hint():
  contrib_bn.install()
  module = importlib.import_module('tensorflow.contrib.layers.python.layers')
  assert module.conv2d is tf.contrib.layers.conv2d
  with pytest.raises(AttributeError,
                     match='use tf.compat.v1.nn.embedding_lookup on'):
    module.embed_sequence  # pylint: disable=pointless-statement


@pytest.mark.parametrize('path', ['rnn', 'layers.batch_norm_v2', 'learn',
                                  'framework.arg_scoped_arguments'])
def test_names_without_replacement_get_no_hint(path):
  contrib_bn.install()
  namespace = tf.contrib
  *parents, name = path.split('.')
  with pytest.raises(AttributeError) as info:
    for parent in parents:
      namespace = getattr(namespace, parent)
    getattr(namespace, name)
  assert 'is not available' in str(info.value)
  assert 'On TF 2.x use' not in str(info.value)
