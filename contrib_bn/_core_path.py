"""TF 1.15's core-layer path: the semantics of `tf.layers.BatchNormalization`.

Taken for everything the other two paths do not claim: the default arguments
at ranks 3 to 5 and, at rank 4, through the fused kernel; renorm and
`adjustment` always. Parameters are float32 for float16/bfloat16 input, and
`param_regularizers` apply to `beta` and `gamma`. With `trainable=False` the
layer reports no updates at all, so its moving statistics stay frozen, as in
TF 1.15.
"""

import numpy as np
import tensorflow as tf

from contrib_bn import _dispatch
from contrib_bn import _fused_path
from contrib_bn import _fused_statistics
from contrib_bn import _graph_utils
from contrib_bn import _half_precision
from contrib_bn import _identifiers
from contrib_bn import _layer_axes
from contrib_bn import _moving_averages
from contrib_bn import _outside_xla
from contrib_bn import _tf1_errors
from contrib_bn import _validation
from contrib_bn import _variables as bn_variables
from contrib_bn import constants
from contrib_bn import distribute

_LOW_PRECISION = (tf.float16, tf.bfloat16)
# The core layer created `gamma` before `beta`, so it also read (and
# refused) their initializers and regularizers in that order.
_GAMMA_FIRST = (constants.GAMMA, constants.BETA)


def core_batch_norm(inputs, args, axis=None, virtual_batch_size=None):
  """Builds the core-layer path; `args` holds `batch_norm`'s arguments.

  `axis` (a non-negative axis or axis list) and `virtual_batch_size` are
  what contrib_bn.layers was given (see _layer_axes); an `axis` of None
  is taken from `args.data_format`.
  """
  inputs = tf.convert_to_tensor(inputs)
  clipping = _renorm_clipping(args)
  input_shape = inputs.get_shape()
  if not input_shape.ndims:
    raise _tf1_errors.core_undefined_rank(input_shape)
  ndims = input_shape.ndims
  if axis is None:
    axis = _dispatch.channel_axis(args.data_format, ndims)
  layout = _layer_axes.Layout(input_shape, axis, virtual_batch_size)
  # The kernel takes one channel axis, first or last; TF 1.15's layer used
  # the moments formulas for any other axis, several axes or ghost batches.
  use_kernel = (not layout.grouped and _dispatch.uses_fused_kernel(
      constants.PATH_CORE, ndims, args.fused, args.renorm,
      args.adjustment) and layout.axes[0] in (1, ndims - 1))
  dtype = inputs.dtype.base_dtype
  param_dtype = tf.float32 if dtype in _LOW_PRECISION else dtype
  # Looked up with `.get`, as TF 1.15 did: other mapping types work, and
  # a list fails with TF 1.15's AttributeError.
  initializers = {}
  for name in _GAMMA_FIRST + (constants.MOVING_MEAN, constants.MOVING_VARIANCE):
    value = args.initializers.get(name)
    if value is not None:
      initializers[name] = _identifiers.initializer(value)
  regularizers = {}
  for name in _GAMMA_FIRST:
    value = args.regularizers.get(name)
    if value is not None:
      regularizers[name] = _identifiers.regularizer(value)
  v = bn_variables.create(
      layout.params_shape, param_dtype, args.center, args.scale,
      initializers, regularizers, args.variables_collections, args.trainable,
      gamma_first=True,
      renorm=args.renorm, collections_at_creation=False, sync_on_read=True)
  training_value = _graph_utils.layer_static_value(args.is_training)
  # A non-trainable layer reports no updates, so TF 1.15 never ran them.
  wants_updates = args.trainable and training_value is not False
  call = _CoreLayerCall(args, v, layout, clipping, param_dtype)
  inputs = layout.expand(inputs)
  if use_kernel:
    outputs, updates = call.fused(inputs, training_value, wants_updates)
  else:
    outputs, updates = call.plain(inputs, training_value, wants_updates)
  outputs = layout.restore(outputs)
  # The update ops are new, so they cannot be in UPDATE_OPS yet.
  for update in updates:
    tf.compat.v1.add_to_collection(
        tf.compat.v1.GraphKeys.UPDATE_OPS,
        update if isinstance(update, tf.Operation) else update.op)
  # Only reused variables can already be in the collections; checking
  # others would make graph building quadratic in the number of layers.
  reused = bool(tf.compat.v1.get_variable_scope().reuse)
  for name in (constants.MOVING_MEAN, constants.MOVING_VARIANCE,
               constants.BETA, constants.GAMMA):
    variable = getattr(v, name)
    if variable is not None:
      bn_variables.add_to_collections(
          variable,
          bn_variables.collections_for(args.variables_collections, name),
          only_if_absent=reused)
  return outputs


def _renorm_clipping(args):
  if not args.renorm:
    return None
  clipping = args.renorm_clipping or {}
  if set(clipping) - set(constants.RENORM_CLIPPING_KEYS):
    raise _tf1_errors.core_unknown_clipping_keys(clipping)
  return clipping


def _constant(value, dtype, shape):
  if not (dtype.is_floating or dtype.is_complex):
    # TF 2.x words this conversion error differently.
    raise _tf1_errors.core_not_float(dtype, value)
  return tf.constant(value, dtype, shape=shape)


def _value(read, variable):
  """`read` if the variable was read already, else a read made here."""
  return read if read is not None else tf.convert_to_tensor(variable)


def _compose(scale, offset, then_scale, then_offset):
  """`x * scale + offset` followed by `* then_scale + then_offset`."""
  if then_scale is not None:
    scale = scale * then_scale
    offset = offset * then_scale
  if then_offset is not None:
    offset = offset + then_offset
  return scale, offset


class _CoreLayerCall(object):
  """One application of the core layer to an input."""

  def __init__(self, args, variables, layout, clipping, param_dtype):
    self.args = args
    self.v = variables
    self.layout = layout
    self.axis = layout.axes[0]
    self.ndims = layout.ndims
    self.clipping = clipping
    self.param_dtype = param_dtype
    self.reduction_axes = layout.reduction_axes

  def cond(self, true_fn, false_fn):
    return _graph_utils.layer_smart_cond(self.args.is_training, true_fn,
                                        false_fn)

  def fused(self, inputs, training_value, wants_updates):
    """The fused-kernel variant, used at rank 4."""
    args, v = self.args, self.v
    shape = [v.moving_mean.shape[0]]
    gamma = v.gamma if v.gamma is not None else _constant(
        1.0, self.param_dtype, shape)
    beta = v.beta if v.beta is not None else _constant(
        0.0, self.param_dtype, shape)
    data_format = (constants.DATA_FORMAT_NCHW if self.axis == 1 else
                   constants.DATA_FORMAT_NHWC)
    outputs, mean, variance = _fused_path.kernel_outputs(
        self.cond, inputs, gamma, beta, v, args.epsilon, data_format)
    if not wants_updates:
      return outputs, []
    # The layer's momentum is a float32 tensor here, so `1 - momentum` is
    # rounded in float32, unlike the plain variant. A constant momentum is
    # passed as numpy.float32, which rounds the same at build time.
    if isinstance(args.decay, str):
      raise _tf1_errors.core_string_decay()
    if training_value is None:
      momentum = self.cond(lambda: tf.constant(args.decay, tf.float32),
                           lambda: tf.constant(1.0, tf.float32))
    elif _validation.real_number(args.decay) is not None:
      momentum = np.float32(args.decay)
    else:
      momentum = tf.convert_to_tensor(args.decay, tf.float32)
    # Only the ops reach UPDATE_OPS, so no value is read after them.
    updates = [
        _moving_averages.assign_moving_average(v.moving_mean, mean, momentum,
                                              read_value=False),
        _moving_averages.assign_moving_average(v.moving_variance, variance,
                                              momentum, read_value=False)]
    return outputs, updates

  def _broadcast(self, value):
    if (value is not None and len(value.shape) != self.ndims and
        self.reduction_axes != list(range(self.ndims - 1))):
      shape = [1] * self.ndims
      shape[self.axis] = self.v.moving_mean.shape[0]
      return tf.reshape(value, shape)
    return value

  def _adjustment(self, inputs):
    adj_scale, adj_bias = self.args.adjustment(tf.shape(inputs))
    adj_scale = self.cond(lambda: adj_scale, lambda: tf.ones_like(adj_scale))
    adj_bias = self.cond(lambda: adj_bias, lambda: tf.zeros_like(adj_bias))
    return adj_scale, adj_bias

  def plain(self, inputs, training_value, wants_updates):
    """The moments variant, with renorm and adjustment."""
    args, v = self.args, self.v
    adjustment = None
    if training_value is not False and args.adjustment is not None:
      adjustment = self._adjustment(inputs)
    # Renorm's corrections apply in training only; inference normalizes
    # by the moving statistics like any other layer. The kernel sees
    # channels first or last only.
    if ((not args.renorm or training_value is False) and
        not self.layout.grouped and self.axis in (1, self.ndims - 1) and
        _fused_statistics.kernel_applies(inputs, self.axis, args.epsilon)):
      kernel_adjustment = self._per_channel(adjustment)
      if kernel_adjustment is not None:
        return self._kernel_plain(inputs, training_value, wants_updates,
                                  kernel_adjustment)
    if args.renorm and training_value is not False:
      return self._outside_xla(inputs, adjustment, training_value,
                               wants_updates)
    return self._formulas(inputs, v.gamma, v.beta, adjustment,
                          training_value, wants_updates)

  def _outside_xla(self, inputs, adjustment, training_value, wants_updates):
    """Renorm's training formulas, kept out of XLA (see `_outside_xla`)."""
    v = self.v
    parameters = [p for p in (v.gamma, v.beta) if p is not None]
    moving = ()
    if training_value is None:
      # A fed `is_training` can pick the moving statistics, so the output
      # depends on them and TF 1.15 gave them gradients: they are sources.
      moving = (tf.convert_to_tensor(v.moving_mean),
                tf.convert_to_tensor(v.moving_variance))
    sources = [inputs] + parameters + list(moving) + list(adjustment or ())

    def build(inputs, *rest):
      rest = list(rest)
      gamma = rest.pop(0) if v.gamma is not None else None
      beta = rest.pop(0) if v.beta is not None else None
      statistics = (rest.pop(0), rest.pop(0)) if moving else None
      return self._formulas(inputs, gamma, beta, tuple(rest) or None,
                            training_value, wants_updates, statistics)

    return _outside_xla.outside_xla(build, sources)

  def _formulas(self, inputs, gamma, beta, adjustment, training_value,
                wants_updates, moving=None):
    """TF 1.15's moments and normalization formulas, renorm's included.

    `moving` is the moving mean and variance as read already, or None to
    read them here.
    """
    args, v = self.args, self.v
    scale, offset = self._broadcast(gamma), self._broadcast(beta)
    updates = []
    if training_value is False:
      mean, variance = v.moving_mean, v.moving_variance
    else:
      if adjustment is not None:
        scale, offset = _compose(adjustment[0], adjustment[1], scale, offset)
      mean, variance = distribute.moments(tf.cast(inputs, self.param_dtype),
                                          self.reduction_axes,
                                          keepdims=self.layout.grouped)
      batch_mean, batch_variance = mean, variance
      read_mean, read_variance = moving or (None, None)
      mean = self.cond(lambda: batch_mean,
                       lambda: _value(read_mean, v.moving_mean))
      variance = self.cond(lambda: batch_variance,
                           lambda: _value(read_variance, v.moving_variance))
      new_mean, new_variance = self.layout.averaged(mean, variance)
      if args.renorm:
        r, d, new_mean, new_variance = self._renorm_correction(
            new_mean, new_variance, wants_updates)
        r = self._broadcast(tf.stop_gradient(r, name='renorm_r'))
        d = self._broadcast(tf.stop_gradient(d, name='renorm_d'))
        scale, offset = _compose(r, d, scale, offset)
      if wants_updates:
        updates = self._updates(new_mean, new_variance)
    mean = tf.cast(mean, inputs.dtype)
    variance = tf.cast(variance, inputs.dtype)
    if offset is not None:
      offset = tf.cast(offset, inputs.dtype)
    if scale is not None:
      scale = tf.cast(scale, inputs.dtype)
    outputs = _half_precision.batch_normalization(
        inputs, self._broadcast(mean), self._broadcast(variance), offset,
        scale, args.epsilon)
    outputs.set_shape(inputs.get_shape())
    return outputs, updates

  def _per_channel(self, adjustment):
    """`adjustment` as [C] vectors, `()` for none, None if not per channel."""
    if adjustment is None:
      return ()
    channels = self.v.moving_mean.shape[0]
    vectors = tuple(_fused_statistics.per_channel(value, self.ndims, self.axis,
                                                  channels)
                    for value in adjustment)
    return None if None in vectors else vectors

  def _kernel_plain(self, inputs, training_value, wants_updates, adjustment):
    """The moments variant's formulas, computed by the fused kernel.

    Args:
      inputs: the layer input (`_fused_statistics.kernel_applies` holds).
      training_value: the static `is_training`, or None.
      wants_updates: whether to build the moving-statistics updates.
      adjustment: `()` or the adjustment's `(scale, bias)` as [C] vectors.

    Returns:
      `(outputs, updates)` as `plain` returns them.
    """
    args, v = self.args, self.v
    normalizer = _fused_statistics.Normalizer(inputs, self.axis, args.epsilon)

    def inference():
      return normalizer.inference(v.gamma, v.beta, v.moving_mean,
                                  v.moving_variance)

    if training_value is False:
      return inference(), []
    scale, offset = v.gamma, v.beta
    if adjustment:
      scale, offset = _compose(adjustment[0], adjustment[1], scale, offset)
    outputs, batch_mean, batch_variance = normalizer.training(scale, offset)
    new_mean = self.cond(lambda: batch_mean,
                         lambda: tf.convert_to_tensor(v.moving_mean))
    new_variance = self.cond(lambda: batch_variance,
                             lambda: tf.convert_to_tensor(v.moving_variance))
    updates = self._updates(new_mean, new_variance) if wants_updates else []
    if training_value is None:
      trained = outputs
      with normalizer.name_scope():
        outputs = self.cond(lambda: trained, inference)
    return outputs, updates

  def _updates(self, new_mean, new_variance):
    args, v = self.args, self.v

    def mean_update():
      return self.cond(
          lambda: _moving_averages.assign_moving_average(
              v.moving_mean, new_mean, args.decay),
          lambda: tf.convert_to_tensor(v.moving_mean))

    def variance_update():
      if args.renorm:
        def update():
          stddev = _moving_averages.assign_moving_average(
              v.moving_stddev, tf.sqrt(new_variance + args.epsilon),
              args.decay)
          with tf.compat.v1.name_scope('AssignNewValue') as scope, \
              distribute.colocated_with(v.moving_variance, op=True):
            return tf.compat.v1.assign(
                v.moving_variance,
                tf.nn.relu(stddev * stddev - args.epsilon), name=scope)
      else:
        def update():
          return _moving_averages.assign_moving_average(
              v.moving_variance, new_variance, args.decay)
      return self.cond(update, lambda: tf.convert_to_tensor(v.moving_variance))

    return [mean_update(), variance_update()]

  def _renorm_correction(self, mean, variance, wants_updates):
    """Renorm's `r` and `d`, and the statistics gated on renorm's updates."""
    args, v = self.args, self.v
    epsilon = args.epsilon
    stddev = tf.sqrt(variance + epsilon)
    renorm_stddev = tf.maximum(v.renorm_stddev, tf.sqrt(epsilon))
    r = stddev / renorm_stddev
    d = (mean - v.renorm_mean) / renorm_stddev
    with tf.control_dependencies([r, d]):
      mean = tf.identity(mean)
      stddev = tf.identity(stddev)
    rmin, rmax, dmax = [self.clipping.get(key)
                        for key in ('rmin', 'rmax', 'dmax')]
    _tf1_errors.check_clipping_value('Maximum', rmin)
    _tf1_errors.check_clipping_value('Minimum', rmax)
    if rmin is not None:
      r = tf.maximum(r, rmin)
    if rmax is not None:
      r = tf.minimum(r, rmax)
    if dmax is not None:
      d = tf.maximum(d, -dmax)
      d = tf.minimum(d, dmax)
    r = self.cond(lambda: r, lambda: tf.ones_like(r))
    d = self.cond(lambda: d, lambda: tf.zeros_like(d))
    if not wants_updates:
      return r, d, mean, variance

    def renorm_update(var, value):
      value = tf.identity(value)
      return self.cond(
          lambda: _moving_averages.assign_moving_average(
              var, value, args.renorm_decay),
          lambda: tf.identity(var))

    new_mean = renorm_update(v.renorm_mean, mean)
    new_stddev = renorm_update(v.renorm_stddev, stddev)
    with tf.control_dependencies([new_mean, new_stddev]):
      return r, d, tf.identity(mean), tf.identity(variance)
