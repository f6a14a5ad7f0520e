"""Distributed runs of contrib_bn checked against one device, for the tests.

Synchronized statistics must equal single-device batch norm on the
concatenated batch: `single_device` runs that reference, `synchronized_run`
the replicated graph of a distributed corpus case, and
`check_against_single_device` compares them. `tf_layers_batch_norm` calls
`contrib_bn.layers.batch_normalization` the way the corpus calls the contrib
layer. Used by tests/test_distribute.py, tests/test_distribute_tf_layers.py
and tests/test_cluster.py.
"""

import os
import tempfile

import numpy as np
import tensorflow as tf

import contrib_bn
from contrib_bn.conformance import distributed
from contrib_bn.conformance import verify_distributed

# Global statistics are summed across replicas in another order than one
# device's reduction, and their gradients take another route; float32
# rounding of that order stays far below 1e-5 of the values' scale.
SYNC_RTOL = 1e-5
_GRAD_PREFIX = 'grad/'


def _scale(value):
  return max(1.0, float(np.max(np.abs(value))))


def assert_close(actual, expected, what):
  actual = np.asarray(actual, np.float64)
  expected = np.asarray(expected, np.float64)
  assert actual.shape == expected.shape, what
  np.testing.assert_allclose(actual, expected, rtol=0,
                             atol=SYNC_RTOL * _scale(expected), err_msg=what)


def single_device(case, data, target, weights):
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


def synchronized_run(case, data, target, weights, strategy_fn=None,
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


def check_against_single_device(ours, single, variables):
  """Replicated results against one device on the concatenated batch."""
  replicas = range(distributed.REPLICAS)
  for name, expected in single.items():
    parts = [ours['train/%s/replica%d' % (name, r)] for r in replicas]
    if name.startswith(_GRAD_PREFIX) and name != 'grad/input':
      # Each replica holds its share of the parameter gradient; the
      # optimizer sums them (SUM is TF1's cross-replica aggregation).
      assert_close(np.sum(parts, axis=0), expected, name)
    else:
      assert_close(np.concatenate(parts), expected, name)
  for name, expected in variables.items():
    for r in replicas:
      assert_close(ours['trained/var/%s/copy%d' % (name, r)], expected,
                   '%s copy %d' % (name, r))


# contrib batch_norm arguments of the distributed cases -> tf.layers ones.
# Both layers run TF 1.15's core-layer path; with momentum=decay and the
# contrib layer's scale (default False) they compute the same.
TF_LAYERS_ARGUMENTS = {'scale': 'scale', 'renorm': 'renorm'}


def tf_layers_batch_norm(inputs, decay, is_training, scope, **kwargs):
  """`contrib_bn.layers.batch_normalization` called like the contrib layer."""
  unknown = set(kwargs) - set(TF_LAYERS_ARGUMENTS)
  assert not unknown, unknown
  arguments = {TF_LAYERS_ARGUMENTS[k]: v for k, v in kwargs.items()}
  arguments.setdefault('scale', False)
  return contrib_bn.layers.batch_normalization(
      inputs, momentum=decay, training=is_training, name=scope, **arguments)
