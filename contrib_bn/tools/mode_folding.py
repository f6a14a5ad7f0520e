"""A frozen inference graph with its mode placeholders folded to False.

Inside `contrib_bn.inference_mode()` no batch norm reads the model's
`is_training` placeholder, but other code still may: a `tf.cond` around
dropout, the model's own conditionals. The export resolves them here, on the
frozen GraphDef, the way the legacy evaluation resolved them at run time by
feeding False:

  1. each mode placeholder (`model_file.find_mode_placeholders`) becomes a
     constant False of the same name;
  2. each Switch whose predicate now depends on such a constant and on
     nothing but stateless ops is evaluated once (by TensorFlow, on that
     predicate's subgraph); its untaken output is dead, and so is everything
     that needs it, as the executor would find at run time; its taken output
     becomes its data input; a Merge left with one live input becomes an
     Identity of it;
  3. the graph is pruned to the outputs; nested conditionals fold in the
     next round.

A predicate that also reads a data placeholder, a loop or a stateful op is
left alone, and the export's check (`inference_graph.training_leftovers`)
names the conditional and the model line that built it. This needs
conditionals in TF1 form (Switch/Merge): the export builds the model with
control flow v1 when a mode placeholder decides a conditional.
"""

import collections

import tensorflow as tf

from contrib_bn.tools import inference_graph

_SWITCHES = ('Switch', 'RefSwitch')
_MERGES = ('Merge', 'RefMerge')
# A predicate computed through any of these is not folded: it reads data,
# belongs to a loop or to another conditional.
_NOT_FOLDED = inference_graph.PLACEHOLDERS + _SWITCHES + _MERGES + (
    'Enter', 'RefEnter', 'Exit', 'RefExit', 'NextIteration',
    'RefNextIteration', 'LoopCond', 'If', 'StatelessIf', 'While',
    'StatelessWhile')
# Nested conditionals fold one level per round.
_MAX_ROUNDS = 64


class FoldingError(ValueError):
  """Folding the mode placeholders leaves an output with no value."""


def _split(name):
  """'a:1' -> ('a', 1); 'a' -> ('a', 0)."""
  node, _, port = name.partition(':')
  return node, int(port) if port else 0


def _with_constants(graph_def, names):
  """A copy of `graph_def` with each node in `names` a constant False."""
  result = tf.compat.v1.GraphDef()
  result.CopyFrom(graph_def)
  false = tf.make_tensor_proto(False, tf.bool, [])
  for node in result.node:
    if node.name in names:
      name, device = node.name, node.device
      node.Clear()
      node.name, node.op, node.device = name, 'Const', device
      node.attr['dtype'].type = tf.bool.as_datatype_enum
      node.attr['value'].tensor.CopyFrom(false)
  return result


def _candidates(index, reached, constants):
  """{switch name: predicate tensor} of the Switches this round can fold."""
  found = {}
  for name in index.ops_of(reached, _SWITCHES):
    predicate = index.nodes[name].input[1]
    upstream = index.ancestors([predicate])
    if not upstream & constants:
      continue
    if index.ops_of(upstream, _NOT_FOLDED):
      continue
    found[name] = predicate
  return found


def _evaluate(graph_def, predicates):
  """{switch name: bool} for the predicates computed by stateless ops only."""
  nodes = sorted(set(_split(p)[0] for p in predicates.values()))
  with inference_graph.deprecation_notices_muted():
    sub = tf.compat.v1.graph_util.extract_sub_graph(graph_def, nodes)
  with tf.Graph().as_default() as graph:
    tf.compat.v1.import_graph_def(sub, name='')
  index = inference_graph.GraphIndex(sub)
  stateful = set(op.name for op in graph.get_operations()
                 if op.op_def.is_stateful)
  wanted = {s: p for s, p in predicates.items()
            if not index.ancestors([p]) & stateful}
  if not wanted:
    return {}
  with tf.compat.v1.Session(graph=graph) as sess:
    values = sess.run({s: graph.get_tensor_by_name(
        p if ':' in p else p + ':0') for s, p in wanted.items()})
  return {s: bool(v) for s, v in values.items()}


def _dead_nodes(graph_def, taken):
  """Nodes that never run once each Switch in `taken` takes its branch."""
  consumers = collections.defaultdict(list)
  for node in graph_def.node:
    for name in node.input:
      consumers[name.lstrip('^').partition(':')[0]].append(node)
  dead = set()

  def dead_input(name):
    if name.startswith('^'):
      return name[1:] in dead
    node, port = _split(name)
    return node in dead or (node in taken and port != taken[node])

  queue = collections.deque(n for s in taken for n in consumers[s])
  while queue:
    node = queue.popleft()
    if node.name in dead or node.name in taken:
      continue
    if node.op in _MERGES:
      data = [i for i in node.input if not i.startswith('^')]
      now_dead = all(dead_input(i) for i in data)
    else:
      now_dead = any(dead_input(i) for i in node.input)
    if now_dead:
      dead.add(node.name)
      queue.extend(consumers[node.name])
  return dead, dead_input


def _rewrite(graph_def, taken, sources):
  """The graph with the Switches in `taken` ({name: port}) resolved."""
  dead, dead_input = _dead_nodes(graph_def, taken)
  value_index = {}

  def rewired(name):
    control = name.startswith('^')
    node, port = _split(name.lstrip('^'))
    while node in taken:
      if control:
        return '^' + _split(sources[node])[0]
      node, port = _split(sources[node])
    return ('^' + node) if control else (
        node if port == 0 else '%s:%d' % (node, port))

  result = tf.compat.v1.GraphDef()
  result.versions.CopyFrom(graph_def.versions)
  result.library.CopyFrom(graph_def.library)
  for node in graph_def.node:
    if node.name in dead or node.name in taken:
      continue
    new = result.node.add()
    new.CopyFrom(node)
    if node.op in _MERGES and any(dead_input(i) for i in node.input):
      data = [i for i in node.input if not i.startswith('^')]
      live = [i for i in data if not dead_input(i)]
      if len(live) == 1:
        value_index[node.name] = data.index(live[0])
        new.op = 'Identity'
        del new.input[:]
        new.input.extend([live[0]] + [
            i for i in node.input if i.startswith('^') and not dead_input(i)])
        for key in list(new.attr):
          if key != 'T':
            del new.attr[key]
    inputs = [rewired(i) for i in new.input]
    for position, name in enumerate(inputs):
      node_name, port = _split(name.lstrip('^'))
      if node_name in value_index and port == 1 and not name.startswith('^'):
        inputs[position] = node_name + '/value_index'
    del new.input[:]
    new.input.extend(inputs)
  for name, position in sorted(value_index.items()):
    const = result.node.add()
    const.name = name + '/value_index'
    const.op = 'Const'
    const.attr['dtype'].type = tf.int32.as_datatype_enum
    const.attr['value'].tensor.CopyFrom(
        tf.make_tensor_proto(position, tf.int32, []))
  return result, dead


def fold(graph_def, mode_names, output_tensors):
  """Feeds the mode placeholders a constant False and folds what they decide.

  Args:
    graph_def: a frozen GraphDef (no variables).
    mode_names: node names of the mode placeholders.
    output_tensors: tensor names of the outputs.

  Returns:
    (graph_def, folded): the folded GraphDef pruned to the outputs, and the
    names of the Switches folded, in order.

  Raises:
    FoldingError: an output is computed only in training mode.
  """
  constants = set(mode_names)
  graph_def = _with_constants(graph_def, constants)
  output_nodes = sorted(set(_split(t)[0] for t in output_tensors))
  folded = []
  for _ in range(_MAX_ROUNDS):
    index = inference_graph.GraphIndex(graph_def)
    reached = index.ancestors(output_tensors)
    values = _evaluate(graph_def, _candidates(index, reached, constants))
    if not values:
      break
    taken = {s: int(v) for s, v in values.items()}
    sources = {s: index.nodes[s].input[0] for s in taken}
    graph_def, dead = _rewrite(graph_def, taken, sources)
    lost = [n for n in output_nodes if n in dead]
    if lost:
      raise FoldingError(
          'output node(s) %s run only when is_training is True (with '
          'is_training=False the conditional %s never computes them); '
          'list outputs the model computes in inference' %
          (', '.join(lost), ', '.join(sorted(taken))))
    folded.extend(sorted(taken))
    with inference_graph.deprecation_notices_muted():
      graph_def = tf.compat.v1.graph_util.extract_sub_graph(graph_def,
                                                            output_nodes)
  return graph_def, folded
