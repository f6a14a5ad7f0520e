"""TF 1.15's `tf.layers` convolutions: conv1d/2d/3d, conv2d_transpose.

Served by contrib_bn.layers (and, after `install()`, `tf.compat.v1.layers`).
Variables `kernel` (`kernel_size + (input_channels, filters)`; transposed:
`kernel_size + (filters, input_channels)`) and `bias` (`[filters]`), in a
unique `conv2d`, `conv2d_transpose`, ... scope, with TF 1.15.5's defaults,
checks and numerics, built on `tf.compat.v1.nn.convolution` and
`tf.compat.v1.nn.conv2d_transpose`. As on TF 1.15's CPU, the transposed
convolution runs channels-first inputs channels-last between transposes.
"""

import tensorflow as tf

from contrib_bn import _tf1_errors
from contrib_bn import _tf_layer_base

__all__ = ['Conv1D', 'Conv2D', 'Conv3D', 'Conv2DTranspose', 'conv1d',
           'conv2d', 'conv3d', 'conv2d_transpose']

_ZEROS = tf.compat.v1.zeros_initializer()
_FORMATS = {('channels_last', 1): 'NWC', ('channels_first', 1): 'NCW',
            ('channels_last', 2): 'NHWC', ('channels_first', 2): 'NCHW',
            ('channels_last', 3): 'NDHWC', ('channels_first', 3): 'NCDHW'}


class _Conv(_tf_layer_base.Layer):
  """A `RANK`-D convolution layer with TF 1.15's `tf.layers` API.

  Args:
    filters: the number of output channels.
    kernel_size: an int or `RANK` ints.
    strides: an int or `RANK` ints.
    padding: 'valid' or 'same', any case ('causal' for conv1d).
    data_format: 'channels_last' or 'channels_first'.
    dilation_rate: an int or `RANK` ints.
    activation: optional function applied to the output.
    use_bias: whether to add `bias`.
    kernel_initializer: default the variable scope's, else Glorot uniform.
    bias_initializer: default zeros.
    kernel_regularizer, bias_regularizer, activity_regularizer: optional,
      their losses in REGULARIZATION_LOSSES.
    kernel_constraint, bias_constraint: optional projections.
    trainable: whether the variables are trainable.
    name: the layer's name and variable scope.
    **kwargs: `_scope`, `_reuse`, `dtype`.
  """

  RANK = None
  TRANSPOSED = False

  def __init__(self, filters, kernel_size, strides=1, padding='valid',
               data_format='channels_last', dilation_rate=1, activation=None,
               use_bias=True, kernel_initializer=None,
               bias_initializer=_ZEROS, kernel_regularizer=None,
               bias_regularizer=None, activity_regularizer=None,
               kernel_constraint=None, bias_constraint=None, trainable=True,
               name=None, **kwargs):
    super(_Conv, self).__init__(trainable=trainable, name=name,
                                activity_regularizer=activity_regularizer,
                                **kwargs)
    rank = self.RANK
    self.filters = filters
    self.kernel_size = _tf_layer_base.normalize_tuple(
        kernel_size, rank, 'kernel_size')
    self.strides = _tf_layer_base.normalize_tuple(strides, rank, 'strides')
    self.padding = _tf_layer_base.normalize_padding(padding)
    if self.padding == 'causal' and rank != 1:
      raise _tf1_errors.causal_padding_not_conv1d()
    self.data_format = _tf_layer_base.normalize_data_format(data_format)
    self.dilation_rate = _tf_layer_base.normalize_tuple(
        dilation_rate, rank, 'dilation_rate')
    self.activation = activation
    self.use_bias = use_bias
    self.kernel_initializer = kernel_initializer
    self.bias_initializer = bias_initializer
    self.kernel_regularizer = kernel_regularizer
    self.bias_regularizer = bias_regularizer
    self.kernel_constraint = kernel_constraint
    self.bias_constraint = bias_constraint
    self.kernel = self.bias = None

  @property
  def NDIM(self):  # pylint: disable=invalid-name
    return self.RANK + 2

  @property
  def _channel_axis(self):
    return 1 if self.data_format == 'channels_first' else -1

  def build(self, input_shape):
    channels = tf.compat.dimension_value(input_shape[self._channel_axis])
    if channels is None:
      raise _tf1_errors.conv_undefined_channels()
    self._axes = {self._channel_axis: channels}
    if self.TRANSPOSED:
      kernel_shape = self.kernel_size + (self.filters, channels)
    else:
      kernel_shape = self.kernel_size + (channels, self.filters)
    self.kernel = self.add_weight(
        'kernel', list(kernel_shape), self.kernel_initializer,
        self.kernel_regularizer, self.kernel_constraint)
    if self.use_bias:
      self.bias = self.add_weight(
          'bias', [self.filters], self.bias_initializer,
          self.bias_regularizer, self.bias_constraint)

  def _convolve(self, inputs):
    if self.padding == 'causal':
      left = self.dilation_rate[0] * (self.kernel_size[0] - 1)
      pads = [[0, 0], [left, 0], [0, 0]]
      if self.data_format == 'channels_first':
        pads = [[0, 0], [0, 0], [left, 0]]
      inputs = tf.pad(inputs, pads)
    padding = 'VALID' if self.padding == 'causal' else self.padding.upper()
    return tf.compat.v1.nn.convolution(
        inputs, self.kernel, padding, strides=self.strides,
        dilation_rate=self.dilation_rate,
        data_format=_FORMATS[(self.data_format, self.RANK)])

  def call(self, inputs):
    outputs = self._convolve(inputs)
    if self.use_bias:
      if self.data_format == 'channels_first' and self.RANK == 1:
        # TF 1.15 added a reshaped bias: bias_add refused rank 3 NCW.
        outputs += tf.reshape(self.bias, (1, self.filters, 1))
      elif self.data_format == 'channels_first':
        outputs = tf.nn.bias_add(outputs, self.bias, data_format='NCHW')
      else:
        outputs = tf.nn.bias_add(outputs, self.bias, data_format='NHWC')
    if self.activation is not None:
      return self.activation(outputs)
    return outputs


class Conv1D(_Conv):
  __doc__ = _Conv.__doc__.replace('`RANK`-D', '1-D').replace('`RANK`', '1')
  BASE_NAME = 'conv1d'
  RANK = 1


class Conv2D(_Conv):
  __doc__ = _Conv.__doc__.replace('`RANK`-D', '2-D').replace('`RANK`', '2')
  BASE_NAME = 'conv2d'
  RANK = 2


class Conv3D(_Conv):
  __doc__ = _Conv.__doc__.replace('`RANK`-D', '3-D').replace('`RANK`', '3')
  BASE_NAME = 'conv3d'
  RANK = 3


def _deconv_length(length, size, padding, stride):
  if padding == 'valid':
    return length * stride + max(size - stride, 0)
  return length * stride


class Conv2DTranspose(_Conv):
  """TF 1.15's `tf.layers.Conv2DTranspose` (no dilation, as in TF 1.15).

  Args: as `Conv2D`'s, without `dilation_rate`.
  """

  BASE_NAME = 'conv2d_transpose'
  RANK = 2
  TRANSPOSED = True

  def __init__(self, filters, kernel_size, strides=(1, 1), padding='valid',
               data_format='channels_last', activation=None, use_bias=True,
               kernel_initializer=None, bias_initializer=_ZEROS,
               kernel_regularizer=None, bias_regularizer=None,
               activity_regularizer=None, kernel_constraint=None,
               bias_constraint=None, trainable=True, name=None, **kwargs):
    super(Conv2DTranspose, self).__init__(
        filters, kernel_size, strides=strides, padding=padding,
        data_format=data_format, activation=activation, use_bias=use_bias,
        kernel_initializer=kernel_initializer,
        bias_initializer=bias_initializer,
        kernel_regularizer=kernel_regularizer,
        bias_regularizer=bias_regularizer,
        activity_regularizer=activity_regularizer,
        kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
        trainable=trainable, name=name, **kwargs)

  def _convolve(self, inputs):
    channels_first = self.data_format == 'channels_first'
    if channels_first:
      inputs = tf.transpose(inputs, (0, 2, 3, 1))
    dynamic = tf.shape(inputs)
    static = inputs.get_shape().as_list()
    lengths = []
    for i in range(2):
      length = _deconv_length(dynamic[i + 1], self.kernel_size[i],
                              self.padding, self.strides[i])
      lengths.append(length)
    output_shape = tf.stack([dynamic[0]] + lengths + [self.filters])
    outputs = tf.compat.v1.nn.conv2d_transpose(
        inputs, self.kernel, output_shape,
        (1,) + tuple(self.strides) + (1,), padding=self.padding.upper(),
        data_format='NHWC')
    known = [None if static[i + 1] is None else _deconv_length(
        static[i + 1], self.kernel_size[i], self.padding, self.strides[i])
             for i in range(2)]
    outputs.set_shape([static[0]] + known + [self.filters])
    if channels_first:
      outputs = tf.transpose(outputs, (0, 3, 1, 2))
    return outputs


def _functional(cls, inputs, filters, kernel_size, name, reuse, **kwargs):
  layer = cls(filters, kernel_size, name=name, _scope=name, _reuse=reuse,
              **kwargs)
  return layer.apply(inputs)


def conv1d(inputs, filters, kernel_size, strides=1, padding='valid',
           data_format='channels_last', dilation_rate=1, activation=None,
           use_bias=True, kernel_initializer=None, bias_initializer=_ZEROS,
           kernel_regularizer=None, bias_regularizer=None,
           activity_regularizer=None, kernel_constraint=None,
           bias_constraint=None, trainable=True, name=None, reuse=None):
  """Applies a new `Conv1D` in scope `name` (reused with `reuse=True`)."""
  return _functional(
      Conv1D, inputs, filters, kernel_size, name, reuse, strides=strides,
      padding=padding, data_format=data_format, dilation_rate=dilation_rate,
      activation=activation, use_bias=use_bias,
      kernel_initializer=kernel_initializer,
      bias_initializer=bias_initializer,
      kernel_regularizer=kernel_regularizer,
      bias_regularizer=bias_regularizer,
      activity_regularizer=activity_regularizer,
      kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
      trainable=trainable)


def conv2d(inputs, filters, kernel_size, strides=(1, 1), padding='valid',
           data_format='channels_last', dilation_rate=(1, 1),
           activation=None, use_bias=True, kernel_initializer=None,
           bias_initializer=_ZEROS, kernel_regularizer=None,
           bias_regularizer=None, activity_regularizer=None,
           kernel_constraint=None, bias_constraint=None, trainable=True,
           name=None, reuse=None):
  """Applies a new `Conv2D` in scope `name` (reused with `reuse=True`)."""
  return _functional(
      Conv2D, inputs, filters, kernel_size, name, reuse, strides=strides,
      padding=padding, data_format=data_format, dilation_rate=dilation_rate,
      activation=activation, use_bias=use_bias,
      kernel_initializer=kernel_initializer,
      bias_initializer=bias_initializer,
      kernel_regularizer=kernel_regularizer,
      bias_regularizer=bias_regularizer,
      activity_regularizer=activity_regularizer,
      kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
      trainable=trainable)


def conv3d(inputs, filters, kernel_size, strides=(1, 1, 1), padding='valid',
           data_format='channels_last', dilation_rate=(1, 1, 1),
           activation=None, use_bias=True, kernel_initializer=None,
           bias_initializer=_ZEROS, kernel_regularizer=None,
           bias_regularizer=None, activity_regularizer=None,
           kernel_constraint=None, bias_constraint=None, trainable=True,
           name=None, reuse=None):
  """Applies a new `Conv3D` in scope `name` (reused with `reuse=True`)."""
  return _functional(
      Conv3D, inputs, filters, kernel_size, name, reuse, strides=strides,
      padding=padding, data_format=data_format, dilation_rate=dilation_rate,
      activation=activation, use_bias=use_bias,
      kernel_initializer=kernel_initializer,
      bias_initializer=bias_initializer,
      kernel_regularizer=kernel_regularizer,
      bias_regularizer=bias_regularizer,
      activity_regularizer=activity_regularizer,
      kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
      trainable=trainable)


def conv2d_transpose(inputs, filters, kernel_size, strides=(1, 1),
                     padding='valid', data_format='channels_last',
                     activation=None, use_bias=True, kernel_initializer=None,
                     bias_initializer=_ZEROS, kernel_regularizer=None,
                     bias_regularizer=None, activity_regularizer=None,
                     kernel_constraint=None, bias_constraint=None,
                     trainable=True, name=None, reuse=None):
  """Applies a new `Conv2DTranspose` in scope `name` (reused with reuse)."""
  return _functional(
      Conv2DTranspose, inputs, filters, kernel_size, name, reuse,
      strides=strides, padding=padding, data_format=data_format,
      activation=activation, use_bias=use_bias,
      kernel_initializer=kernel_initializer,
      bias_initializer=bias_initializer,
      kernel_regularizer=kernel_regularizer,
      bias_regularizer=bias_regularizer,
      activity_regularizer=activity_regularizer,
      kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
      trainable=trainable)
