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
          preceding Conv2D (conv1d's too, seen through its Squeeze),
          Conv2DBackpropInput (a transposed conv) or MatMul and adds
          `offset` to its bias (or appends a BiasAdd), where that is exact
          algebra: the linear op's output (and its bias add's output) feeds
          nothing but this batch norm, and the channel axes agree.
          Everything else stays affine and the report says why.

Two shapes of inference-mode batch norm are recognised: a
`FusedBatchNorm`/`V2`/`V3` node with `is_training=False` (contrib_bn's fused
and rank-4 core paths), and the op pattern `tf.nn.batch_normalization` emits
(its `.../batchnorm/add_1` node; the moments path and the non-fused core
path, including renorm layers in inference, which read only the moving
statistics). Both keep their node name for the folded result, so tensors
named by the model's outputs stay valid. Recognising them and reading their
constants is `fold_units`, finding the linear op to fold into and checking
that folding there is exact is `fold_chain`; this module decides and
rewrites.
"""

import collections

import numpy as np
import tensorflow as tf

from contrib_bn.tools import fold_chain
from contrib_bn.tools import fold_units

__all__ = ['FOLD_MODES', 'FoldReport', 'fold_graph_def']

FOLD_NONE = 'none'
FOLD_AFFINE = 'affine'
FOLD_CONV = 'conv'
FOLD_MODES = (FOLD_NONE, FOLD_AFFINE, FOLD_CONV)

# `channels` counts the values of each parameter: the channels of a layer
# normalizing along one axis; `params_shape` is None for those, and the
# parameters' shape for a layer normalizing over an axis list.
Folded = collections.namedtuple('Folded', ['layer', 'node', 'kind', 'into',
                                           'epsilon', 'channels',
                                           'params_shape'])
Left = collections.namedtuple('Left', ['layer', 'node', 'kept_as', 'reason'])


def _parameters(folded):
  if folded.params_shape is not None:
    return 'parameters of shape %s, %d values each' % (
        list(folded.params_shape), folded.channels)
  return '%d channel%s' % (folded.channels,
                           '' if folded.channels == 1 else 's')


class FoldReport(object):
  """What a fold did.

  Attributes:
    mode: the fold mode.
    folded: list of `Folded(layer, node, kind, into, epsilon, channels,
      params_shape)`; `kind` is 'affine' (multiply + add) or 'conv' (into
      `into`).
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
      into = f.into if f.kind == FOLD_CONV else 'one multiply and one add'
      result.append('folded %s (epsilon %.7g, %s) into %s' % (
          f.layer, f.epsilon, _parameters(f), into))
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
    self.chains = fold_chain.ChainFinder(self.nodes, self.consumers,
                                         self.evaluator, self.protected)
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
                                     unit.epsilon, len(scale),
                                     unit.params_shape))
    if reason is not None:
      self.report.left.append(Left(unit.layer, unit.node,
                                   'one multiply and one add', reason))

  def _add_offset(self, node, unit, offset):
    """Turns the batch norm's node into `unit.x + offset` per channel."""
    if unit.rank is None or unit.axis in (-1, unit.rank - 1):
      data_format = 'NHWC'
    elif unit.rank == 4 and unit.axis == 1:
      data_format = 'NCHW'
    else:
      offset_const = _const_node(unit.node + '/folded_bias',
                                 offset.reshape(_broadcast_shape(unit)))
      self.graph_def.node.append(offset_const)
      _rewrite(node, 'AddV2', [unit.x, offset_const.name], unit.dtype)
      return 'a new add'
    bias_const = _const_node(unit.node + '/folded_bias', offset)
    self.graph_def.node.append(bias_const)
    _rewrite(node, 'BiasAdd', [unit.x, bias_const.name], unit.dtype,
             {'data_format': data_format})
    return 'a new BiasAdd'

  def fold_into_linear(self, node, unit, scale, offset):
    """Folds into the preceding Conv2D/MatMul; returns None or why not."""
    try:
      chain = self.chains.find(unit, len(scale))
    except fold_chain.Unfoldable as e:
      return str(e)
    linear, bias_node, bias_input = chain.linear, chain.bias_node, (
        chain.bias_input)
    weights = np.asarray(self.evaluator.value(linear.input[1]), np.float64)
    if linear.op == fold_chain.TRANSPOSED_CONV or (
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
      bias_const = _const_node(
          bias_node.name + '/folded_bias',
          (bias.reshape([-1]) * scale + offset).reshape(bias.shape))
      bias_node.input[bias_input] = bias_const.name
      self.graph_def.node.append(bias_const)
      _rewrite(node, 'Identity', [unit.x], unit.dtype)
      into = '%s %s + %s %s' % (linear.op, linear.name, bias_node.op,
                                bias_node.name)
    else:
      into = '%s %s (+ %s)' % (linear.op, linear.name,
                               self._add_offset(node, unit, offset))
    self.report.folded.append(Folded(unit.layer, unit.node, FOLD_CONV, into,
                                     unit.epsilon, len(scale), None))
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
