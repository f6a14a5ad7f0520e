"""Batch norm under TensorFlow's distribution strategies, as TF 1.15 ran it.

Graph mode (`tf.compat.v1`) under `MirroredStrategy` and
`MultiWorkerMirroredStrategy` (their v1 and v2 classes) follows TF 1.15.5,
for `batch_norm` and for `tf.layers.batch_normalization` /
`BatchNormalization` (`contrib_bn.layers`, always the core-layer path):

* core-layer path: the moving statistics (and renorm's `moving_stddev`,
  `renorm_mean`, `renorm_stddev`) are sync-on-read variables aggregated by
  MEAN; each replica moves its own copy with its own batch, and cross-replica
  reads and checkpoints see the mean of the copies;
* fused and moments paths: the moving statistics are mirrored; an update in
  replica context averages the replicas' batch statistics (`reduce_to` MEAN)
  in a merge call and writes the same value to every copy
  (`extended.update`); zero-debias state is created once, in cross-replica
  context, colocated with the moving mean.

`OneDeviceStrategy` behaves as a single device. Every other strategy, and
contexts TF 1.15 could not run, are refused at graph-build time.

Beyond TF 1.15, `synchronized_statistics()` makes training compute the batch
mean and variance over the global batch of all replicas (cross-replica sums),
so outputs, gradients and moving statistics equal single-device batch norm on
the concatenated batch. It is off by default. The switch and the
cross-replica sums live in `contrib_bn._synchronized_statistics`; this module
decides per layer whether they apply.
"""

import collections
import contextlib
import threading

import tensorflow as tf

from contrib_bn import _synchronized_statistics
from contrib_bn import constants
# The public switch, also `contrib_bn.synchronized_statistics`.
from contrib_bn._synchronized_statistics import synchronized_statistics  # pylint: disable=unused-import

_MEAN = tf.distribute.ReduceOp.MEAN

SUPPORTED = ('MirroredStrategy', 'MultiWorkerMirroredStrategy',
             'OneDeviceStrategy')

_MIRRORED = (tf.distribute.MirroredStrategy,
             tf.compat.v1.distribute.MirroredStrategy,
             tf.distribute.MultiWorkerMirroredStrategy,
             tf.compat.v1.distribute.experimental.MultiWorkerMirroredStrategy)
_ONE_DEVICE = (tf.distribute.OneDeviceStrategy,
               tf.compat.v1.distribute.OneDeviceStrategy)

def _strategy_name(strategy):
  # The public name: TF's v1 classes end in `V1`, and MultiWorkerMirrored is
  # implemented as CollectiveAllReduceStrategy.
  name = type(strategy).__name__
  if name.endswith('V1'):
    name = name[:-2]
  if name == 'CollectiveAllReduceStrategy':
    name = 'MultiWorkerMirroredStrategy'
  return name


class Context(object):
  """How one layer is distributed; built by `layer_context`.

  Attributes:
    strategy: the active strategy.
    replica_context: the replica context, or None in cross-replica context.
    synchronized: whether batch statistics are computed globally.
  """

  def __init__(self, strategy, replica_context, synchronized):
    self.strategy = strategy
    self.replica_context = replica_context
    self.synchronized = synchronized

  @property
  def name(self):
    return _strategy_name(self.strategy)


_current = threading.local()


def current():
  """The `Context` of the layer being built in this thread, or None."""
  return getattr(_current, 'context', None)


@contextlib.contextmanager
def building(context):
  """Makes `context` current for the path builders of one layer."""
  previous = current()
  _current.context = context
  try:
    yield
  finally:
    _current.context = previous


def _static_training(is_training):
  if isinstance(is_training, tf.Variable):
    return None
  if tf.is_tensor(is_training):
    return tf.get_static_value(is_training)
  try:
    return bool(is_training)
  except Exception:  # pylint: disable=broad-except
    return None


# How the errors name a layer: in full, in a sentence, and its training
# argument.
Layer = collections.namedtuple('Layer', ['name', 'short', 'training'])
CONTRIB_BATCH_NORM = Layer('contrib_bn.batch_norm', 'batch_norm',
                           'is_training')
TF_LAYERS_BATCH_NORM = Layer('contrib_bn.layers.batch_normalization',
                             'tf.layers.batch_normalization', 'training')


def layer_context(path, is_training, layer=CONTRIB_BATCH_NORM):
  """Checks the distribution context of one layer; returns a `Context`.

  Args:
    path: the internal path the layer takes (`constants.PATH_*`).
    is_training: the layer's `is_training` (or `training`) argument.
    layer: the `Layer` the errors name.

  Returns:
    A `Context`, or None outside any strategy (and for one device).

  Raises:
    ValueError: for an unsupported strategy or context, naming it and what
      is supported.
  """
  synchronized = _synchronized_statistics.synchronization_requested()
  if not tf.distribute.has_strategy():
    if synchronized:
      raise ValueError(
          'contrib_bn.synchronized_statistics() needs a distribution '
          'strategy: build %s inside strategy.scope() of a '
          'MirroredStrategy or MultiWorkerMirroredStrategy (in replica '
          'context), or leave synchronized statistics off.' % layer.short)
    return None
  strategy = tf.distribute.get_strategy()
  name = _strategy_name(strategy)
  if isinstance(strategy, _ONE_DEVICE):
    if synchronized:
      raise ValueError(
          'contrib_bn.synchronized_statistics() needs several replicas; '
          '%s has one device. Supported: MirroredStrategy, '
          'MultiWorkerMirroredStrategy.' % name)
    return None
  if not isinstance(strategy, _MIRRORED):
    raise ValueError(
        '%s does not support %s: it reproduces TF 1.15 '
        'under %s in tf.compat.v1 graph mode, and parameter servers through '
        'tf.compat.v1.train.replica_device_setter.' % (
            layer.name, name, ', '.join(SUPPORTED)))
  if tf.executing_eagerly():
    raise ValueError(
        '%s under %s needs tf.compat.v1 graph mode '
        '(build inside a tf.Graph); eager execution and tf.function are '
        'not supported.' % (layer.name, name))
  replica = tf.distribute.get_replica_context()
  training = _static_training(is_training)
  if replica is None:
    if training is not False:
      raise ValueError(
          '%s with %s=%r in the cross-replica '
          'context of %s: training layers must be built per replica, in '
          'strategy.extended.call_for_each_replica (or strategy.run); in '
          'cross-replica context only %s=False is supported.' % (
              layer.name, layer.training, is_training, name,
              layer.training))
    if synchronized:
      raise ValueError(
          'contrib_bn.synchronized_statistics() under %s needs replica '
          'context (strategy.extended.call_for_each_replica).' % name)
    return Context(strategy, None, False)
  if (training is None and not synchronized and
      path in (constants.PATH_FUSED, constants.PATH_MOMENTS)):
    raise ValueError(
        'contrib_bn.batch_norm under %s: is_training=%r is a tensor on the '
        '%s path, whose updates merge the replicas inside a conditional; '
        'TF 1.15 built an unusable graph for this. Pass a Python bool for '
        'is_training, or use the core-layer path (default '
        'updates_collections, no batch_weights, no zero_debias_moving_mean), '
        'or contrib_bn.synchronized_statistics().' % (name, is_training, path))
  # Inference computes no batch statistics, so there is nothing to sum.
  return Context(strategy, replica, synchronized and training is not False)


def building_tf_layer(training):
  """The distribution context of one `tf.layers` batch normalization.

  `contrib_bn.layers.BatchNormalization` builds on the core-layer path, as
  TF 1.15's `tf.layers` layer did: under a mirrored strategy its moving
  statistics are sync-on-read variables that each replica moves with its
  own batch, and `synchronized_statistics()` applies to it as to
  `batch_norm`. Entered around the path's build.

  Args:
    training: the layer call's `training` argument.

  Returns:
    A context manager making the layer's `Context` current.

  Raises:
    ValueError: as `layer_context`, naming the layer and `training`.
  """
  return building(layer_context(constants.PATH_CORE, training,
                                TF_LAYERS_BATCH_NORM))


def variable_kwargs(sync_on_read):
  """`get_variable` arguments for moving statistics under a strategy."""
  if not sync_on_read or current() is None:
    return {}
  return {'synchronization': tf.VariableSynchronization.ON_READ,
          'aggregation': tf.VariableAggregation.MEAN}


def create_in_cross_replica_context(variable, create_fn):
  """Runs `create_fn()` once for all replicas, colocated with `variable`.

  In replica context this is a merge call (TF 1.15 created zero-debias state
  in one); elsewhere `create_fn` runs directly under the colocation.

  Args:
    variable: the variable the new ones are colocated with.
    create_fn: a function of the (cross-replica) `variable` creating and
      returning the new variables.

  Returns:
    What `create_fn` returned.
  """
  context = current()
  if context is None:
    with tf.compat.v1.colocate_with(variable):
      return create_fn(variable)

  def merge_fn(strategy, mirrored):
    with strategy.extended.colocate_vars_with(mirrored):
      return create_fn(mirrored)

  if context.replica_context is None:
    return merge_fn(context.strategy, variable)
  # Distributed variables in the result reach every replica unchanged.
  return context.replica_context.merge_call(merge_fn, args=(variable,))


def merged_update(variable, value, update_fn, extra=()):
  """TF 1.15's replica-context update of a mirrored statistic.

  The replicas' values are averaged (`reduce_to` MEAN, in a merge call) and
  `update_fn(copy, mean_value, *extra_copies)` writes the result into every
  copy of `variable` (`extended.update`). Under synchronized statistics the
  values are already equal on every replica, so each replica updates its own
  copy directly (which also works inside a conditional).

  Args:
    variable: the mirrored variable.
    value: this replica's new statistic.
    update_fn: builds the single-device update of one copy.
    extra: mirrored variables passed to `update_fn` copy by copy.

  Returns:
    This replica's result of `update_fn`, or None when not distributed
    (the caller then updates as on one device).
  """
  context = current()
  if context is None:
    return None
  if context.replica_context is None or context.synchronized:
    return None

  def merge_fn(strategy, mirrored, per_replica, *others):
    mean = strategy.extended.reduce_to(_MEAN, per_replica, mirrored)
    return strategy.extended.update(mirrored, update_fn,
                                    args=(mean,) + tuple(others))

  return context.replica_context.merge_call(
      merge_fn, args=(variable, value) + tuple(extra))


def is_synchronized():
  """Whether the layer being built computes global batch statistics."""
  context = current()
  return context is not None and context.synchronized


def moments(inputs, axes, weights=None, keepdims=False):
  """Batch mean and variance: global under synchronized statistics.

  Without synchronization this is `tf.nn.moments` (or
  `tf.nn.weighted_moments`), exactly as on one device.
  """
  if is_synchronized():
    mean, variance, _ = _synchronized_statistics.global_moments(
        current().replica_context, inputs, axes, weights, keepdims)
    return mean, variance
  if weights is None:
    return tf.nn.moments(inputs, axes, keepdims=keepdims)
  return tf.nn.weighted_moments(inputs, axes, weights, keepdims=keepdims)


def kernel_training_outputs(inputs, gamma, beta, epsilon, data_format):
  """The fused kernel's training outputs over the global batch.

  For a layer built under synchronized statistics (`is_synchronized()`):
  the normalized outputs and the global batch mean and Bessel-corrected
  variance, as `nn.fused_batch_norm` returns them in training.
  """
  return _synchronized_statistics.kernel_training_outputs(
      current().replica_context, inputs, gamma, beta, epsilon, data_format)


@contextlib.contextmanager
def colocated_with(variable, op=False):
  """Places what is built inside with `variable`, as TF 1.15 did.

  Args:
    variable: the variable to colocate with.
    op: True for operations (updates), False for new variables, which a
      strategy must place copy by copy.

  Yields:
    None.
  """
  context = current()
  if context is None or op:
    with tf.compat.v1.colocate_with(variable):
      yield
  else:
    with context.strategy.extended.colocate_vars_with(variable):
      yield
