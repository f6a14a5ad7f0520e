"""TF 1.15's `tf.layers` transposed convolutions: conv2d/3d_transpose.

Served by contrib_bn.layers (and, after `install()`, `tf.compat.v1.layers`).
Variables `kernel` (`kernel_size + (filters, input_channels)`) and `bias`
(`[filters]`), in a unique `conv2d_transpose` or `conv3d_transpose` scope,
with TF 1.15.5's defaults, checks and numerics, built on
`tf.compat.v1.nn.conv2d_transpose` and `tf.compat.v1.nn.conv3d_transpose`.
Neither takes a dilation rate, as in TF 1.15. The output's spatial lengths
are `length * stride`, plus `max(kernel - stride, 0)` with 'valid' padding,
computed from the input's dynamic shape and set statically where known.

Both run channels-first inputs channels-last between transposes: the 2-D
layer as TF 1.15 did; the 3-D one where TF 1.15 built an `NCDHW` op, which
its CPU kernel refused at run time (as TF 2's does without oneDNN).
"""

import tensorflow as tf

from contrib_bn import _tf1_errors
from contrib_bn import _tf_layers_conv

__all__ = ['Conv2DTranspose', 'Conv3DTranspose', 'conv2d_transpose',
           'conv3d_transpose']

_ZEROS = _tf_layers_conv.ZEROS


def _deconv_length(length, size, padding, stride):
  """The output length of a transposed convolution; None for None."""
  if length is None:
    return None
  if padding == 'valid':
    return length * stride + max(size - stride, 0)
  return length * stride


class _ConvTranspose(_tf_layers_conv._Conv):  # pylint: disable=protected-access
  """A `RANK`-D transposed convolution with TF 1.15's `tf.layers` API.

  Args: as `Conv2D`'s, without `dilation_rate`.
  """

  def __init__(self, filters, kernel_size, strides, padding, data_format,
               activation, use_bias, kernel_initializer, bias_initializer,
               kernel_regularizer, bias_regularizer, activity_regularizer,
               kernel_constraint, bias_constraint, trainable, name, **kwargs):
    super(_ConvTranspose, self).__init__(
        filters, kernel_size, strides=strides, padding=padding,
        data_format=data_format, activation=activation, use_bias=use_bias,
        kernel_initializer=kernel_initializer,
        bias_initializer=bias_initializer,
        kernel_regularizer=kernel_regularizer,
        bias_regularizer=bias_regularizer,
        activity_regularizer=activity_regularizer,
        kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
        trainable=trainable, name=name, **kwargs)

  def kernel_shape(self, channels):
    return self.kernel_size + (self.filters, channels)

  def _output_lengths(self, lengths):
    return [_deconv_length(length, size, self.padding, stride)
            for length, size, stride in zip(lengths, self.kernel_size,
                                            self.strides)]


class Conv2DTranspose(_ConvTranspose):
  __doc__ = _ConvTranspose.__doc__.replace('`RANK`-D', '2-D')
  BASE_NAME = 'conv2d_transpose'
  RANK = 2

  def __init__(self, filters, kernel_size, strides=(1, 1), padding='valid',
               data_format='channels_last', activation=None, use_bias=True,
               kernel_initializer=None, bias_initializer=_ZEROS,
               kernel_regularizer=None, bias_regularizer=None,
               activity_regularizer=None, kernel_constraint=None,
               bias_constraint=None, trainable=True, name=None, **kwargs):
    super(Conv2DTranspose, self).__init__(
        filters, kernel_size, strides, padding, data_format, activation,
        use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, activity_regularizer, kernel_constraint,
        bias_constraint, trainable, name, **kwargs)

  def _convolve(self, inputs):
    channels_first = self.data_format == 'channels_first'
    if channels_first:
      inputs = tf.transpose(inputs, (0, 2, 3, 1))
    dynamic = tf.shape(inputs)
    static = inputs.get_shape().as_list()
    lengths = self._output_lengths([dynamic[1], dynamic[2]])
    output_shape = tf.stack([dynamic[0]] + lengths + [self.filters])
    outputs = tf.compat.v1.nn.conv2d_transpose(
        inputs, self.kernel, output_shape,
        (1,) + tuple(self.strides) + (1,), padding=self.padding.upper(),
        data_format='NHWC')
    outputs.set_shape([static[0]] + self._output_lengths(static[1:3]) +
                      [self.filters])
    if channels_first:
      outputs = tf.transpose(outputs, (0, 3, 1, 2))
    return outputs


class Conv3DTranspose(_ConvTranspose):
  __doc__ = _ConvTranspose.__doc__.replace('`RANK`-D', '3-D')
  BASE_NAME = 'conv3d_transpose'
  RANK = 3

  def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding='valid',
               data_format='channels_last', activation=None, use_bias=True,
               kernel_initializer=None, bias_initializer=_ZEROS,
               kernel_regularizer=None, bias_regularizer=None,
               activity_regularizer=None, kernel_constraint=None,
               bias_constraint=None, trainable=True, name=None, **kwargs):
    super(Conv3DTranspose, self).__init__(
        filters, kernel_size, strides, padding, data_format, activation,
        use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, activity_regularizer, kernel_constraint,
        bias_constraint, trainable, name, **kwargs)

  def input_channels(self, input_shape):
    channels = tf.compat.dimension_value(input_shape[self._channel_axis])
    if channels is None:
      raise conv3d_transpose_undefined_channels(input_shape)
    return super(Conv3DTranspose, self).input_channels(input_shape)

  def _convolve(self, inputs):
    channels_first = self.data_format == 'channels_first'
    if channels_first:
      inputs = tf.transpose(inputs, (0, 2, 3, 4, 1))
    dynamic = tf.shape(inputs)
    static = inputs.get_shape().as_list()
    lengths = self._output_lengths([dynamic[1], dynamic[2], dynamic[3]])
    output_shape = tf.stack([dynamic[0]] + lengths + [self.filters])
    outputs = tf.compat.v1.nn.conv3d_transpose(
        inputs, self.kernel, output_shape,
        (1,) + tuple(self.strides) + (1,), padding=self.padding.upper(),
        data_format='NDHWC')
    outputs.set_shape([static[0]] + self._output_lengths(static[1:4]) +
                      [self.filters])
    if channels_first:
      outputs = tf.transpose(outputs, (0, 4, 1, 2, 3))
    return outputs


def conv3d_transpose_undefined_channels(shape):
  """TF 1.15's Conv3DTranspose wording, which differs from the others'."""
  return ValueError('The channel dimension of the inputs should be defined, '
                    'found None: ' + _tf1_errors.shape_str(shape))


def conv2d_transpose(inputs, filters, kernel_size, strides=(1, 1),
                     padding='valid', data_format='channels_last',
                     activation=None, use_bias=True, kernel_initializer=None,
                     bias_initializer=_ZEROS, kernel_regularizer=None,
                     bias_regularizer=None, activity_regularizer=None,
                     kernel_constraint=None, bias_constraint=None,
                     trainable=True, name=None, reuse=None):
  """Applies a new `Conv2DTranspose` in scope `name` (reused with reuse)."""
  return _tf_layers_conv.functional(Conv2DTranspose, **locals())


def conv3d_transpose(inputs, filters, kernel_size, strides=(1, 1, 1),
                     padding='valid', data_format='channels_last',
                     activation=None, use_bias=True, kernel_initializer=None,
                     bias_initializer=_ZEROS, kernel_regularizer=None,
                     bias_regularizer=None, activity_regularizer=None,
                     kernel_constraint=None, bias_constraint=None,
                     trainable=True, name=None, reuse=None):
  """Applies a new `Conv3DTranspose` in scope `name` (reused with reuse)."""
  return _tf_layers_conv.functional(Conv3DTranspose, **locals())
