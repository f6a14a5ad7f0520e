"""`tf.layers.batch_normalization` (contrib_bn.layers) under distribution strategies.

`tf.layers.batch_normalization` and `BatchNormalization` took TF 1.15's
contrib core path, so the distributed golden corpus of that path holds for
them under MirroredStrategy; replicas keep their own statistics (checked
against NumPy), synchronized statistics equal one device on the global
batch, what install() serves is distributed, and what is not supported
fails at build time as it does for the contrib layer (tests/
test_distribute.py).
"""

import os
import tempfile

import numpy as np
import pytest
import tensorflow as tf

import contrib_bn
from contrib_bn import constants
from contrib_bn.conformance import distributed
from contrib_bn.conformance import matching
from contrib_bn.conformance import verify_distributed
from distributed_checks import assert_close
from distributed_checks import check_against_single_device
from distributed_checks import single_device
from distributed_checks import synchronized_run
from distributed_checks import TF_LAYERS_ARGUMENTS
from distributed_checks import tf_layers_batch_norm


def _tf_layers_class(inputs, decay, is_training, scope, **kwargs):
  """The same through the class API: `BatchNormalization(...).apply`."""
  arguments = {TF_LAYERS_ARGUMENTS[k]: v for k, v in kwargs.items()}
  arguments.setdefault('scale', False)
  layer = contrib_bn.layers.BatchNormalization(momentum=decay, name=scope,
                                               **arguments)
  return layer.apply(inputs, training=is_training)


def _core_path_case(case):
  path_kwargs = {k: v for k, v in case['kwargs'].items()
                 if k in ('renorm', 'batch_weights', 'fused',
                          'zero_debias_moving_mean', 'updates_collections')}
  return contrib_bn.select_path(len(case['shape']),
                                **path_kwargs) == constants.PATH_CORE


# The distributed cases on the core-layer path: the ones tf.layers can take.
TF_LAYERS_CASES = [c['id'] for c in distributed.CASES if _core_path_case(c)]


def _mirrored_run(case, batch_norm):
  data, target, weights = distributed.case_data(case)
  graph = tf.Graph()
  with graph.as_default():
    built = distributed.build(tf, batch_norm, case,
                              verify_distributed.mirrored_strategy())
    structure = distributed.structure(tf, built)
    with tf.compat.v1.Session(
        graph=graph, config=verify_distributed.session_config()) as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      prefix = os.path.join(tempfile.mkdtemp(), 'ckpt')
      arrays = distributed.run(tf, sess, built, data, target, weights,
                               prefix)
  arrays.update(distributed.checkpoint_arrays(tf, prefix))
  return structure, arrays


def test_tf_layers_cases_cover_the_core_path():
  assert TF_LAYERS_CASES == ['dist_core_kernel_r4', 'dist_core_plain_r3',
                             'dist_core_renorm_r4', 'dist_core_kernel_r4_ph',
                             'dist_core_renorm_r3_ph']


@pytest.mark.parametrize('layer', [tf_layers_batch_norm, _tf_layers_class],
                         ids=['function', 'class'])
@pytest.mark.parametrize('case_id', TF_LAYERS_CASES)
def test_tf_layers_under_mirrored_matches_tf1_goldens(case_id, layer):
  """TF 1.15's contrib core path, recorded under MirroredStrategy, is what
  tf.layers computed too: per-replica sync-on-read moving statistics."""
  golden = verify_distributed.Golden(verify_distributed.DEFAULT_DIR, case_id)
  structure, ours = _mirrored_run(golden.case, layer)
  expected = golden.record['structure']
  assert structure['variables'] == expected['variables']
  assert structure['update_ops'] == expected['update_ops']
  # tf.layers' variables join no MODEL_VARIABLES, unlike contrib's.
  assert structure['model_variables'] == []
  comparison = matching.Comparison(matching.FLOAT32_RTOL)
  keys = [k for k in golden.arrays
          if k.startswith(('train/', 'trained/', 'ckpt/'))]
  assert keys
  comparison.arrays(golden.arrays, ours, keys)
  assert not comparison.problems, comparison.problems


def test_tf_layers_replicas_keep_their_own_statistics():
  """NumPy: each replica normalizes with its batch and moves its own copy;
  a checkpoint holds the mean of the copies."""
  case = distributed.case_by_id('dist_core_plain_r3')
  data, target, weights = distributed.case_data(case)
  _, ours = _mirrored_run(case, tf_layers_batch_norm)
  data = data.astype(np.float64)
  epsilon = 1e-3
  kept = distributed.DECAY ** distributed.STEPS
  copies = {'moving_mean': [], 'moving_variance': []}
  for r in range(distributed.REPLICAS):
    mean = data[r].mean(axis=(0, 1))
    variance = data[r].var(axis=(0, 1))
    assert_close(ours['train/output/replica%d' % r],
                 (data[r] - mean) / np.sqrt(variance + epsilon),
                 'output of replica %d' % r)
    for name, value in (('moving_mean', (1 - kept) * mean),
                        ('moving_variance', kept + (1 - kept) * variance)):
      assert_close(ours['trained/var/bn/%s/copy%d' % (name, r)], value,
                   '%s copy %d' % (name, r))
      copies[name].append(value)
  for name, values in copies.items():
    assert_close(ours['ckpt/bn/' + name], np.mean(values, axis=0),
                 'checkpoint ' + name)


@pytest.mark.parametrize('case_id', TF_LAYERS_CASES)
def test_tf_layers_synchronized_equals_global_batch(case_id):
  case = distributed.case_by_id(case_id)
  data, target, weights = distributed.case_data(case)
  single, variables = single_device(case, data, target, weights)
  ours = synchronized_run(case, data, target, weights,
                          batch_norm=tf_layers_batch_norm)
  check_against_single_device(ours, single, variables)
  for name, expected in variables.items():
    assert_close(ours['ckpt/' + name], expected, 'checkpoint ' + name)


def test_installed_tf_layers_name_is_distributed():
  """What install() serves as tf.compat.v1.layers.batch_normalization."""
  contrib_bn.install()
  try:
    served = tf.compat.v1.layers.batch_normalization
    assert served is contrib_bn.layers.batch_normalization
    with tf.Graph().as_default():
      strategy = verify_distributed.mirrored_strategy()
      with strategy.scope():
        strategy.extended.call_for_each_replica(
            lambda: served(tf.ones([4, 3]), training=True))
      kinds = {v.name.split(':')[0]: type(v).__name__
               for v in tf.compat.v1.global_variables()}
  finally:
    contrib_bn.uninstall()
  assert kinds == {
      'batch_normalization/gamma': 'MirroredVariable',
      'batch_normalization/beta': 'MirroredVariable',
      'batch_normalization/moving_mean': 'SyncOnReadVariable',
      'batch_normalization/moving_variance': 'SyncOnReadVariable'}


def _build_tf_layers_in_replicas(strategy, **kwargs):
  def replica_fn():
    return contrib_bn.layers.batch_normalization(tf.ones([4, 2, 2, 3]),
                                                 **kwargs)
  with strategy.scope():
    return strategy.extended.call_for_each_replica(replica_fn)


def test_tf_layers_unsupported_strategy_is_named():
  with tf.Graph().as_default():
    strategy = (tf.compat.v1.distribute.experimental
                .CentralStorageStrategy(['/cpu:0']))
    with pytest.raises(ValueError, match=(
        r'contrib_bn\.layers\.batch_normalization does not support '
        'CentralStorageStrategy.*MirroredStrategy, '
        'MultiWorkerMirroredStrategy')):
      _build_tf_layers_in_replicas(strategy, training=True)


@pytest.mark.parametrize('training', [True, None], ids=['true', 'none'])
def test_tf_layers_training_in_cross_replica_context_is_refused(training):
  # None reads the graph's learning phase, a placeholder: not False either.
  with tf.Graph().as_default():
    strategy = verify_distributed.mirrored_strategy()
    with strategy.scope():
      with pytest.raises(ValueError, match=(
          r'^contrib_bn\.layers\.batch_normalization with training=%s.*in '
          r'the cross-replica context of MirroredStrategy.* only '
          r'training=False is supported' % ('True' if training else '<tf'))):
        contrib_bn.layers.batch_normalization(tf.ones([4, 3]),
                                              training=training)


def test_tf_layers_cross_replica_inference_builds():
  with tf.Graph().as_default():
    strategy = verify_distributed.mirrored_strategy()
    with strategy.scope():
      contrib_bn.layers.batch_normalization(tf.ones([4, 3]), training=False)
    kinds = {v.name.split(':')[0]: type(v).__name__
             for v in tf.compat.v1.global_variables()}
  assert kinds['batch_normalization/moving_mean'] == 'SyncOnReadVariable'


def test_tf_layers_synchronized_outside_any_strategy_is_refused():
  with tf.Graph().as_default():
    inputs = tf.ones([4, 3])
    with contrib_bn.synchronized_statistics():
      with pytest.raises(ValueError, match='build tf.layers.batch_normaliz'
                         'ation inside strategy.scope()'):
        contrib_bn.layers.batch_normalization(inputs, training=True)
    contrib_bn.layers.batch_normalization(inputs, training=True)


def test_tf_layers_one_device_strategy_builds_single_device_variables():
  def kinds(strategy):
    with tf.Graph().as_default():
      if strategy is None:
        contrib_bn.layers.batch_normalization(tf.ones([4, 2, 2, 3]),
                                              training=True)
      else:
        _build_tf_layers_in_replicas(strategy(), training=True)
      return {v.name.split(':')[0]: type(v).__name__
              for v in tf.compat.v1.global_variables()}
  one_device = kinds(
      lambda: tf.compat.v1.distribute.OneDeviceStrategy('/cpu:0'))
  assert one_device == kinds(None)
  assert sorted(one_device) == [
      'batch_normalization/beta', 'batch_normalization/gamma',
      'batch_normalization/moving_mean', 'batch_normalization/moving_variance']
