"""contrib_bn under distribution strategies, beyond the recorded corpus.

The TF 1.15 semantics themselves are checked against the distributed golden
corpus (tests/test_distributed_goldens.py); here: synchronized statistics
against single-device batch norm on the concatenated batch, frozen statistics
in inference, and the build-time errors for what is not supported.
tests/test_distribute_tf_layers.py does the same for
`tf.layers.batch_normalization` and `BatchNormalization` (contrib_bn.layers).
"""

import numpy as np
import pytest
import tensorflow as tf

import contrib_bn
from contrib_bn.conformance import distributed
from contrib_bn.conformance import verify_distributed
from distributed_checks import assert_close
from distributed_checks import check_against_single_device
from distributed_checks import single_device
from distributed_checks import synchronized_run

SYNC_CASES = [c for c in distributed.CASES]


@pytest.mark.parametrize('case', SYNC_CASES, ids=[c['id'] for c in SYNC_CASES])
def test_synchronized_equals_global_batch(case):
  data, target, weights = distributed.case_data(case)
  single, variables = single_device(case, data, target, weights)
  ours = synchronized_run(case, data, target, weights)
  check_against_single_device(ours, single, variables)
  for name, expected in variables.items():
    assert_close(ours['ckpt/' + name], expected, 'checkpoint ' + name)


def test_synchronization_changes_statistics():
  """The switch is real: without it, per-replica statistics differ."""
  case = distributed.case_by_id('dist_core_plain_r3')
  data, target, weights = distributed.case_data(case)
  single, _ = single_device(case, data, target, weights)
  graph = tf.Graph()
  with graph.as_default():
    built = distributed.build(tf, contrib_bn.batch_norm, case,
                              verify_distributed.mirrored_strategy())
    with tf.compat.v1.Session(
        graph=graph, config=verify_distributed.session_config()) as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      ours = distributed.run(tf, sess, built, data, target, weights)
  local = np.concatenate([ours['train/output/replica%d' % r]
                          for r in range(distributed.REPLICAS)])
  assert np.max(np.abs(local - single['output'])) > 1e-2


@pytest.mark.parametrize('case_id', ['dist_core_kernel_r4_ph',
                                     'dist_core_renorm_r3_ph'])
def test_inference_keeps_every_copy(case_id):
  case = distributed.case_by_id(case_id)
  data, target, weights = distributed.case_data(case)
  graph = tf.Graph()
  with graph.as_default():
    built = distributed.build(tf, contrib_bn.batch_norm, case,
                              verify_distributed.mirrored_strategy())
    feed = {built.x: data, built.target: target, built.weights: weights}
    with tf.compat.v1.Session(
        graph=graph, config=verify_distributed.session_config()) as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      sess.run(built.train_op, {**feed, built.training: True})
      before = sess.run(built.copies)
      sess.run(built.train_op, {**feed, built.training: False})
      after = sess.run(built.copies)
  moving = [k for k in before if 'moving' in k or 'renorm' in k]
  assert moving
  for key in moving:
    np.testing.assert_array_equal(after[key], before[key], err_msg=key)


def _build_in_replicas(strategy, **kwargs):
  def replica_fn():
    inputs = tf.ones([4, 2, 2, 3])
    return contrib_bn.batch_norm(inputs, scope='bn', **kwargs)
  with strategy.scope():
    return strategy.extended.call_for_each_replica(replica_fn)


def test_unsupported_strategy_is_named():
  with tf.Graph().as_default():
    strategy = (tf.compat.v1.distribute.experimental
                .CentralStorageStrategy(['/cpu:0']))
    with pytest.raises(ValueError, match='CentralStorageStrategy.*'
                       'MirroredStrategy, MultiWorkerMirroredStrategy'):
      _build_in_replicas(strategy)


def test_synchronized_outside_any_strategy_is_refused():
  with tf.Graph().as_default():
    inputs = tf.ones([4, 3])
    with contrib_bn.synchronized_statistics():
      with pytest.raises(ValueError, match='needs a distribution strategy'):
        contrib_bn.batch_norm(inputs)
    # Off again once the scope closes.
    contrib_bn.batch_norm(inputs)


def test_synchronized_on_one_device_is_refused():
  with tf.Graph().as_default():
    strategy = tf.compat.v1.distribute.OneDeviceStrategy('/cpu:0')
    with contrib_bn.synchronized_statistics():
      with pytest.raises(ValueError, match='OneDeviceStrategy has one device'):
        _build_in_replicas(strategy)


def test_one_device_strategy_builds_single_device_names():
  with tf.Graph().as_default():
    strategy = tf.compat.v1.distribute.OneDeviceStrategy('/cpu:0')
    _build_in_replicas(strategy, zero_debias_moving_mean=True)
    names = sorted(v.op.name for v in tf.compat.v1.global_variables())
  assert names == ['bn/beta', 'bn/bn/moving_mean/biased',
                   'bn/bn/moving_mean/local_step', 'bn/moving_mean',
                   'bn/moving_variance']


def test_training_in_cross_replica_context_is_refused():
  with tf.Graph().as_default():
    strategy = verify_distributed.mirrored_strategy()
    with strategy.scope():
      with pytest.raises(ValueError, match='cross-replica context of '
                         'MirroredStrategy'):
        contrib_bn.batch_norm(tf.ones([4, 3]), scope='bn')


def test_cross_replica_inference_reads_the_mean_of_the_copies():
  case = distributed.case_by_id('dist_core_plain_r3')
  data, target, weights = distributed.case_data(case)
  graph = tf.Graph()
  with graph.as_default():
    strategy = verify_distributed.mirrored_strategy()
    built = distributed.build(tf, contrib_bn.batch_norm, case, strategy)
    with strategy.scope():
      inputs = tf.constant(data[0])
      inferred = contrib_bn.batch_norm(inputs, decay=distributed.DECAY,
                                       is_training=False, reuse=True,
                                       scope=distributed.SCOPE, scale=True)
    with tf.compat.v1.Session(
        graph=graph, config=verify_distributed.session_config()) as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      distributed.run(tf, sess, built, data, target, weights)
      copies = sess.run(built.copies)
      got = sess.run(inferred)
  mean = (copies['var/bn/moving_mean/copy0'] +
          copies['var/bn/moving_mean/copy1']) / 2
  variance = (copies['var/bn/moving_variance/copy0'] +
              copies['var/bn/moving_variance/copy1']) / 2
  assert np.max(np.abs(copies['var/bn/moving_mean/copy0'] -
                       copies['var/bn/moving_mean/copy1'])) > 1e-3
  expected = (data[0] - mean) / np.sqrt(variance + 0.001)
  assert_close(got, expected, 'cross-replica inference')


def test_tensor_is_training_on_merged_paths_is_refused():
  with tf.Graph().as_default():
    strategy = verify_distributed.mirrored_strategy()
    training = tf.compat.v1.placeholder(tf.bool, [])
    with pytest.raises(ValueError, match='is a tensor on the fused path'):
      _build_in_replicas(strategy, is_training=training,
                         updates_collections=None)

