"""TF 1.15's `tf.layers` convolutions: conv1d/2d/3d, and what all share.

Served by contrib_bn.layers (and, after `install()`, `tf.compat.v1.layers`).
Variables `kernel` (`kernel_size + (input_channels, filters)`) and `bias`
(`[filters]`), in a unique `conv1d`, `conv2d`, ... scope, with TF 1.15.5's
defaults, checks and numerics, built on `tf.compat.v1.nn.convolution`.
`Convolution` holds the arguments every convolution of the family takes
and checks them as TF 1.15 did; the transposed convolutions
(_tf_layers_transposed) and the separable ones (_tf_layers_separable)
build on it.
"""

import tensorflow as tf

from contrib_bn import _tf1_errors
from contrib_bn import _tf_layer_base

__all__ = ['Conv1D', 'Conv2D', 'Conv3D', 'conv1d', 'conv2d', 'conv3d']

ZEROS = tf.compat.v1.zeros_initializer()
# (data_format, rank) -> the data_format string of tf.nn's ops.
FORMATS = {('channels_last', 1): 'NWC', ('channels_first', 1): 'NCW',
           ('channels_last', 2): 'NHWC', ('channels_first', 2): 'NCHW',
           ('channels_last', 3): 'NDHWC', ('channels_first', 3): 'NCDHW'}


class Convolution(_tf_layer_base.Layer):
  """The arguments of a `RANK`-D convolution of TF 1.15's `tf.layers`.

  Checks `kernel_size`, `strides`, `dilation_rate` (ints or `RANK` ints),
  `padding` ('valid', 'same', any case; 'causal' only where `CAUSAL`) and
  `data_format` with TF 1.15's errors, and keeps `filters`, `activation`,
  `use_bias` and the bias's initializer, regularizer and constraint. A
  subclass creates its kernels in `build` and adds the bias with
  `add_bias`.
  """

  RANK = None
  CAUSAL = False

  def __init__(self, filters, kernel_size, strides, padding, data_format,
               dilation_rate, activation, use_bias, bias_initializer,
               bias_regularizer, bias_constraint, trainable, name,
               activity_regularizer, **kwargs):
    super(Convolution, self).__init__(
        trainable=trainable, name=name,
        activity_regularizer=activity_regularizer, **kwargs)
    rank = self.RANK
    self.filters = filters
    self.kernel_size = _tf_layer_base.normalize_tuple(
        kernel_size, rank, 'kernel_size')
    self.strides = _tf_layer_base.normalize_tuple(strides, rank, 'strides')
    self.padding = _tf_layer_base.normalize_padding(padding)
    if self.padding == 'causal' and not self.CAUSAL:
      raise _tf1_errors.causal_padding_not_conv1d()
    self.data_format = _tf_layer_base.normalize_data_format(data_format)
    self.dilation_rate = _tf_layer_base.normalize_tuple(
        dilation_rate, rank, 'dilation_rate')
    self.activation = activation
    self.use_bias = use_bias
    self.bias_initializer = bias_initializer
    self.bias_regularizer = bias_regularizer
    self.bias_constraint = bias_constraint
    self.bias = None

  @property
  def NDIM(self):  # pylint: disable=invalid-name
    return self.RANK + 2

  @property
  def _channel_axis(self):
    return 1 if self.data_format == 'channels_first' else -1

  def input_channels(self, input_shape):
    """The input's channel count, which later calls must match.

    Raises:
      ValueError: TF 1.15's, when the count is unknown.
    """
    channels = tf.compat.dimension_value(input_shape[self._channel_axis])
    if channels is None:
      raise _tf1_errors.conv_undefined_channels()
    self._axes = {self._channel_axis: channels}
    return channels

  def add_bias(self):
    if self.use_bias:
      self.bias = self.add_weight(
          'bias', [self.filters], self.bias_initializer,
          self.bias_regularizer, self.bias_constraint)

  def causal_padding(self):
    """The `tf.pad` paddings of 'causal': the dilated kernel's reach, left."""
    left = self.dilation_rate[0] * (self.kernel_size[0] - 1)
    if self.data_format == 'channels_first':
      return [[0, 0], [0, 0], [left, 0]]
    return [[0, 0], [left, 0], [0, 0]]


class _Conv(Convolution):
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

  def __init__(self, filters, kernel_size, strides=1, padding='valid',
               data_format='channels_last', dilation_rate=1, activation=None,
               use_bias=True, kernel_initializer=None,
               bias_initializer=ZEROS, kernel_regularizer=None,
               bias_regularizer=None, activity_regularizer=None,
               kernel_constraint=None, bias_constraint=None, trainable=True,
               name=None, **kwargs):
    super(_Conv, self).__init__(
        filters, kernel_size, strides, padding, data_format, dilation_rate,
        activation, use_bias, bias_initializer, bias_regularizer,
        bias_constraint, trainable, name, activity_regularizer, **kwargs)
    self.kernel_initializer = kernel_initializer
    self.kernel_regularizer = kernel_regularizer
    self.kernel_constraint = kernel_constraint
    self.kernel = None

  def kernel_shape(self, channels):
    return self.kernel_size + (channels, self.filters)

  def build(self, input_shape):
    channels = self.input_channels(input_shape)
    self.kernel = self.add_weight(
        'kernel', list(self.kernel_shape(channels)), self.kernel_initializer,
        self.kernel_regularizer, self.kernel_constraint)
    self.add_bias()

  def _convolve(self, inputs):
    if self.padding == 'causal':
      inputs = tf.pad(inputs, self.causal_padding())
    padding = 'VALID' if self.padding == 'causal' else self.padding.upper()
    return tf.compat.v1.nn.convolution(
        inputs, self.kernel, padding, strides=self.strides,
        dilation_rate=self.dilation_rate,
        data_format=FORMATS[(self.data_format, self.RANK)])

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
  CAUSAL = True


class Conv2D(_Conv):
  __doc__ = _Conv.__doc__.replace('`RANK`-D', '2-D').replace('`RANK`', '2')
  BASE_NAME = 'conv2d'
  RANK = 2


class Conv3D(_Conv):
  __doc__ = _Conv.__doc__.replace('`RANK`-D', '3-D').replace('`RANK`', '3')
  BASE_NAME = 'conv3d'
  RANK = 3


def functional(cls, inputs, filters, kernel_size, name, reuse, **kwargs):
  """Applies a new `cls` layer in scope `name`, reused with `reuse=True`.

  The functional forms spell out TF 1.15's signatures, for positional calls
  and `inspect`, and pass their arguments on with `**locals()` as the first
  statement, so each argument is named once in its signature.
  """
  layer = cls(filters, kernel_size, name=name, _scope=name, _reuse=reuse,
              **kwargs)
  return layer.apply(inputs)


def conv1d(inputs, filters, kernel_size, strides=1, padding='valid',
           data_format='channels_last', dilation_rate=1, activation=None,
           use_bias=True, kernel_initializer=None, bias_initializer=ZEROS,
           kernel_regularizer=None, bias_regularizer=None,
           activity_regularizer=None, kernel_constraint=None,
           bias_constraint=None, trainable=True, name=None, reuse=None):
  """Applies a new `Conv1D` in scope `name` (reused with `reuse=True`)."""
  return functional(Conv1D, **locals())


def conv2d(inputs, filters, kernel_size, strides=(1, 1), padding='valid',
           data_format='channels_last', dilation_rate=(1, 1),
           activation=None, use_bias=True, kernel_initializer=None,
           bias_initializer=ZEROS, kernel_regularizer=None,
           bias_regularizer=None, activity_regularizer=None,
           kernel_constraint=None, bias_constraint=None, trainable=True,
           name=None, reuse=None):
  """Applies a new `Conv2D` in scope `name` (reused with `reuse=True`)."""
  return functional(Conv2D, **locals())


def conv3d(inputs, filters, kernel_size, strides=(1, 1, 1), padding='valid',
           data_format='channels_last', dilation_rate=(1, 1, 1),
           activation=None, use_bias=True, kernel_initializer=None,
           bias_initializer=ZEROS, kernel_regularizer=None,
           bias_regularizer=None, activity_regularizer=None,
           kernel_constraint=None, bias_constraint=None, trainable=True,
           name=None, reuse=None):
  """Applies a new `Conv3D` in scope `name` (reused with `reuse=True`)."""
  return functional(Conv3D, **locals())
