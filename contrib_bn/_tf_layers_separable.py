"""TF 1.15's `tf.layers` separable convolutions: separable_conv1d and 2d.

Served by contrib_bn.layers (and, after `install()`, `tf.compat.v1.layers`).
A depthwise convolution of each input channel by `depth_multiplier`
filters, then a 1x1 convolution mixing the results, on
`tf.compat.v1.nn.separable_conv2d`; the 1-D layer runs it on the input with
a unit spatial axis inserted before the length, as TF 1.15 did, and both
run channels-first inputs channels-last between transposes. Variables,
in a unique `separable_conv1d` or `separable_conv2d` scope:
`depthwise_kernel` (`kernel_size + (input_channels, depth_multiplier)`),
`pointwise_kernel` (`(1,) * rank + (input_channels * depth_multiplier,
filters)`) and `bias` (`[filters]`), with TF 1.15.5's defaults (the
variable scope's initializer, else Glorot uniform, for both kernels; zeros
for the bias), checks and numerics. 'causal' padding is the 1-D layer's
only.

Where TF 1.15 gave a wrong result or failed at run time, a ValueError
names the argument when the graph is built instead: strides above 1
together with a dilation rate above 1 (TF 1.15's depthwise convolution ran
the strides inside its dilated space-to-batch form and returned other
values than the strided dilated convolution, with no error), two different
strides in 2-D (its CPU kernel refused them when run) and
`depth_multiplier=0` (it stopped the process with a floating point
exception when run).
"""

import numbers

import tensorflow as tf

from contrib_bn import _tf_layers_conv

__all__ = ['SeparableConv1D', 'SeparableConv2D', 'separable_conv1d',
           'separable_conv2d']

_ZEROS = _tf_layers_conv.ZEROS


class _SeparableConv(_tf_layers_conv.Convolution):
  """A `RANK`-D depthwise separable convolution, TF 1.15's `tf.layers` API.

  Args:
    filters: the number of output channels.
    kernel_size: an int or `RANK` ints, the depthwise kernel's size.
    strides: an int or `RANK` equal ints (all 1 if `dilation_rate` is
      not).
    padding: 'valid' or 'same', any case (and 'causal' in 1-D).
    data_format: 'channels_last' or 'channels_first'.
    dilation_rate: an int or `RANK` ints (all 1 if `strides` is not).
    depth_multiplier: depthwise output channels per input channel.
    activation: optional function applied to the output.
    use_bias: whether to add `bias`.
    depthwise_initializer, pointwise_initializer: default the variable
      scope's, else Glorot uniform.
    bias_initializer: default zeros.
    depthwise_regularizer, pointwise_regularizer, bias_regularizer,
      activity_regularizer: optional, their losses in
      REGULARIZATION_LOSSES.
    depthwise_constraint, pointwise_constraint, bias_constraint: optional
      projections.
    trainable: whether the variables are trainable.
    name: the layer's name and variable scope.
    **kwargs: `_scope`, `_reuse`, `dtype`.

  Raises:
    ValueError: TF 1.15's errors for `kernel_size`, `strides`, `padding`,
      `data_format` and `dilation_rate`; a ValueError for strides and a
      dilation rate both above 1, or unequal strides.
  """

  def __init__(self, filters, kernel_size, strides, padding, data_format,
               dilation_rate, depth_multiplier, activation, use_bias,
               depthwise_initializer, pointwise_initializer,
               bias_initializer, depthwise_regularizer,
               pointwise_regularizer, bias_regularizer, activity_regularizer,
               depthwise_constraint, pointwise_constraint, bias_constraint,
               trainable, name, **kwargs):
    super(_SeparableConv, self).__init__(
        filters, kernel_size, strides, padding, data_format, dilation_rate,
        activation, use_bias, bias_initializer, bias_regularizer,
        bias_constraint, trainable, name, activity_regularizer, **kwargs)
    if (any(s > 1 for s in self.strides) and
        any(d > 1 for d in self.dilation_rate)):
      raise ValueError(
          '%s: strides=%r with dilation_rate=%r: TF 1.15 returned wrong '
          'values for strides above 1 together with a dilation rate above '
          '1; one of them must be 1' % (self.BASE_NAME, strides,
                                        dilation_rate))
    if len(set(self.strides)) > 1:
      raise ValueError(
          '%s: strides=%r: the depthwise convolution takes one stride for '
          'both spatial axes (TF 1.15 failed at run time on others)' % (
              self.BASE_NAME, strides))
    self.depth_multiplier = depth_multiplier
    self.depthwise_initializer = depthwise_initializer
    self.pointwise_initializer = pointwise_initializer
    self.depthwise_regularizer = depthwise_regularizer
    self.pointwise_regularizer = pointwise_regularizer
    self.depthwise_constraint = depthwise_constraint
    self.pointwise_constraint = pointwise_constraint
    self.depthwise_kernel = self.pointwise_kernel = None

  def build(self, input_shape):
    channels = self.input_channels(input_shape)
    multiplier = self.depth_multiplier
    if isinstance(multiplier, numbers.Real) and int(multiplier) != multiplier:
      # TF 1.15's TensorShape refused the depthwise kernel's shape.
      raise ValueError('Ambiguous dimension: %s' % multiplier)
    if isinstance(multiplier, numbers.Real) and multiplier == 0:
      raise ValueError(
          '%s: depth_multiplier=%r: it must be a positive int (TF 1.15 '
          'crashed at run time on 0)' % (self.BASE_NAME, multiplier))
    if isinstance(multiplier, numbers.Real):
      # TF 1.15's shapes took 2.0 for 2; TF 2's take ints only.
      multiplier = int(multiplier)
    self.depthwise_kernel = self.add_weight(
        'depthwise_kernel', list(self.kernel_size) + [channels, multiplier],
        self.depthwise_initializer, self.depthwise_regularizer,
        self.depthwise_constraint)
    self.pointwise_kernel = self.add_weight(
        'pointwise_kernel',
        [1] * self.RANK + [channels * multiplier, self.filters],
        self.pointwise_initializer, self.pointwise_regularizer,
        self.pointwise_constraint)
    self.add_bias()

  def _separable(self, inputs, depthwise, pointwise, strides, rate, padding):
    """The channels-last separable convolution and bias of `inputs`."""
    outputs = tf.compat.v1.nn.separable_conv2d(
        inputs, depthwise, pointwise, (1,) + strides + (1,),
        padding.upper(), rate=rate, data_format='NHWC')
    if self.use_bias:
      outputs = tf.nn.bias_add(outputs, self.bias, data_format='NHWC')
    return outputs

  def call(self, inputs):
    # Channels-first inputs run channels-last between transposes: TF 1.15
    # built an NCHW depthwise convolution its CPU kernel refused at run
    # time, as TF 2's does without oneDNN.
    channels_first = self.data_format == 'channels_first'
    rank = self.RANK + 2
    if channels_first:
      inputs = tf.transpose(inputs, (0,) + tuple(range(2, rank)) + (1,))
    outputs = self._call_channels_last(inputs)
    if channels_first:
      outputs = tf.transpose(outputs, (0, rank - 1) + tuple(range(1, rank - 1)))
    if self.activation is not None:
      return self.activation(outputs)
    return outputs


class SeparableConv1D(_SeparableConv):
  __doc__ = _SeparableConv.__doc__.replace('`RANK`-D', '1-D').replace(
      '`RANK`', '1')
  BASE_NAME = 'separable_conv1d'
  RANK = 1
  CAUSAL = True

  def __init__(self, filters, kernel_size, strides=1, padding='valid',
               data_format='channels_last', dilation_rate=1,
               depth_multiplier=1, activation=None, use_bias=True,
               depthwise_initializer=None, pointwise_initializer=None,
               bias_initializer=_ZEROS, depthwise_regularizer=None,
               pointwise_regularizer=None, bias_regularizer=None,
               activity_regularizer=None, depthwise_constraint=None,
               pointwise_constraint=None, bias_constraint=None,
               trainable=True, name=None, **kwargs):
    super(SeparableConv1D, self).__init__(
        filters, kernel_size, strides, padding, data_format, dilation_rate,
        depth_multiplier, activation, use_bias, depthwise_initializer,
        pointwise_initializer, bias_initializer, depthwise_regularizer,
        pointwise_regularizer, bias_regularizer, activity_regularizer,
        depthwise_constraint, pointwise_constraint, bias_constraint,
        trainable, name, **kwargs)

  def _call_channels_last(self, inputs):
    padding = self.padding
    if padding == 'causal':
      left = self.dilation_rate[0] * (self.kernel_size[0] - 1)
      inputs = tf.pad(inputs, [[0, 0], [left, 0], [0, 0]])
      padding = 'valid'
    # A unit axis before the length; TF 1.15 strode it by the length's
    # stride too, which keeps its single element.
    outputs = self._separable(
        tf.expand_dims(inputs, 1),
        tf.expand_dims(self.depthwise_kernel, 0),
        tf.expand_dims(self.pointwise_kernel, 0),
        self.strides * 2, (1,) + self.dilation_rate, padding)
    return tf.squeeze(outputs, [1])


class SeparableConv2D(_SeparableConv):
  __doc__ = _SeparableConv.__doc__.replace('`RANK`-D', '2-D').replace(
      '`RANK`', '2').replace(" (and 'causal' in 1-D)", '')
  BASE_NAME = 'separable_conv2d'
  RANK = 2

  def __init__(self, filters, kernel_size, strides=(1, 1), padding='valid',
               data_format='channels_last', dilation_rate=(1, 1),
               depth_multiplier=1, activation=None, use_bias=True,
               depthwise_initializer=None, pointwise_initializer=None,
               bias_initializer=_ZEROS, depthwise_regularizer=None,
               pointwise_regularizer=None, bias_regularizer=None,
               activity_regularizer=None, depthwise_constraint=None,
               pointwise_constraint=None, bias_constraint=None,
               trainable=True, name=None, **kwargs):
    super(SeparableConv2D, self).__init__(
        filters, kernel_size, strides, padding, data_format, dilation_rate,
        depth_multiplier, activation, use_bias, depthwise_initializer,
        pointwise_initializer, bias_initializer, depthwise_regularizer,
        pointwise_regularizer, bias_regularizer, activity_regularizer,
        depthwise_constraint, pointwise_constraint, bias_constraint,
        trainable, name, **kwargs)

  def _call_channels_last(self, inputs):
    return self._separable(
        inputs, self.depthwise_kernel, self.pointwise_kernel,
        tuple(self.strides), tuple(self.dilation_rate), self.padding)


def separable_conv1d(inputs, filters, kernel_size, strides=1,
                     padding='valid', data_format='channels_last',
                     dilation_rate=1, depth_multiplier=1, activation=None,
                     use_bias=True, depthwise_initializer=None,
                     pointwise_initializer=None, bias_initializer=_ZEROS,
                     depthwise_regularizer=None, pointwise_regularizer=None,
                     bias_regularizer=None, activity_regularizer=None,
                     depthwise_constraint=None, pointwise_constraint=None,
                     bias_constraint=None, trainable=True, name=None,
                     reuse=None):
  """Applies a new `SeparableConv1D` in scope `name` (reused with reuse)."""
  return _tf_layers_conv.functional(SeparableConv1D, **locals())


def separable_conv2d(inputs, filters, kernel_size, strides=(1, 1),
                     padding='valid', data_format='channels_last',
                     dilation_rate=(1, 1), depth_multiplier=1,
                     activation=None, use_bias=True,
                     depthwise_initializer=None, pointwise_initializer=None,
                     bias_initializer=_ZEROS, depthwise_regularizer=None,
                     pointwise_regularizer=None, bias_regularizer=None,
                     activity_regularizer=None, depthwise_constraint=None,
                     pointwise_constraint=None, bias_constraint=None,
                     trainable=True, name=None, reuse=None):
  """Applies a new `SeparableConv2D` in scope `name` (reused with reuse)."""
  return _tf_layers_conv.functional(SeparableConv2D, **locals())
