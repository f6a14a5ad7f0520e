"""What an inference graph depends on, and checks that it is one.

Used by the export before and after freezing: which placeholders and
variables the outputs reach, and whether anything of training mode is left
(a training-mode fused batch norm, batch statistics of a non-fused batch
norm, a Switch/Merge/If switched by a bool placeholder or by a mode
placeholder folded to a constant, a variable), each named with the line of
the model file that built it (`creation_site`, from the op's traceback).
"""

import collections
import contextlib
import linecache
import os
import re
import sysconfig

import tensorflow as tf

FUSED_OPS = ('FusedBatchNorm', 'FusedBatchNormV2', 'FusedBatchNormV3')
PLACEHOLDERS = ('Placeholder', 'PlaceholderWithDefault', 'PlaceholderV2')
VARIABLE_OPS = ('VarHandleOp', 'VariableV2', 'Variable', 'ReadVariableOp',
                'ResourceGather', 'VarIsInitializedOp')
CONDITIONALS = ('Switch', 'RefSwitch', 'Merge', 'RefMerge', 'If',
                'StatelessIf')
_PREDICATED = ('Switch', 'RefSwitch', 'If', 'StatelessIf')
# Batch statistics of a non-fused batch norm: `tf.nn.moments` under the
# layer's scope, next to its `batchnorm` ops.
_MOMENTS = re.compile(r'^(.*)/moments/(mean|variance)$')
_BOOL = 10  # DataType enum of tf.bool.


def _node_name(name):
  return name[1:] if name.startswith('^') else name.partition(':')[0]


class GraphIndex(object):
  """Node lookup and ancestor walks over a GraphDef (or a graph's)."""

  def __init__(self, graph_def):
    self.graph_def = graph_def
    self.nodes = {n.name: n for n in graph_def.node}

  def ancestors(self, tensor_names):
    """Names of every node the tensors depend on (data and control)."""
    seen = set()
    stack = [_node_name(t) for t in tensor_names]
    while stack:
      name = stack.pop()
      if name in seen:
        continue
      seen.add(name)
      node = self.nodes.get(name)
      if node is not None:
        stack.extend(_node_name(i) for i in node.input)
    return seen

  def ops_of(self, names, types):
    return sorted(n for n in names
                  if n in self.nodes and self.nodes[n].op in types)

  def op_types(self, names=None):
    """Counter op type -> count, over `names` (default: all nodes)."""
    nodes = (self.nodes.values() if names is None else
             (self.nodes[n] for n in names if n in self.nodes))
    counts = collections.Counter(n.op for n in nodes)
    for function in self.graph_def.library.function:
      counts.update(n.op for n in function.node_def)
    return counts

  def bool_placeholders(self, names):
    return sorted(n for n in names
                  if n in self.nodes and self.nodes[n].op in PLACEHOLDERS and
                  self.nodes[n].attr['dtype'].type == _BOOL)


def placeholders_outside_inputs(index, outputs, inputs):
  """{output name: [placeholder node names not among `inputs`]}."""
  allowed = set(_node_name(t) for t in inputs.values())
  problems = collections.OrderedDict()
  for name, tensor in outputs.items():
    found = [p for p in index.ops_of(index.ancestors([tensor]), PLACEHOLDERS)
             if p not in allowed]
    if found:
      problems[name] = found
  return problems


def training_leftovers(index, output_tensors, mode_names=(), origin=None):
  """Reasons the graph reaching `output_tensors` is not inference-only.

  Args:
    index: a `GraphIndex` of the graph to check.
    output_tensors: tensor names of the outputs.
    mode_names: node names of the mode placeholders, which the export turned
      into constants; a conditional that still depends on one is reported.
    origin: optional callable node name -> where it was built (or None).

  Returns:
    A list of human-readable problems; empty when the graph is clean.
  """
  reached = index.ancestors(output_tensors)
  modes = set(mode_names)
  problems = []

  def add(name, text):
    site = origin(name) if origin is not None else None
    problems.append(text + (', built at %s' % site if site else ''))

  def switches_of(names):
    return sorted(set(index.bool_placeholders(names)) |
                  set('%s (fed False)' % n for n in names & modes))

  for name in index.ops_of(reached, FUSED_OPS):
    if index.nodes[name].attr['is_training'].b:
      add(name, 'training-mode %s %s (normalizes with batch statistics)' %
          (index.nodes[name].op, name))
  for function in index.graph_def.library.function:
    for node in function.node_def:
      if node.op in FUSED_OPS and node.attr['is_training'].b:
        problems.append('training-mode %s %s in function %s' %
                        (node.op, node.name, function.signature.name))
  for name in sorted(reached):
    match = _MOMENTS.match(name)
    if match and any(n.startswith(match.group(1) + '/batchnorm')
                     for n in reached):
      add(name, 'batch norm %s normalizes with batch statistics (%s)' %
          (match.group(1), name))
  for name in index.ops_of(reached, _PREDICATED):
    node = index.nodes[name]
    predicate = node.input[1] if node.op in ('Switch', 'RefSwitch') else (
        node.input[0])
    switches = switches_of(index.ancestors([predicate]))
    if switches:
      add(name, '%s %s is switched by the bool placeholder %s (an '
          'is_training switch left in the graph)' %
          (node.op, name, ', '.join(switches)))
  for name in index.ops_of(reached, ('Merge', 'RefMerge')):
    switches = switches_of(index.ancestors([name]))
    if switches:
      add(name, 'Merge %s joins branches chosen by the bool placeholder %s' %
          (name, ', '.join(switches)))
  for name in index.ops_of(reached, VARIABLE_OPS):
    problems.append('variable op %s %s remains (not frozen to a constant)'
                    % (index.nodes[name].op, name))
  return problems


def _library_directories():
  """Directories whose frames are never the user's: TF, contrib_bn, stdlib."""
  package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  directories = [os.path.dirname(os.path.dirname(tf.__file__)), package]
  for key in ('stdlib', 'platstdlib', 'purelib', 'platlib'):
    path = sysconfig.get_paths().get(key)
    if path:
      directories.append(path)
  return [os.path.join(os.path.abspath(d), '') for d in directories]


def creation_site(graph, name, model_path):
  """Where the model built the op `name`: 'FILE:LINE `code`', or None.

  The innermost frame of the op's creation traceback in `model_path`; when
  the op was built by other user code the model file called, the innermost
  frame outside TensorFlow, contrib_bn and the standard library.
  """
  try:
    frames = list(graph.get_operation_by_name(name).traceback)
  except (KeyError, ValueError):
    return None
  model_path = os.path.abspath(model_path)
  chosen = [f for f in frames if os.path.abspath(f.filename) == model_path]
  if not chosen:
    libraries = _library_directories()
    chosen = [f for f in frames
              if not os.path.abspath(f.filename).startswith(tuple(libraries))
              and not f.filename.startswith('<')]
  if not chosen:
    return None
  frame = chosen[-1]
  line = (frame.line or linecache.getline(frame.filename,
                                          frame.lineno)).strip()
  return '%s:%d%s' % (frame.filename, frame.lineno,
                      ' `%s`' % line if line else '')


@contextlib.contextmanager
def deprecation_notices_muted():
  """Freezing and pruning a v1 graph has only deprecated public functions;
  their 'deprecated' notices would drown the export's own report."""
  logger = tf.get_logger()
  level = logger.level
  logger.setLevel('ERROR')
  try:
    yield
  finally:
    logger.setLevel(level)
