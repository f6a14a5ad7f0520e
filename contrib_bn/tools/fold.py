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
          preceding Conv2D or MatMul and adds `offset` to its bias (or
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
named by the model's outputs stay valid.
"""

import collections
import re

import numpy as np
import tensorflow as tf

__all__ = ['FOLD_MODES', 'FoldReport', 'fold_graph_def']

FOLD_NONE = 'none'
FOLD_AFFINE = 'affine'
FOLD_CONV = 'conv'
FOLD_MODES = (FOLD_NONE, FOLD_AFFINE, FOLD_CONV)

FUSED_OPS = ('FusedBatchNorm', 'FusedBatchNormV2', 'FusedBatchNormV3')
_PATTERN_OUTPUT = re.compile(r'(^|/)batchnorm(_\d+)?/add_1$')
_ADDS = ('Add', 'AddV2')
_ACTIVATIONS = ('Relu', 'Relu6', 'Elu', 'Selu', 'Sigmoid', 'Tanh',
                'LeakyRelu', 'Softplus', 'Softsign')

# Ops whose value is not fixed by the graph: inputs, variables, random draws.
_NOT_CONSTANT = ('Placeholder', 'VarHandleOp', 'VariableV2', 'Variable',
                 'Random', 'TruncatedNormal', 'ParameterizedTruncatedNormal',
                 'Multinomial')

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


def _split(name):
  """'^a', 'a', 'a:1' -> (node name, output index, is_control)."""
  if name.startswith('^'):
    return name[1:], -1, True
  node, _, index = name.partition(':')
  return node, int(index) if index else 0, False


def _tensor(name):
  node, index, _ = _split(name)
  return '%s:%d' % (node, index)


class _Evaluator(object):
  """Values of the constant-only tensors of a frozen GraphDef."""

  def __init__(self, graph_def, nodes):
    self._nodes = nodes
    self._graph = tf.Graph()
    with self._graph.as_default():
      tf.compat.v1.import_graph_def(graph_def, name='')
    self._session = None
    self._constant = {}

  def is_constant(self, tensor_name):
    """Whether the tensor depends on no placeholder (iteratively)."""
    root = _split(tensor_name)[0]
    stack = [root]
    order = []
    seen = set()
    while stack:
      name = stack.pop()
      if name in seen or name in self._constant:
        continue
      seen.add(name)
      order.append(name)
      node = self._nodes.get(name)
      if node is None:
        self._constant[name] = False
        continue
      for inp in node.input:
        stack.append(_split(inp)[0])
    for name in reversed(order):
      node = self._nodes.get(name)
      if name in self._constant:
        continue
      if node is None or node.op.startswith(_NOT_CONSTANT):
        self._constant[name] = False
        continue
      self._constant[name] = all(
          self._constant.get(_split(i)[0], False) for i in node.input)
    return self._constant[root]

  def value(self, tensor_name):
    node = self._nodes[_split(tensor_name)[0]]
    if node.op == 'Const':
      return tf.make_ndarray(node.attr['value'].tensor)
    if self._session is None:
      self._session = tf.compat.v1.Session(graph=self._graph)
    return self._session.run(_tensor(tensor_name))

  def close(self):
    if self._session is not None:
      self._session.close()


_Unit = collections.namedtuple(
    'Unit', ['node', 'layer', 'x', 'first', 'gamma', 'beta', 'mean',
             'variance', 'epsilon', 'axis', 'rank', 'dtype'])


class _NotRecognised(Exception):
  pass


def _producer(nodes, tensor_name):
  return nodes.get(_split(tensor_name)[0])


def _const_value(nodes, evaluator, tensor_name, what):
  if not evaluator.is_constant(tensor_name):
    raise _NotRecognised('its %s (%s) is not a constant' % (what,
                                                           tensor_name))
  return np.asarray(evaluator.value(tensor_name), np.float64)


def _fused_unit(node, nodes, evaluator, consumers):
  if node.attr['is_training'].b:
    raise _NotRecognised('it is a training-mode kernel')
  for index in range(1, 6):
    if consumers.get('%s:%d' % (node.name, index)):
      raise _NotRecognised('its batch-statistics output %d is used' % index)
  values = [_const_value(nodes, evaluator, node.input[i], what)
            for i, what in ((1, 'scale'), (2, 'offset'), (3, 'mean'),
                            (4, 'variance'))]
  data_format = node.attr['data_format'].s.decode() or 'NHWC'
  axis = 1 if data_format.startswith('NC') else 3
  return _Unit(node.name, node.name.rpartition('/')[0] or node.name,
               node.input[0], node.name, values[0], values[1], values[2],
               values[3], float(node.attr['epsilon'].f), axis, 4,
               node.attr['T'].type)


def _pattern_unit(node, nodes, evaluator):
  """Parses `x * inv + (beta - mean * inv)` as tf.nn.batch_normalization
  writes it, with `inv = rsqrt(variance + epsilon) [* gamma]`."""
  mul_x = _producer(nodes, node.input[0])
  rest = _producer(nodes, node.input[1])
  if mul_x is None or mul_x.op != 'Mul' or rest is None:
    raise _NotRecognised('unrecognised batch-normalization ops')
  x, inv_name = mul_x.input[0], mul_x.input[1]
  inv = _producer(nodes, inv_name)
  gamma = None
  if inv is not None and inv.op == 'Mul':
    gamma = _const_value(nodes, evaluator, inv.input[1], 'gamma')
    rsqrt = _producer(nodes, inv.input[0])
  else:
    rsqrt = inv
  if rsqrt is None or rsqrt.op != 'Rsqrt':
    raise _NotRecognised('unrecognised batch-normalization ops')
  add = _producer(nodes, rsqrt.input[0])
  if add is None or add.op not in _ADDS:
    raise _NotRecognised('unrecognised batch-normalization ops')
  variance = _const_value(nodes, evaluator, add.input[0], 'variance')
  epsilon = _const_value(nodes, evaluator, add.input[1], 'epsilon')
  if rest.op == 'Sub':
    beta = _const_value(nodes, evaluator, rest.input[0], 'beta')
    mul_mean = _producer(nodes, rest.input[1])
  elif rest.op == 'Neg':
    beta = None
    mul_mean = _producer(nodes, rest.input[0])
  elif rest.op == 'Mul' and _tensor(rest.input[1]) == _tensor(inv_name):
    # No offset: `-mean * inv`, the negation applied to the mean first.
    beta = None
    mul_mean = rest
  else:
    raise _NotRecognised('unrecognised batch-normalization ops')
  if mul_mean is None or mul_mean.op != 'Mul' or (
      _tensor(mul_mean.input[1]) != _tensor(inv_name)):
    raise _NotRecognised('unrecognised batch-normalization ops')
  mean = _const_value(nodes, evaluator, mul_mean.input[0], 'mean')
  if mul_mean is rest:
    mean = -mean
  shape = np.broadcast(variance, mean, *(
      [gamma] if gamma is not None else []) + (
          [beta] if beta is not None else [])).shape
  if len(shape) <= 1:
    axis = -1
  else:
    big = [i for i, d in enumerate(shape) if d != 1]
    axis = big[0] if len(big) == 1 else len(shape) - 1
  channels = int(np.prod(shape)) if shape else 1
  flat = lambda v: np.broadcast_to(v, shape).reshape([channels])
  ones, zeros = np.ones([channels]), np.zeros([channels])
  return _Unit(node.name, node.name.rpartition('/batchnorm')[0] or node.name,
               x, mul_x.name, ones if gamma is None else flat(gamma),
               zeros if beta is None else flat(beta), flat(mean),
               flat(variance), float(epsilon), axis,
               len(shape) if len(shape) > 1 else None, node.attr['T'].type)


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
    self.protected = set(_tensor(t) for t in protected)
    self.nodes = {n.name: n for n in self.graph_def.node}
    self.consumers = collections.defaultdict(list)
    for n in self.graph_def.node:
      for inp in n.input:
        node, index, control = _split(inp)
        if not control:
          self.consumers['%s:%d' % (node, index)].append(n.name)
    self.evaluator = _Evaluator(self.graph_def, self.nodes)
    self.report = FoldReport(mode)

  def units(self):
    for node in list(self.graph_def.node):
      if node.op in FUSED_OPS:
        yield node, lambda n=node: _fused_unit(n, self.nodes, self.evaluator,
                                               self.consumers)
      elif node.op in _ADDS and _PATTERN_OUTPUT.search(node.name):
        yield node, lambda n=node: _pattern_unit(n, self.nodes,
                                                 self.evaluator)

  def run(self):
    try:
      for node, parse in self.units():
        try:
          unit = parse()
        except _NotRecognised as e:
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

  def _only_consumer(self, tensor_name, consumer, what):
    users = self.consumers.get(_tensor(tensor_name), [])
    if _tensor(tensor_name) in self.protected:
      return '%s %s is also a model output' % (what, _tensor(tensor_name))
    if users != [consumer]:
      others = sorted(set(users) - {consumer})
      return '%s %s has other consumers (%s)' % (
          what, _tensor(tensor_name), ', '.join(others) or consumer)
    return None

  def fold_into_linear(self, node, unit, scale, offset):
    """Folds into the preceding Conv2D/MatMul; returns None or why not."""
    producer = _producer(self.nodes, unit.x)
    if producer is None:
      return 'its input has no producer in the graph'
    bias_node = bias_input = None
    linear = producer
    if producer.op == 'BiasAdd' or producer.op in _ADDS:
      for i in (1, 0):
        candidate = producer.input[i]
        if self.evaluator.is_constant(candidate):
          value = np.asarray(self.evaluator.value(candidate))
          if value.ndim == 1 and value.shape[0] == len(scale):
            bias_node, bias_input = producer, i
            linear = _producer(self.nodes, producer.input[1 - i])
          break
    if linear is None or linear.op not in ('Conv2D', 'MatMul'):
      what = producer if bias_node is None else linear
      if what is not None and what.op in _ACTIVATIONS:
        return ('an activation (%s %s) sits between it and the linear op' %
                (what.op, what.name))
      return ('its input comes from %s %s, not from a Conv2D or MatMul '
              '(+ bias)' % (what.op if what else '?', what.name if what
                            else unit.x))
    first = unit.first
    if bias_node is not None:
      why = (self._only_consumer(unit.x, first, 'the bias-add output') or
             self._only_consumer(linear.name + ':0', bias_node.name,
                                 'the %s output' % linear.op))
    else:
      why = self._only_consumer(unit.x, first, 'the %s output' % linear.op)
    if why:
      return why
    last_axis = unit.rank is None or unit.axis in (-1, unit.rank - 1)
    if linear.op == 'Conv2D':
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
    if linear.op == 'MatMul' and linear.attr['transpose_b'].b:
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
  dest = sorted(set(_split(t)[0] for t in outputs))
  logger = tf.get_logger()
  level = logger.level
  logger.setLevel('ERROR')  # only its 'deprecated' notice is muted
  try:
    return tf.compat.v1.graph_util.extract_sub_graph(folded, dest), report
  finally:
    logger.setLevel(level)
