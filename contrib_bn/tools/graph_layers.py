"""Finding batch-norm layers and their moving-statistics updates in a graph.

Works on graphs built by TF 1.15's own `tf.contrib.layers.batch_norm` and by
contrib_bn alike, because it looks only at what both leave in the graph: a
`<scope>/moving_mean` and `<scope>/moving_variance` variable per layer, and
the ops that write them. Reference variables (`Assign*` on a `VariableV2`)
and resource variables (`Assign*VariableOp` on a `VarHandleOp`) are both
followed, through the `Identity`, `Enter` and `Switch` ops that carry a
variable into a `tf.cond` or `tf.while_loop`. Under control flow v2 (TF 2's
default, also in `tf.compat.v1` graphs) a `tf.cond` is an `If` op whose
branches are functions: a layer whose `is_training` is a placeholder writes
its moving statistics inside them, and the `If` op, which receives the
variable's handle, stands for those writes.

This module imports nothing of contrib_bn and nothing newer than Python 3.7,
so the TF 1.15 recorder of the regression harness loads it by path.
"""

import collections
import re

__all__ = ['BatchNormLayer', 'ancestors', 'find_layers', 'is_train_op',
           'layer_output']

MOVING_STATISTICS = ('moving_mean', 'moving_variance')

_VARIABLE_OPS = ('VariableV2', 'Variable', 'VarHandleOp')
_WRITE_OPS = ('Assign', 'AssignSub', 'AssignAdd', 'AssignVariableOp',
              'AssignSubVariableOp', 'AssignAddVariableOp')
# Ops that pass a variable (its reference or its resource handle) through
# unchanged; `Enter`/`RefEnter` mark entry into a while-loop body.
_PASS_THROUGH = ('Identity', 'RefIdentity', 'Enter', 'RefEnter', 'Switch',
                 'RefSwitch', 'Merge', 'RefMerge')
_LOOP_ENTRY = ('Enter', 'RefEnter')
_CONDITIONALS = ('If', 'StatelessIf')
_BRANCHES = ('then_branch', 'else_branch')
_RESTORE_OPS = ('RestoreV2', 'Restore', 'RestoreSlice')
# Kernels with which optimizers apply gradients; an op that runs one of
# them is a training step.
_APPLY_PREFIXES = ('Apply', 'ResourceApply', 'SparseApply',
                   'ResourceSparseApply')
# tf.gradients names its scope 'gradients', then 'gradients_1', ...
_GRADIENT_SCOPE = re.compile(r'^(.*/)?gradients(_\d+)?/')

BatchNormLayer = collections.namedtuple(
    'BatchNormLayer', ['scope', 'variables', 'updates'])
BatchNormLayer.__doc__ = """One batch-norm layer found in a graph.

Attributes:
  scope: the layer's variable scope, e.g. 'conv1/BatchNorm'.
  variables: dict 'moving_mean' / 'moving_variance' -> variable op.
  updates: dict 'moving_mean' / 'moving_variance' -> list of
    `UpdateOp(op, in_loop)` writing that variable in training (initializers
    and checkpoint-restore ops excluded; for a write inside a control flow
    v2 conditional, the `If` op), writes outside conditionals first, each
    group in creation order.
"""

UpdateOp = collections.namedtuple('UpdateOp', ['op', 'in_loop'])


def _variable_behind(tensor):
  """(variable op, crossed a loop entry) behind a ref/handle tensor."""
  in_loop = False
  op = tensor.op
  seen = 0
  while op.type in _PASS_THROUGH and op.inputs and seen < 64:
    if op.type in _LOOP_ENTRY:
      in_loop = True
    op = op.inputs[0].op
    seen += 1
  if op.type in _VARIABLE_OPS:
    return op, in_loop
  return None, in_loop


def _restores(op):
  """Whether a write op's value comes from a checkpoint restore."""
  if len(op.inputs) < 2:
    return False
  value = op.inputs[1].op
  for _ in range(3):
    if value.type in _RESTORE_OPS:
      return True
    if value.type != 'Identity' or not value.inputs:
      return False
    value = value.inputs[0].op
  return False


def _is_initializer(op, variable):
  return op.name == variable.name + '/Assign'


def _functions(graph):
  """Function name -> FunctionDef of the graph's library."""
  return {f.signature.name: f for f in graph.as_graph_def().library.function}


def _branch_writes(functions, name, arguments, depth=0):
  """Indices of `arguments` a function (or a conditional in it) writes to.

  Args:
    functions: the graph's function library.
    name: the function.
    arguments: for each input argument, an outer index or None.
    depth: nesting depth, bounded against cyclic libraries.
  """
  function = functions.get(name)
  if function is None or depth > 8:
    return set()
  position = {arg.name: i for i, arg in enumerate(function.signature.input_arg)}

  def outer(reference):
    index = position.get(reference)
    return None if index is None else arguments[index]

  written = set()
  for node in function.node_def:
    if node.op in _WRITE_OPS and node.input:
      index = outer(node.input[0])
      if index is not None:
        written.add(index)
    elif node.op in _CONDITIONALS:
      inner = [outer(reference) for reference in node.input[1:]]
      for branch in _BRANCHES:
        written |= _branch_writes(functions, node.attr[branch].func.name,
                                  inner, depth + 1)
  return written


def _conditional_writes(graph, operations, by_variable):
  """(variable op, `If` op) for each moving statistic a v2 cond writes."""
  conditionals = [op for op in operations if op.type in _CONDITIONALS]
  if not conditionals:
    return []
  functions = _functions(graph)
  found = []
  for op in conditionals:
    handles = list(op.inputs)[1:]
    written = set()
    for branch in _BRANCHES:
      written |= _branch_writes(functions, op.get_attr(branch).name,
                                list(range(len(handles))))
    for index in sorted(written):
      variable, in_loop = _variable_behind(handles[index])
      if variable is not None and variable.name in by_variable:
        found.append((variable, UpdateOp(op, in_loop)))
  return found


def find_layers(graph):
  """The batch-norm layers of `graph`, in the order their variables were made.

  Args:
    graph: a `tf.Graph`.

  Returns:
    A list of `BatchNormLayer`.
  """
  operations = graph.get_operations()
  by_variable = {}
  for op in operations:
    if op.type in _VARIABLE_OPS:
      for statistic in MOVING_STATISTICS:
        if op.name.endswith('/' + statistic):
          by_variable[op.name] = (op.name[:-len(statistic) - 1], statistic)
  writes = collections.defaultdict(list)
  for op in operations:
    if op.type not in _WRITE_OPS or not op.inputs:
      continue
    variable, in_loop = _variable_behind(op.inputs[0])
    if variable is None or variable.name not in by_variable:
      continue
    if _is_initializer(op, variable) or _restores(op):
      continue
    writes[variable.name].append(UpdateOp(op, in_loop))
  for variable, update in _conditional_writes(graph, operations, by_variable):
    writes[variable.name].append(update)
  scopes = collections.OrderedDict()
  for op in operations:
    if op.name in by_variable:
      scope, statistic = by_variable[op.name]
      scopes.setdefault(scope, {})[statistic] = op
  layers = []
  for scope, variables in scopes.items():
    if set(variables) != set(MOVING_STATISTICS):
      continue
    updates = {s: writes.get(variables[s].name, []) for s in MOVING_STATISTICS}
    layers.append(BatchNormLayer(scope, variables, updates))
  return layers


def ancestors(ops):
  """Every op that running `ops` runs: data inputs and control inputs.

  Args:
    ops: iterable of `tf.Operation`.

  Returns:
    A set of op names, `ops` included.
  """
  seen = set()
  stack = list(ops)
  while stack:
    op = stack.pop()
    if op.name in seen:
      continue
    seen.add(op.name)
    for tensor in op.inputs:
      if tensor.op.name not in seen:
        stack.append(tensor.op)
    for control in op.control_inputs:
      if control.name not in seen:
        stack.append(control)
  return seen


def is_train_op(graph, ancestry):
  """Whether an op with this ancestry applies gradients with an optimizer."""
  for name in ancestry:
    if graph.get_operation_by_name(name).type.startswith(_APPLY_PREFIXES):
      return True
  return False


def _in_scope(name, scope):
  return name.startswith(scope + '/')


def layer_output(graph, scope, rank=None):
  """The tensor a batch-norm layer hands to the rest of the graph.

  The layer's own ops live under `scope/`; its output is the last-created
  float tensor there that a forward op outside the scope consumes (gradient
  ops and the layer's own update ops do not count). When nothing outside
  consumes it, for example when it is a model output, the last-created float
  tensor under the scope that no op of the scope consumes is taken.

  Args:
    graph: the `tf.Graph`.
    scope: the layer's scope.
    rank: if given, only tensors of this rank are considered.

  Returns:
    A `tf.Tensor`, or None if the scope has no candidate.
  """
  consumed_outside = None
  unconsumed = None
  for op in graph.get_operations():
    if not _in_scope(op.name, scope) or _GRADIENT_SCOPE.match(op.name):
      continue
    if op.type in _WRITE_OPS or op.type in _VARIABLE_OPS:
      continue
    for tensor in op.outputs:
      if not tensor.dtype.is_floating:
        continue
      if rank is not None and tensor.shape.ndims not in (None, rank):
        continue
      consumers = [c for c in tensor.consumers()
                   if not _GRADIENT_SCOPE.match(c.name)]
      if any(not _in_scope(c.name, scope) for c in consumers):
        consumed_outside = tensor
      elif not consumers:
        unconsumed = tensor
  return consumed_outside if consumed_outside is not None else unconsumed
