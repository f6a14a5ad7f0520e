"""Finding the linear op an inference-mode batch norm folds into.

The middle part of `contrib_bn.tools.fold`, between recognising a batch
norm (`fold_units`) and rewriting the graph (`fold`): from the batch norm's
input it walks up through what may stand between it and a Conv2D,
Conv2DBackpropInput (a transposed conv) or MatMul (the kernel path's rank-4
view, a bias add, conv1d's Squeeze) and checks that folding there is exact
algebra: each tensor on the way feeds nothing but the next op, and the
channel axes agree. It answers with a `Chain`, or raises `Unfoldable` with
the reason the fold report shows.
"""

import collections

import numpy as np

from contrib_bn.tools import fold_units

ACTIVATIONS = ('Relu', 'Relu6', 'Elu', 'Selu', 'Sigmoid', 'Tanh',
               'LeakyRelu', 'Softplus', 'Softsign')
SHAPE_READERS = ('Shape', 'ShapeN', 'Size', 'Rank')
# Linear ops folded into, by their weights (input 1): a conv's filter is
# [h, w, in, out], a transposed conv's [h, w, out, in], a MatMul's [in, out].
CONV = 'Conv2D'
TRANSPOSED_CONV = 'Conv2DBackpropInput'
LINEAR = (CONV, TRANSPOSED_CONV, 'MatMul')

# `bias_node` adds its input `bias_input` (a constant of one value per
# channel); None when the linear op has no bias add.
Chain = collections.namedtuple('Chain', ['linear', 'bias_node', 'bias_input'])


class Unfoldable(Exception):
  pass


def _is_last(axis, rank):
  return axis == -1 or (rank is not None and axis == rank - 1)


class ChainFinder(object):
  """Finds `Chain`s in a frozen GraphDef's nodes.

  On the way up it follows the batch norm's channel axis as `(axis, rank)`,
  `(-1, None)` standing for the last axis of a tensor of unknown rank, so
  that each step can be checked to keep every element in its channel.

  Args:
    nodes: node name -> NodeDef.
    consumers: 'node:index' -> names of the nodes reading that tensor.
    evaluator: a `fold_units.Evaluator` of the graph.
    protected: canonical names of the tensors the caller fetches.
  """

  def __init__(self, nodes, consumers, evaluator, protected):
    self.nodes = nodes
    self.consumers = consumers
    self.evaluator = evaluator
    self.protected = protected

  def _rank(self, tensor_name):
    shape = self.evaluator.static_shape(tensor_name)
    return None if shape is None else len(shape)

  def _start(self, unit):
    """The batch norm's channel axis in its input's axes."""
    rank = self._rank(unit.x)
    if unit.rank is None or _is_last(unit.axis, unit.rank):
      return (-1, None) if rank is None else (rank - 1, rank)
    if rank is None:
      return unit.axis, unit.rank
    # Parameters broadcast against the input from its last axis on.
    return unit.axis + rank - unit.rank, rank

  def _view_axis(self, reshape, axis, rank, channels):
    """The channel axis before `reshape`, if it keeps every channel.

    Reshaping keeps row-major order, so an element keeps its channel when
    the channel axis has the same size on both sides and so has the product
    of the axes after it: the kernel paths' rank-4 view of a rank-2, rank-3
    or rank-5 input, channels last (`[-1, 1, 1, C]`) or first (`[-1, C, W,
    1]`). Returns None for any other reshape.
    """
    if not self.evaluator.is_constant(reshape.input[1]):
      return None
    shape = [int(d) for d in np.asarray(
        self.evaluator.value(reshape.input[1])).reshape([-1])]
    if not shape or (rank is not None and rank != len(shape)):
      return None
    axis = len(shape) - 1 if axis == -1 else axis
    if not 0 <= axis < len(shape) or shape[axis] != channels:
      return None
    before = self.evaluator.static_shape(reshape.input[0])
    if axis == len(shape) - 1:
      # The linear op's channel count, checked later, is the input's last
      # axis.
      if before is None:
        return -1, None
      if before and before[-1] not in (None, channels):
        return None
      return len(before) - 1, len(before)
    inner = shape[axis + 1:]
    if before is None or min(inner) < 0:
      return None
    for k, size in enumerate(before):
      rest = before[k + 1:]
      if (size == channels and None not in rest and
          int(np.prod(rest)) == int(np.prod(inner))):
        return k, len(before)
    return None

  def _squeezed_axis(self, squeeze, axis, rank):
    """The channel axis before a Squeeze of explicit axes (conv1d's)."""
    dims = list(squeeze.attr['squeeze_dims'].list.i)
    before = self._rank(squeeze.input[0])
    if not dims or before is None:
      return None
    dims = set(d % before for d in dims)
    kept = [i for i in range(before) if i not in dims]
    if rank is not None and rank != len(kept):
      return None
    axis = len(kept) - 1 if axis == -1 else axis
    if not 0 <= axis < len(kept):
      return None
    return kept[axis], before

  def _bias_input(self, node, channels):
    """Which input of a bias add is its constant per-channel addend."""
    if node.op != 'BiasAdd' and node.op not in fold_units.ADDS:
      return None
    for i in (1, 0):
      if self.evaluator.is_constant(node.input[i]):
        value = np.asarray(self.evaluator.value(node.input[i]))
        if (value.ndim >= 1 and value.size == channels and
            sum(d != 1 for d in value.shape) <= 1):
          return i
        return None
    return None

  def _adds_along(self, node, bias_input, axis, rank, channels):
    """Whether the bias add adds per channel along `(axis, rank)`."""
    if node.op == 'BiasAdd':
      if (node.attr['data_format'].s.decode() or 'NHWC') == 'NHWC':
        return _is_last(axis, rank)
      return rank is not None and axis == 1
    shape = np.shape(self.evaluator.value(node.input[bias_input]))
    if len(shape) == 1:
      return _is_last(axis, rank)
    if rank is None or len(shape) > rank:
      return False
    if channels == 1:
      return True
    return len(shape) - 1 - list(shape)[::-1].index(channels) == (
        axis - rank + len(shape))

  def output_channels(self, linear):
    """The size of a linear op's output channel axis, where it is known."""
    if linear is None or linear.op not in LINEAR:
      return None
    if not self.evaluator.is_constant(linear.input[1]):
      return None
    shape = np.shape(self.evaluator.value(linear.input[1]))
    if linear.op == 'MatMul':
      return shape[0] if linear.attr['transpose_b'].b else shape[1]
    if linear.op == TRANSPOSED_CONV:
      return shape[2]
    # A Conv2D's filter is [h, w, in, out] in either data format.
    return shape[3]

  def _only_consumer(self, tensor_name, consumer, what):
    tensor = fold_units.canonical_tensor(tensor_name)
    # Shape ops read no value, so folding changes nothing they compute.
    users = [u for u in self.consumers.get(tensor, [])
             if self.nodes[u].op not in SHAPE_READERS]
    if tensor in self.protected:
      return '%s %s is also a model output' % (what, tensor)
    if users != [consumer]:
      others = sorted(set(users) - {consumer})
      return '%s %s has other consumers (%s)' % (
          what, tensor, ', '.join(others) or consumer)
    return None

  def _producer(self, tensor_name):
    node = fold_units.producer(self.nodes, tensor_name)
    if node is None:
      raise Unfoldable('its input has no producer in the graph')
    return node

  def find(self, unit, channels):
    """The `Chain` from `unit`'s input up to its linear op.

    Between them may stand, in this order from the batch norm up: the
    kernel path's view, a bias add, conv1d's Squeeze and a bias add (one
    bias add at most).

    Args:
      unit: a `fold_units.Unit`.
      channels: the number of channels the batch norm scales.

    Returns:
      A `Chain`.

    Raises:
      Unfoldable: with the reason, when folding into a linear op is not
        exact or no linear op is there.
    """
    if unit.params_shape is not None:
      raise Unfoldable('it normalizes over several axes (parameters of shape '
                       '%s), not along one channel axis' % (unit.params_shape,))
    axis, rank = self._start(unit)
    tensor, reader = unit.x, unit.first
    # (tensor, the one node that may read it, what it is)
    edges = []
    node = self._producer(tensor)
    if node.op == 'Reshape':
      before = self._view_axis(node, axis, rank, channels)
      if before is not None:
        edges.append((tensor, reader, 'the reshaped view'))
        tensor, reader, (axis, rank) = node.input[0], node.name, before
        node = self._producer(tensor)
    bias = None
    for step in ('bias', 'squeeze', 'bias'):
      if step == 'bias' and bias is None:
        index = self._bias_input(node, channels)
        if index is None:
          continue
        bias = (node, index, axis, rank)
        edges.append((tensor, reader, 'the bias-add output'))
        tensor, reader = node.input[1 - index], node.name
      elif step == 'squeeze' and node.op == 'Squeeze':
        before = self._squeezed_axis(node, axis, rank)
        if before is None:
          continue
        edges.append((tensor, reader, 'the squeezed output'))
        tensor, reader, (axis, rank) = node.input[0], node.name, before
      else:
        continue
      node = self._producer(tensor)
    linear = node
    if linear.op not in LINEAR:
      if linear.op in ACTIVATIONS:
        raise Unfoldable('an activation (%s %s) sits between it and the '
                         'linear op' % (linear.op, linear.name))
      raise Unfoldable(
          'its input comes from %s %s, not from a Conv2D, '
          'Conv2DBackpropInput or MatMul (+ bias)' % (linear.op, linear.name))
    edges.append((tensor, reader, 'the %s output' % linear.op))
    for edge in edges:
      why = self._only_consumer(*edge)
      if why:
        raise Unfoldable(why)
    if self.output_channels(linear) not in (None, channels):
      raise Unfoldable('the %s %s has %d output channels, the batch norm %d' % (
          linear.op, linear.name, self.output_channels(linear), channels))
    if linear.op in (CONV, TRANSPOSED_CONV):
      data_format = linear.attr['data_format'].s.decode() or 'NHWC'
      if data_format == 'NCHW':
        matches = rank == 4 and axis == 1
      else:
        matches = _is_last(axis, rank)
      if not matches:
        raise Unfoldable('its channel axis is not the channel axis of the '
                         '%s %s' % (data_format, linear.op))
    else:
      data_format = 'NHWC'
      if not _is_last(axis, rank):
        raise Unfoldable('its channel axis is not the MatMul output axis')
    if bias is not None and not self._adds_along(*bias, channels=channels):
      raise Unfoldable('the bias add (%s) does not add per %s channel' %
                       (bias[0].name, data_format))
    weights_name = linear.input[1]
    if not self.evaluator.is_constant(weights_name):
      raise Unfoldable('the %s weights %s are not constant' % (linear.op,
                                                              weights_name))
    return Chain(linear, bias and bias[0], bias and bias[1])
