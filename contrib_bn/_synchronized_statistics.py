"""Synchronized statistics: batch norm over the global batch of all replicas.

Beyond TF 1.15, `synchronized_statistics()` makes training compute the batch
mean and variance over the global batch of all replicas (cross-replica sums),
so outputs, gradients and moving statistics equal single-device batch norm on
the concatenated batch. It is off by default, and applies to every batch norm
contrib_bn builds: `batch_norm`, and `tf.layers.batch_normalization` /
`BatchNormalization` of `contrib_bn.layers`.

This module holds the switch (per graph) and the cross-replica computation;
`contrib_bn.distribute` decides per layer whether it applies, and exports
`synchronized_statistics` under its public name.
"""

import contextlib
import threading
import weakref

import tensorflow as tf

from contrib_bn import constants

_SUM = tf.distribute.ReduceOp.SUM

# Graphs whose batch norms synchronize statistics, with a nesting depth.
# Keyed by graph rather than by thread: MirroredStrategy builds each replica
# in its own thread, and the switch must reach all of them.
_sync_graphs = weakref.WeakKeyDictionary()
_sync_lock = threading.Lock()


@contextlib.contextmanager
def synchronized_statistics(enabled=True):
  """Computes training batch statistics over all replicas' batches.

  Every `batch_norm`, `tf.layers.batch_normalization` and `BatchNormalization`
  (`contrib_bn.layers`) built in the current default graph while the context
  is open normalizes with the mean and variance of the global batch (the
  concatenation of every replica's batch) and moves its statistics with
  them, so that 2 replicas x 4 examples train like 1 device x 8. Call sites
  need no edit:

  ```python
  with strategy.scope(), contrib_bn.synchronized_statistics():
    strategy.extended.call_for_each_replica(model_fn, args=(...))
  ```

  Needs a `MirroredStrategy` or `MultiWorkerMirroredStrategy` when a layer
  is built (raises ValueError otherwise). TF 1.15 had no such mode.

  Args:
    enabled: False opens a scope with synchronization switched off again.

  Yields:
    None.
  """
  graph = tf.compat.v1.get_default_graph()
  with _sync_lock:
    previous = _sync_graphs.get(graph)
    _sync_graphs[graph] = bool(enabled)
  try:
    yield
  finally:
    with _sync_lock:
      if previous is None:
        _sync_graphs.pop(graph, None)
      else:
        _sync_graphs[graph] = previous


def synchronization_requested():
  """Whether `synchronized_statistics()` is on for the current graph."""
  graph = tf.compat.v1.get_default_graph()
  while graph is not None:
    with _sync_lock:
      value = _sync_graphs.get(graph)
    if value is not None:
      return value
    graph = getattr(graph, 'outer_graph', None)
  return False


def global_moments(replica, inputs, axes, weights=None, keepdims=False):
  """Mean and variance over the global batch of every replica.

  Two cross-replica sums, as `tf.nn.moments` makes two passes: the weighted
  sum and total weight (or count) give the global mean; the sum of squared
  deviations from it gives the (biased) global variance. Both sums have
  gradients (the sum of the replicas' gradients), so backpropagation
  matches single-device batch norm on the concatenated batch.

  Args:
    replica: the replica context the layer is built in.
    inputs: this replica's batch (float).
    axes: the reduction axes.
    weights: optional weights broadcastable to `inputs`.
    keepdims: keep the reduced dimensions.

  Returns:
    `(mean, variance, count)`, `count` being the global number (or weight)
    of values behind each statistic.
  """
  if weights is None:
    weights = tf.ones_like(inputs)
  else:
    weights = tf.cast(weights, inputs.dtype) * tf.ones_like(inputs)
  local = tf.stack([tf.reduce_sum(inputs * weights, axes),
                    tf.reduce_sum(weights, axes)])
  total = _cross_replica_sum(replica, local)
  count = total[1]
  mean = total[0] / count
  shaped_mean = mean
  if keepdims or len(axes) < inputs.get_shape().ndims:
    shaped_mean = _keep(mean, inputs, axes)
  deviations = tf.reduce_sum(
      tf.math.squared_difference(inputs, shaped_mean) * weights, axes)
  variance = _cross_replica_sum(replica, deviations) / count
  if keepdims:
    return _keep(mean, inputs, axes), _keep(variance, inputs, axes), count
  return mean, variance, count


_SUM_GRADIENT = 'ContribBnCrossReplicaSum'


def _all_sum(replica, value):
  """The sum of `value` over all replicas, on every replica."""
  def merge_fn(strategy, per_replica):
    return strategy.extended.batch_reduce_to(_SUM,
                                             [(per_replica, per_replica)])
  return replica.merge_call(merge_fn, args=(value,))[0]


@tf.RegisterGradient(_SUM_GRADIENT)
def _cross_replica_sum_gradient(unused_op, grad):
  replica = tf.distribute.get_replica_context()
  if replica is None or not tf.distribute.has_strategy():
    raise ValueError(
        'Gradients through contrib_bn.synchronized_statistics() must be '
        'computed per replica, inside strategy.extended.'
        'call_for_each_replica, like the layer was built.')
  return _all_sum(replica, grad)


def _cross_replica_sum(replica, value):
  """A cross-replica sum whose gradient is the cross-replica sum too.

  The sum of every replica's loss depends on this replica's value through
  every replica's copy of the sum, so its gradient sums all replicas'
  upstream gradients. `ReplicaContext.all_reduce` expresses that with
  `tf.custom_gradient`, whose graph-mode bookkeeping collects the ops
  created while it runs; with MirroredStrategy's replica threads building
  the same graph at once it picks up the other replicas' variables and
  fails. A gradient override on an identity keeps the bookkeeping out.
  """
  reduced = _all_sum(replica, value)
  graph = tf.compat.v1.get_default_graph()
  with graph.gradient_override_map({'Identity': _SUM_GRADIENT}):
    tracked = tf.identity(value)
  # Forward: exactly `reduced`; backward: through the overridden identity.
  return tf.stop_gradient(reduced) + (tracked - tf.stop_gradient(tracked))


def _keep(value, inputs, axes):
  rank = inputs.get_shape().ndims
  shape = [1 if i in axes else -1 for i in range(rank)]
  return tf.reshape(value, shape)


def kernel_training_outputs(replica, inputs, gamma, beta, epsilon,
                            data_format):
  """Synchronized stand-in for the fused kernel in training mode.

  Returns what `nn.fused_batch_norm` returns in training: the normalized
  outputs (in the input dtype) and the batch mean and Bessel-corrected
  variance, computed over the global batch of the replicas of `replica`.
  """
  axis = 1 if data_format == constants.DATA_FORMAT_NCHW else 3
  axes = [i for i in range(4) if i != axis]
  compute = tf.cast(inputs, tf.float32)
  mean, variance, count = global_moments(replica, compute, axes)
  shape = [1, 1, 1, 1]
  shape[axis] = -1
  outputs = tf.nn.batch_normalization(
      compute, tf.reshape(mean, shape), tf.reshape(variance, shape),
      tf.reshape(beta, shape), tf.reshape(gamma, shape), epsilon)
  bessel = count / tf.maximum(count - 1.0, 1.0)
  return tf.cast(outputs, inputs.dtype), mean, variance * bessel
