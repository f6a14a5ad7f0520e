"""Export a legacy batch-norm model as a TF 2 SavedModel, TFLite and frozen graph.

  python -m contrib_bn export FILE.py:FUNCTION CHECKPOINT --saved-model DIR
      [--tflite F.tflite] [--frozen-graph F.pb] [--fold {none,affine,conv}]
      [--overwrite] [--json]

The model is described by the model-file contract (`tools/model_file.py`).
FUNCTION must take an `is_training` parameter: the export calls it with
`is_training=False`, so every batch norm is built in inference mode
statically, with no Switch/Merge and no batch statistics. A function without
that parameter is refused with an explanation rather than exported with an
`is_training` placeholder fed a constant, which would leave the conditional
in the exported graph.

The steps: build for inference; restore the variables the outputs read from
the checkpoint (a missing or mis-shaped one is named); run the restored
session graph on seeded inputs for the reference outputs; freeze the
variables to constants; fold batch norms if asked (`tools/fold.py`); check
that no training-mode batch norm, `is_training` switch or variable remains;
write every artifact into a temporary location next to its destination; load
and run each one on the same inputs and compare with the reference within
named tolerances; only then move them into place.

Python API: `export(...)` returns an `ExportResult`; `as_function(...)`
returns the model as a TF 2 callable through `tf.compat.v1.wrap_function`.
"""

import collections
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import tensorflow as tf

from contrib_bn import checkpoint as bn_checkpoint
from contrib_bn.tools import fold as fold_module
from contrib_bn.tools import inference_graph
from contrib_bn.tools import model_file

__all__ = ['ExportError', 'ExportResult', 'LegacyFunction', 'as_function', 'export', 'register',
           'run', 'FOLD_MODES']

FOLD_MODES = fold_module.FOLD_MODES

# Tolerances of the verification, |artifact - reference| <= ATOL + RTOL*|ref|.
# Unfolded SavedModel and frozen graph run TF's own kernels on the same float32
# constants; grappler may still fuse or reorder ops in the loaded function,
# which moves results by a few float32 ulps.
SAVED_MODEL_TOLERANCE = (1e-5, 1e-5)  # (rtol, atol)
# Folding moves the per-channel scale before the convolution sum (or applies
# one rounded multiplier instead of rsqrt then multiply), reordering float32
# rounding: a few ulps of each summand, accumulated over the kernel window.
FOLDED_TOLERANCE = (1e-4, 1e-4)
# TFLite runs its own kernels (different summation order, its own rsqrt).
TFLITE_TOLERANCE = (1e-4, 1e-4)
# Batch size of the seeded verification inputs where the batch is unknown.
VERIFY_BATCH = 2
VERIFY_SEED = 0

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class ExportError(ValueError):
  """The model, checkpoint or exported artifact fails a check; the message
  says which and why."""


ArtifactCheck = collections.namedtuple(
    'ArtifactCheck', ['artifact', 'path', 'max_abs_diff', 'rtol', 'atol',
                      'ok'])


class ExportResult(object):
  """What an export wrote and verified.

  Attributes:
    saved_model, tflite, frozen_graph: the written paths (or None).
    fold: the `FoldReport`.
    op_types: dict op type -> count in the exported graph.
    inputs: dict name -> (shape, dtype) of the signature's arguments.
    outputs: list of output names.
    unused_inputs: model inputs no output depends on (left out of the
      signature).
    checks: list of `ArtifactCheck`.
  """

  def __init__(self):
    self.saved_model = self.tflite = self.frozen_graph = None
    self.fold = None
    self.op_types = {}
    self.inputs = collections.OrderedDict()
    self.outputs = []
    self.unused_inputs = []
    self.checks = []

  @property
  def ok(self):
    return bool(self.checks) and all(c.ok for c in self.checks)

  def lines(self):
    out = ['signature serving_default: (%s) -> (%s)' % (
        ', '.join('%s %s%s' % (n, d, list(s)) for n, (s, d) in
                  self.inputs.items()), ', '.join(self.outputs))]
    for name in self.unused_inputs:
      out.append('input %s: no output depends on it; left out of the '
                 'signature' % name)
    out.extend(self.fold.lines() if self.fold else [])
    out.append('exported op types: ' + ', '.join(
        '%s x%d' % (k, v) for k, v in sorted(self.op_types.items())))
    for c in self.checks:
      out.append('%s %s: max abs diff %.3g vs the restored session graph '
                 '(rtol %g, atol %g) %s' % (
                     c.artifact, c.path, c.max_abs_diff, c.rtol, c.atol,
                     'OK' if c.ok else 'FAILED'))
    return out

  def to_dict(self):
    return {
        'ok': self.ok, 'saved_model': self.saved_model,
        'tflite': self.tflite, 'frozen_graph': self.frozen_graph,
        'fold': self.fold.to_dict() if self.fold else None,
        'op_types': dict(self.op_types),
        'inputs': {n: {'shape': list(s), 'dtype': d}
                   for n, (s, d) in self.inputs.items()},
        'outputs': list(self.outputs),
        'unused_inputs': list(self.unused_inputs),
        'checks': [dict(c._asdict()) for c in self.checks]}


# ---------------------------------------------------------------- building


def build_for_inference(target):
  """Builds FILE.py:FUNCTION with `is_training=False`, statically.

  Raises:
    ExportError: FUNCTION has no `is_training` parameter (see the module
      docstring), or breaks the model-file contract.
  """
  path, function = model_file.parse_target(target)
  module = model_file.load_module(path)
  fn = getattr(module, function, None)
  if callable(fn) and not model_file._accepts_is_training(fn):  # pylint: disable=protected-access
    raise ExportError(
        '%s: the export builds the model for inference with '
        'is_training=False fixed at graph-building time, so that no '
        'Switch/Merge of an is_training placeholder and no batch-statistics '
        'batch norm can remain; give %s a parameter `is_training=None` and '
        'pass it on to batch_norm (a placeholder when it is None)' %
        (target, function))
  return model_file.build(target, is_training=False)


def _variable_nodes(graph, names):
  """The graph's global variables whose ops are among `names`."""
  variables = graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)
  return [v for v in variables if v.op.name in names]


def _check_dependencies(model, index):
  """Outputs may only read the listed inputs; returns (used, unused)."""
  tensors = {n: t.name for n, t in model.outputs.items()}
  inputs = {n: t.name for n, t in model.inputs.items()}
  problems = inference_graph.placeholders_outside_inputs(index, tensors,
                                                         inputs)
  if problems:
    raise ExportError(
        'outputs depend on placeholders that are not listed in `inputs`: ' +
        '; '.join('%s <- %s' % (o, ', '.join(p)) for o, p in
                  problems.items()) + ' (list them in `inputs`, or build '
        'them as constants for inference)')
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
    saver.restore(sess, bn_checkpoint._prefix(checkpoint))  # pylint: disable=protected-access
  reader = tf.train.load_checkpoint(checkpoint)
  for derivation in plan.derived:
    variable = [v for v in needed if v.op.name == derivation.target]
    if variable:
      dtype = variable[0].dtype.base_dtype.as_numpy_dtype
      bn_checkpoint._load(sess, variable[0], bn_checkpoint._derive_value(  # pylint: disable=protected-access
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


def freeze(target, checkpoint, seed=VERIFY_SEED):
  """Builds, restores, runs the reference and freezes; returns `_Frozen`."""
  model = build_for_inference(target)
  graph = model.graph
  index = inference_graph.GraphIndex(graph.as_graph_def())
  used, unused, reached = _check_dependencies(model, index)
  needed = _variable_nodes(graph, reached)
  inputs = collections.OrderedDict((n, model.inputs[n]) for n in used)
  feeds = seeded_inputs(inputs, seed)
  with tf.compat.v1.Session(graph=graph) as sess:
    _restore(sess, model, checkpoint, needed)
    reference = sess.run(dict(model.outputs),
                         {inputs[n]: v for n, v in feeds.items()})
    values = sess.run({v.op.name: v for v in needed}) if needed else {}
    output_nodes = sorted(set(t.op.name for t in model.outputs.values()))
    graph_def = tf.compat.v1.graph_util.convert_variables_to_constants(
        sess, graph.as_graph_def(), output_nodes)
  graph_def = tf.compat.v1.graph_util.extract_sub_graph(graph_def,
                                                        output_nodes)
  specs = collections.OrderedDict(
      (n, ([None if d is None else int(d) for d in t.shape.as_list()],
           t.dtype.base_dtype.name)) for n, t in inputs.items())
  return _Frozen(graph_def, collections.OrderedDict(
      (n, t.name) for n, t in inputs.items()), collections.OrderedDict(
          (n, t.name) for n, t in model.outputs.items()), feeds,
                 {n: np.asarray(v) for n, v in reference.items()}, specs,
                 unused, values)


# ---------------------------------------------------------------- artifacts


def concrete_function(graph_def, inputs, outputs):
  """A TF 2 function over a frozen GraphDef: keyword inputs, dict outputs."""

  def import_graph():
    tf.compat.v1.import_graph_def(graph_def, name='')

  wrapped = tf.compat.v1.wrap_function(import_graph, [])
  element = wrapped.graph.as_graph_element
  return wrapped.prune(
      feeds=[element(t) for t in inputs.values()],
      fetches={n: element(t) for n, t in outputs.items()})


class _Serving(tf.Module):
  """Holds the pruned function; `serve` is the signature."""

  def __init__(self, pruned, specs):
    super().__init__()
    self._pruned = pruned
    names = list(specs)
    signature = [tf.TensorSpec(s, d, name=n) for n, (s, d) in specs.items()]

    def serve(*args):
      return self._pruned(*args)

    self.serve = tf.function(serve, input_signature=signature)
    self._names = names


def _write_saved_model(frozen, graph_def, path):
  pruned = concrete_function(graph_def, frozen.inputs, frozen.outputs)
  module = _Serving(pruned, frozen.specs)
  tf.saved_model.save(module, path, signatures={
      'serving_default': module.serve.get_concrete_function()})


def _write_tflite(saved_model_path, path):
  converter = tf.lite.TFLiteConverter.from_saved_model(
      saved_model_path, signature_keys=['serving_default'])
  content = converter.convert()
  with open(path, 'wb') as f:
    f.write(content)


def _compare(name, path, got, reference, tolerance):
  rtol, atol = tolerance
  worst, ok = 0.0, True
  missing = sorted(set(reference) - set(got))
  if missing:
    raise ExportError('%s %s lacks outputs %s' % (name, path, missing))
  for key, ref in reference.items():
    value = np.asarray(got[key])
    if value.shape != ref.shape:
      raise ExportError('%s %s: output %s has shape %s, the session graph %s'
                        % (name, path, key, value.shape, ref.shape))
    diff = np.abs(value.astype(np.float64) - ref.astype(np.float64))
    worst = max(worst, float(diff.max()) if diff.size else 0.0)
    ok = ok and bool(np.all(diff <= atol + rtol * np.abs(ref)))
  return ArtifactCheck(name, path, worst, rtol, atol, ok)


def run_saved_model(path, feeds):
  loaded = tf.saved_model.load(path)
  result = loaded.signatures['serving_default'](
      **{n: tf.constant(v) for n, v in feeds.items()})
  return {n: v.numpy() for n, v in result.items()}


def run_frozen_graph(path, inputs, outputs, feeds):
  graph_def = tf.compat.v1.GraphDef()
  with open(path, 'rb') as f:
    graph_def.ParseFromString(f.read())
  with tf.Graph().as_default() as graph:
    tf.compat.v1.import_graph_def(graph_def, name='')
    with tf.compat.v1.Session(graph=graph) as sess:
      return sess.run(dict(outputs), {inputs[n]: v for n, v in feeds.items()})


def run_tflite(path, feeds):
  interpreter = tf.lite.Interpreter(model_path=path)
  runner = interpreter.get_signature_runner('serving_default')
  return runner(**feeds)


def _staging(path, overwrite):
  if path is None:
    return None
  path = os.path.abspath(path)
  if os.path.lexists(path) and not overwrite:
    raise ExportError('%s already exists; pass --overwrite (overwrite=True) '
                      'to replace it' % path)
  parent = os.path.dirname(path)
  if not os.path.isdir(parent):
    raise ExportError('the directory of %s does not exist' % path)
  return tempfile.mkdtemp(prefix='.%s.' % os.path.basename(path),
                          dir=parent)


def _move_into_place(staged, path):
  """Replaces `path` by `staged`: a rename, with the old one out of the way
  first so that `path` is never half-written."""
  backup = None
  if os.path.lexists(path):
    backup = path + '.old-%d' % os.getpid()
    os.rename(path, backup)
  os.rename(staged, path)
  if backup is not None:
    if os.path.isdir(backup) and not os.path.islink(backup):
      shutil.rmtree(backup)
    else:
      os.remove(backup)


def export(target, checkpoint, saved_model, tflite=None, frozen_graph=None,
           fold='none', overwrite=False, seed=VERIFY_SEED, log=None):
  """Exports FILE.py:FUNCTION restored from CHECKPOINT for serving.

  Args:
    target: 'FILE.py:FUNCTION' (model-file contract; FUNCTION must take
      `is_training`).
    checkpoint: checkpoint prefix or directory.
    saved_model: directory to write the SavedModel to.
    tflite: optional path of a TFLite flatbuffer.
    frozen_graph: optional path of a frozen GraphDef (binary .pb).
    fold: 'none', 'affine' or 'conv' (see `tools/fold.py`).
    overwrite: replace existing outputs.
    seed: seed of the verification inputs.
    log: optional callable taking progress lines.

  Returns:
    An `ExportResult` whose checks all passed.

  Raises:
    ExportError: a check failed; nothing was written at the destinations.
    model_file.ModelFileError: the model file breaks the contract.
  """
  log = log or (lambda line: None)
  if fold not in FOLD_MODES:
    raise ExportError('fold must be one of %s, got %r' %
                      (', '.join(FOLD_MODES), fold))
  if not saved_model:
    raise ExportError('saved_model: a directory to write to is required')
  destinations = collections.OrderedDict(
      (k, os.path.abspath(p)) for k, p in (
          ('saved_model', saved_model), ('tflite', tflite),
          ('frozen_graph', frozen_graph)) if p)
  if len(set(destinations.values())) != len(destinations):
    raise ExportError('output paths must differ: %s' % dict(destinations))
  staged = {}
  try:
    for key, path in destinations.items():
      staged[key] = _staging(path, overwrite)
    log('building %s with is_training=False' % target)
    frozen = freeze(target, checkpoint, seed)
    log('restored %s and froze %d nodes' % (checkpoint,
                                            len(frozen.graph_def.node)))
    graph_def, report = fold_module.fold_graph_def(
        frozen.graph_def, fold, list(frozen.outputs.values()))
    index = inference_graph.GraphIndex(graph_def)
    problems = inference_graph.training_leftovers(index,
                                                  frozen.outputs.values())
    if problems:
      raise ExportError('the exported graph is not inference-only:\n  ' +
                        '\n  '.join(problems))
    result = ExportResult()
    result.fold = report
    result.op_types = dict(index.op_types(
        index.ancestors(frozen.outputs.values())))
    result.inputs = frozen.specs
    result.outputs = list(frozen.outputs)
    result.unused_inputs = frozen.unused
    tolerance = SAVED_MODEL_TOLERANCE if fold == 'none' else FOLDED_TOLERANCE
    saved_dir = os.path.join(staged['saved_model'], 'saved_model')
    log('writing the SavedModel')
    _write_saved_model(frozen, graph_def, saved_dir)
    result.checks.append(_compare(
        'SavedModel', destinations['saved_model'],
        run_saved_model(saved_dir, frozen.feeds), frozen.reference,
        tolerance))
    if 'frozen_graph' in destinations:
      pb = os.path.join(staged['frozen_graph'], 'graph.pb')
      with open(pb, 'wb') as f:
        f.write(graph_def.SerializeToString())
      result.checks.append(_compare(
          'frozen graph', destinations['frozen_graph'],
          run_frozen_graph(pb, frozen.inputs, frozen.outputs, frozen.feeds),
          frozen.reference, tolerance))
    if 'tflite' in destinations:
      log('converting to TFLite')
      flat = os.path.join(staged['tflite'], 'model.tflite')
      _write_tflite(saved_dir, flat)
      rtol = max(tolerance[0], TFLITE_TOLERANCE[0])
      atol = max(tolerance[1], TFLITE_TOLERANCE[1])
      result.checks.append(_compare(
          'TFLite', destinations['tflite'], run_tflite(flat, frozen.feeds),
          frozen.reference, (rtol, atol)))
    failed = [c for c in result.checks if not c.ok]
    if failed:
      raise ExportError('verification failed, nothing written: ' + '; '.join(
          '%s max abs diff %.3g exceeds rtol %g / atol %g' %
          (c.artifact, c.max_abs_diff, c.rtol, c.atol) for c in failed))
    inner = {'saved_model': 'saved_model', 'tflite': 'model.tflite',
             'frozen_graph': 'graph.pb'}
    for key, path in destinations.items():
      _move_into_place(os.path.join(staged[key], inner[key]), path)
      setattr(result, key, path)
    return result
  finally:
    for directory in staged.values():
      if directory and os.path.isdir(directory):
        shutil.rmtree(directory)


class LegacyFunction(object):
  """A legacy model as a TF 2 callable; see `as_function`.

  Attributes:
    concrete_function: the pruned `tf.compat.v1.wrap_function` result; takes
      the inputs positionally, in `input_names` order.
    variables: the restored `tf.Variable`s it reads.
    input_names: keyword arguments of a call.
    output_names: keys of the dict a call returns.
    max_abs_diff: measured against the restored session graph on seeded
      inputs when it was made.
  """

  def __init__(self, concrete, variables, input_names, output_names, diff):
    self.concrete_function = concrete
    self.variables = variables
    self.input_names = input_names
    self.output_names = output_names
    self.max_abs_diff = diff

  def __call__(self, **inputs):
    unknown = sorted(set(inputs) - set(self.input_names))
    absent = [n for n in self.input_names if n not in inputs]
    if unknown or absent:
      raise TypeError('expected the keyword inputs %s, got %s' %
                      (self.input_names, sorted(inputs)))
    return self.concrete_function(*[tf.convert_to_tensor(inputs[n])
                                    for n in self.input_names])


def as_function(target, checkpoint, seed=VERIFY_SEED):
  """The model as a TF 2 callable with its variables restored.

  Builds FILE.py:FUNCTION with `is_training=False` inside
  `tf.compat.v1.wrap_function`, so its variables become TF 2 `tf.Variable`s;
  assigns them the values restored (and checked) from `checkpoint` by the
  same steps as `export`; prunes the function to the model's inputs and
  outputs; and checks it against the restored session graph on seeded
  inputs. Call it eagerly with the inputs the outputs use, as keyword
  arguments; it returns a dict of output tensors.

  Args:
    target: 'FILE.py:FUNCTION'.
    checkpoint: checkpoint prefix or directory.
    seed: seed of the verification inputs.

  Returns:
    A `LegacyFunction`.

  Raises:
    ExportError: as for `export`, or if the function differs from the
      session graph beyond `SAVED_MODEL_TOLERANCE`.
  """
  frozen = freeze(target, checkpoint, seed)
  holder = {}

  def build():
    holder['model'] = model_file.build(
        target, is_training=False, graph=tf.compat.v1.get_default_graph())

  wrapped = tf.compat.v1.wrap_function(build, [])
  model = holder['model']
  by_name = {v.name.partition(':')[0]: v for v in wrapped.variables}
  variables = []
  for name, value in sorted(frozen.variables.items()):
    if name not in by_name:
      raise ExportError('variable %s was not lifted out of the wrapped '
                        'function, so it cannot be restored' % name)
    by_name[name].assign(value)
    variables.append(by_name[name])
  names = list(frozen.inputs)
  concrete = wrapped.prune(
      feeds=[model.inputs[n] for n in names], fetches=dict(model.outputs))
  got = concrete(*[tf.constant(frozen.feeds[n]) for n in names])
  check = _compare('wrap_function', target, {k: v.numpy() for k, v in
                                              got.items()},
                   frozen.reference, SAVED_MODEL_TOLERANCE)
  if not check.ok:
    raise ExportError('the wrapped function differs from the session graph: '
                      'max abs diff %.3g' % check.max_abs_diff)
  return LegacyFunction(concrete, variables, names, list(frozen.outputs),
                        check.max_abs_diff)


# ---------------------------------------------------------------- command


def register(subparsers):
  """Adds the `export` subcommand; sets `func` to `run`."""
  parser = subparsers.add_parser(
      'export', help='write a legacy model as a TF 2 SavedModel (and TFLite, '
      'frozen graph), verified in inference mode',
      description=__doc__.split('\n\n', 1)[1],
      formatter_class=__import__('argparse').RawDescriptionHelpFormatter)
  parser.add_argument('model', metavar='FILE.py:FUNCTION',
                      help='the model file and its graph-building function '
                      '(which must take is_training)')
  parser.add_argument('checkpoint', help='checkpoint prefix, or a directory')
  parser.add_argument('--saved-model', required=True, metavar='DIR',
                      help='directory to write the TF 2 SavedModel to')
  parser.add_argument('--tflite', metavar='F.tflite',
                      help='also write a TFLite flatbuffer (TF converter)')
  parser.add_argument('--frozen-graph', metavar='F.pb',
                      help='also write a frozen GraphDef (binary)')
  parser.add_argument('--fold', choices=FOLD_MODES, default='none',
                      help='none: keep batch norms; affine: one multiply '
                      'and one add each; conv: also into a directly '
                      'preceding conv2d/matmul (+ bias) where exact')
  parser.add_argument('--overwrite', action='store_true',
                      help='replace existing outputs')
  parser.add_argument('--json', action='store_true',
                      help='print the result as JSON')
  parser.set_defaults(func=run)
  return parser


def run(args, out=print):
  """Carries out a parsed `export`; returns the exit code (0 = verified)."""
  progress = (lambda line: print(line, file=sys.stderr)) if args.json else (
      lambda line: out('... ' + line))
  try:
    result = export(args.model, args.checkpoint, args.saved_model,
                    tflite=args.tflite, frozen_graph=args.frozen_graph,
                    fold=args.fold, overwrite=args.overwrite, log=progress)
  except (ExportError, model_file.ModelFileError) as e:
    if args.json:
      out(json.dumps({'ok': False, 'error': str(e)}, indent=2))
    else:
      out('export failed: %s' % e)
    return EXIT_FAILED
  if args.json:
    out(json.dumps(result.to_dict(), indent=2, sort_keys=True))
  else:
    for line in result.lines():
      out(line)
    out('export verified' if result.ok else 'export FAILED')
  return EXIT_OK if result.ok else EXIT_FAILED
