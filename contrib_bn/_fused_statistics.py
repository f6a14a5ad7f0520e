"""Batch statistics and normalization by the fused kernel, for every rank.

TF 1.15 ran `nn.moments` followed by `nn.batch_normalization` wherever its
fused kernel could not go: ranks other than 4, `fused=False`, renorm,
`adjustment` and the contrib moments path. Those formulas are the fused
kernel's own, so TF 2's `tf.compat.v1.nn.fused_batch_norm` can compute them
in one pass over any rank viewed as rank 4, provided what it returns is
converted back to what the moments path produced:

* the kernel reports the Bessel-corrected batch variance; the moments path
  fed the moving averages (and renorm) the biased one, so it is scaled by
  `(n - 1) / n` (the kernel leaves a one-element batch uncorrected);
* the public wrapper raises epsilon to 1.001e-5, a floor TF 1.15 applied on
  its fused path only, so smaller epsilons keep the moments formulas (see
  `kernel_applies`);
* float64 is not a kernel dtype, and non-float inputs must keep failing with
  the errors the moments ops raise, so both keep the moments formulas;
* float16 and bfloat16 keep them too: TF 1.15 normalized in the half type
  there and reduced the gradients of `beta` and `gamma` in it, and the
  kernel's float32 arithmetic differs from that by more than the corpus
  tolerance (beta's gradient of `float16_core_plain` by 1.3e-2 on a scale of
  1.75, against 4e-3 allowed);
* renorm keeps them in training (in inference it normalizes by the moving
  statistics like any layer): its r and d scale the normalized values by
  factors taken from the batch statistics, and its input gradient is a
  difference of nearly equal terms that magnifies any rounding of those
  statistics. The kernel's statistics moved it past the corpus tolerance
  (`renorm_r4_nchw` step 2 by 1.7e-3 against 1.4e-3 allowed, with the
  formulas' own derivative; by up to 2.2e-5 of its scale with the kernel's
  gradient), and so did the kernel's normalization by `nn.moments`'
  statistics (`renorm_adjustment` step 2, 3.9e-3 against 3.6e-3);
* `batch_weights` in training keeps `nn.weighted_moments`, which no kernel
  computes, and normalizes by them with the inference kernel
  (`batch_normalization` below).

Gradients agree with the moments path's: `nn.moments` stops the gradient of
the mean inside the variance, which changes nothing because the centred
inputs sum to zero, so the loss gradient is the kernel's batch-norm gradient.
"""

import tensorflow as tf

from contrib_bn import _validation
from contrib_bn import constants
from contrib_bn import distribute

# See the module docstring for float16 and bfloat16.
_KERNEL_DTYPES = (tf.float32,)


def kernel_applies(inputs, channel_axis, epsilon):
  """Whether the kernel reproduces the moments formulas for this input.

  Args:
    inputs: the layer input (its static shape and dtype are read).
    channel_axis: the non-negative channel axis.
    epsilon: the layer's epsilon.

  Returns:
    True when statistics are not synchronized across replicas, the rank is
    known and at least 2, the channel count is known,
    the dtype is one the kernel takes, and epsilon is a Python number at or
    above the public wrapper's floor (below it, the wrapper would silently
    normalize with a larger epsilon than TF 1.15's moments path used).
  """
  if distribute.is_synchronized():
    # Synchronized statistics are global: `distribute.moments` computes them
    # from every replica's sums, which the kernel cannot see.
    return False
  shape = inputs.get_shape()
  if shape.ndims is None or shape.ndims < 2:
    return False
  if tf.compat.dimension_value(shape[channel_axis]) is None:
    return False
  if inputs.dtype.base_dtype not in _KERNEL_DTYPES:
    return False
  epsilon = _validation.real_number(epsilon)
  return epsilon is not None and epsilon >= constants.FUSED_MIN_EPSILON


def per_channel(value, ndims, channel_axis, channels):
  """`value` as a [channels] vector if it varies along the channels only.

  Args:
    value: a tensor meant to broadcast against the input.
    ndims: the input rank.
    channel_axis: the non-negative channel axis.
    channels: the channel count.

  Returns:
    A rank-1 tensor of `channels` elements, or None when `value`'s static
    shape could vary along another axis (then the kernel cannot apply it).
  """
  shape = value.get_shape()
  if shape.ndims is None or shape.ndims > ndims or (
      not shape.is_fully_defined()):
    return None
  dims = shape.as_list()
  # Broadcasting aligns the trailing dimensions.
  offset = ndims - len(dims)
  for i, size in enumerate(dims):
    if size != 1 and not (i + offset == channel_axis and size == channels):
      return None
  index = channel_axis - offset
  if 0 <= index and dims[index] == channels:
    return tf.reshape(value, [channels])
  return tf.reshape(value, [1]) * tf.ones([channels], value.dtype)


class _Rank4View(object):
  """A rank-4 view of an input of any rank >= 2, and the way back."""

  def __init__(self, inputs, channel_axis):
    self.inputs = inputs
    shape = inputs.get_shape()
    ndims = shape.ndims
    channels = tf.compat.dimension_value(shape[channel_axis])
    self.channels = channels
    if channel_axis == ndims - 1:
      self.data_format = constants.DATA_FORMAT_NHWC
      self.shape = None if ndims == 4 else [-1, 1, 1, channels]
      middle = shape[1:-2]
      width = tf.compat.dimension_value(shape[-2])
      if ndims > 4 and middle.is_fully_defined() and width is not None:
        # [N, D*H, W, C] keeps the kernel's spatial loops long: it ran the
        # [-1, 1, 1, C] view of an [8, 16, 16, 16, 32] input 1.2x (oneDNN)
        # to 1.3x (Eigen) slower. Any view with C last normalizes the same.
        self.shape = [-1, middle.num_elements(), width, channels]
    else:
      self.data_format = constants.DATA_FORMAT_NCHW
      if ndims == 4:
        self.shape = None
      else:
        spatial = shape[2:]
        if spatial.is_fully_defined() and spatial.num_elements():
          self.shape = [-1, channels, spatial.num_elements(), 1]
        else:
          dynamic = tf.shape(inputs)
          self.shape = tf.stack([dynamic[0], channels,
                                 tf.reduce_prod(dynamic[2:]), 1])
    self.x = inputs if self.shape is None else tf.reshape(inputs, self.shape)

  def restore(self, outputs):
    if self.shape is not None:
      static = self.inputs.get_shape()
      target = (static.as_list() if static.is_fully_defined() else
                tf.shape(self.inputs))
      outputs = tf.reshape(outputs, target)
    outputs.set_shape(self.inputs.get_shape())
    return outputs


def _float32_or_constant(value, fill, channels):
  if value is None:
    return tf.constant(fill, tf.float32, shape=[channels])
  if value.dtype.base_dtype != tf.float32:
    return tf.cast(value, tf.float32)
  return value


def non_negative(variance):
  """The kernel's batch variance, never below zero.

  Under XLA auto-clustering the compiled kernel can return a negative batch
  variance for channels whose mean is large against their spread (a reported
  TF 2 issue; on this project's CPUs a channel of mean 1000 and deviation
  1e-3 gives -0.375). TF 1.15's moments were a mean of
  squares and its kernel ran without XLA, so they never went negative; a
  negative batch variance would drag the moving variance below zero and make
  inference NaN. Clamping changes nothing whenever the variance is valid, and
  passes NaN through.

  The clamp is a `Maximum` against zero, never a `Relu`: with oneDNN on,
  Grappler's remapper fuses a `Relu` that reads any output of a
  `FusedBatchNorm*` op into the kernel as its activation on `y`, so a Relu
  on the variance silently returned the normalized input instead (see
  `tests/test_remapper_patterns.py`, and docs/parity.md, known TensorFlow
  bugs).
  """
  return tf.maximum(variance, tf.constant(0.0, variance.dtype.base_dtype))


def _biased_variance(variance, view):
  """The kernel's Bessel-corrected variance turned back into the biased one."""
  # The kernel divides by max(n - 1, 1), so n = 1 needs no correction.
  elements = view.inputs.get_shape().num_elements()
  if elements is not None:
    count = elements // view.channels
    factor = (count - 1.0) / count if count > 1 else 1.0
  else:
    count = tf.cast(tf.size(view.x, out_type=tf.int64) // view.channels,
                    tf.float32)
    factor = tf.where(count > 1.0, (count - 1.0) / count, 1.0)
  return non_negative(variance * factor)


class Normalizer(object):
  """The kernel applied to one layer input, in training and inference mode.

  Args:
    inputs: the layer input, rank >= 2 (`kernel_applies` was true).
    channel_axis: the non-negative channel axis.
    epsilon: the layer's epsilon (at least the kernel floor).
  """

  def __init__(self, inputs, channel_axis, epsilon):
    # TF 1.15's `nn.batch_normalization` named its ops `batchnorm/...`, and
    # legacy code (tf-slim's own tests among it) finds the output by that
    # name; every normalizing op lives in one such scope.
    with tf.compat.v1.name_scope(None, 'batchnorm', [inputs]) as scope:
      self.scope = scope
      self.view = _Rank4View(inputs, channel_axis)
    self.epsilon = epsilon
    self.channels = self.view.channels

  def name_scope(self):
    """Re-enters the `batchnorm` scope (e.g. for a conditional's output)."""
    return tf.compat.v1.name_scope(self.scope)

  def training(self, scale=None, offset=None):
    """Normalizes by the batch statistics, then `* scale + offset`.

    Args:
      scale: optional [C] tensor (any float dtype; the kernel takes float32).
      offset: optional [C] tensor.

    Returns:
      `(outputs, mean, variance)`: outputs shaped like the input, the float32
      batch mean and biased batch variance, as `nn.moments` gave them.
    """
    with self.name_scope():
      outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
          self.view.x, _float32_or_constant(scale, 1.0, self.channels),
          _float32_or_constant(offset, 0.0, self.channels),
          epsilon=self.epsilon, data_format=self.view.data_format)
      return (self.view.restore(outputs), mean,
              _biased_variance(variance, self.view))

  def inference(self, scale, offset, mean, variance):
    """Normalizes by the given (moving) statistics, then scale and offset."""
    with self.name_scope():
      outputs, _, _ = tf.compat.v1.nn.fused_batch_norm(
          self.view.x, _float32_or_constant(scale, 1.0, self.channels),
          _float32_or_constant(offset, 0.0, self.channels),
          mean=_float32_or_constant(mean, 0.0, self.channels),
          variance=_float32_or_constant(variance, 1.0, self.channels),
          epsilon=self.epsilon, is_training=False,
          data_format=self.view.data_format)
      return self.view.restore(outputs)


def _channel_vector(value, channels, fill):
  """`value` (broadcastable, per channel) as a float32 [C] vector."""
  if value is None:
    return tf.constant(fill, tf.float32, shape=[channels])
  return tf.reshape(tf.cast(value, tf.float32), [channels])


def batch_normalization(inputs, channel_axis, mean, variance, offset, scale,
                        epsilon):
  """`nn.batch_normalization` by the inference kernel, with its gradient.

  For statistics the kernel cannot compute itself: weighted
  (`batch_weights`) moments, which keep TF 1.15's `nn.weighted_moments`.
  The formula's `x * inv + (offset - mean * inv)`, with
  `inv = rsqrt(variance + epsilon) * scale`, took two passes over the input
  forward and three backward; the inference kernel and its gradient take
  one each. The gradient is the formula's, for the statistics too (the
  kernel's inference gradient has none for them):

  * `offset` and `scale` take the kernel's sums, which the corpus matches;
  * the input's direct share, `dy * inv`, and the statistics' gradients keep
    the formula's sums: the gradient for `inv` is `sum(dy * x) - mean *
    sum(dy)`, which cancels where the mean is large against the spread, and
    the input gradient that the statistics spread back magnifies any other
    rounding (the kernel's `sum(dy * (x - mean))` there moved renorm's input
    gradient by up to 3e-5 of its scale against 1e-5 allowed). Those ops
    run only when the input gradient is fetched.

  Args:
    inputs: the layer input, float32 (`kernel_applies` was true).
    channel_axis: the non-negative channel axis, first or last.
    mean: the per-channel mean to normalize by (any channel-broadcastable
      shape).
    variance: its variance.
    offset: optional, per channel.
    scale: optional, per channel.
    epsilon: the layer's epsilon (at least the kernel floor).

  Returns:
    The normalized input, shaped like it.
  """
  shape = inputs.get_shape()
  ndims = shape.ndims
  channels = tf.compat.dimension_value(shape[channel_axis])
  broadcast_shape = [1] * ndims
  broadcast_shape[channel_axis] = channels
  reduction_axes = [i for i in range(ndims) if i != channel_axis]

  def broadcast(vector):
    return tf.reshape(vector, broadcast_shape)

  @tf.custom_gradient
  def normalize(inputs, mean, variance, offset, scale):
    with tf.compat.v1.name_scope('batchnorm'):
      view = _Rank4View(inputs, channel_axis)
      y, _, _ = tf.compat.v1.nn.fused_batch_norm(
          view.x, scale, offset, mean=mean, variance=variance,
          epsilon=epsilon, is_training=False, data_format=view.data_format)
      outputs = view.restore(y)

    def gradient(outputs_grad):
      y_grad = outputs_grad
      if view.shape is not None:
        y_grad = tf.reshape(outputs_grad, tf.shape(view.x))
      scale_grad, offset_grad = tf.compat.v1.gradients(
          y, [scale, offset], grad_ys=y_grad)
      rsqrt = tf.math.rsqrt(variance + epsilon)
      inv = rsqrt * scale
      x_grad = outputs_grad * broadcast(inv)
      sum_grad = tf.reduce_sum(outputs_grad, reduction_axes)
      mean_grad = -sum_grad * inv
      inv_grad = (tf.reduce_sum(outputs_grad * inputs, reduction_axes) +
                  mean * -sum_grad)
      variance_grad = tf.raw_ops.RsqrtGrad(y=rsqrt, dy=inv_grad * scale)
      return x_grad, mean_grad, variance_grad, offset_grad, scale_grad

    return outputs, gradient

  return normalize(inputs, _channel_vector(mean, channels, 0.0),
                   _channel_vector(variance, channels, 1.0),
                   _channel_vector(offset, channels, 0.0),
                   _channel_vector(scale, channels, 1.0))
