"""The TF 2.x side of the regression harness: rerun, compare, explain.

`compare_recording` rebuilds the user's model on TF 2.x with contrib_bn,
starts it from the recorded initial values, feeds the recorded inputs, and
compares every recorded array with what it computes. Each difference is
measured on the array's own scale:

  divergence = max |TF2 - TF1| / max(max |TF1|, SCALE_FLOOR)

and is a divergence only when it exceeds both the float tolerance and the
model's own sensitivity: the same measure between the TF 1.15 run and its
twin started one ULP away, times SENSITIVITY_MARGIN.

The likely causes named for the first divergence come from
`contrib_bn.tools.regress.hints`; the result is printed by `text_report`
(and drawn by `html_report`).
"""

import collections
import json
import os

import numpy as np
import tensorflow as tf

from contrib_bn.conformance import matching as corpus_compare
from contrib_bn.tools import graph_layers
from contrib_bn.tools import model_file
from contrib_bn.tools.regress import hints as likely_causes
from contrib_bn.tools.regress import runner

# Same float32 bound the golden corpus uses: reduction order inside kernels
# differs between TF releases by far less than this.
FLOAT_TOLERANCE = corpus_compare.FLOAT32_RTOL
SCALE_FLOOR = corpus_compare.SCALE_FLOOR
# TF 1.15 and TF 2.x differ by a few roundings in the first step; a model
# amplifies those like it amplifies the one-ULP nudge of the sensitivity run.
# Ten such roundings is a generous allowance that a wrong formula (epsilon,
# decay, Bessel correction, path) still exceeds by orders of magnitude.
SENSITIVITY_MARGIN = 10.0


class RecordingError(ValueError):
  """The recording directory is missing, incomplete or of another format."""


def load_recording(directory):
  """(manifest, inputs, run, ulp) of a recording directory."""
  manifest_path = os.path.join(directory, 'manifest.json')
  if not os.path.isfile(manifest_path):
    raise RecordingError(
        '%r holds no recording (no manifest.json); make one with `python -m '
        'contrib_bn regress record`' % (directory,))
  with open(manifest_path) as f:
    manifest = json.load(f)
  if manifest.get('format') != runner.FORMAT_VERSION:
    raise RecordingError('%r is a recording of format %r; this contrib_bn '
                         'reads format %r' % (directory, manifest.get('format'),
                                              runner.FORMAT_VERSION))
  arrays = []
  for name in ('inputs', 'run', 'ulp'):
    path = os.path.join(directory, name + '.npz')
    if not os.path.isfile(path):
      raise RecordingError('recording %r is incomplete: %s.npz is missing' %
                           (directory, name))
    with np.load(path) as data:
      arrays.append({k: data[k] for k in data.files})
  return (manifest,) + tuple(arrays)


def divergence(expected, actual):
  """Scaled max abs difference, inf for a shape mismatch or NaN pattern."""
  expected = np.asarray(expected, np.float64)
  actual = np.asarray(actual, np.float64)
  if expected.shape != actual.shape:
    return float('inf')
  if expected.size == 0:
    return 0.0
  if not np.array_equal(np.isnan(expected), np.isnan(actual)):
    return float('inf')
  finite = ~np.isnan(expected)
  diff = float(np.max(np.abs(expected[finite] - actual[finite]), initial=0.0))
  scale = max(float(np.max(np.abs(expected[finite]), initial=0.0)),
              SCALE_FLOOR)
  return diff / scale


Entry = collections.namedtuple(
    'Entry', ['key', 'group', 'name', 'step', 'divergence', 'sensitivity',
              'threshold', 'diverged'])


def _entry(key, group, name, step, tf1, tf2, ulp):
  d = divergence(tf1, tf2)
  s = divergence(tf1, ulp) if ulp is not None else 0.0
  threshold = max(FLOAT_TOLERANCE, SENSITIVITY_MARGIN * s)
  return Entry(key, group, name, step, d, s, threshold, bool(d > threshold))


def _step_of(key):
  head = key.split('/', 1)[0]
  return int(head[4:]) if head.startswith('step') else None


def _group(key):
  parts = key.split('/', 2)
  head = parts[0]
  if head.startswith('step'):
    kind = parts[1]
    if kind == 'loss':
      return 'loss', 'loss'
    rest = key.split('/', 2)[2]
    return kind, rest
  if head in ('initial', 'final'):
    return 'variable ' + head, key.split('/', 1)[1]
  if head in ('inference', 'restored'):
    return head + ' ' + parts[1], parts[2]
  return head, key


class Result(object):
  """Everything a comparison found."""

  def __init__(self, manifest, layer_order, entries, problems, hints,
               unwired, steps):
    self.manifest = manifest
    self.layer_order = layer_order
    self.entries = entries
    self.problems = problems
    self.hints = hints
    self.unwired = unwired
    self.steps = steps

  @property
  def first(self):
    """The first diverging entry: earliest step, then layer order."""
    order = {scope: i for i, scope in enumerate(self.layer_order)}
    diverged = [e for e in self.entries if e.diverged]
    if not diverged:
      return None
    rank = {'layer': 0, 'moving': 1, 'output': 2, 'loss': 3}

    def key(e):
      step = e.step if e.step is not None else self.steps + 1
      scope = e.name.rsplit('/', 1)[0] if e.group == 'moving' else e.name
      return (step, rank.get(e.group, 4), order.get(scope, len(order)),
              e.name)
    return min(diverged, key=key)

  @property
  def ok(self):
    return not self.problems and not any(e.diverged for e in self.entries)

  def layer_series(self):
    """scope -> [(step, divergence, threshold)] for the batch-norm outputs."""
    series = collections.OrderedDict((s, []) for s in self.layer_order)
    for e in self.entries:
      if e.group == 'layer' and e.name in series:
        series[e.name].append((e.step, e.divergence, e.threshold))
    for values in series.values():
      values.sort()
    return series

  def as_json(self):
    first = self.first
    return {
        'ok': self.ok,
        'first_divergence': None if first is None else {
            'key': first.key, 'group': first.group, 'name': first.name,
            'step': first.step, 'divergence': first.divergence,
            'threshold': first.threshold},
        'problems': self.problems,
        'hints': self.hints,
        'unwired_layers': self.unwired,
        'entries': [e._asdict() for e in self.entries],
    }


def _compare_arrays(tf1, tf2, ulp, skip_prefixes=('initial/',)):
  entries = []
  problems = []
  for key in tf1:
    if key.startswith(skip_prefixes):
      continue
    group, name = _group(key)
    if key not in tf2:
      problems.append('contrib_bn run has no %s (TF 1.15 recorded it)' % key)
      continue
    entries.append(_entry(key, group, name, _step_of(key), tf1[key], tf2[key],
                          ulp.get(key) if ulp is not None else None))
  for key in tf2:
    if key not in tf1 and not key.startswith(skip_prefixes):
      problems.append('contrib_bn run has %s, which TF 1.15 did not record'
                      % key)
  return entries, problems


class _ControlFlow(object):
  """Builds with v1 (TF 1.15's) or v2 control flow, then restores."""

  def __init__(self, v2):
    self.v2 = v2

  def __enter__(self):
    self.was_v2 = tf.compat.v1.control_flow_v2_enabled()
    if self.v2:
      tf.compat.v1.enable_control_flow_v2()
    else:
      tf.compat.v1.disable_control_flow_v2()

  def __exit__(self, *exc_info):
    if self.was_v2:
      tf.compat.v1.enable_control_flow_v2()
    else:
      tf.compat.v1.disable_control_flow_v2()
    return False


def _build(target, control_flow_v2):
  with _ControlFlow(control_flow_v2):
    return model_file.build(target)


def compare_recording(target, directory, progress=None,
                      control_flow_v2=False):
  """Runs the model on TF 2.x with contrib_bn and compares with a recording.

  Args:
    target: 'FILE.py:FUNCTION', the file the recording was made from.
    directory: the recording directory.
    progress: callable(str) or None.
    control_flow_v2: build `tf.cond`/`tf.while_loop` as TF 2 does by default
      (function-bodied ops) instead of as TF 1.15 did. The numerics are
      compared either way; the likely-cause hints read the layers' kernels
      and constants, which v2 control flow hides in function bodies.

  Returns:
    A `Result`.

  Raises:
    RecordingError, model_file.ModelFileError, runner.InputError.
  """
  from contrib_bn.tools import update_ops  # pylint: disable=g-import-not-at-top
  say = progress or (lambda message: None)
  manifest, inputs, tf1_run, ulp_run = load_recording(directory)
  identity = manifest['identity']
  path, function = model_file.parse_target(target)
  problems = []
  if function != identity['function']:
    problems.append('recording was made from function %r, not %r' % (
        identity['function'], function))
  from contrib_bn.tools.regress import record  # pylint: disable=g-import-not-at-top
  if record.file_digest(path) != identity['sha256']:
    say('warning: %s changed since the recording was made' % path)
  steps = identity['steps']
  say('building %s with TensorFlow %s and contrib_bn' % (target,
                                                          tf.__version__))
  model = _build(target, control_flow_v2)
  specs = runner.input_specs(model, runner.parse_input_shapes(
      ['%s=%s' % (n, ','.join(map(str, s)))
       for n, s in identity['input_shapes'].items()]))
  recorded_specs = {n: (v['dtype'], v['shape'])
                    for n, v in manifest['inputs'].items()}
  for name, spec in specs.items():
    if recorded_specs.get(name) != (spec[0], list(spec[1])):
      problems.append('input %r: contrib_bn builds %s, TF 1.15 recorded %s' %
                      (name, spec, recorded_specs.get(name)))
  recorded_modes = manifest.get('mode_placeholders')
  modes = [t.name for t in model.mode_placeholders]
  if recorded_modes is not None and recorded_modes != modes:
    problems.append('mode placeholders: TF 1.15 fed %s, TF 2 feeds %s (the '
                    'is_training wiring differs)' % (recorded_modes or
                                                     'none', modes or 'none'))
  layers = runner.find_layers(tf, model.graph, graph_layers)
  tf1_layers = {d['scope']: d for d in manifest['layers']}
  tf2_layers = {scope: d for scope, _, _, d in layers}
  for scope in tf1_layers:
    if scope not in tf2_layers:
      problems.append('batch-norm layer %s exists on TF 1.15 only' % scope)
  for scope in tf2_layers:
    if scope not in tf1_layers:
      problems.append('batch-norm layer %s exists on TF 2 only' % scope)
  recorded_variables = {name: (dtype, shape)
                        for name, dtype, shape in manifest['variables']}
  initial = {k[len('initial/'):]: v for k, v in tf1_run.items()
             if k.startswith('initial/')}
  with model.graph.as_default():
    ours = {v.op.name: (v.dtype.base_dtype.name, v.shape.as_list())
            for v in tf.compat.v1.global_variables()}
  for name in sorted(set(recorded_variables) | set(ours)):
    if name not in ours:
      problems.append('variable %s exists on TF 1.15 only' % name)
    elif name not in recorded_variables:
      problems.append('variable %s exists on TF 2 only' % name)
    elif tuple(ours[name]) != tuple(recorded_variables[name]):
      problems.append('variable %s: TF 2 %s, TF 1.15 %s' % (
          name, ours[name], recorded_variables[name]))
  unwired = []
  if model.train_op is not None:
    unwired = [l.scope for l in update_ops.check_update_ops(model.train_op)]
  say('running %d step(s) from the recorded initial values' % steps)
  tf2_run, _ = runner.execute(tf, model, layers, inputs, steps,
                              initial=initial,
                              progress=lambda m: say('[TF 2] ' + m))
  entries, array_problems = _compare_arrays(tf1_run, tf2_run, ulp_run)
  problems.extend(array_problems)
  checkpoint = os.path.join(directory, 'checkpoint', 'model')
  if os.path.isfile(checkpoint + '.index'):
    say('restoring the TF 1.15 checkpoint for inference')
    restored_model = _build(target, control_flow_v2)
    restored_layers = runner.find_layers(tf, restored_model.graph,
                                         graph_layers)
    try:
      restored = runner.restored_inference(tf, restored_model,
                                           restored_layers, inputs, checkpoint)
    except (tf.errors.OpError, ValueError) as e:
      problems.append('restoring the TF 1.15 checkpoint failed: %s' %
                      str(e).splitlines()[0])
    else:
      for key, value in restored.items():
        source = 'inference/' + key[len('restored/'):]
        if source in tf1_run:
          entries.append(_entry(key, *(_group(key) + (None,)), tf1_run[source],
                                value, ulp_run.get(source)))
  else:
    problems.append('recording has no checkpoint')
  layer_order = [d['scope'] for d in manifest['layers']]
  result = Result(manifest, layer_order, entries, problems, [], unwired, steps)
  first = result.first
  hints = []
  if first is not None:
    scope = first.name.rsplit('/', 1)[0] if first.group == 'moving' else (
        first.name)
    if scope in tf1_layers:
      hints.extend(likely_causes.layer_hints(
          scope, tf1_layers[scope], tf2_layers.get(scope), tf1_run, tf2_run,
          steps))
  hints.extend(likely_causes.global_hints(entries, unwired))
  result.hints = hints
  return result
