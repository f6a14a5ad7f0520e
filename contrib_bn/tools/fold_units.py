"""Recognising the inference-mode batch norms of a frozen GraphDef.

The matching half of `contrib_bn.tools.fold`: reads a frozen GraphDef's
nodes and turns each inference-mode batch norm it recognises into a `Unit`,
the layer's constant parameters (in float64) plus where its input, channel
axis and epsilon are. A batch norm that cannot be folded raises
`NotRecognised` with the reason the fold report shows.
"""

import collections
import re

import numpy as np
import tensorflow as tf

FUSED_OPS = ('FusedBatchNorm', 'FusedBatchNormV2', 'FusedBatchNormV3')
PATTERN_OUTPUT = re.compile(r'(^|/)batchnorm(_\d+)?/add_1$')
ADDS = ('Add', 'AddV2')

# Ops whose value is not fixed by the graph: inputs, variables, random draws.
NOT_CONSTANT = ('Placeholder', 'VarHandleOp', 'VariableV2', 'Variable',
                'Random', 'TruncatedNormal', 'ParameterizedTruncatedNormal',
                'Multinomial')


def split_input(name):
  """'^a', 'a', 'a:1' -> (node name, output index, is_control)."""
  if name.startswith('^'):
    return name[1:], -1, True
  node, _, index = name.partition(':')
  return node, int(index) if index else 0, False


def canonical_tensor(name):
  """'a', 'a:1', '^a' -> 'a:0', 'a:1', 'a:0'."""
  node, index, _ = split_input(name)
  return '%s:%d' % (node, index)


class Evaluator(object):
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
    root = split_input(tensor_name)[0]
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
        stack.append(split_input(inp)[0])
    for name in reversed(order):
      node = self._nodes.get(name)
      if name in self._constant:
        continue
      if node is None or node.op.startswith(NOT_CONSTANT):
        self._constant[name] = False
        continue
      self._constant[name] = all(
          self._constant.get(split_input(i)[0], False) for i in node.input)
    return self._constant[root]

  def static_shape(self, tensor_name):
    """The tensor's shape as TF infers it (None entries unknown), or None
    when even its rank is unknown."""
    shape = self._graph.get_tensor_by_name(
        canonical_tensor(tensor_name)).shape
    return None if shape.rank is None else shape.as_list()

  def value(self, tensor_name):
    node = self._nodes[split_input(tensor_name)[0]]
    if node.op == 'Const':
      return tf.make_ndarray(node.attr['value'].tensor)
    if self._session is None:
      self._session = tf.compat.v1.Session(graph=self._graph)
    return self._session.run(canonical_tensor(tensor_name))

  def close(self):
    if self._session is not None:
      self._session.close()


# `params_shape`: None when the parameters run along one axis; otherwise the
# shape they broadcast in (an axis list such as [1, 3] gives [1, H, 1, C]),
# with `gamma` ... `variance` flattened from it.
Unit = collections.namedtuple(
    'Unit', ['node', 'layer', 'x', 'first', 'gamma', 'beta', 'mean',
             'variance', 'epsilon', 'axis', 'rank', 'dtype', 'params_shape'],
    defaults=(None,))


class NotRecognised(Exception):
  pass


def producer(nodes, tensor_name):
  return nodes.get(split_input(tensor_name)[0])


# Ops a frozen graph keeps between a variable's constant and its readers.
_READS = ('Identity', 'ReadVariableOp', 'Enter', 'RefEnter')
_MOVING_MEAN = '/moving_mean'


def layer_scope(nodes, mean_input, fallback):
  """The layer's variable scope, from the constant its moving mean reads.

  `batch_normalization_1` or `conv2/BatchNorm` reads better in a report
  than the name scope of the kernel op (`batch_normalization_1/batchnorm`,
  `conv2/BatchNorm/batchnorm_1`), and is what the checkpoint calls the
  layer. `fallback` is used when the mean is not read from such a constant.
  """
  node = producer(nodes, mean_input)
  for _ in range(8):
    if node is None:
      break
    if node.name.endswith(_MOVING_MEAN) and node.op not in _READS:
      return node.name[:-len(_MOVING_MEAN)]
    if node.op not in _READS or not node.input:
      break
    node = producer(nodes, node.input[0])
  return fallback


def const_value(nodes, evaluator, tensor_name, what):
  if not evaluator.is_constant(tensor_name):
    raise NotRecognised('its %s (%s) is not a constant' % (what,
                                                           tensor_name))
  return np.asarray(evaluator.value(tensor_name), np.float64)


def fused_unit(node, nodes, evaluator, consumers):
  if node.attr['is_training'].b:
    raise NotRecognised('it is a training-mode kernel')
  for index in range(1, 6):
    if consumers.get('%s:%d' % (node.name, index)):
      raise NotRecognised('its batch-statistics output %d is used' % index)
  values = [const_value(nodes, evaluator, node.input[i], what)
            for i, what in ((1, 'scale'), (2, 'offset'), (3, 'mean'),
                            (4, 'variance'))]
  data_format = node.attr['data_format'].s.decode() or 'NHWC'
  axis = 1 if data_format.startswith('NC') else 3
  layer = layer_scope(nodes, node.input[3],
                      node.name.rpartition('/')[0] or node.name)
  return Unit(node.name, layer, node.input[0], node.name, values[0],
              values[1], values[2], values[3], float(node.attr['epsilon'].f),
              axis, 4, node.attr['T'].type)


def pattern_unit(node, nodes, evaluator):
  """Parses `x * inv + (beta - mean * inv)` as tf.nn.batch_normalization
  writes it, with `inv = rsqrt(variance + epsilon) [* gamma]`."""
  mul_x = producer(nodes, node.input[0])
  rest = producer(nodes, node.input[1])
  if mul_x is None or mul_x.op != 'Mul' or rest is None:
    raise NotRecognised('unrecognised batch-normalization ops')
  x, inv_name = mul_x.input[0], mul_x.input[1]
  inv = producer(nodes, inv_name)
  gamma = None
  if inv is not None and inv.op == 'Mul':
    gamma = const_value(nodes, evaluator, inv.input[1], 'gamma')
    rsqrt = producer(nodes, inv.input[0])
  else:
    rsqrt = inv
  if rsqrt is None or rsqrt.op != 'Rsqrt':
    raise NotRecognised('unrecognised batch-normalization ops')
  add = producer(nodes, rsqrt.input[0])
  if add is None or add.op not in ADDS:
    raise NotRecognised('unrecognised batch-normalization ops')
  variance = const_value(nodes, evaluator, add.input[0], 'variance')
  epsilon = const_value(nodes, evaluator, add.input[1], 'epsilon')
  if rest.op == 'Sub':
    beta = const_value(nodes, evaluator, rest.input[0], 'beta')
    mul_mean = producer(nodes, rest.input[1])
  elif rest.op == 'Neg':
    beta = None
    mul_mean = producer(nodes, rest.input[0])
  elif rest.op == 'Mul' and (
      canonical_tensor(rest.input[1]) == canonical_tensor(inv_name)):
    # No offset: `-mean * inv`, the negation applied to the mean first.
    beta = None
    mul_mean = rest
  else:
    raise NotRecognised('unrecognised batch-normalization ops')
  if mul_mean is None or mul_mean.op != 'Mul' or (
      canonical_tensor(mul_mean.input[1]) != canonical_tensor(inv_name)):
    raise NotRecognised('unrecognised batch-normalization ops')
  mean = const_value(nodes, evaluator, mul_mean.input[0], 'mean')
  if mul_mean is rest:
    mean = -mean
  shape = np.broadcast(variance, mean, *(
      [gamma] if gamma is not None else []) + (
          [beta] if beta is not None else [])).shape
  params_shape = None
  if len(shape) <= 1:
    axis = -1
  else:
    big = [i for i, d in enumerate(shape) if d != 1]
    axis = big[0] if len(big) == 1 else len(shape) - 1
    if len(big) > 1:
      params_shape = list(shape)
  channels = int(np.prod(shape)) if shape else 1
  flat = lambda v: np.broadcast_to(v, shape).reshape([channels])
  ones, zeros = np.ones([channels]), np.zeros([channels])
  layer = layer_scope(nodes, mul_mean.input[0],
                      node.name.rpartition('/batchnorm')[0] or node.name)
  return Unit(node.name, layer, x, mul_x.name,
              ones if gamma is None else flat(gamma),
              zeros if beta is None else flat(beta), flat(mean),
              flat(variance), float(epsilon), axis,
              len(shape) if len(shape) > 1 else None, node.attr['T'].type,
              params_shape)
