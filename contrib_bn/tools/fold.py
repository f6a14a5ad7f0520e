"""Folding inference-mode batch norms of a frozen GraphDef into simpler ops.

Works on a GraphDef whose variables are already constants (a frozen graph),
as deployment converters do:

  affine  each batch norm becomes `x * scale + offset`, one Mul and one AddV2,
          with `scale = gamma / sqrt(moving_variance + epsilon)` and
          `offset = beta - moving_mean * scale`, computed in float64 from the
          values the layer reads and the epsilon it actually used (for the
          fused kernel that is the op's `epsilon` attribute, which already
          carries TF 1.15's floor of 1.001e-5);
  conv    additionally multiplies `scale` into the weights of a directly
          preceding Conv2D, Conv2DBackpropInput (a transposed conv) or
          MatMul and adds `offset` to its bias (or
          appends a BiasAdd), where that is exact algebra: the linear op's
          output (and its bias add's output) feeds nothing but this batch
          norm, and the channel axes agree. Everything else stays affine and
          the report says why.

Two shapes of inference-mode batch norm are recognised: a
`FusedBatchNorm`/`V2`/`V3` node with `is_training=False` (contrib_bn's fused
and rank-4 core paths), and the op pattern `tf.nn.batch_normalization` emits
(its `.../batchnorm/add_1` node; the moments path and the non-fused core
path, including renorm layers in inference, which read only the moving
statistics). Both keep their node name for the folded result, so tensors
named by the model's outputs stay valid. Recognising them and reading their
constants is `fold_units`; this module decides and rewrites.
"""

import collections

import numpy as np
import tensorflow as tf

from contrib_bn.tools import fold_units

__all__ = ['FOLD_MODES', 'FoldReport', 'fold_graph_def']

FOLD_NONE = 'none'
FOLD_AFFINE = 'affine'
FOLD_CONV = 'conv'
FOLD_MODES = (FOLD_NONE, FOLD_AFFINE, FOLD_CONV)

_ACTIVATIONS = ('Relu', 'Relu6', 'Elu', 'Selu', 'Sigmoid', 'Tanh',
                'LeakyRelu', 'Softplus', 'Softsign')

_SHAPE_READERS = ('Shape', 'ShapeN', 'Size', 'Rank')
# Linear ops folded into, by their weights (input 1): a conv's filter is
# [h, w, in, out], a transposed conv's [h, w, out, in], a MatMul's [in, out].
_CONV = 'Conv2D'
_TRANSPOSED_CONV = 'Conv2DBackpropInput'
_LINEAR = (_CONV, _TRANSPOSED_CONV, 'MatMul')

Folded = collections.namedtuple('Folded', ['layer', 'node', 'kind', 'into',
                                           'epsilon', 'channels'])
Left = collections.namedtuple('Left', ['layer', 'node', 'kept_as', 'reason'])


class FoldReport(object):
  """What a fold did.

  Attributes:
    mode: the fold mode.
    folded: list of `Folded(layer, node, kind, into, epsilon, channels)`;
      `kind` is 'affine' (multiply + add) or 'conv' (into `into`).
    left: list of `Left(layer, node, kept_as, reason)`: batch norms not
      folded as far as the mode asked, with what they became and why.
  """

  def __init__(self, mode):
    self.mode = mode
    self.folded = []
    self.left = []

  def lines(self):
    """Human-readable lines, one per batch norm."""
    result = []
    for f in self.folded:
      if f.kind == FOLD_CONV:
        result.append('folded %s (epsilon %.7g, %d channels) into %s' %
                      (f.layer, f.epsilon, f.channels, f.into))
      else:
        result.append('folded %s (epsilon %.7g, %d channels) into one '
                      'multiply and one add' % (f.layer, f.epsilon,
                                                f.channels))
    for l in self.left:
      result.append('left %s as %s: %s' % (l.layer, l.kept_as, l.reason))
    return result

  def to_dict(self):
    return {'mode': self.mode,
            'folded': [dict(f._asdict()) for f in self.folded],
            'left': [dict(l._asdict()) for l in self.left]}



def _const_node(name, value, dtype=np.float32):
  node = tf.compat.v1.NodeDef()
  node.name = name
  node.op = 'Const'
  array = np.asarray(value, dtype)
  node.attr['dtype'].type = tf.as_dtype(array.dtype).as_datatype_enum
  node.attr['value'].tensor.CopyFrom(tf.make_tensor_proto(array))
  return node


def _rewrite(node, op, inputs, dtype, extra_attrs=None):
  """Turns `node` into `op(inputs)` in place, keeping its name."""
  node.op = op
  del node.input[:]
  node.input.extend(inputs)
  node.attr.clear()
  node.attr['T'].type = dtype
  for key, value in (extra_attrs or {}).items():
    node.attr[key].s = value.encode()


def _broadcast_shape(unit):
  """The shape `scale`/`offset` need to broadcast onto the unit's input."""
  if unit.params_shape is not None:
    return unit.params_shape
  channels = unit.gamma.shape[0]
  if unit.axis == -1 or unit.rank is None or unit.axis == unit.rank - 1:
    return [channels]
  return [channels] + [1] * (unit.rank - unit.axis - 1)


class _Folder(object):
  """One pass over a frozen GraphDef."""

  def __init__(self, graph_def, mode, protected):
    self.graph_def = tf.compat.v1.GraphDef()
    self.graph_def.CopyFrom(graph_def)
    self.mode = mode
    self.protected = set(fold_units.canonical_tensor(t) for t in protected)
    self.nodes = {n.name: n for n in self.graph_def.node}
    self.consumers = collections.defaultdict(list)
    for n in self.graph_def.node:
      for inp in n.input:
        node, index, control = fold_units.split_input(inp)
        if not control:
          self.consumers['%s:%d' % (node, index)].append(n.name)
    self.evaluator = fold_units.Evaluator(self.graph_def, self.nodes)
    self.report = FoldReport(mode)

  def units(self):
    for node in list(self.graph_def.node):
      if node.op in fold_units.FUSED_OPS:
        yield node, lambda n=node: fold_units.fused_unit(
            n, self.nodes, self.evaluator, self.consumers)
      elif (node.op in fold_units.ADDS and
            fold_units.PATTERN_OUTPUT.search(node.name)):
        yield node, lambda n=node: fold_units.pattern_unit(
            n, self.nodes, self.evaluator)

  def run(self):
    try:
      for node, parse in self.units():
        try:
          unit = parse()
        except fold_units.NotRecognised as e:
          self.report.left.append(Left(node.name, node.name, node.op,
                                       'not folded: %s' % e))
          continue
        if unit.dtype != tf.float32.as_datatype_enum:
          self.report.left.append(Left(
              unit.layer, unit.node, node.op, 'not folded: input dtype %s '
              '(folding is done for float32 only)' %
              tf.as_dtype(unit.dtype).name))
          continue
        self.fold_unit(node, unit)
    finally:
      self.evaluator.close()
    return self.graph_def, self.report

  def fold_unit(self, node, unit):
    scale = unit.gamma / np.sqrt(unit.variance + unit.epsilon)
    offset = unit.beta - unit.mean * scale
    reason = None
    if self.mode == FOLD_CONV:
      reason = self.fold_into_linear(node, unit, scale, offset)
      if reason is None:
        return
    shape = _broadcast_shape(unit)
    scale_node = _const_node(unit.node + '/folded_scale',
                             scale.reshape(shape))
    offset_node = _const_node(unit.node + '/folded_offset',
                              offset.reshape(shape))
    mul = tf.compat.v1.NodeDef()
    mul.name = unit.node + '/folded_mul'
    _rewrite(mul, 'Mul', [unit.x, scale_node.name], unit.dtype)
    _rewrite(node, 'AddV2', [mul.name, offset_node.name], unit.dtype)
    self.graph_def.node.extend([scale_node, offset_node, mul])
    self.report.folded.append(Folded(unit.layer, unit.node, FOLD_AFFINE, None,
                                     unit.epsilon, len(scale)))
    if reason is not None:
      self.report.left.append(Left(unit.layer, unit.node,
                                   'one multiply and one add', reason))

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
    return self._output_channels(linear) == len(unit.gamma)

  def _output_channels(self, linear):
    """The size of a linear op's output channel axis, where it is known."""
    if linear is None or linear.op not in _LINEAR:
      return None
    if not self.evaluator.is_constant(linear.input[1]):
      return None
    shape = np.shape(self.evaluator.value(linear.input[1]))
    if linear.op == 'MatMul':
      return shape[0] if linear.attr['transpose_b'].b else shape[1]
    if linear.op == _TRANSPOSED_CONV:
      return shape[2]
    data_format = linear.attr['data_format'].s.decode() or 'NHWC'
    return shape[3] if data_format == 'NHWC' else None

  def _only_consumer(self, tensor_name, consumer, what):
    tensor = fold_units.canonical_tensor(tensor_name)
    # Shape ops read no value, so folding changes nothing they compute.
    users = [u for u in self.consumers.get(tensor, [])
             if self.nodes[u].op not in _SHAPE_READERS]
    if tensor in self.protected:
      return '%s %s is also a model output' % (what, tensor)
    if users != [consumer]:
      others = sorted(set(users) - {consumer})
      return '%s %s has other consumers (%s)' % (
          what, tensor, ', '.join(others) or consumer)
    return None

  def fold_into_linear(self, node, unit, scale, offset):
    """Folds into the preceding Conv2D/MatMul; returns None or why not."""
    if unit.params_shape is not None:
      return ('it normalizes over several axes (parameters of shape %s), '
              'not along one channel axis' % (unit.params_shape,))
    producer = fold_units.producer(self.nodes, unit.x)
    if producer is None:
      return 'its input has no producer in the graph'
    # The kernel paths normalize a rank-2 (or rank-5) input through a
    # rank-4 view with the channels last; that view changes no channel.
    view = producer if self._is_channel_view(producer, unit) else None
    if view is not None:
      producer = fold_units.producer(self.nodes, view.input[0])
      if producer is None:
        return 'its input has no producer in the graph'
    bias_node = bias_input = None
    linear = producer
    if producer.op == 'BiasAdd' or producer.op in fold_units.ADDS:
      for i in (1, 0):
        candidate = producer.input[i]
        if self.evaluator.is_constant(candidate):
          value = np.asarray(self.evaluator.value(candidate))
          if value.ndim == 1 and value.shape[0] == len(scale):
            bias_node, bias_input = producer, i
            linear = fold_units.producer(self.nodes, producer.input[1 - i])
          break
    if linear is None or linear.op not in _LINEAR:
      what = producer if bias_node is None else linear
      if what is not None and what.op in _ACTIVATIONS:
        return ('an activation (%s %s) sits between it and the linear op' %
                (what.op, what.name))
      return ('its input comes from %s %s, not from a Conv2D, '
              'Conv2DBackpropInput or MatMul (+ bias)' % (what.op if what else '?', what.name if what
                            else unit.x))
    first, before = unit.first, unit.x
    if view is not None:
      why = self._only_consumer(unit.x, first, 'the reshaped view')
      if why:
        return why
      first, before = view.name, view.input[0]
    if bias_node is not None:
      why = (self._only_consumer(before, first, 'the bias-add output') or
             self._only_consumer(linear.name + ':0', bias_node.name,
                                 'the %s output' % linear.op))
    else:
      why = self._only_consumer(before, first, 'the %s output' % linear.op)
    if why:
      return why
    if self._output_channels(linear) not in (None, len(scale)):
      return 'the %s %s has %d output channels, the batch norm %d' % (
          linear.op, linear.name, self._output_channels(linear), len(scale))
    last_axis = unit.rank is None or unit.axis in (-1, unit.rank - 1)
    if linear.op in (_CONV, _TRANSPOSED_CONV):
      data_format = linear.attr['data_format'].s.decode() or 'NHWC'
      if data_format == 'NCHW':
        matches = unit.rank == 4 and unit.axis == 1
      else:
        matches = last_axis
      if not matches:
        return ('its channel axis is not the channel axis of the %s %s' %
                (data_format, linear.op))
    else:
      data_format = 'NHWC'
      if not last_axis:
        return 'its channel axis is not the MatMul output axis'
    if bias_node is not None:
      if bias_node.op == 'BiasAdd':
        bias_format = bias_node.attr['data_format'].s.decode() or 'NHWC'
      else:
        # A 1-D addend broadcasts along the last axis only.
        bias_format = 'NHWC'
      if bias_format != data_format:
        return ('the bias add (%s) does not add per %s channel' %
                (bias_node.name, data_format))
    weights_name = linear.input[1]
    if not self.evaluator.is_constant(weights_name):
      return 'the %s weights %s are not constant' % (linear.op, weights_name)
    weights = np.asarray(self.evaluator.value(weights_name), np.float64)
    if linear.op == _TRANSPOSED_CONV or (
        linear.op == 'MatMul' and linear.attr['transpose_b'].b):
      weights = weights * scale[:, None]
    else:
      weights = weights * scale
    weights_node = _const_node(linear.name + '/folded_weights', weights)
    linear.input[1] = weights_node.name
    self.graph_def.node.append(weights_node)
    if bias_node is not None:
      bias = np.asarray(self.evaluator.value(bias_node.input[bias_input]),
                        np.float64)
      bias_const = _const_node(bias_node.name + '/folded_bias',
                               bias * scale + offset)
      bias_node.input[bias_input] = bias_const.name
      self.graph_def.node.append(bias_const)
      _rewrite(node, 'Identity', [unit.x], unit.dtype)
      into = '%s %s + %s %s' % (linear.op, linear.name, bias_node.op,
                                bias_node.name)
    else:
      bias_const = _const_node(unit.node + '/folded_bias', offset)
      self.graph_def.node.append(bias_const)
      _rewrite(node, 'BiasAdd', [unit.x, bias_const.name], unit.dtype,
               {'data_format': data_format})
      into = '%s %s (+ a new BiasAdd)' % (linear.op, linear.name)
    self.report.folded.append(Folded(unit.layer, unit.node, FOLD_CONV, into,
                                     unit.epsilon, len(scale)))
    return None


def fold_graph_def(graph_def, mode, outputs):
  """Folds the inference-mode batch norms of a frozen GraphDef.

  Args:
    graph_def: a GraphDef whose variables are constants.
    mode: 'none', 'affine' or 'conv' (see the module docstring).
    outputs: tensor names the caller fetches; they are kept, and a linear
      op whose output is one of them is not folded into.

  Returns:
    (new GraphDef pruned to `outputs`, `FoldReport`).

  Raises:
    ValueError: for an unknown mode.
  """
  if mode not in FOLD_MODES:
    raise ValueError('fold must be one of %s, got %r' % (
        ', '.join(FOLD_MODES), mode))
  if mode == FOLD_NONE:
    return graph_def, FoldReport(mode)
  folded, report = _Folder(graph_def, mode, outputs).run()
  dest = sorted(set(fold_units.split_input(t)[0] for t in outputs))
  logger = tf.get_logger()
  level = logger.level
  logger.setLevel('ERROR')  # only its 'deprecated' notice is muted
  try:
    return tf.compat.v1.graph_util.extract_sub_graph(folded, dest), report
  finally:
    logger.setLevel(level)
