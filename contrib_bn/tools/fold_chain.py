"""Finding the linear op an inference-mode batch norm folds into.

The middle part of `contrib_bn.tools.fold`, between recognising a batch
norm (`fold_units`) and rewriting the graph (`fold`): from the batch norm's
input it walks up through what may stand between it and a Conv2D,
Conv2DBackpropInput (a transposed conv) or MatMul (the kernel path's
channels-last view, a bias add) and checks that folding there is exact
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

# `bias_node` adds its input `bias_input` (a constant) per channel; None
# when the linear op has no bias add. `data_format` is the linear op's
# ('NHWC' for a MatMul).
Chain = collections.namedtuple('Chain', ['linear', 'bias_node', 'bias_input',
                                         'data_format'])


class Unfoldable(Exception):
  pass


class ChainFinder(object):
  """Finds `Chain`s in a frozen GraphDef's nodes.

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

  def _is_channel_view(self, reshape, unit):
    """Whether `reshape` only regroups the axes before a last channel axis.

    Reshaping keeps row-major order, so when the input's last axis and the
    view's last axis are both the layer's channels, every element keeps its
    channel and a per-channel scale commutes with the reshape.
    """
    if reshape.op != 'Reshape' or not (
        unit.rank is None or unit.axis in (-1, unit.rank - 1)):
      return False
    if not self.evaluator.is_constant(reshape.input[1]):
      return False
    shape = np.asarray(self.evaluator.value(reshape.input[1])).reshape([-1])
    if not shape.size or int(shape[-1]) != len(unit.gamma):
      return False
    linear = fold_units.producer(self.nodes, reshape.input[0])
    if linear is not None and (linear.op == 'BiasAdd' or
                               linear.op in fold_units.ADDS):
      added = [i for i in linear.input[:2]
               if not self.evaluator.is_constant(i)]
      linear = (fold_units.producer(self.nodes, added[0]) if len(added) == 1
                else None)
    return self.output_channels(linear) == len(unit.gamma)

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
    data_format = linear.attr['data_format'].s.decode() or 'NHWC'
    return shape[3] if data_format == 'NHWC' else None

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

  def find(self, unit, channels):
    """The `Chain` from `unit`'s input up to its linear op.

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
    producer = fold_units.producer(self.nodes, unit.x)
    if producer is None:
      raise Unfoldable('its input has no producer in the graph')
    # The kernel paths normalize a rank-2 (or rank-5) input through a
    # rank-4 view with the channels last; that view changes no channel.
    view = producer if self._is_channel_view(producer, unit) else None
    if view is not None:
      producer = fold_units.producer(self.nodes, view.input[0])
      if producer is None:
        raise Unfoldable('its input has no producer in the graph')
    bias_node = bias_input = None
    linear = producer
    if producer.op == 'BiasAdd' or producer.op in fold_units.ADDS:
      for i in (1, 0):
        candidate = producer.input[i]
        if self.evaluator.is_constant(candidate):
          value = np.asarray(self.evaluator.value(candidate))
          if value.ndim == 1 and value.shape[0] == channels:
            bias_node, bias_input = producer, i
            linear = fold_units.producer(self.nodes, producer.input[1 - i])
          break
    if linear is None or linear.op not in LINEAR:
      what = producer if bias_node is None else linear
      if what is not None and what.op in ACTIVATIONS:
        raise Unfoldable('an activation (%s %s) sits between it and the '
                         'linear op' % (what.op, what.name))
      raise Unfoldable(
          'its input comes from %s %s, not from a Conv2D, '
          'Conv2DBackpropInput or MatMul (+ bias)' % (
              what.op if what else '?', what.name if what else unit.x))
    first, before = unit.first, unit.x
    if view is not None:
      why = self._only_consumer(unit.x, first, 'the reshaped view')
      if why:
        raise Unfoldable(why)
      first, before = view.name, view.input[0]
    if bias_node is not None:
      why = (self._only_consumer(before, first, 'the bias-add output') or
             self._only_consumer(linear.name + ':0', bias_node.name,
                                 'the %s output' % linear.op))
    else:
      why = self._only_consumer(before, first, 'the %s output' % linear.op)
    if why:
      raise Unfoldable(why)
    if self.output_channels(linear) not in (None, channels):
      raise Unfoldable('the %s %s has %d output channels, the batch norm %d' % (
          linear.op, linear.name, self.output_channels(linear), channels))
    last_axis = unit.rank is None or unit.axis in (-1, unit.rank - 1)
    if linear.op in (CONV, TRANSPOSED_CONV):
      data_format = linear.attr['data_format'].s.decode() or 'NHWC'
      if data_format == 'NCHW':
        matches = unit.rank == 4 and unit.axis == 1
      else:
        matches = last_axis
      if not matches:
        raise Unfoldable('its channel axis is not the channel axis of the '
                         '%s %s' % (data_format, linear.op))
    else:
      data_format = 'NHWC'
      if not last_axis:
        raise Unfoldable('its channel axis is not the MatMul output axis')
    if bias_node is not None:
      if bias_node.op == 'BiasAdd':
        bias_format = bias_node.attr['data_format'].s.decode() or 'NHWC'
      else:
        # A 1-D addend broadcasts along the last axis only.
        bias_format = 'NHWC'
      if bias_format != data_format:
        raise Unfoldable('the bias add (%s) does not add per %s channel' %
                         (bias_node.name, data_format))
    weights_name = linear.input[1]
    if not self.evaluator.is_constant(weights_name):
      raise Unfoldable('the %s weights %s are not constant' % (linear.op,
                                                              weights_name))
    return Chain(linear, bias_node, bias_input, data_format)
