"""`contrib_bn.inference_mode()`: every batch norm built in it is static.

Each internal path is built twice, once with an `is_training` placeholder
inside the mode and once with a Python False outside it; the layer's ops
must be the same, name for name and type for type. Bad `is_training`
values must fail inside the mode exactly as they fail outside it (TF 1.15's
errors). The switch's reach (nesting, graphs, threads) is checked on
`_inference_mode.active()`, which later layers consult.
"""

import importlib
import re
import threading

import numpy as np
import pytest
import tensorflow as tf

import contrib_bn
from contrib_bn import _inference_mode

v1 = tf.compat.v1
installer = importlib.import_module('contrib_bn.compat.install')

# name -> (input shape, batch_norm arguments); the path each one takes is
# asserted with `contrib_bn.select_path`.
CONFIGURATIONS = {
    'fused_rank4_zero_debias': ([2, 3, 3, 4],
                                {'zero_debias_moving_mean': True}),
    'fused_rank2': ([4, 5], {'scale': True}),
    'fused_nchw_forced': ([2, 4, 3, 3], {'data_format': 'NCHW',
                                         'updates_collections': None}),
    'core_kernel_rank4': ([2, 3, 3, 4], {'scale': True}),
    'core_plain_rank3': ([2, 3, 4], {}),
    'core_renorm': ([2, 3, 3, 4], {'renorm': True,
                                   'renorm_clipping': {'rmax': 2.0}}),
    'moments_forced': ([2, 3, 3, 4], {'fused': False,
                                      'updates_collections': None}),
    'moments_batch_weights_rank3': ([2, 3, 4], {
        'batch_weights': np.array([0.5, 2.0], np.float32)}),
}
PATHS = {
    'fused_rank4_zero_debias': 'fused', 'fused_rank2': 'fused',
    'fused_nchw_forced': 'fused', 'core_kernel_rank4': 'core',
    'core_plain_rank3': 'core', 'core_renorm': 'core',
    'moments_forced': 'moments', 'moments_batch_weights_rank3': 'moments',
}
CONDITIONALS = ('Switch', 'Merge', 'If', 'StatelessIf')
FUSED = ('FusedBatchNorm', 'FusedBatchNormV2', 'FusedBatchNormV3')


def _layer_ops(graph):
  return sorted((op.name, op.type) for op in graph.get_operations()
                if op.name.startswith('BatchNorm/'))


def _build(shape, kwargs, is_training, inference):
  graph = tf.Graph()
  with graph.as_default():
    x = v1.placeholder(tf.float32, shape, name='x')
    mode = is_training() if callable(is_training) else is_training
    if inference:
      with contrib_bn.inference_mode():
        y = contrib_bn.batch_norm(x, is_training=mode, **kwargs)
    else:
      y = contrib_bn.batch_norm(x, is_training=mode, **kwargs)
  return graph, y


MODES = {
    'placeholder': lambda: v1.placeholder_with_default(True, [],
                                                       name='is_training'),
    'python_true': True,
    'variable': lambda: v1.get_variable(
        'is_training', [], tf.bool, initializer=v1.constant_initializer(True),
        trainable=False),
}


@pytest.mark.parametrize('mode', sorted(MODES))
@pytest.mark.parametrize('config', sorted(CONFIGURATIONS))
def test_every_path_is_built_static(config, mode):
  shape, kwargs = CONFIGURATIONS[config]
  assert contrib_bn.select_path(
      len(shape), kwargs.get('fused'), kwargs.get('batch_weights'),
      kwargs.get('renorm', False), None,
      kwargs.get('zero_debias_moving_mean', False),
      kwargs.get('updates_collections',
                 v1.GraphKeys.UPDATE_OPS)) == PATHS[config]
  graph, _ = _build(shape, kwargs, MODES[mode], inference=True)
  reference, _ = _build(shape, kwargs, False, inference=False)
  ops = _layer_ops(graph)
  assert ops == _layer_ops(reference)
  types = set(t for _, t in ops)
  assert not types & set(CONDITIONALS), types
  assert not any('moments' in n for n, _ in ops), ops
  for op in graph.get_operations():
    if op.type in FUSED:
      assert not op.get_attr('is_training'), op.name
  assert not graph.get_collection(v1.GraphKeys.UPDATE_OPS)


def test_outputs_equal_the_static_inference_layer():
  shape, kwargs = CONFIGURATIONS['core_renorm']
  feed = np.random.RandomState(0).normal(2.0, 3.0, shape).astype(np.float32)
  values = []
  for mode, inference in ((MODES['placeholder'], True), (False, False)):
    graph, y = _build(shape, dict(kwargs, param_initializers={
        'moving_mean': v1.constant_initializer(1.5),
        'moving_variance': v1.constant_initializer(4.0)}), mode, inference)
    with v1.Session(graph=graph) as sess:
      sess.run(v1.global_variables_initializer())
      values.append(sess.run(y, {graph.get_tensor_by_name('x:0'): feed}))
  np.testing.assert_array_equal(values[0], values[1])
  np.testing.assert_allclose(values[0], (feed - 1.5) / np.sqrt(4.001),
                             rtol=1e-5)


# (configuration, is_training) pairs TF 1.15 refused; each value is made in
# the test's graph.
BAD_VALUES = {
    'none_fused': ('fused_rank2', lambda: None),
    'none_moments': ('moments_forced', lambda: None),
    'none_core': ('core_plain_rank3', lambda: None),
    'string_fused': ('fused_rank2', lambda: 'yes'),
    'string_core': ('core_kernel_rank4', lambda: 'yes'),
    'int_core': ('core_kernel_rank4', lambda: 2),
    'float_tensor_fused': ('fused_rank4_zero_debias',
                           lambda: v1.placeholder(tf.float32, [])),
    'float_tensor_core': ('core_kernel_rank4',
                          lambda: v1.placeholder(tf.float32, [])),
    'vector_moments': ('moments_forced', lambda: v1.placeholder(tf.bool,
                                                                [2])),
    'string_tensor_moments': ('moments_forced',
                              lambda: tf.constant('yes')),
}


def _error(config, value, inference):
  shape, kwargs = CONFIGURATIONS[config]
  with pytest.raises((TypeError, ValueError)) as caught:
    _build(shape, kwargs, value, inference)
  # The rank error names the Switch the conditional would have had: inside
  # the mode no conditional is built, so it is named from the caller's
  # scope ('cond/Switch', not 'BatchNorm/cond/Switch').
  return type(caught.value), re.sub(r"for '(\S+/)?cond/Switch'",
                                    "for 'cond/Switch'", str(caught.value))


@pytest.mark.parametrize('case', sorted(BAD_VALUES))
def test_bad_is_training_fails_as_without_the_mode(case):
  config, value = BAD_VALUES[case]
  assert _error(config, value, True) == _error(config, value, False)


def test_tf_contrib_and_slim_batch_norm_are_static():
  slim = pytest.importorskip('tf_slim', reason='LOUD SKIP: tf_slim is not '
                             'installed; the slim route cannot be checked')
  installer.install()
  try:
    with tf.Graph().as_default() as graph:
      x = v1.placeholder(tf.float32, [2, 3, 3, 4])
      mode = v1.placeholder(tf.bool, [])
      with contrib_bn.inference_mode():
        v1.contrib.layers.batch_norm(x, is_training=mode, scope='contrib')
        with slim.arg_scope([slim.batch_norm], is_training=mode):
          slim.batch_norm(x, scope='slim')
          slim.conv2d(x, 2, [1, 1], normalizer_fn=slim.batch_norm,
                      scope='conv')
      built = [op for op in graph.get_operations() if op.type in FUSED]
  finally:
    installer.uninstall()
  assert sorted(op.name.split('/')[0] for op in built) == [
      'contrib', 'conv', 'slim']
  assert not any(op.get_attr('is_training') for op in built)
  assert not [op for op in graph.get_operations()
              if op.type in CONDITIONALS]
  assert not mode.consumers()


def test_training_and_inference_towers_share_variables():
  with tf.Graph().as_default() as graph:
    x = v1.placeholder(tf.float32, [2, 4])
    with contrib_bn.inference_mode():
      contrib_bn.batch_norm(x, is_training=True, scope='shared')
      contrib_bn.batch_norm(x, is_training=False, scope='shared',
                            reuse=True)
    names = sorted(v.op.name for v in v1.global_variables())
    assert names == ['shared/beta', 'shared/moving_mean',
                     'shared/moving_variance']
    assert not [op for op in graph.get_operations()
                if op.type in FUSED and op.get_attr('is_training')]


def test_active_nests_and_ends():
  assert not _inference_mode.active()
  with contrib_bn.inference_mode():
    with contrib_bn.inference_mode():
      assert _inference_mode.active()
    assert _inference_mode.active()
  assert not _inference_mode.active()
  with pytest.raises(RuntimeError):
    with contrib_bn.inference_mode():
      raise RuntimeError('leaves the mode')
  assert not _inference_mode.active()


def _active_in_thread(graph):
  seen = []

  def run():
    if graph is None:
      seen.append(_inference_mode.active())
    else:
      with graph.as_default():
        seen.append(_inference_mode.active())

  thread = threading.Thread(target=run)
  thread.start()
  thread.join()
  return seen[0]


def test_active_follows_the_thread_and_the_graph():
  marked, other = tf.Graph(), tf.Graph()
  with marked.as_default():
    with contrib_bn.inference_mode():
      # Another graph built in this thread, as in
      # `with inference_mode(): with tf.Graph().as_default(): ...`.
      with other.as_default():
        assert _inference_mode.active()
      # Replica threads of a strategy build into the marked graph.
      assert _active_in_thread(marked)
      assert not _active_in_thread(other)
      assert not _active_in_thread(None)
  assert not _active_in_thread(marked)
  with marked.as_default():
    assert not _inference_mode.active()
