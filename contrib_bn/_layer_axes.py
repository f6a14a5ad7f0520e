"""Where TF 1.15's core layer normalizes: one axis, an axis list, ghost batches.

`tf.layers.BatchNormalization` took one channel axis (as the contrib layer
always does), a list of axes normalized together, or a `virtual_batch_size`.
With several axes or ghost batches the parameters have the input's rank,
size 1 on every reduced axis; with ghost batches the input is viewed as
`[virtual_batch_size, batch / virtual_batch_size, ...]` and the parameters
get a 1 for that second dimension, whose entries keep their own statistics.
_core_path builds on a `Layout`.
"""

import numpy as np
import tensorflow as tf

from contrib_bn import _tf1_errors


class Layout(object):
  """The axes, parameter shape and ghost batches of one call.

  Attributes:
    axes: the non-negative axes normalized over, of the input as the
      normalization sees it (ghost batches shift them by one).
    ndims: the rank of that input.
    grouped: whether the parameters have the input's rank (several axes or
      ghost batches); otherwise they are `[C]` vectors.
    virtual: whether the input is viewed as ghost batches.
    params_shape: the shape of every variable.
    reduction_axes: the axes the moments reduce.
  """

  def __init__(self, input_shape, axis, virtual_batch_size=None):
    """Checks `axis` (an int or a list of non-negative ints) of an input of
    `input_shape` as TF 1.15 checked it.

    Raises:
      ValueError: an axis beyond the rank, or of undefined size (TF 1.15's
        messages).
    """
    ndims = input_shape.ndims
    axes = [axis] if isinstance(axis, int) else list(axis)
    for a in axes:
      if a >= ndims:
        raise _tf1_errors.core_invalid_axis(a)
    sizes = {a: tf.compat.dimension_value(input_shape[a]) for a in axes}
    if None in sizes.values():
      raise _tf1_errors.core_undefined_channels(input_shape)
    self._virtual_batch_size = virtual_batch_size
    self.virtual = virtual_batch_size is not None
    self.grouped = len(axes) > 1 or self.virtual
    if not self.grouped:
      self.params_shape = [sizes[axes[0]]]
    else:
      self.params_shape = [sizes.get(i, 1) for i in range(ndims)]
      if self.virtual:
        self.params_shape.insert(1, 1)
    self._shape = input_shape.as_list()
    shift = 1 if self.virtual else 0
    self.axes = [a + shift for a in axes]
    self.ndims = ndims + shift
    self.reduction_axes = [i for i in range(self.ndims)
                           if i not in self.axes]
    if self.virtual:
      # The ghost-batch dimension keeps its own statistics.
      del self.reduction_axes[1]

  def expand(self, inputs):
    """`inputs` as the normalization sees them: ghost batches, or unchanged.

    TF 1.15's reshape puts example `i` in ghost batch `i % (batch /
    virtual_batch_size)`: ghost batches are strided, not contiguous. A
    static batch that `virtual_batch_size` does not divide fails here with
    the message of TF 1.15's shape inference.
    """
    if not self.virtual:
      return inputs
    size, shape = self._virtual_batch_size, self._shape
    expanded = [size, -1] + shape[1:]
    if None not in shape and isinstance(size, int):
      known = int(np.prod([size] + shape[1:]))
      elements = int(np.prod(shape))
      if known and elements % known:
        op_name = tf.compat.v1.get_default_graph().unique_name(
            'Reshape', mark_as_used=False)
        raise _tf1_errors.layer_virtual_batch_reshape(
            op_name, shape, known, elements, expanded)
    return tf.reshape(inputs, expanded)

  def averaged(self, mean, variance):
    """The statistics the moving averages take from a call's moments.

    With ghost batches, TF 1.15 updated them once per call with the ghost
    batches' means and variances averaged (not the whole batch's variance).
    """
    if not self.virtual:
      return mean, variance
    return (tf.reduce_mean(mean, axis=1, keepdims=True),
            tf.reduce_mean(variance, axis=1, keepdims=True))

  def restore(self, outputs):
    """The normalized `outputs` in the input's shape."""
    if not self.virtual:
      return outputs
    return tf.reshape(outputs, [-1] + self._shape[1:])
