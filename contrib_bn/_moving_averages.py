"""Exponential moving averages of batch statistics, optionally zero-debiased.

`decay` follows TF 1.15 exactly: the update rate `1 - decay` is computed in
Python when `decay` is a Python number and in float32 when it is a tensor (the
core layer's fused path passes its momentum as a tensor), then cast to the
variable's dtype. The two differ in the last bits, and the goldens see it. A
`numpy.float32` decay stands for a constant float32 tensor: its rate is
rounded in float32 too, but by numpy at build time, which gives the bits
TF's subtraction kernel would and leaves two ops per update out of the graph.
"""

import numpy as np
import tensorflow as tf

from contrib_bn import constants
from contrib_bn import distribute


class DebiasVariables(object):
  """The `biased` accumulator and `local_step` counter of one moving mean."""

  def __init__(self, biased, local_step):
    self.biased = biased
    self.local_step = local_step


_VARIABLE_OPS = ('VariableV2', 'VarHandleOp', 'Variable')


def _variable_exists(graph, name):
  # A lookup by op name keeps graph building linear in the number of layers;
  # scanning the global-variables collection, as TF 1.15 did, is quadratic.
  try:
    return graph.get_operation_by_name(name).type in _VARIABLE_OPS
  except KeyError:
    return False


def _unique_short_name(name):
  # TF 1.15 suffixed `_1`, `_2`, ... when the scope already held the name and
  # was not reusing variables.
  scope = tf.compat.v1.get_variable_scope()
  if scope.reuse:
    return name
  graph = tf.compat.v1.get_default_graph()
  full_name = scope.name + '/' + name
  if not _variable_exists(graph, full_name):
    return name
  index = 1
  while _variable_exists(graph, '%s_%d' % (full_name, index)):
    index += 1
  return '%s_%d' % (name, index)


def create_debias_variables(variable, model):
  """Creates the zero-debias state of `variable` in the current scope.

  TF 1.15 opened a variable scope named after the full variable name inside
  the layer's own scope, so a moving mean `BatchNorm/moving_mean` gets
  `BatchNorm/BatchNorm/moving_mean/biased` and `.../local_step`; checkpoints
  carry those names. Both are colocated with the moving mean, and under a
  mirrored strategy created once, in cross-replica context, as TF 1.15 did.
  They are created before any conditional so that graph functions never
  create variables.

  Args:
    variable: the moving-mean variable.
    model: whether the two variables join MODEL_VARIABLES (TF 1.15 did so on
      the moments path, not on the fused path).

  Returns:
    A `DebiasVariables`.
  """
  return distribute.create_in_cross_replica_context(
      variable, lambda mirrored: _create_debias_variables(mirrored, model))


def _create_debias_variables(variable, model):
  collections = [tf.compat.v1.GraphKeys.GLOBAL_VARIABLES]
  if model:
    collections.append(tf.compat.v1.GraphKeys.MODEL_VARIABLES)
  dtype = variable.dtype.base_dtype
  zeros = tf.compat.v1.zeros_initializer()
  # The cross-replica name: a replica's copy carries a `replica_<n>` suffix.
  name = variable.name[:-len(':0')] if variable.name.endswith(
      ':0') else variable.op.name
  with tf.compat.v1.variable_scope(name) as scope:
    # Updated in place like the moving mean, so never partitioned. (TF 1.15
    # inherited an enclosing partitioner here and failed to build.)
    scope.set_partitioner(None)
    biased = tf.compat.v1.get_variable(
        _unique_short_name(constants.DEBIAS_BIASED), shape=variable.shape,
        dtype=dtype, initializer=zeros, trainable=False,
        collections=collections)
    local_step = tf.compat.v1.get_variable(
        _unique_short_name(constants.DEBIAS_LOCAL_STEP), shape=[],
        dtype=dtype, initializer=zeros, trainable=False,
        collections=collections)
  return DebiasVariables(biased, local_step)


def assign_moving_average(variable, value, decay, debias=None,
                          read_value=True):
  """Moves `variable` towards `value`: `v -= (v - value) * (1 - decay)`.

  The update is colocated with the variable. In replica context of a
  mirrored strategy, a mirrored `variable` moves every copy with the mean of
  the replicas' values (TF 1.15's merge call); a sync-on-read one moves only
  this replica's copy.

  Args:
    variable: the moving statistic.
    value: the new batch statistic (cast to the variable's dtype).
    decay: a Python float, a numpy.float32 or a scalar float32 tensor.
    debias: a `DebiasVariables` to zero-debias the average, or None.
    read_value: False returns the assignment as an op, with no read after
      it, for callers that only collect ops.

  Returns:
    A tensor holding the updated value, or an op when `read_value` is False.
  """
  with tf.compat.v1.name_scope(None, 'AssignMovingAvg',
                               [variable, value, decay]):
    dtype = variable.dtype.base_dtype
    if isinstance(decay, np.float32):
      # IEEE float32 subtraction, correctly rounded as TF's kernel rounds it;
      # a Python float holds the float32 result exactly.
      rate = float(np.float32(1.0) - decay)
    else:
      rate = 1.0 - decay
    rate = tf.convert_to_tensor(rate, name='decay')
    if rate.dtype != dtype:
      rate = tf.cast(rate, dtype)

    def update(var, value, *state):
      # One device: `scope` itself. A strategy updates each copy under its
      # own name scope, and the op takes that one's name.
      name = tf.compat.v1.get_default_graph().get_name_scope() + '/'
      with distribute.colocated_with(var, op=True):
        value = tf.cast(value, dtype)
        if not state:
          return _assign_sub(var, (var - value) * rate, name, read_value)
        biased, local_step = state
        biased = tf.compat.v1.assign_sub(biased, (biased - value) * rate)
        step = tf.compat.v1.assign_add(local_step, 1)
        bias_factor = 1 - tf.pow(1.0 - rate, step)
        return tf.compat.v1.assign(var, biased / bias_factor, name=name)

    state = () if debias is None else (debias.biased, debias.local_step)
    if variable.synchronization != tf.VariableSynchronization.ON_READ:
      merged = distribute.merged_update(variable, value, update, state)
      if merged is not None:
        return _result(merged, read_value)
    # TF 1.15's update was a reference variable's assignment, placed with its
    # variable. The read that makes a resource variable's assignment a tensor
    # goes there too: under replica_device_setter, UPDATE_OPS then holds ops
    # on the variable's ps task, as in TF 1.15, rather than on the worker.
    with distribute.colocated_with(variable, op=True):
      return _result(update(variable, value, *state), read_value)


def _assign_sub(var, delta, name, read_value):
  """`var -= delta`: the new value, or only the assignment op.

  Without `read_value` a resource variable's assignment is returned as it
  is, with no read after it: callers that only collect ops save the one
  `tf.compat.v1.assign_sub` builds (and the one converting it to a tensor
  would add). A read does not come cheaper: inside a while loop a variable
  may answer `value()` from a cached read that ignores control dependencies.
  """
  if read_value or var.dtype != var.dtype.base_dtype:
    # Reference variables (TF1 behaviour) return their assignment, a tensor.
    return tf.compat.v1.assign_sub(var, delta, name=name)
  return var.assign_sub(delta, name=name, read_value=False)


def _result(update, read_value):
  if not read_value:
    return update if isinstance(update, tf.Operation) else update.op
  # A resource-variable assignment returns a variable-like handle; update
  # collections held plain tensors in TF1, and legacy code may rely on that.
  return tf.convert_to_tensor(update)


def statistics_updater(moving_mean, moving_variance, mean, variance, decay,
                       zero_debias, model):
  """A callable building the two moving-statistics updates of a layer.

  The zero-debias variables are created at once, outside whatever
  conditional later calls the updater.

  Args:
    moving_mean: the moving-mean variable.
    moving_variance: the moving-variance variable.
    mean: the batch mean.
    variance: the batch variance.
    decay: the moving averages' decay.
    zero_debias: whether to zero-debias the moving mean.
    model: whether zero-debias variables join MODEL_VARIABLES.

  Returns:
    A function of no arguments returning `(update_mean, update_variance)`.
  """
  debias = None
  if zero_debias:
    debias = create_debias_variables(moving_mean, model=model)

  def updates():
    return (assign_moving_average(moving_mean, mean, decay, debias),
            assign_moving_average(moving_variance, variance, decay))

  return updates
