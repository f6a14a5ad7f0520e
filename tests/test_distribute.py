"""contrib_bn under distribution strategies, beyond the recorded corpus.

The TF 1.15 semantics themselves are checked against the distributed golden
corpus (tests/test_distributed_goldens.py); here: synchronized statistics
against single-device batch norm on the concatenated batch, frozen statistics
in inference, and the build-time errors for what is not supported. Then the
same for `tf.layers.batch_normalization` and `BatchNormalization`
(contrib_bn.layers): against the corpus of TF 1.15's contrib core path (the
path both layers took), against NumPy, and synchronized.
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

# Global statistics are summed across replicas in another order than one
# device's reduction, and their gradients take another route; float32
# rounding of that order stays far below 1e-5 of the values' scale.
SYNC_RTOL = 1e-5
_GRAD_PREFIX = 'grad/'


def _scale(value):
  return max(1.0, float(np.max(np.abs(value))))


def _assert_close(actual, expected, what):
  actual = np.asarray(actual, np.float64)
  expected = np.asarray(expected, np.float64)
  assert actual.shape == expected.shape, what
  np.testing.assert_allclose(actual, expected, rtol=0,
                             atol=SYNC_RTOL * _scale(expected), err_msg=what)


def _single_device(case, data, target, weights):
  """Single-device batch norm on the concatenated batch, trained alike."""
  v1 = tf.compat.v1
  shape = [distributed.REPLICAS * distributed.PER_REPLICA] + case['shape'][1:]
  flat = lambda a: a.reshape([-1] + list(a.shape[2:]))
  graph = tf.Graph()
  with graph.as_default():
    inputs = v1.placeholder(tf.float32, shape)
    kwargs = dict(case['kwargs'])
    if kwargs.pop('batch_weights', False):
      kwargs['batch_weights'] = tf.constant(weights.reshape([-1]))
    outputs = contrib_bn.batch_norm(inputs, decay=distributed.DECAY,
                                    is_training=True, scope=distributed.SCOPE,
                                    **kwargs)
    loss = tf.reduce_sum(outputs * flat(target))
    params = v1.trainable_variables()
    grads = tf.gradients(loss, [inputs] + params)
    train_op = tf.group(*v1.get_collection(v1.GraphKeys.UPDATE_OPS))
    with v1.Session(graph=graph) as sess:
      sess.run(v1.global_variables_initializer())
      feed = {inputs: flat(data)}
      values = sess.run([outputs] + grads, feed)
      for _ in range(distributed.STEPS):
        sess.run(train_op, feed)
      variables = {v.op.name: sess.run(v) for v in v1.global_variables()}
  names = ['output', 'grad/input'] + [
      'grad/' + v.op.name for v in params]
  return dict(zip(names, values)), variables


def _synchronized_run(case, data, target, weights, strategy_fn=None,
                      batch_norm=contrib_bn.batch_norm):
  graph = tf.Graph()
  with graph.as_default():
    strategy = (strategy_fn or verify_distributed.mirrored_strategy)()
    with contrib_bn.synchronized_statistics():
      built = distributed.build(tf, batch_norm, case, strategy)
    with tf.compat.v1.Session(
        graph=graph, config=verify_distributed.session_config()) as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      prefix = os.path.join(tempfile.mkdtemp(), 'ckpt')
      arrays = distributed.run(tf, sess, built, data, target, weights,
                               prefix)
  arrays.update(distributed.checkpoint_arrays(tf, prefix))
  return arrays


SYNC_CASES = [c for c in distributed.CASES]


@pytest.mark.parametrize('case', SYNC_CASES, ids=[c['id'] for c in SYNC_CASES])
def test_synchronized_equals_global_batch(case):
  data, target, weights = distributed.case_data(case)
  single, variables = _single_device(case, data, target, weights)
  ours = _synchronized_run(case, data, target, weights)
  check_against_single_device(ours, single, variables)
  for name, expected in variables.items():
    _assert_close(ours['ckpt/' + name], expected, 'checkpoint ' + name)


def check_against_single_device(ours, single, variables):
  """Replicated results against one device on the concatenated batch."""
  replicas = range(distributed.REPLICAS)
  for name, expected in single.items():
    parts = [ours['train/%s/replica%d' % (name, r)] for r in replicas]
    if name.startswith(_GRAD_PREFIX) and name != 'grad/input':
      # Each replica holds its share of the parameter gradient; the
      # optimizer sums them (SUM is TF1's cross-replica aggregation).
      _assert_close(np.sum(parts, axis=0), expected, name)
    else:
      _assert_close(np.concatenate(parts), expected, name)
  for name, expected in variables.items():
    for r in replicas:
      _assert_close(ours['trained/var/%s/copy%d' % (name, r)], expected,
                    '%s copy %d' % (name, r))


def test_synchronization_changes_statistics():
  """The switch is real: without it, per-replica statistics differ."""
  case = distributed.case_by_id('dist_core_plain_r3')
  data, target, weights = distributed.case_data(case)
  single, _ = _single_device(case, data, target, weights)
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
  _assert_close(got, expected, 'cross-replica inference')


def test_tensor_is_training_on_merged_paths_is_refused():
  with tf.Graph().as_default():
    strategy = verify_distributed.mirrored_strategy()
    training = tf.compat.v1.placeholder(tf.bool, [])
    with pytest.raises(ValueError, match='is a tensor on the fused path'):
      _build_in_replicas(strategy, is_training=training,
                         updates_collections=None)


# --- tf.layers.batch_normalization (contrib_bn.layers) -----------------------

# contrib batch_norm arguments of the distributed cases -> tf.layers ones.
# Both layers run TF 1.15's core-layer path; with momentum=decay and the
# contrib layer's scale (default False) they compute the same.
_TF_LAYERS_ARGUMENTS = {'scale': 'scale', 'renorm': 'renorm'}


def tf_layers_batch_norm(inputs, decay, is_training, scope, **kwargs):
  """`contrib_bn.layers.batch_normalization` called like the contrib layer."""
  unknown = set(kwargs) - set(_TF_LAYERS_ARGUMENTS)
  assert not unknown, unknown
  arguments = {_TF_LAYERS_ARGUMENTS[k]: v for k, v in kwargs.items()}
  arguments.setdefault('scale', False)
  return contrib_bn.layers.batch_normalization(
      inputs, momentum=decay, training=is_training, name=scope, **arguments)


def _tf_layers_class(inputs, decay, is_training, scope, **kwargs):
  """The same through the class API: `BatchNormalization(...).apply`."""
  arguments = {_TF_LAYERS_ARGUMENTS[k]: v for k, v in kwargs.items()}
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
    _assert_close(ours['train/output/replica%d' % r],
                  (data[r] - mean) / np.sqrt(variance + epsilon),
                  'output of replica %d' % r)
    for name, value in (('moving_mean', (1 - kept) * mean),
                        ('moving_variance', kept + (1 - kept) * variance)):
      _assert_close(ours['trained/var/bn/%s/copy%d' % (name, r)], value,
                    '%s copy %d' % (name, r))
      copies[name].append(value)
  for name, values in copies.items():
    _assert_close(ours['ckpt/bn/' + name], np.mean(values, axis=0),
                  'checkpoint ' + name)


@pytest.mark.parametrize('case_id', TF_LAYERS_CASES)
def test_tf_layers_synchronized_equals_global_batch(case_id):
  case = distributed.case_by_id(case_id)
  data, target, weights = distributed.case_data(case)
  single, variables = _single_device(case, data, target, weights)
  ours = _synchronized_run(case, data, target, weights,
                           batch_norm=tf_layers_batch_norm)
  check_against_single_device(ours, single, variables)
  for name, expected in variables.items():
    _assert_close(ours['ckpt/' + name], expected, 'checkpoint ' + name)


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
