"""TF 1.15's fused-kernel path: `nn.fused_batch_norm` on rank-2 or rank-4 input.

Taken for zero-debiased moving means, rank-2 inputs and custom update
collections. Parameters are float32 whatever the input dtype; the moving
variance receives the kernel's Bessel-corrected batch variance.
"""

import tensorflow as tf

from contrib_bn import _fused_statistics
from contrib_bn import _graph_utils
from contrib_bn import _moving_averages
from contrib_bn import _tf1_errors
from contrib_bn import _variables as bn_variables
from contrib_bn import constants
from contrib_bn import distribute

def kernel_epsilon(epsilon):
  # Written as TF 1.15 wrote it, so a non-number fails with TF 1.15's error.
  if epsilon > constants.FUSED_MIN_EPSILON:
    return epsilon
  return constants.FUSED_MIN_EPSILON


def kernel_outputs(cond, inputs, gamma, beta, variables, epsilon,
                   data_format):
  """The fused kernel in training or inference mode, chosen by `cond`.

  Args:
    cond: `cond(training_fn, inference_fn)`, the caller's conditional.
    inputs: rank-4 input.
    gamma: scale (a variable or a constant).
    beta: offset (a variable or a constant).
    variables: the layer's `BatchNormVariables` (for the moving statistics).
    epsilon: the layer's epsilon, before TF 1.15's floor.
    data_format: 'NHWC' or 'NCHW'.

  Returns:
    `(outputs, mean, variance)`: batch statistics (variance Bessel-corrected)
    in training, the moving statistics in inference.
  """
  _tf1_errors.check_kernel_dtype(inputs.dtype)
  epsilon = kernel_epsilon(epsilon)

  def training_outputs():
    outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
        inputs, gamma, beta, epsilon=epsilon, data_format=data_format)
    return outputs, mean, _fused_statistics.non_negative(variance)

  if distribute.is_synchronized():
    # Global statistics: their cross-replica sums cannot sit in a branch.
    synchronized = distribute.kernel_training_outputs(
        inputs, gamma, beta, epsilon, data_format)
    training_outputs = lambda: synchronized

  def inference_outputs():
    return tf.compat.v1.nn.fused_batch_norm(
        inputs, gamma, beta, mean=variables.moving_mean,
        variance=variables.moving_variance, epsilon=epsilon,
        is_training=False, data_format=data_format)

  return cond(training_outputs, inference_outputs)


def fused_batch_norm(inputs, args):
  """Builds the fused-kernel path; `args` holds `batch_norm`'s arguments."""
  nchw = args.data_format == constants.DATA_FORMAT_NCHW
  inputs = tf.convert_to_tensor(inputs)
  original_inputs = inputs
  rank = inputs.get_shape().ndims
  if rank is None:
    raise _tf1_errors.fused_undefined_rank(inputs)
  if rank not in (2, 4):
    raise _tf1_errors.fused_unsupported_rank(inputs, rank)
  if rank == 2:
    channels = tf.compat.dimension_value(inputs.get_shape()[-1])
    if channels is None:
      raise _tf1_errors.fused_unknown_rank2_channels()
    inputs = tf.reshape(
        inputs, [-1, channels, 1, 1] if nchw else [-1, 1, 1, channels])
  inputs_shape = inputs.get_shape()
  params_shape = inputs_shape[1:2] if nchw else inputs_shape[-1:]
  if not params_shape.is_fully_defined():
    raise _tf1_errors.fused_undefined_channels(inputs, params_shape)
  params_shape = params_shape.as_list()
  v = bn_variables.create(
      params_shape, tf.float32, args.center, args.scale,
      args.initializers, args.regularizers,
      args.variables_collections, args.trainable)
  beta = v.beta if v.beta is not None else tf.constant(
      0.0, tf.float32, shape=params_shape)
  gamma = v.gamma if v.gamma is not None else tf.constant(
      1.0, tf.float32, shape=params_shape)
  outputs, mean, variance = kernel_outputs(
      lambda true_fn, false_fn: _graph_utils.smart_cond(
          args.is_training, true_fn, false_fn),
      inputs, gamma, beta, v, args.epsilon, args.data_format)
  training_value = _graph_utils.static_value(args.is_training)
  if training_value is None or training_value:
    outputs = _moving_average_updates(args, v, mean, variance, outputs)
  outputs.set_shape(inputs_shape)
  if rank == 2:
    outputs = tf.reshape(outputs, tf.shape(original_inputs))
  return outputs


def _moving_average_updates(args, v, mean, variance, outputs):
  """Adds the moving-statistics updates; returns the (maybe gated) outputs."""
  updates = _moving_averages.statistics_updater(
      v.moving_mean, v.moving_variance, mean, variance, args.decay,
      args.zero_debias_moving_mean, model=False)
  if args.updates_collections is None:
    def forced():
      with tf.control_dependencies(updates()):
        return tf.identity(outputs)
    return _graph_utils.smart_cond(args.is_training, forced, lambda: outputs)

  update_mean, update_variance = _graph_utils.smart_cond(
      args.is_training, updates,
      lambda: (tf.identity(v.moving_mean), tf.identity(v.moving_variance)))
  tf.compat.v1.add_to_collections(args.updates_collections, update_mean)
  tf.compat.v1.add_to_collections(args.updates_collections, update_variance)
  return outputs
