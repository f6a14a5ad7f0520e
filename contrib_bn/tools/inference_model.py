"""The model rebuilt for inference, restored, run and frozen.

Steps shared by `export` and `as_function`: build FILE.py:FUNCTION in
`contrib_bn.inference_mode()`, in any of the model-file forms
(`model_file`); check which inputs and variables the outputs read; restore
those variables from the checkpoint (naming any missing or mis-shaped one);
run the restored session graph on seeded inputs, every mode placeholder fed
False, for the reference outputs; freeze the variables to constants; fold
the mode placeholders to False and prune what they decided
(`mode_folding`).
"""

import collections
import contextlib

import numpy as np
import tensorflow as tf

from contrib_bn import checkpoint as bn_checkpoint
from contrib_bn import _inference_mode
from contrib_bn.checkpoint import restorer
from contrib_bn.tools import inference_graph
from contrib_bn.tools import mode_folding
from contrib_bn.tools import model_file

# Batch size of the seeded verification inputs where the batch is unknown.
VERIFY_BATCH = 2
VERIFY_SEED = 0


class ExportError(ValueError):
  """The model, checkpoint or exported artifact fails a check; the message
  says which and why."""


ArtifactCheck = collections.namedtuple(
    'ArtifactCheck', ['artifact', 'path', 'max_abs_diff', 'rtol', 'atol',
                      'ok'])



@contextlib.contextmanager
def _control_flow_v1():
  """Conditionals built as TF 1.15 built them (Switch/Merge), which
  `mode_folding` can resolve in a GraphDef; If ops keep their branches in
  function bodies."""
  was_v2 = tf.compat.v1.control_flow_v2_enabled()
  tf.compat.v1.disable_control_flow_v2()
  try:
    yield
  finally:
    if was_v2:
      tf.compat.v1.enable_control_flow_v2()


def build_for_inference(target, graph=None):
  """Builds FILE.py:FUNCTION in `contrib_bn.inference_mode()`.

  FUNCTION gets `is_training=False` if it takes that parameter, and no
  argument otherwise. When a mode placeholder decides an If (control flow
  v2), the model is built again, into a new graph, with TF1 control flow so
  that the export can fold the conditional; with `graph` given (a function
  graph of `as_function`), it is built once.

  Raises:
    model_file.ModelFileError: FUNCTION breaks the model-file contract.
  """
  with _inference_mode.inference_mode():
    model = model_file.build(target, graph=graph, for_inference=True)
    if graph is None and tf.compat.v1.control_flow_v2_enabled() and any(
        model_file.decides_a_conditional(t)
        for t in model.mode_placeholders):
      with _control_flow_v1():
        model = model_file.build(target, for_inference=True)
  return model


def _variable_nodes(graph, names):
  """The graph's global variables whose ops are among `names`."""
  variables = graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)
  return [v for v in variables if v.op.name in names]


def _check_dependencies(model, index):
  """Outputs may only read the listed inputs and the mode placeholders;
  returns (used, unused, reached)."""
  tensors = {n: t.name for n, t in model.outputs.items()}
  allowed = {n: t.name for n, t in model.inputs.items()}
  allowed.update(('mode %s' % t.name, t.name)
                 for t in model.mode_placeholders)
  problems = inference_graph.placeholders_outside_inputs(index, tensors,
                                                         allowed)
  if problems:
    raise ExportError(
        'outputs depend on placeholders that are not listed in `inputs`: ' +
        '; '.join('%s <- %s' % (o, ', '.join(p)) for o, p in
                  problems.items()) + ' (list them in `inputs`, or build '
        'them as constants for inference; a bool placeholder that is the '
        "model's is_training can be returned under 'is_training', and is "
        'then fed False)')
  reached = index.ancestors(tensors.values())
  used = [n for n, t in model.inputs.items() if t.op.name in reached]
  unused = [n for n, t in model.inputs.items() if t.op.name not in reached]
  return used, unused, reached


def _restore(sess, model, checkpoint, needed):
  """Restores the `needed` variables; names any missing or mis-shaped one."""
  graph = model.graph
  try:
    plan = bn_checkpoint.plan(checkpoint, graph)
  except ValueError as e:
    raise ExportError(str(e))
  names = set(v.op.name for v in needed)
  bad = ['%s: checkpoint %s %s, graph %s %s' % (g.name, c.shape, c.dtype,
                                               g.shape, g.dtype)
         for c, g in plan.mismatched if g.name in names]
  if bad:
    raise ExportError('checkpoint variables differ in shape or dtype from '
                      'the graph: ' + '; '.join(bad))
  missing = ['%s %s' % (i.name, i.shape) for i in plan.missing
             if i.name in names]
  if missing:
    raise ExportError('the checkpoint %r has no value for variables the '
                      'outputs read: %s' % (checkpoint, ', '.join(missing)))
  var_list = {k: v for k, v in plan.saver_map.items() if v.op.name in names}
  if var_list:
    with graph.as_default():
      saver = tf.compat.v1.train.Saver(var_list=var_list)
    saver.restore(sess, restorer._prefix(checkpoint))  # pylint: disable=protected-access
  reader = tf.train.load_checkpoint(checkpoint)
  for derivation in plan.derived:
    variable = [v for v in needed if v.op.name == derivation.target]
    if variable:
      dtype = variable[0].dtype.base_dtype.as_numpy_dtype
      restorer._load(sess, variable[0], restorer._derive_value(  # pylint: disable=protected-access
          derivation, reader, dtype))
  with graph.as_default():
    unrestored = sess.run(
        tf.compat.v1.report_uninitialized_variables(needed)) if needed else []
  if len(unrestored):
    raise ExportError('variables the outputs read were not restored: %s' %
                      ', '.join(n.decode() for n in unrestored))


def seeded_inputs(placeholders, seed=VERIFY_SEED):
  """Deterministic inputs: dict name -> array matching each placeholder."""
  rng = np.random.RandomState(seed)
  feeds = collections.OrderedDict()
  for name, tensor in placeholders.items():
    shape = tensor.shape
    if shape.rank is None:
      raise ExportError('input %s has an unknown rank; give its placeholder '
                        'a shape' % name)
    dims = [VERIFY_BATCH if d is None else d for d in shape.as_list()]
    dtype = tensor.dtype.base_dtype
    if dtype.is_floating:
      value = rng.normal(0.0, 1.0, dims).astype(dtype.as_numpy_dtype)
    elif dtype.is_integer:
      value = rng.randint(0, 4, dims).astype(dtype.as_numpy_dtype)
    elif dtype == tf.bool:
      value = rng.randint(0, 2, dims).astype(bool)
    else:
      raise ExportError('input %s: cannot make verification values of dtype '
                        '%s' % (name, dtype.name))
    feeds[name] = value
  return feeds


class _Frozen(object):
  """The restored model, frozen: GraphDef + names + reference outputs."""

  def __init__(self, graph_def, inputs, outputs, feeds, reference, specs,
               unused, variables):
    self.graph_def = graph_def
    self.variables = variables  # op name -> restored value
    self.inputs = inputs      # name -> tensor name
    self.outputs = outputs    # name -> tensor name
    self.feeds = feeds        # name -> array
    self.reference = reference  # name -> array
    self.specs = specs        # name -> (shape list, dtype name)
    self.unused = unused
    self.graph = None         # the session graph, for creation sites
    self.path = None          # the model file
    self.modes = []           # node names of the mode placeholders
    self.folded = []          # Switches folded by mode_folding

  def origin(self, name):
    """Where the model file built the op `name` (see `creation_site`)."""
    return inference_graph.creation_site(self.graph, name, self.path)


def freeze(target, checkpoint, seed=VERIFY_SEED):
  """Builds, restores, runs the reference and freezes; returns `_Frozen`.

  Mode placeholders are fed False for the reference, then folded to a
  constant False in the frozen graph (`mode_folding`).
  """
  model = build_for_inference(target)
  graph = model.graph
  index = inference_graph.GraphIndex(graph.as_graph_def())
  used, unused, reached = _check_dependencies(model, index)
  needed = _variable_nodes(graph, reached)
  inputs = collections.OrderedDict((n, model.inputs[n]) for n in used)
  feeds = seeded_inputs(inputs, seed)
  feed = {inputs[n]: v for n, v in feeds.items()}
  feed.update((t, False) for t in model.mode_placeholders)
  modes = [t.op.name for t in model.mode_placeholders]
  with tf.compat.v1.Session(graph=graph) as sess:
    _restore(sess, model, checkpoint, needed)
    reference = sess.run(dict(model.outputs), feed)
    values = sess.run({v.op.name: v for v in needed}) if needed else {}
    output_nodes = sorted(set(t.op.name for t in model.outputs.values()))
    with inference_graph.deprecation_notices_muted():
      graph_def = tf.compat.v1.graph_util.convert_variables_to_constants(
          sess, graph.as_graph_def(), output_nodes)
  with inference_graph.deprecation_notices_muted():
    graph_def = tf.compat.v1.graph_util.extract_sub_graph(graph_def,
                                                          output_nodes)
  outputs = [t.name for t in model.outputs.values()]
  try:
    graph_def, folded = mode_folding.fold(graph_def, modes, outputs)
  except mode_folding.FoldingError as e:
    raise ExportError(str(e))
  # Inputs that only a branch training mode takes are no longer read.
  still = inference_graph.GraphIndex(graph_def).ancestors(outputs)
  for name in [n for n, t in inputs.items() if t.op.name not in still]:
    del inputs[name], feeds[name]
    unused.append(name)
  specs = collections.OrderedDict(
      (n, ([None if d is None else int(d) for d in t.shape.as_list()],
           t.dtype.base_dtype.name)) for n, t in inputs.items())
  frozen = _Frozen(graph_def, collections.OrderedDict(
      (n, t.name) for n, t in inputs.items()), collections.OrderedDict(
          (n, t.name) for n, t in model.outputs.items()), feeds,
                   {n: np.asarray(v) for n, v in reference.items()}, specs,
                   sorted(unused), values)
  frozen.graph = graph
  frozen.path = model_file.parse_target(target)[0]
  frozen.modes = modes
  frozen.folded = folded
  return frozen
