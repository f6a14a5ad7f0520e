"""Every error message of TF 1.15 that contrib_bn reproduces, in one place.

Legacy code and tests match on TF 1.15's exception types and wording, which
TF 2.x often changed. Each function here returns (or raises) the exception
TF 1.15 raised in one situation; the callers decide when, so that the errors
come in TF 1.15's order. `check_wording` runs only where TF 1.15 raised the
same error, once rank and channel count are known (before that, TF 1.15
raised its rank and channel errors).
"""

import tensorflow as tf

from contrib_bn import _dispatch
from contrib_bn import _identifiers
from contrib_bn import constants

# The dtypes TF 1.15's `Mean` kernel accepted, in the order its error listed
# them (TF 2.x adds qint16 and quint16).
_TF1_MEAN_DTYPES = ('float32, float64, int32, uint8, int16, int8, complex64, '
                    'int64, qint8, quint8, qint32, bfloat16, uint16, '
                    'complex128, float16, uint32, uint64')
_KERNEL_DTYPES = (tf.float16, tf.bfloat16, tf.float32)


# TF 1.x's renderings of values inside its messages.


def conversion_message(dtype_name, value):
  """TF 1.15's wording for a Python value that does not fit a dtype."""
  return "Expected %s, got %r of type '%s' instead." % (
      dtype_name, value, type(value).__name__)


def shape_repr(shape):
  """TF 1.x's `repr` of a TensorShape, as embedded in its error messages."""
  if shape.ndims is None:
    return 'TensorShape(None)'
  dims = ', '.join('Dimension(%s)' % d for d in shape.as_list())
  return 'TensorShape([%s])' % dims


def shape_str(shape):
  """TF 1.x's `str` of a TensorShape: unknown dimensions print as `?`."""
  if shape.ndims is None:
    return '<unknown>'
  dims = ['?' if d is None else str(d) for d in shape.as_list()]
  if len(dims) == 1:
    return '(%s,)' % dims[0]
  return '(%s)' % ', '.join(dims)


def _shape_list(shape):
  if shape.ndims is None:
    return '?'
  return '[%s]' % ','.join('?' if d is None else str(d)
                           for d in shape.as_list())


class _Tf1Repr(object):
  """Carries a preformatted TF 1.x repr inside a tuple-style error message."""

  def __init__(self, text):
    self._text = text

  def __repr__(self):
    return self._text


def shape_arg(shape):
  """A shape shown as TF 1.x showed it in a tuple-style message."""
  return _Tf1Repr(shape_repr(shape))


# Arguments of `batch_norm`, before any path is built.


def check_data_format(data_format):
  if data_format not in constants.DATA_FORMATS:
    raise ValueError('data_format has to be either NCHW or NHWC.')


def check_wording(inputs, path, args):
  """Raises TF 1.15's message where TF 2.x words the same error otherwise."""
  shape = inputs.get_shape()
  if shape.ndims is None or shape.ndims < 2:
    return
  axis = _dispatch.channel_axis(args.data_format, shape.ndims)
  channels = tf.compat.dimension_value(shape[axis])
  if channels is None:
    return
  check_input_dtype(
      inputs.dtype,
      _dispatch.uses_fused_kernel(path, shape.ndims, args.fused, args.renorm,
                                  args.adjustment))
  check_initializer_sizes(args.param_initializers, channels)


def check_input_dtype(dtype, uses_kernel):
  """Non-float inputs off the fused kernel, as TF 1.15 rejected them."""
  dtype = dtype.base_dtype
  if dtype == tf.bool and not uses_kernel:
    # The batch mean was the first op to refuse booleans.
    raise TypeError("Value passed to parameter 'input' has DataType bool not "
                    'in list of allowed values: ' + _TF1_MEAN_DTYPES)
  if dtype == tf.string:
    # String parameters: the kernel path failed on its constant gamma of 1.0,
    # the others on the moving variance's initial ones.
    raise TypeError(conversion_message('string', 1.0 if uses_kernel else 1))


def check_initializer_sizes(param_initializers, channels):
  """A constant initializer with more values than channels."""
  if not isinstance(param_initializers, dict):
    return
  for name in constants.PARAMETERS:
    size = _identifiers.constant_size(param_initializers.get(name))
    if size is not None and size > channels:
      raise ValueError('Too many elements provided. Needed at most %d, but '
                       'received %d' % (channels, size))


def check_kernel_dtype(dtype):
  # TF 1.15 rejected these when it built the kernel op; TF 2.x raises a
  # differently worded error.
  if dtype.base_dtype not in _KERNEL_DTYPES:
    raise TypeError(
        "Value passed to parameter 'x' has DataType %s not in list of "
        'allowed values: float16, bfloat16, float32' % dtype.base_dtype.name)


# Conditionals on `is_training`.


def none_predicate():
  return ValueError('value_or_tensor_or_var cannot be None')


def check_predicate(pred):
  """Rejects a non-bool or non-scalar predicate as TF 1.15's cond did.

  TF 2.x builds such a conditional and fails only at run time, leaving the
  whole graph unusable; TF 1.15's `Switch` op refused it while building.
  """
  pred = tf.convert_to_tensor(pred)
  if pred.dtype.base_dtype != tf.bool:
    raise TypeError("Input 'pred' of 'Switch' Op has type %s that does not "
                    'match expected type of bool.' % pred.dtype.base_dtype.name)
  rank = pred.get_shape().ndims
  if rank is not None and rank != 0:
    name = tf.compat.v1.get_default_graph().unique_name(
        'cond', mark_as_used=False)
    shape = _shape_list(pred.get_shape())
    raise ValueError("Shape must be rank 0 but is rank %d for '%s/Switch' "
                     "(op: 'Switch') with input shapes: %s, %s." %
                     (rank, name, shape, shape))


def layer_predicate_type(pred):
  return TypeError('`pred` must be a Tensor, or a Python bool, or 1 or 0. '
                   'Found instead: %s' % type(pred))


# The fused-kernel path.


def fused_undefined_rank(inputs):
  return ValueError('Inputs %s has undefined rank' % inputs.name)


def fused_unsupported_rank(inputs, rank):
  return ValueError('Inputs %s has unsupported rank. Expected 2 or 4 but '
                    'got %d' % (inputs.name, rank))


def fused_unknown_rank2_channels():
  return ValueError('`C` dimension must be known but is None')


def fused_undefined_channels(inputs, params_shape):
  return ValueError('Inputs %s has undefined `C` dimension %s.' %
                    (inputs.name, shape_str(params_shape)))


# The core-layer path.


def core_undefined_rank(shape):
  return ValueError('Input has undefined rank:', shape_arg(shape))


def core_invalid_axis(axis):
  return ValueError('Invalid axis: %d' % axis)


def core_undefined_channels(shape):
  return ValueError('Input has undefined `axis` dimension. Input shape: ',
                    shape_arg(shape))


def layer_axis_type(axis):
  return TypeError('axis must be int or list, type given: %s' % type(axis))


def layer_duplicate_axis(axis):
  return ValueError('Duplicate axis: %s' % (axis,))


def layer_virtual_batch_size():
  return ValueError('virtual_batch_size must be a positive integer that '
                    'divides the true batch size of the input Tensor')


def layer_virtual_batch_axis():
  return ValueError('When using virtual_batch_size, the batch dimension '
                    'must be 0 and thus axis cannot include 0')


def layer_virtual_batch_adjustment():
  return ValueError('When using virtual_batch_size, adjustment cannot be '
                    'specified')


def layer_virtual_batch_reshape(op_name, shape, known, elements, expanded):
  """TF 1.15's shape-inference error for a batch the ghost size misses."""
  def dims(values):
    return '[%s]' % ','.join('?' if d in (None, -1) else str(d)
                             for d in values)
  return ValueError(
      "Dimension size must be evenly divisible by %d but is %d for '%s' "
      "(op: 'Reshape') with input shapes: %s, [%d] and with input tensors "
      "computed as partial shapes: input[1] = %s." % (
          known, elements, op_name, dims(shape), len(expanded),
          dims(expanded)))


def core_unknown_clipping_keys(clipping):
  return ValueError('renorm_clipping %s contains keys not in %s' %
                    (clipping, constants.RENORM_CLIPPING_KEYS))


def core_not_float(dtype, value):
  return TypeError("Expected %s, got %r of type 'float' instead." %
                   (dtype.name, value))


def core_string_decay():
  # TF 1.15 made a string tensor of it, then failed on `1.0 - momentum`.
  return TypeError(conversion_message('string', 1.0))


def check_clipping_value(op_name, value):
  if isinstance(value, str):
    message = conversion_message('float32', value)
    raise TypeError("Expected float32 passed to parameter 'y' of op '%s', "
                    "got %r of type 'str' instead. Error: %s" %
                    (op_name, value, message))


# The moments path.


def moments_renorm_unsupported():
  return ValueError('renorm is not supported with batch_weights, '
                    'updates_collections or zero_debias_moving_mean')


def moments_undefined_rank(inputs):
  return ValueError('Inputs %s has undefined rank.' % inputs.name)


def moments_missing_channel_dimension():
  # TF 1.15 indexed the missing channel dimension of an NCHW input.
  return IndexError('list index out of range')


def moments_undefined_channels(inputs, params_shape):
  return ValueError('Inputs %s has undefined channels dimension %s.' %
                    (inputs.name, shape_str(params_shape)))


def incompatible_shapes(first, second):
  return ValueError('Shapes %s and %s are incompatible' % (
      shape_str(first), shape_str(second)))


# tf.layers' (Keras 2's) argument and input checks, for contrib_bn.layers'
# dense, convolution, pooling, dropout and flatten layers.


def argument_tuple(name, n, value, element=None):
  """TF 1.15's error for an argument that is not a tuple of `n` ints."""
  message = 'The `%s` argument must be a tuple of %d integers. Received: %s' % (
      name, n, value)
  if element is not None:
    message += ' including element %s of type %s' % (element, type(element))
  return ValueError(message)


def argument_padding(padding):
  return ValueError('The `padding` argument must be a list/tuple or one of '
                    '"valid", "same" (or "causal", only for `Conv1D). '
                    'Received: ' + str(padding))


def argument_data_format(value):
  return ValueError('The `data_format` argument must be one of '
                    '"channels_first", "channels_last". Received: ' +
                    str(value))


def causal_padding_not_conv1d():
  # Two backquotes, as TF 1.15 wrote them.
  return ValueError('Causal padding is only supported for `Conv1D`'
                    'and ``SeparableConv1D`.')


def input_undefined_rank(layer_name):
  return ValueError('Input 0 of layer %s is incompatible with the layer: its '
                    'rank is undefined, but the layer requires a defined '
                    'rank.' % layer_name)


def input_ndim(layer_name, ndim, shape):
  return ValueError('Input 0 of layer %s is incompatible with the layer: '
                    'expected ndim=%d, found ndim=%d. Full shape received: %s'
                    % (layer_name, ndim, shape.ndims, shape.as_list()))


def input_min_ndim(layer_name, min_ndim, shape):
  # ': :' as in TF 1.15.
  return ValueError('Input 0 of layer %s is incompatible with the layer: : '
                    'expected min_ndim=%d, found ndim=%d. Full shape '
                    'received: %s' % (layer_name, min_ndim, shape.ndims,
                                      shape.as_list()))


def input_axis_value(layer_name, axis, value, shape):
  return ValueError('Input 0 of layer %s is incompatible with the layer: '
                    'expected axis %d of input shape to have value %d but '
                    'received input with shape %s' % (
                        layer_name, axis, value, shape.as_list()))


def dense_undefined_last_dimension():
  return ValueError('The last dimension of the inputs to `Dense` should be '
                    'defined. Found `None`.')


def dense_not_floating(dtype):
  return TypeError('Unable to build `Dense` layer with non-floating point '
                   'dtype %s' % (dtype,))


def conv_undefined_channels():
  return ValueError('The channel dimension of the inputs should be defined. '
                    'Found `None`.')


def dropout_rate(rate):
  return ValueError('rate must be a scalar tensor or a float in the range '
                    '[0, 1), got %g' % rate)
