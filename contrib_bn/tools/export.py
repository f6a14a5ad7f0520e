"""Export a legacy batch-norm model as a TF 2 SavedModel, TFLite and frozen graph.

  python -m contrib_bn export FILE.py:FUNCTION CHECKPOINT --saved-model DIR
      [--tflite F.tflite] [--frozen-graph F.pb] [--fold {none,affine,conv}]
      [--overwrite] [--json]

The model is described by the model-file contract (`tools/model_file.py`),
in any of its three forms: FUNCTION takes `is_training` (the export passes
False), makes its own bool placeholder (returned or not), or builds for
inference only. It is built inside `contrib_bn.inference_mode()`, so every
batch norm is static; a mode placeholder that still decides a conditional
(dropout, the model's own `tf.cond`) is fed False and folded away.

The steps: build in inference mode; restore the variables the outputs read
from the checkpoint (a missing or mis-shaped one is named); run the restored
session graph on seeded inputs for the reference outputs; freeze the
variables to constants and fold the mode placeholders (`mode_folding`);
fold batch norms if asked (`tools/fold.py`); check that no training-mode
batch norm, `is_training` switch or variable remains (each one named with
the model-file line that built it);
write every artifact into a temporary location next to its destination; load
and run each one on the same inputs and compare with the reference within
named tolerances; only then move them into place.

Python API: `export(...)` returns an `ExportResult`; `as_function(...)`
returns the model as a TF 2 callable through `tf.compat.v1.wrap_function`.
"""

import argparse
import collections
import json
import os
import shutil
import sys

from contrib_bn import constants
from contrib_bn.tools import artifacts
from contrib_bn.tools import fold as fold_module
from contrib_bn.tools import inference_graph
from contrib_bn.tools import legacy_function
from contrib_bn.tools import model_file
from contrib_bn.tools.artifacts import run_frozen_graph
from contrib_bn.tools.artifacts import run_saved_model
from contrib_bn.tools.artifacts import run_tflite
from contrib_bn.tools.inference_model import ExportError
from contrib_bn.tools.inference_model import freeze
from contrib_bn.tools.inference_model import VERIFY_SEED

__all__ = ['ExportError', 'ExportResult', 'FOLD_MODES', 'LegacyFunction',
           'as_function', 'export', 'register', 'run', 'run_frozen_graph',
           'run_saved_model', 'run_tflite']

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

# Follows the leftovers the export names, each with its model-file line.
_LEFTOVER_FIXES = (
    ('batch statistics',
     'fix for a batch norm: inference mode makes every batch norm of '
     'tf.contrib.layers, tf.contrib.slim and contrib_bn static, but no other; '
     'give one built by tf.nn.fused_batch_norm, tf.nn.moments or Keras a '
     'static is_training/training=False for inference (a model function '
     'with an `is_training` parameter receives False)'),
    ('the bool placeholder', 'fix for a conditional: it is folded only when '
     'its predicate depends on the is_training placeholder alone; split one '
     'that also reads data, another placeholder or a random op, as in '
     'tf.cond(is_training, lambda: tf.cond(other, f, g), g)'))


def _leftover_error(problems):
  fixes = [fix for key, fix in _LEFTOVER_FIXES
           if any(key in p for p in problems)]
  return ExportError('the exported graph is not inference-only:\n  ' +
                     '\n  '.join(problems + fixes))


EXIT_OK = constants.EXIT_OK
EXIT_FAILED = constants.EXIT_FAILED
EXIT_USAGE = constants.EXIT_USAGE


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
    modes: mode placeholders fed False; folded: the Switches they decided.
    tensors: dict input/output name -> tensor name in the frozen graph.
    checks: list of `ArtifactCheck`.
  """

  def __init__(self):
    self.saved_model = self.tflite = self.frozen_graph = None
    self.fold = None
    self.op_types = {}
    self.inputs = collections.OrderedDict()
    self.outputs = []
    self.unused_inputs = []
    self.modes, self.folded = [], []
    self.tensors = collections.OrderedDict()
    self.checks = []

  @property
  def ok(self):
    return bool(self.checks) and all(c.ok for c in self.checks)

  def lines(self):
    out = ['signature serving_default: (%s) -> (%s)' % (
        ', '.join('%s %s%s' % (n, d, list(s)) for n, (s, d) in
                  self.inputs.items()), ', '.join(self.outputs))]
    out.append('graph tensors: ' + ', '.join(
        '%s %s' % (n, t) for n, t in self.tensors.items()))
    for name in self.unused_inputs:
      out.append('input %s: no output depends on it; left out of the '
                 'signature' % name)
    if self.modes:
      out.append('mode placeholder(s) %s fed False%s' % (
          ', '.join(self.modes), '; %d Switch op(s) they decided folded' %
          len(self.folded) if self.folded else ''))
    out.extend(self.fold.lines() if self.fold else [])
    out.append('inference-only: no training-mode batch norm, no Switch/Merge/'
               'If on a bool placeholder, no variable left')
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
        'modes': list(self.modes), 'folded': list(self.folded),
        'tensors': dict(self.tensors),
        'checks': [dict(c._asdict()) for c in self.checks]}


def export(target, checkpoint, saved_model, tflite=None, frozen_graph=None,
           fold='none', overwrite=False, seed=VERIFY_SEED, log=None):
  """Exports FILE.py:FUNCTION restored from CHECKPOINT for serving.

  Args:
    target: 'FILE.py:FUNCTION' (model-file contract, any of its forms).
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
      staged[key] = artifacts.staging(path, overwrite)
    log('building %s in inference mode' % target)
    frozen = freeze(target, checkpoint, seed)
    log('restored %s and froze %d nodes' % (checkpoint,
                                            len(frozen.graph_def.node)))
    graph_def, report = fold_module.fold_graph_def(
        frozen.graph_def, fold, list(frozen.outputs.values()))
    index = inference_graph.GraphIndex(graph_def)
    problems = inference_graph.training_leftovers(
        index, frozen.outputs.values(), frozen.modes, frozen.origin)
    if problems:
      raise _leftover_error(problems)
    result = ExportResult()
    result.modes, result.folded = frozen.modes, frozen.folded
    result.fold = report
    result.op_types = dict(index.op_types(
        index.ancestors(frozen.outputs.values())))
    result.inputs = frozen.specs
    result.outputs = list(frozen.outputs)
    result.unused_inputs = frozen.unused
    result.tensors.update(frozen.inputs)
    result.tensors.update(frozen.outputs)
    tolerance = SAVED_MODEL_TOLERANCE if fold == 'none' else FOLDED_TOLERANCE
    saved_dir = os.path.join(staged['saved_model'], 'saved_model')
    log('writing the SavedModel')
    artifacts.write_saved_model(frozen, graph_def, saved_dir)
    result.checks.append(artifacts.compare(
        'SavedModel', destinations['saved_model'],
        run_saved_model(saved_dir, frozen.feeds), frozen.reference,
        tolerance))
    if 'frozen_graph' in destinations:
      pb = os.path.join(staged['frozen_graph'], 'graph.pb')
      with open(pb, 'wb') as f:
        f.write(graph_def.SerializeToString())
      result.checks.append(artifacts.compare(
          'frozen graph', destinations['frozen_graph'],
          run_frozen_graph(pb, frozen.inputs, frozen.outputs, frozen.feeds),
          frozen.reference, tolerance))
    if 'tflite' in destinations:
      log('converting to TFLite')
      flat = os.path.join(staged['tflite'], 'model.tflite')
      artifacts.write_tflite(saved_dir, flat)
      rtol = max(tolerance[0], TFLITE_TOLERANCE[0])
      atol = max(tolerance[1], TFLITE_TOLERANCE[1])
      result.checks.append(artifacts.compare(
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
      artifacts.move_into_place(os.path.join(staged[key], inner[key]), path)
      setattr(result, key, path)
    return result
  finally:
    for directory in staged.values():
      if directory and os.path.isdir(directory):
        shutil.rmtree(directory)


LegacyFunction = legacy_function.LegacyFunction


def as_function(target, checkpoint, seed=VERIFY_SEED):
  """The model as a TF 2 callable with its variables restored.

  Builds FILE.py:FUNCTION in inference mode, as `export` does, inside
  `tf.compat.v1.wrap_function`, so its variables become TF 2 `tf.Variable`s;
  assigns them the values restored (and checked) from `checkpoint` by the
  same steps as `export`; prunes the function to the model's inputs and
  outputs; and checks it against the restored session graph on seeded
  inputs. Call it eagerly with the inputs the outputs use, as keyword
  arguments; it returns a dict of output tensors.

  Args:
    target: 'FILE.py:FUNCTION' (model-file contract, any of its forms).
    checkpoint: checkpoint prefix or directory.
    seed: seed of the verification inputs.

  Returns:
    A `LegacyFunction`.

  Raises:
    ExportError: as for `export`, or if the function differs from the
      session graph beyond `SAVED_MODEL_TOLERANCE`.
  """
  return legacy_function.wrap(target, checkpoint, seed,
                              SAVED_MODEL_TOLERANCE)


_DESCRIPTION = """\
Write a legacy TF1 model that uses batch norm as a TF 2 SavedModel (with a
`serving_default` signature named after the model's inputs and outputs), and
optionally a TFLite flatbuffer and a frozen GraphDef, all verified to run in
inference mode.

The model file: FUNCTION in FILE.py builds the graph into the default graph
and returns a dict with 'inputs' (name -> placeholder) and 'outputs' (name ->
tensor); 'loss', 'train_op' and 'is_training' may be there too. Any of these
forms is exported with no edit:

  def build(is_training=None):      # called with is_training=False
    ...batch_norm(net, is_training=is_training)...
  def build():                      # its own placeholder, returned or not
    is_training = tf.placeholder_with_default(True, [])
    ...batch_norm(net, is_training=is_training)...
    net = tf.cond(is_training, lambda: tf.nn.dropout(net, 0.5), lambda: net)
  def build_inference():            # inference only
    ...batch_norm(net, is_training=False)...

FUNCTION is built inside contrib_bn.inference_mode(): every batch norm of
tf.contrib.layers, tf.contrib.slim and contrib_bn is static, whatever its
is_training. Bool scalar placeholders not in 'inputs' that decide a
conditional (and the returned 'is_training') are fed False, and what they
decide is folded away. `import tensorflow as tf` in the file means
tf.compat.v1, and tf.contrib resolves through contrib_bn.

Steps: build; restore from CHECKPOINT the variables the outputs read (a
missing or mis-shaped one is named); run the restored graph on seeded inputs
(the reference); freeze variables to constants; fold the is_training
placeholders, then batch norms (--fold); check that no training-mode batch
norm, no Switch/Merge/If on an is_training placeholder and no variable
remains (each one is named with the model-file line that built it); write
each artifact to a temporary location, load and run it, compare with the
reference (SavedModel/frozen graph: rtol=atol=1e-5, or 1e-4 when folded;
TFLite: 1e-4); only then rename into place.
"""

_EPILOG = """\
exit codes: 0 exported and verified; 1 a check failed (nothing written);
2 bad command line."""


def register(subparsers):
  """Adds the `export` subcommand; sets `func` to `run`."""
  parser = subparsers.add_parser(
      'export', help='write a legacy model as a TF 2 SavedModel (and TFLite, '
      'frozen graph), verified in inference mode',
      description=_DESCRIPTION, epilog=_EPILOG,
      formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('model', metavar='FILE.py:FUNCTION',
                      help='the model file and its graph-building function '
                      '(with or without an is_training parameter)')
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
