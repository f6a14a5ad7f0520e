"""TF 1.15's wording for errors that TF 2.x raises with other words.

Legacy code and tests match on these messages. Each check runs only where
TF 1.15 raised the same error, once rank and channel count are known (before
that, TF 1.15 raised its rank and channel errors).
"""

import numpy as np
import tensorflow as tf

from contrib_bn import constants
from contrib_bn import graph_utils

# The dtypes TF 1.15's `Mean` kernel accepted, in the order its error listed
# them (TF 2.x adds qint16 and quint16).
_TF1_MEAN_DTYPES = ('float32, float64, int32, uint8, int16, int8, complex64, '
                    'int64, qint8, quint8, qint32, bfloat16, uint16, '
                    'complex128, float16, uint32, uint64')
_PARAMETERS = (constants.BETA, constants.GAMMA, constants.MOVING_MEAN,
               constants.MOVING_VARIANCE)


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
    raise TypeError(graph_utils.tf1_conversion_message(
        'string', 1.0 if uses_kernel else 1))


def check_initializer_sizes(param_initializers, channels):
  """A constant initializer with more values than channels."""
  if not isinstance(param_initializers, dict):
    return
  for name in _PARAMETERS:
    value = getattr(param_initializers.get(name), 'value', None)
    if value is None or callable(value) or tf.is_tensor(value):
      continue
    size = int(np.size(value))
    if size > channels:
      raise ValueError('Too many elements provided. Needed at most %d, but '
                       'received %d' % (channels, size))
