"""TF 1.15's moments path: `nn.moments` / `nn.weighted_moments` statistics.

Taken for `batch_weights`, custom or forced (`None`) update collections and
zero-debiased moving means when the fused kernel cannot run. Parameters take
the input dtype, the moving variance receives the biased batch variance, and
`param_regularizers` are ignored, as in TF 1.15.
"""

import functools

import tensorflow as tf

from contrib_bn import _forced_updates
from contrib_bn import _fused_statistics
from contrib_bn import _graph_utils
from contrib_bn import _half_precision
from contrib_bn import _moving_averages
from contrib_bn import _tf1_errors
from contrib_bn import _variables as bn_variables
from contrib_bn import constants
from contrib_bn import distribute


def moments_batch_norm(inputs, args):
  """Builds the moments path; `args` holds `batch_norm`'s arguments."""
  nchw = args.data_format == constants.DATA_FORMAT_NCHW
  inputs = tf.convert_to_tensor(inputs)
  if args.renorm:
    raise _tf1_errors.moments_renorm_unsupported()
  inputs_shape = inputs.get_shape()
  rank = inputs_shape.ndims
  if rank is None:
    raise _tf1_errors.moments_undefined_rank(inputs)
  batch_weights = args.batch_weights
  if batch_weights is not None:
    batch_weights = tf.convert_to_tensor(batch_weights)
    _check_batch_weights(inputs_shape, batch_weights.get_shape())
    batch_weights = tf.reshape(batch_weights, [-1] + [1] * (rank - 1))
  if nchw:
    if rank < 2:
      raise _tf1_errors.moments_missing_channel_dimension()
    axes = [0] + list(range(2, rank))
    params_shape = inputs_shape[1:2]
  else:
    axes = list(range(rank - 1))
    params_shape = inputs_shape[-1:]
  if not params_shape.is_fully_defined():
    raise _tf1_errors.moments_undefined_channels(inputs, params_shape)
  params_shape = params_shape.as_list()
  dtype = inputs.dtype.base_dtype
  v = bn_variables.create(
      params_shape, dtype, args.center, args.scale, args.initializers,
      {}, args.variables_collections, args.trainable)
  training_value = _graph_utils.static_value(args.is_training)
  # Batch weights only weigh batch statistics, which inference never uses.
  channel_axis = 1 if nchw else rank - 1
  if ((batch_weights is None or training_value is False) and
      _fused_statistics.kernel_applies(inputs, channel_axis, args.epsilon)):
    return _kernel_outputs(inputs, channel_axis, args, v, training_value)
  if training_value is None or training_value:
    mean, variance = _batch_moments(inputs, axes, batch_weights, nchw)
    mean, variance = _with_updates(args, v, mean, variance)
  else:
    mean, variance = v.moving_mean, v.moving_variance
  beta, gamma = v.beta, v.gamma
  if _fused_statistics.kernel_applies(inputs, channel_axis, args.epsilon):
    # Weighted moments are no kernel statistic, but the kernel normalizes
    # by them in one pass where the formula took two.
    return _fused_statistics.batch_normalization(
        inputs, channel_axis, mean, variance, beta, gamma, args.epsilon)
  if nchw:
    broadcast = [1, params_shape[0]] + [1] * (rank - 2)
    mean = tf.reshape(mean, broadcast)
    variance = tf.reshape(variance, broadcast)
    beta = None if beta is None else tf.reshape(beta, broadcast)
    gamma = None if gamma is None else tf.reshape(gamma, broadcast)
  outputs = _half_precision.batch_normalization(inputs, mean, variance, beta,
                                                gamma, args.epsilon)
  outputs.set_shape(inputs_shape)
  return outputs


def _kernel_outputs(inputs, channel_axis, args, v, training_value):
  """The moments formulas and updates, computed by the fused kernel."""
  normalizer = _fused_statistics.Normalizer(inputs, channel_axis, args.epsilon)

  def inference():
    return normalizer.inference(v.gamma, v.beta, v.moving_mean,
                                v.moving_variance)

  if training_value is False:
    return inference()
  outputs, mean, variance = normalizer.training(v.gamma, v.beta)
  # `nn.moments` returned the statistics in the input dtype.
  dtype = inputs.dtype.base_dtype
  mean, variance = tf.cast(mean, dtype), tf.cast(variance, dtype)
  updates = _moving_averages.statistics_updater(
      v.moving_mean, v.moving_variance, mean, variance, args.decay,
      args.zero_debias_moving_mean, model=True)
  if args.updates_collections is None:
    # TF 1.15 forced the updates around the batch statistics here, not
    # around the output: a gradient fetched alone ran them too.
    def forced():
      with tf.control_dependencies(updates()):
        statistics = [tf.identity(mean), tf.identity(variance)]
      with normalizer.name_scope():
        return _forced_updates.tie(outputs, statistics)
    return _graph_utils.smart_cond(args.is_training, forced, inference)
  _collect_updates(args, v, updates)
  with normalizer.name_scope():
    return _graph_utils.smart_cond(args.is_training, lambda: outputs,
                                  inference)


def _check_batch_weights(inputs_shape, weights_shape):
  if not inputs_shape[0:1].is_compatible_with(weights_shape):
    raise _tf1_errors.incompatible_shapes(inputs_shape[0:1], weights_shape)


def _batch_moments(inputs, axes, batch_weights, nchw):
  # NCHW keeps the reduced dimensions and flattens afterwards, as TF 1.15 did.
  if distribute.is_synchronized():
    mean, variance = distribute.moments(inputs, axes, batch_weights,
                                        keepdims=nchw)
  elif batch_weights is None:
    mean, variance = tf.nn.moments(inputs, axes, keepdims=nchw)
  else:
    mean, variance = tf.nn.weighted_moments(inputs, axes, batch_weights,
                                            keepdims=nchw)
  if nchw:
    mean = tf.reshape(mean, [-1])
    variance = tf.reshape(variance, [-1])
  return mean, variance


def _with_updates(args, v, mean, variance):
  """Wires the moving-statistics updates; returns the statistics to use."""
  updates = _moving_averages.statistics_updater(
      v.moving_mean, v.moving_variance, mean, variance, args.decay,
      args.zero_debias_moving_mean, model=True)
  moving = functools.partial(_moving_statistics, v)
  if args.updates_collections is None:
    def forced():
      with tf.control_dependencies(updates()):
        return tf.identity(mean), tf.identity(variance)
    return _graph_utils.smart_cond(args.is_training, forced, moving)
  _collect_updates(args, v, updates)
  return _graph_utils.smart_cond(args.is_training,
                                lambda: (mean, variance), moving)


def _moving_statistics(v):
  return tf.identity(v.moving_mean), tf.identity(v.moving_variance)


def _collect_updates(args, v, updates):
  """Adds the updates, run only in training, to `updates_collections`."""
  update_mean, update_variance = _graph_utils.smart_cond(
      args.is_training, updates, functools.partial(_moving_statistics, v))
  tf.compat.v1.add_to_collections(args.updates_collections, update_mean)
  tf.compat.v1.add_to_collections(args.updates_collections, update_variance)
