"""Benchmarks `contrib_bn.batch_norm` against a hand-written floor.

One run measures, on the running TensorFlow 2:

1. Training-step time (forward, backward, moving-average updates and a
   GradientDescent step on gamma/beta, in a `tf.compat.v1.Session`) of each
   internal path of `contrib_bn.batch_norm`, as a ratio against the floor:
   `tf.compat.v1.nn.fused_batch_norm` plus two `assign_sub` updates built by
   hand, with the same loss and optimizer (see `_bench_tf1.py`).
2. Graph-construction time per layer for stacks of layers (200, 250 and 1,000
   by default; each layer's output, through a ReLU, feeds the next), for
   `contrib_bn.batch_norm` and the floor built by hand, and how it grows. The
   stacks grow side by side, one layer of each in turn. Python's cyclic
   garbage collector is timed apart: one full collection walks both stacks
   and lands on whichever layer happens to cross its threshold, a pause of
   up to a second that would decide the ratio by chance. Its share is
   bounded instead by the objects each layer keeps alive (counted after a
   full collection), which is what a collection walks.
3. Peak resident memory of one training-step graph per implementation, each
   in a fresh subprocess.
4. With `--tf1`, the step times (and peak memory) of TF 1.15's
   `tf.contrib.layers.batch_norm` and its floor, from a Python 3.7 subprocess,
   as a reference column.
5. The configuration table (`--table_rows`): the default core layer (NHWC),
   `fused=False`, renorm, `batch_weights`, rank 5, rank 3, NCHW, float16 and
   bfloat16, each in training and in inference, against the floor of the same
   shape, dtype and mode; with `--xla` (the default) also under XLA
   auto-clustering against the floor under XLA; with `--tf1` TF 1.15's time
   beside it. `--update_docs` rewrites docs/performance.md's block of the oneDNN
   setting the run had (read from the graph TensorFlow runs; there is one
   block for oneDNN off and one for on, each between its bench-table markers,
   written atomically) and that setting's charts,
   docs/bench_*_onednn_{off,on}.png; `--conditions` records how loaded the
   machine was. Run it with TF_ENABLE_ONEDNN_OPTS=0 and with =1 for both.

Repetitions of the implementations being compared are interleaved (A, B, C,
A, B, C, ..., each repetition starting one further along) so that drift in
machine load affects all of them alike; figures are medians.

Writes `results.md`, `results.json` and, when matplotlib is installed,
`step_times.png` to `--out_dir`, and prints the markdown table.

  python benchmarks/bench.py [--smoke] [--tf1 [--tf1_python=PATH]] [--out_dir=D]
      [--table_rows=R,...] [--modes=train,infer] [--[no]xla]
      [--update_docs --conditions="..."]

This file is over 400 lines because it is one self-contained command: the
measurements share its interleaving, subprocess and reporting code, and it
stays runnable as a plain script next to `_bench_tf1.py`.
"""

from concurrent import futures
import cProfile
import gc
import io
import json
import math
import os
import platform
import pstats
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_HERE)
# The checkout's contrib_bn, not an installed copy, is what gets measured;
# the step graphs come from the sibling module shared with the TF1 side.
for _path in (_HERE, _ROOT):
  if _path not in sys.path:
    sys.path.insert(0, _path)

import _bench_tf1 as steps  # pylint: disable=wrong-import-position

FLAGS = flags.FLAGS
flags.DEFINE_boolean('smoke', False,
                     'Tiny shapes, one step per repetition, few layers: a '
                     'quick check that everything runs; the figures mean '
                     'nothing.')
flags.DEFINE_integer('repeats', 21,
                     'Interleaved repetitions of each step measurement.')
flags.DEFINE_integer('warmup', 3,
                     'Untimed training steps of each graph before timing.')
flags.DEFINE_float('rep_seconds', 0.1,
                   'Approximate length of one timed repetition; sets the '
                   'steps per repetition from the floor\'s step time.')
flags.DEFINE_list('paths', list(steps.PATHS),
                  'Paths to measure: %s.' % ', '.join(steps.PATHS))
flags.DEFINE_list('shapes', list(steps.SHAPE_ORDER),
                  'Step-benchmark shapes: %s.' % ', '.join(steps.SHAPE_ORDER))
flags.DEFINE_boolean('tf1', False,
                     'Also measure TF 1.15\'s tf.contrib.layers.batch_norm '
                     'in a subprocess, as a reference.')
flags.DEFINE_string('tf1_python', None,
                    'Python 3.7 interpreter with TensorFlow 1.15. Default: '
                    '$CONTRIB_BN_TF1_PYTHON, else pyenv\'s python3.7 (by '
                    '$PYENV_VERSION, or 3.7.16) if it has TensorFlow 1.x.')
flags.DEFINE_string('out_dir', 'bench_results', 'Where results go.')
flags.DEFINE_integer('threads', 0,
                     'Session intra/inter-op threads; 0 lets TF choose.')
flags.DEFINE_list('layers', ['200', '250', '1000'],
                  'Graph-construction stack sizes A,B,C: per-layer growth is '
                  'C against A, total growth C against B.')
flags.DEFINE_list('graph_paths', [steps.CORE],
                  'Paths whose graph construction is measured (rank-4 NHWC '
                  'input).')
flags.DEFINE_integer('graph_repeats', 3,
                     'Interleaved repetitions of each graph construction.')
flags.DEFINE_integer('memory_repeats', 3,
                     'Fresh subprocesses per implementation for peak memory.')
flags.DEFINE_integer('memory_jobs', 1,
                     'Memory subprocesses run at once. Peaks are per process, '
                     'so running several at once changes no figure, only '
                     'the wall time.')
flags.DEFINE_integer('memory_steps', 10,
                     'Training steps each memory subprocess runs.')
flags.DEFINE_boolean('profile_graph', False,
                     'Also profile one contrib_bn graph construction of the '
                     'largest stack with cProfile; writes graph_profile.txt.')
flags.DEFINE_list('table_rows', list(steps.TABLE_ROW_NAMES),
                  'Configuration-table rows to time (empty: none): %s.' %
                  ', '.join(steps.TABLE_ROW_NAMES))
flags.DEFINE_list('modes', list(steps.MODES),
                  'Configuration-table modes: train, infer.')
flags.DEFINE_boolean('xla', True,
                     'Also time every configuration-table row under XLA '
                     'auto-clustering (global_jit_level=ON_1; sets '
                     'TF_XLA_FLAGS=--tf_xla_cpu_global_jit so CPU graphs '
                     'cluster).')
flags.DEFINE_boolean('update_docs', False,
                     'Rewrite docs/performance.md\'s bench-table block of this '
                     'run\'s '
                     'oneDNN setting (atomically) and write its charts to '
                     'docs/bench_configurations_onednn_{off,on}.png and '
                     'docs/bench_step_times_onednn_{off,on}.png.')
flags.DEFINE_string('conditions', None,
                    'Free text describing the machine\'s conditions during '
                    'the run (e.g. "shared, other jobs running"); printed '
                    'with the table.')
flags.DEFINE_enum('worker', None, ['memory'],
                  'Internal: run as a memory-measuring subprocess.')
flags.DEFINE_enum('impl', steps.FLOOR, list(steps.IMPLS),
                  'Internal, memory worker: the implementation.')
flags.DEFINE_enum('shape', 'nhwc', list(steps.SHAPE_ORDER),
                  'Internal, memory worker: the input shape.')

# Targets, as ratios against the floor of the same run.
FUSED_TARGET = 1.02
CORE_TARGET = 1.10
GRAPH_TARGET = 1.10
# Objects a layer keeps alive for the garbage collector to walk, per layer.
OBJECTS_TARGET = 1.10
GROWTH_TARGET = 4.5
MEMORY_TARGET = 1.05
STEP_TARGETS = {
    steps.FUSED: FUSED_TARGET,
    steps.FUSED_DEBIAS: FUSED_TARGET,
    steps.CORE: CORE_TARGET,
    steps.RENORM: CORE_TARGET,
}
MEMORY_SHAPE = 'nhwc'
# The configuration table's bounds (training and inference, plain): every row
# within 1.10x of the floor except batch weights, whose weighted moments no
# kernel computes.
TABLE_TARGET = 1.10
TABLE_TARGETS = {'batch_weights': 1.5}
PERFORMANCE_PAGE = os.path.join(_ROOT, 'docs', 'performance.md')
# oneDNN changes the graph TensorFlow runs, and TensorFlow turns it on by
# default only on some processors, so the performance page holds one block
# per setting, each
# from one run with that setting (TF_ENABLE_ONEDNN_OPTS=0 or =1).
ONEDNN_SETTINGS = ('off', 'on')
_BLOCK_START = ('<!-- bench-table:start oneDNN %s (generated by '
                 'benchmarks/bench.py --update_docs) -->')
_BLOCK_END = '<!-- bench-table:end oneDNN %s -->'


def docs_markers(onednn):
  """The (start, end) markers of the page's block for oneDNN 'on'/'off'."""
  return _BLOCK_START % onednn, _BLOCK_END % onednn


def chart_paths(onednn):
  """(configuration chart, step chart) files of one oneDNN setting."""
  return (os.path.join(_ROOT, 'docs',
                       'bench_configurations_onednn_%s.png' % onednn),
          os.path.join(_ROOT, 'docs',
                       'bench_step_times_onednn_%s.png' % onednn))


def chart_lines(onednn):
  """The page's lines that show the two charts of one oneDNN setting."""
  table, step = (os.path.relpath(p, os.path.dirname(PERFORMANCE_PAGE))
                 for p in chart_paths(onednn))
  return ('![configurations relative to the floor, oneDNN %s](%s)\n' % (
      onednn, table), '![step time per path, relative to the floor of the '
          'same TensorFlow, oneDNN %s](%s)\n' % (onednn, step))


# Settings the smoke run uses unless given explicitly.
_SMOKE_SETTINGS = {
    'repeats': 1,
    'warmup': 1,
    'layers': ['4', '5', '20'],
    'graph_repeats': 1,
    'memory_repeats': 1,
    'memory_steps': 1,
    'memory_jobs': 2,
}


_START = time.time()


def _log(message):
  print('[%6.1fs] %s' % (time.time() - _START, message), file=sys.stderr,
        flush=True)


def _rotated(items, start):
  start %= max(len(items), 1)
  return items[start:] + items[:start]


def _median(values):
  return statistics.median(values) if values else None


def _load():
  """1-minute load average, or None where the OS does not tell."""
  try:
    return os.getloadavg()[0]
  except OSError:
    return None


# ---------------------------------------------------------------------------
# TF 1.15 subprocess.


def _has_tf1(python):
  try:
    out = subprocess.run(
        [python, '-c', 'import tensorflow as tf; print(tf.__version__)'],
        capture_output=True, text=True, timeout=120, check=False)
  except (OSError, subprocess.TimeoutExpired):
    return False
  lines = out.stdout.strip().splitlines()
  return out.returncode == 0 and bool(lines) and lines[-1].startswith('1.')


def discover_tf1_python():
  """The TF 1.15 interpreter: the flag, the env var, then pyenv's python3.7.

  Returns:
    A path, or None when nothing with TensorFlow 1.x was found.
  """
  # A relative path names a file from where the command was typed; the
  # subprocesses start elsewhere, so it is made absolute here.
  for given in (FLAGS.tf1_python, os.environ.get('CONTRIB_BN_TF1_PYTHON')):
    if given:
      return os.path.abspath(given) if os.sep in given else given
  env = dict(os.environ)
  env.setdefault('PYENV_VERSION', '3.7.16')
  try:
    found = subprocess.run(['pyenv', 'which', 'python3.7'], env=env,
                           capture_output=True, text=True, timeout=60,
                           check=False)
  except (OSError, subprocess.TimeoutExpired):
    return None
  python = found.stdout.strip()
  if found.returncode == 0 and python and _has_tf1(python):
    return python
  return None


class RemoteServer(object):
  """`_bench_tf1.Server`'s interface, served by a TF 1.15 subprocess."""

  def __init__(self, python, smoke, threads):
    command = [python, os.path.join(_HERE, '_bench_tf1.py'), '--mode=serve',
               '--threads=%d' % threads]
    if smoke:
      command.append('--smoke')
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
    # Only the TF1 release's own packages: no contrib_bn on its path.
    env.pop('PYTHONPATH', None)
    # Kept for the error message should the subprocess die.
    self.stderr = tempfile.TemporaryFile('w+')
    self.process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=self.stderr, text=True, env=env, cwd=_HERE)
    hello = self._read()
    self.tf_version = hello['tf_version']
    self.python_version = hello['python']

  def _read(self):
    line = self.process.stdout.readline()
    if not line:
      self.stderr.seek(0)
      raise RuntimeError('the TF 1.15 subprocess exited (code %s):\n%s' % (
          self.process.wait(), self.stderr.read()[-3000:]))
    return json.loads(line)

  def handle(self, request):
    self.process.stdin.write(json.dumps(request) + '\n')
    self.process.stdin.flush()
    return self._read()

  def close(self):
    try:
      self.process.stdin.write(json.dumps({'cmd': 'quit'}) + '\n')
      self.process.stdin.flush()
      self.process.wait(timeout=120)
    except (OSError, subprocess.TimeoutExpired):
      self.process.kill()
      self.process.wait()
    self.stderr.close()


# ---------------------------------------------------------------------------
# 1. Training-step time.


def _check_paths(shapes, cases):
  """Fails loudly if a benchmark case would not take the path it names."""
  import contrib_bn  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  with tf.Graph().as_default():
    for shape_name, path in cases:
      shape, data_format = shapes[shape_name]
      kwargs = steps.path_kwargs(tf, path, shape, data_format)
      chosen = contrib_bn.select_path(
          len(shape), batch_weights=kwargs.get('batch_weights'),
          renorm=kwargs.get('renorm', False),
          zero_debias_moving_mean=kwargs.get('zero_debias_moving_mean', False),
          **({'updates_collections': kwargs['updates_collections']}
             if 'updates_collections' in kwargs else {}))
      if chosen != steps.INTERNAL_PATH[path]:
        raise AssertionError('%s/%s takes the %s path, not %s' % (
            shape_name, path, chosen, steps.INTERNAL_PATH[path]))


def _steps_per_rep(server, shape_name, smoke):
  """Steps per timed repetition, from the floor's step time."""
  if smoke:
    return 1
  probe = server.handle({'cmd': 'time', 'shape': shape_name,
                         'impl': steps.FLOOR, 'iters': 3})['seconds']
  return int(min(2000, max(1, math.ceil(FLAGS.rep_seconds / max(probe, 1e-6)))))


def bench_steps(shapes, cases, tf1_server):
  """Times every case; returns the step rows and their op counts."""
  import contrib_bn  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  local = steps.Server(tf, contrib_bn.batch_norm, shapes, FLAGS.threads)
  sides = [('tf2', local)]
  if tf1_server is not None:
    sides.append(('tf1', tf1_server))
  shape_names = [s for s in steps.SHAPE_ORDER if any(c[0] == s for c in cases)]
  impls = {s: [steps.FLOOR] + [p for (n, p) in cases if n == s]
           for s in shape_names}
  ops = {}
  errors = {}
  runnable = {}
  for shape_name in shape_names:
    runnable[shape_name] = []
    for side, server in sides:
      for impl in impls[shape_name]:
        _log('  building %s %s/%s' % (side, shape_name, impl))
        reply = server.handle({'cmd': 'setup', 'shape': shape_name,
                               'impl': impl})
        if reply['ok']:
          ops[(side, shape_name, impl)] = reply['ops']
          runnable[shape_name].append((side, impl))
        else:
          errors[(side, shape_name, impl)] = reply['error']
          _log('    unavailable: %s' % reply['error'])
  iters = {}
  for shape_name in shape_names:
    for side, impl in runnable[shape_name]:
      server = dict(sides)[side]
      server.handle({'cmd': 'time', 'shape': shape_name, 'impl': impl,
                     'iters': FLAGS.warmup})
    iters[shape_name] = _steps_per_rep(local, shape_name, FLAGS.smoke)
    _log('  %s: %d steps per repetition' % (shape_name, iters[shape_name]))
  times = {}
  for rep in range(FLAGS.repeats):
    _log('  step repetition %d/%d' % (rep + 1, FLAGS.repeats))
    for shape_name in shape_names:
      for side, impl in _rotated(runnable[shape_name], rep):
        reply = dict(sides)[side].handle(
            {'cmd': 'time', 'shape': shape_name, 'impl': impl,
             'iters': iters[shape_name]})
        times.setdefault((side, shape_name, impl), []).append(
            reply['seconds'])
  for step in local.graphs.values():
    step.close()
  rows = []
  for shape_name, path in cases:
    shape, data_format = shapes[shape_name]
    row = {'shape_name': shape_name, 'shape': shape,
           'data_format': data_format, 'path': path,
           'internal_path': steps.INTERNAL_PATH[path],
           'steps_per_rep': iters[shape_name],
           'target': STEP_TARGETS.get(path)}
    for side, _ in sides:
      own = times.get((side, shape_name, path))
      floor = times.get((side, shape_name, steps.FLOOR))
      prefix = '' if side == 'tf2' else 'tf1_'
      row[prefix + 'ms'] = _ms(own)
      row[prefix + 'floor_ms'] = _ms(floor)
      row[prefix + 'ratio'] = _paired_ratio(own, floor)
      row[prefix + 'ratio_of_medians'] = (
          _median(own) / _median(floor) if own and floor else None)
      row[prefix + 'ratio_spread'] = _ratio_spread(own, floor)
      row[prefix + 'samples_ms'] = [t * 1000.0 for t in own or []]
      row[prefix + 'floor_samples_ms'] = [t * 1000.0 for t in floor or []]
      row[prefix + 'ops'] = ops.get((side, shape_name, path))
      row[prefix + 'floor_ops'] = ops.get((side, shape_name, steps.FLOOR))
      row[prefix + 'error'] = (errors.get((side, shape_name, path)) or
                               errors.get((side, shape_name, steps.FLOOR)))
    if tf1_server is not None and row['ms'] and row.get('tf1_ms'):
      row['vs_tf1'] = row['ms'] / row['tf1_ms']
    else:
      row['vs_tf1'] = None
    rows.append(row)
  return rows


# ---------------------------------------------------------------------------
# 1b. The configuration table.


def _table_variants(tf1_server):
  """(side, impl, xla) triples timed for each table row and mode."""
  variants = [('tf2', steps.FLOOR, False), ('tf2', steps.LAYER, False)]
  if FLAGS.xla:
    variants += [('tf2', steps.FLOOR, True), ('tf2', steps.LAYER, True)]
  if tf1_server is not None:
    variants += [('tf1', steps.FLOOR, False), ('tf1', steps.LAYER, False)]
  return variants


def bench_table(tf1_server):
  """Times every configuration-table row and mode; returns its rows.

  Each row and mode is measured on its own (its graphs built, warmed up,
  timed in interleaved repetitions, then closed), so that only a few large
  graphs are alive at once.
  """
  import contrib_bn  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  local = steps.Server(tf, contrib_bn.batch_norm, {}, FLAGS.threads,
                       FLAGS.smoke)
  servers = {'tf2': local, 'tf1': tf1_server}
  rows = []
  for name in FLAGS.table_rows:
    for mode in FLAGS.modes:
      shape, data_format, dtype, kwargs = steps.table_row(name, FLAGS.smoke)
      row = {'row': name, 'mode': mode, 'shape': shape,
             'data_format': data_format, 'dtype': dtype,
             'kwargs': sorted(kwargs),
             'target': TABLE_TARGETS.get(name, TABLE_TARGET)}
      runnable = []
      for side, impl, xla in _table_variants(tf1_server):
        request = {'row': name, 'mode': mode, 'impl': impl, 'xla': xla}
        _log('  building %s %s/%s %s%s' % (side, name, mode, impl,
                                           ' xla' if xla else ''))
        reply = servers[side].handle(dict(request, cmd='setup'))
        label = '%s_%s%s' % (side, impl, '_xla' if xla else '')
        if reply['ok']:
          runnable.append((side, request, label))
          row[label + '_ops'] = reply['ops']
          servers[side].handle(dict(request, cmd='time',
                                    iters=FLAGS.warmup))
        else:
          row[label + '_error'] = reply['error']
          _log('    unavailable: %s' % reply['error'])
      iters = 1
      if not FLAGS.smoke and runnable:
        probe = local.handle({'cmd': 'time', 'row': name, 'mode': mode,
                              'impl': steps.FLOOR, 'xla': False,
                              'iters': 3})['seconds']
        iters = int(min(2000, max(1, math.ceil(
            FLAGS.rep_seconds / max(probe, 1e-6)))))
      times = {}
      for rep in range(FLAGS.repeats):
        for side, request, label in _rotated(runnable, rep):
          reply = servers[side].handle(dict(request, cmd='time',
                                            iters=iters))
          times.setdefault(label, []).append(reply['seconds'])
      for side, request, _ in runnable:
        servers[side].handle(dict(request, cmd='close'))
      row['steps_per_rep'] = iters
      for label, values in times.items():
        row[label + '_ms'] = _ms(values)
      for prefix in ('tf2', 'tf2_xla', 'tf1'):
        side = prefix.split('_')[0]
        suffix = '_xla' if prefix.endswith('xla') else ''
        own = times.get('%s_%s%s' % (side, steps.LAYER, suffix))
        floor = times.get('%s_%s%s' % (side, steps.FLOOR, suffix))
        row[prefix + '_ratio'] = _paired_ratio(own, floor)
        row[prefix + '_ratio_spread'] = _ratio_spread(own, floor)
      own = row.get('tf2_layer_ms')
      reference = row.get('tf1_layer_ms')
      row['vs_tf1'] = own / reference if own and reference else None
      _log('  %s/%s: ratio %s (XLA %s, TF 1.15 %s)' % (
          name, mode, _fmt(row['tf2_ratio']), _fmt(row['tf2_xla_ratio']),
          _fmt(row['tf1_ratio'])))
      rows.append(row)
  return rows


def processor_name():
  """The processor's model name, or 'unknown processor'.

  Ratios to the floor depend on it: how fast the fused kernel runs against
  separate reductions differs between processors and their vector units.
  """
  try:
    with open('/proc/cpuinfo') as f:
      for line in f:
        if line.startswith('model name'):
          return line.split(':', 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or 'unknown processor'


def table_markdown(rows, meta):
  """The configuration table as markdown, with the run's conditions."""
  out = ['Measured %s: TensorFlow %s with oneDNN %s on %d CPU(s) (%s), '
         'load average %s before and %s after the run; %s; medians of %d '
         'interleaved repetitions.'
         % (meta['date'], meta['tf_version'], _onednn_word(meta),
            meta['cpus'], meta.get('processor', 'unknown processor'),
            _fmt(meta['load_before'], 2), _fmt(meta['load_after'], 2),
            meta.get('conditions') or 'conditions not stated',
            meta['repeats']), '']
  if meta['smoke']:
    out[0] = 'Smoke run: tiny shapes, one step per repetition; the figures ' \
        'mean nothing. ' + out[0]
  header = ['configuration', 'shape', 'mode', 'step ms', 'vs floor',
            'target', 'XLA ms', 'XLA vs XLA floor', 'TF 1.15 ms',
            'TF 1.15 vs its floor', 'vs TF 1.15']
  out.append('| ' + ' | '.join(header) + ' |')
  out.append('|---|---|---|' + '---:|' * (len(header) - 3))
  for row in rows:
    shape = '[%s] %s %s' % (','.join(str(d) for d in row['shape']),
                            row['data_format'], row['dtype'])
    tf1_ms = row.get('tf1_layer_ms')
    cells = [row['row'], shape, row['mode'], _fmt(row.get('tf2_layer_ms'), 2),
             _fmt(row.get('tf2_ratio'), 2), '<= %.2f' % row['target'],
             _fmt(row.get('tf2_layer_xla_ms'), 2),
             _fmt(row.get('tf2_xla_ratio'), 2),
             _fmt(tf1_ms, 2) if tf1_ms or not row.get('tf1_layer_error') else
             'cannot run',
             _fmt(row.get('tf1_ratio'), 2), _fmt(row.get('vs_tf1'), 2)]
    out.append('| ' + ' | '.join(cells) + ' |')
  return '\n'.join(out) + '\n'


def table_chart(rows, meta, path):
  """Writes the configuration table's ratios as a bar chart."""
  try:
    import matplotlib  # pylint: disable=g-import-not-at-top
    matplotlib.use('Agg')
    from matplotlib import pyplot  # pylint: disable=g-import-not-at-top
  except ImportError:
    return False
  labels = ['%s\n%s' % (r['row'], r['mode']) for r in rows]
  series = [('contrib_bn, TF %s' % meta['tf_version'], 'tf2_ratio'),
            ('contrib_bn under XLA (vs XLA floor)', 'tf2_xla_ratio'),
            ('tf.contrib, TF 1.15', 'tf1_ratio')]
  series = [s for s in series if any(r.get(s[1]) for r in rows)]
  width = 0.8 / max(len(series), 1)
  figure, axes = pyplot.subplots(figsize=(max(8, 0.75 * len(rows)), 4.5))
  for i, (name, key) in enumerate(series):
    xs = [k + (i - (len(series) - 1) / 2.0) * width for k in range(len(rows))]
    present = [(x, r[key]) for x, r in zip(xs, rows) if r.get(key)]
    axes.bar([p[0] for p in present], [p[1] for p in present], width,
             label=name)
  axes.axhline(1.0, color='black', linewidth=0.8)
  axes.axhline(TABLE_TARGET, color='grey', linewidth=0.6, linestyle='--')
  axes.set_xticks(range(len(rows)))
  axes.set_xticklabels(labels, fontsize=7)
  axes.set_ylabel('step time / floor of the same TF')
  axes.set_xlim(-0.6, len(rows) - 0.4)
  axes.set_title('Configurations against fused_batch_norm (+ assigns), %s'
                 % meta['date'])
  axes.legend(fontsize=8)
  figure.tight_layout()
  partial = path + '.partial.png'
  figure.savefig(partial, dpi=120)
  pyplot.close(figure)
  os.replace(partial, path)
  return True


def docs_block(results, table_rows):
  """The performance page's generated block: every figure of the run.

  The configuration table, the training step of each internal path, graph
  construction and peak memory, each from this run only, so no figure in
  the block can be older than the others.
  """
  meta = results['meta']
  table_line, step_line = chart_lines(_onednn_word(meta))
  out = [table_markdown(table_rows, meta), table_line]
  if results.get('step'):
    tf1 = meta.get('tf1_version')
    out += ['Training step of each internal path (same run):', '',
            '| shape | path | step vs floor | vs TF 1.15 |',
            '|---|---|---:|---:|']
    for row in results['step']:
      versus = _fmt(row.get('vs_tf1')) if tf1 else 'not measured'
      if tf1 and row.get('tf1_error'):
        versus = 'TF 1.15 cannot run it'
      out.append('| %s | %s | %s | %s |' % (
          _shape_label(row), row['path'], _fmt(row['ratio']), versus))
    out += ['', step_line]
  growth = {row['impl']: row for row in results.get('growth', [])}
  graph = [row for row in results.get('graph', []) if row['impl'] != 'floor']
  if graph and steps.FLOOR in growth:
    largest = max(graph, key=lambda row: row['layers'])
    own = growth.get(largest['impl'])
    floor = growth[steps.FLOOR]
    floor_row = next((r for r in results['graph']
                      if r['impl'] == steps.FLOOR and
                      r['layers'] == largest['layers']), {})
    out.append(
        'Graph construction (%s path): %s the floor per layer at %d layers, '
        'the garbage collector\'s pauses apart (%s ops against the floor\'s '
        '%s; %s live objects per layer against %s, %sx, which bounds the '
        'collector\'s share); %d layers take %sx the time of %d '
        '(the floor: %sx, linear: %s).' % (
            largest['impl'], _fmt(largest['ratio']), largest['layers'],
            _fmt(largest['ops_per_layer'], 1),
            _fmt(floor_row.get('ops_per_layer'), 1),
            _fmt(largest.get('objects_per_layer'), 1),
            _fmt(floor_row.get('objects_per_layer'), 1),
            _fmt(largest.get('objects_ratio')),
            own['large'], _fmt(own['total_growth']), own['middle'],
            _fmt(floor['total_growth']),
            _fmt(own['linear_total_growth'], 2)))
    out.append('')
  memory = [row for row in results.get('memory', [])
            if row['impl'] != steps.FLOOR and row.get('ratio')]
  if memory:
    out.append('Peak memory of a training step against the floor: %s.' % (
        ', '.join('%s %s' % (row['impl'], _fmt(row['ratio']))
                  for row in memory)))
    out.append('')
  return '\n'.join(out)


def _onednn_word(meta):
  return 'on' if meta.get('onednn') else 'off'


def replace_docs_block(text, block, onednn):
  """`text` with the bench-table block of oneDNN `onednn` replaced."""
  start_marker, end_marker = docs_markers(onednn)
  start = text.find(start_marker)
  end = text.find(end_marker)
  if start < 0 or end < start:
    raise ValueError('the page has no %r ... %r block' % (start_marker,
                                                          end_marker))
  return (text[:start + len(start_marker)] + '\n' + block +
          text[end:])


def update_page(block, onednn, path=PERFORMANCE_PAGE):
  with open(path) as f:
    text = f.read()
  # Written beside the page and renamed over it, so an interrupted run
  # leaves the old page whole.
  partial = path + '.partial'
  with open(partial, 'w') as f:
    f.write(replace_docs_block(text, block, onednn))
  os.replace(partial, path)


def _ms(seconds):
  return None if not seconds else _median(seconds) * 1000.0


def _paired_ratio(own, floor):
  # Each repetition of a path is paired with the floor of the same
  # repetition, so slow drift cancels out of the ratio.
  if not own or not floor:
    return None
  return _median([a / b for a, b in zip(own, floor)])


def _ratio_spread(own, floor):
  """Half the interquartile range of the paired ratios (0 for < 4 pairs)."""
  if not own or not floor:
    return None
  ratios = sorted(a / b for a, b in zip(own, floor))
  if len(ratios) < 4:
    return 0.0
  quartiles = statistics.quantiles(ratios, n=4)
  return (quartiles[2] - quartiles[0]) / 2.0


# ---------------------------------------------------------------------------
# 2. Graph construction.


class _CollectorClock(object):
  """Total time spent in Python's cyclic garbage collector, from its hooks."""

  def __init__(self):
    self.seconds = 0.0
    self._start = None
    gc.callbacks.append(self._hook)

  def _hook(self, phase, unused_info):
    if phase == 'start':
      self._start = time.perf_counter()
    elif self._start is not None:
      self.seconds += time.perf_counter() - self._start
      self._start = None


_COLLECTOR = _CollectorClock()


class _Stack(object):
  """A growing stack of one implementation's layers, in its own graph."""

  def __init__(self, tf, impl):
    import contrib_bn  # pylint: disable=g-import-not-at-top
    shape, data_format = steps.SHAPES['nhwc']
    self.tf = tf
    self.graph = tf.Graph()
    self.seconds = 0.0
    self.collector_seconds = 0.0
    with self.graph.as_default():
      self.top = tf.compat.v1.placeholder(tf.float32, shape)
      if impl == steps.FLOOR:
        self.layer = lambda x: steps.floor_batch_norm(tf, x, data_format)
      else:
        kwargs = steps.path_kwargs(tf, impl, shape, data_format)
        self.layer = lambda x: contrib_bn.batch_norm(x, **kwargs)

  def grow(self):
    """Adds one layer and a cheap op after it, as an activation would be."""
    with self.graph.as_default():
      paused = _COLLECTOR.seconds
      start = time.perf_counter()
      self.top = self.tf.nn.relu(self.layer(self.top))
      elapsed = time.perf_counter() - start
      collector = _COLLECTOR.seconds - paused
      self.seconds += elapsed - collector
      self.collector_seconds += collector

  def op_count(self):
    return len(self.graph.get_operations())


def _stacks(tf, impls, count, rep):
  """Builds `count` layers of each implementation, one layer of each in turn.

  Interleaving layer by layer exposes every implementation to the same
  moments of machine load, which a build of several seconds would not.

  Args:
    tf: the TensorFlow module.
    impls: implementations to build.
    count: layers per stack.
    rep: repetition number; rotates which implementation goes first.

  Returns:
    {impl: (seconds outside the garbage collector, op count, seconds in it)}.
  """
  stacks = {impl: _Stack(tf, impl) for impl in impls}
  gc.collect()
  for i in range(count):
    for impl in _rotated(impls, i + rep):
      stacks[impl].grow()
  result = {impl: (s.seconds, s.op_count(), s.collector_seconds)
            for impl, s in stacks.items()}
  del stacks
  gc.collect()
  return result


def bench_graph(graph_paths):
  """Graph-construction rows, growth rows and the optional profile text."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  counts = [int(n) for n in FLAGS.layers]
  impls = [steps.FLOOR] + list(graph_paths)
  # One untimed small build first loads every code path.
  _stacks(tf, impls, 2, 0)
  times = {}
  ops = {}
  collector = {}
  for rep in range(FLAGS.graph_repeats):
    for count in counts:
      for impl, (seconds, op_count, in_collector) in _stacks(
          tf, impls, count, rep).items():
        times.setdefault((impl, count), []).append(seconds)
        collector.setdefault((impl, count), []).append(in_collector)
        ops[(impl, count)] = op_count
        _log('  graph %s x%d: %.2f s (+%.2f s garbage collector)' % (
            impl, count, seconds, in_collector))
  objects = {impl: _live_objects_per_layer(tf, impl, counts[0])
             for impl in impls}
  rows = []
  for impl in impls:
    for count in counts:
      total = _median(times[(impl, count)])
      floor_total = _median(times[(steps.FLOOR, count)])
      rows.append({
          'impl': impl, 'layers': count, 'total_s': total,
          'per_layer_ms': total / count * 1000.0,
          'ops': ops[(impl, count)],
          'ops_per_layer': ops[(impl, count)] / float(count),
          'collector_s': _median(collector[(impl, count)]),
          'objects_per_layer': objects[impl],
          'objects_ratio': objects[impl] / objects[steps.FLOOR],
          'ratio': total / floor_total,
          'paired_ratio': _paired_ratio(times[(impl, count)],
                                        times[(steps.FLOOR, count)]),
      })
  small, middle, large = counts[0], counts[1], counts[-1]
  growth = []
  for impl in impls:
    per = {r['layers']: r for r in rows if r['impl'] == impl}
    growth.append({
        'impl': impl, 'small': small, 'middle': middle, 'large': large,
        'per_layer_growth': (per[large]['per_layer_ms'] /
                             per[small]['per_layer_ms']),
        'total_growth': per[large]['total_s'] / per[middle]['total_s'],
        'linear_total_growth': large / float(middle),
    })
  profile_text = None
  if FLAGS.profile_graph:
    profile_text = _profile_stack(tf, graph_paths[0], large)
  return rows, growth, profile_text


def _live_objects_per_layer(tf, impl, count):
  """Objects the collector tracks per layer, after a full collection.

  Counted over `count` layers after one, so that first-use caches are not
  charged to the layers. Deterministic, unlike the collector's pauses.
  """
  stack = _Stack(tf, impl)
  stack.grow()
  gc.collect()
  before = len(gc.get_objects())
  for _ in range(count):
    stack.grow()
  gc.collect()
  return (len(gc.get_objects()) - before) / float(count)


def _profile_stack(tf, impl, count):
  profiler = cProfile.Profile()
  profiler.enable()
  _stacks(tf, [impl], count, 0)
  profiler.disable()
  text = io.StringIO()
  stats = pstats.Stats(profiler, stream=text)
  stats.sort_stats('tottime').print_stats(40)
  stats.sort_stats('cumulative').print_stats(60)
  return text.getvalue()


# ---------------------------------------------------------------------------
# 3. Peak memory.


def _memory_worker():
  """Entry of `--worker=memory`: one step graph, then print the peak."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  batch_norm = None
  if FLAGS.impl != steps.FLOOR:
    import contrib_bn  # pylint: disable=g-import-not-at-top
    batch_norm = contrib_bn.batch_norm
  baseline = steps.current_rss_kib()
  shapes = steps.SMOKE_SHAPES if FLAGS.smoke else steps.SHAPES
  shape, data_format = shapes[FLAGS.shape]
  result = steps.measure_memory(tf, batch_norm, FLAGS.impl, shape,
                                data_format, FLAGS.memory_steps, baseline,
                                FLAGS.threads)
  print(json.dumps(result))


def _run_json(command, env):
  out = subprocess.run(command, capture_output=True, text=True, env=env,
                       timeout=900, check=False)
  lines = out.stdout.strip().splitlines()
  if out.returncode != 0 or not lines:
    raise RuntimeError('%s failed (%d): %s' % (
        ' '.join(command), out.returncode, out.stderr[-2000:]))
  return json.loads(lines[-1])


def _steps_peak_mib(samples):
  values = [s['steps_peak_kib'] for s in samples or []
            if s.get('steps_peak_kib')]
  return _median(values) / 1024.0 if values else None


def bench_memory(impls, tf1_python):
  """Peak resident memory of each implementation, one process per sample."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  common = ['--shape=%s' % MEMORY_SHAPE, '--threads=%d' % FLAGS.threads]
  if FLAGS.smoke:
    common.append('--smoke')
  jobs = []
  for impl in impls:
    jobs.append(('tf2', impl, [sys.executable, os.path.abspath(__file__),
                               '--worker=memory', '--impl=%s' % impl,
                               '--memory_steps=%d' % FLAGS.memory_steps] +
                 common))
    if tf1_python:
      jobs.append(('tf1', impl, [tf1_python,
                                 os.path.join(_HERE, '_bench_tf1.py'),
                                 '--mode=memory', '--impl=%s' % impl,
                                 '--steps=%d' % FLAGS.memory_steps] + common))
  tf1_env = dict(env)
  # Only the TF1 release's own packages: no contrib_bn on its path.
  tf1_env.pop('PYTHONPATH', None)
  ordered = []
  for rep in range(FLAGS.memory_repeats):
    ordered += _rotated(jobs, rep)

  def run(job):
    side, impl, command = job
    result = _run_json(command, tf1_env if side == 'tf1' else env)
    _log('  memory %s %s: peak %.1f MiB' % (side, impl,
                                             result['peak_kib'] / 1024.0))
    return result

  samples = {}
  with futures.ThreadPoolExecutor(max(1, FLAGS.memory_jobs)) as pool:
    for (side, impl, _), result in zip(ordered, pool.map(run, ordered)):
      samples.setdefault((side, impl), []).append(result)
  rows = []
  for impl in impls:
    row = {'impl': impl, 'shape_name': MEMORY_SHAPE}
    for side in ('tf2', 'tf1'):
      got = samples.get((side, impl))
      floor = samples.get((side, steps.FLOOR))
      prefix = '' if side == 'tf2' else 'tf1_'
      if not got:
        row.update({prefix + 'peak_mib': None, prefix + 'baseline_mib': None,
                    prefix + 'graph_mib': None, prefix + 'ratio': None,
                    prefix + 'steps_peak_mib': None,
                    prefix + 'steps_ratio': None, prefix + 'ops': None})
        continue
      peak = _median([s['peak_kib'] for s in got]) / 1024.0
      base = _median([s['baseline_kib'] for s in got]) / 1024.0
      floor_peak = (_median([s['peak_kib'] for s in floor]) / 1024.0
                    if floor else None)
      steps_peak = _steps_peak_mib(got)
      floor_steps_peak = _steps_peak_mib(floor)
      row.update({prefix + 'peak_mib': peak, prefix + 'baseline_mib': base,
                  prefix + 'graph_mib': peak - base,
                  prefix + 'ratio': peak / floor_peak if floor else None,
                  prefix + 'steps_peak_mib': steps_peak,
                  prefix + 'steps_ratio': (
                      steps_peak / floor_steps_peak
                      if steps_peak and floor_steps_peak else None),
                  prefix + 'ops': got[0]['op_count']})
    rows.append(row)
  return rows


# ---------------------------------------------------------------------------
# Targets and reports.


def evaluate_targets(step_rows, graph_rows, growth, memory_rows,
                     table_rows=()):
  """One row per target: what was measured and whether it is met."""
  targets = []
  for row in table_rows:
    targets.append(_target(
        'table %s/%s' % (row['row'], row['mode']),
        'ratio vs floor <= %.2f' % row['target'], row.get('tf2_ratio'),
        _at_most(row.get('tf2_ratio'), row['target'])))
  for row in step_rows:
    name = 'step %s/%s' % (row['shape_name'], row['path'])
    if row['path'] in STEP_TARGETS:
      limit = STEP_TARGETS[row['path']]
      targets.append(_target(name, 'ratio vs floor <= %.2f' % limit,
                             row['ratio'], _at_most(row['ratio'], limit)))
    elif row['path'] == steps.MOMENTS:
      if row.get('tf1_ms'):
        targets.append(_target(
            name, 'ms <= TF 1.15 moments ms (%.3f)' % row['tf1_ms'],
            row['ms'], row['ms'] <= row['tf1_ms']))
      else:
        targets.append(_target(name, 'ms <= TF 1.15 moments ms', row['ms'],
                               None))
  for row in graph_rows:
    if row['impl'] != steps.FLOOR:
      targets.append(_target(
          'graph %s per layer at %d layers' % (row['impl'], row['layers']),
          'ratio vs floor <= %.2f (garbage collector apart)' % GRAPH_TARGET,
          row['ratio'], row['ratio'] <= GRAPH_TARGET))
  for row in graph_rows:
    if row['impl'] != steps.FLOOR and row['layers'] == graph_rows[0]['layers']:
      targets.append(_target(
          'graph %s live objects per layer' % row['impl'],
          'ratio vs floor <= %.2f' % OBJECTS_TARGET, row['objects_ratio'],
          row['objects_ratio'] <= OBJECTS_TARGET))
  for row in growth:
    if row['impl'] != steps.FLOOR:
      targets.append(_target(
          'graph %s total %d vs %d layers' % (row['impl'], row['large'],
                                              row['middle']),
          'total ratio <= %.1f' % GROWTH_TARGET, row['total_growth'],
          row['total_growth'] <= GROWTH_TARGET))
  for row in memory_rows:
    if row['impl'] != steps.FLOOR:
      targets.append(_target(
          'peak memory %s/%s' % (row['shape_name'], row['impl']),
          'peak vs floor <= %.2f' % MEMORY_TARGET, row['ratio'],
          _at_most(row['ratio'], MEMORY_TARGET)))
  return targets


def _target(name, criterion, value, met):
  # A measurement that could not be taken is neither met nor missed.
  return {'name': name, 'criterion': criterion, 'value': value,
          'met': None if value is None else met}


def _at_most(value, limit):
  return None if value is None else value <= limit


def _fmt(value, digits=3):
  if value is None:
    return 'n/a'
  if isinstance(value, float):
    return '%.*f' % (digits, value)
  return str(value)


def _shape_label(row):
  return '%s %s' % ('x'.join(str(d) for d in row['shape']),
                    row['data_format'] if len(row['shape']) == 4 else
                    'rank %d' % len(row['shape']))


def markdown(results):
  """The whole report as markdown."""
  meta = results['meta']
  tf1 = meta.get('tf1_version')
  out = ['# contrib_bn benchmark', '']
  out.append('TensorFlow %s, Python %s; %d CPU(s) (%s); load average %s '
             'before, %s after; %s.' % (
                 meta['tf_version'], meta['python'], meta['cpus'],
                 meta.get('processor', 'unknown processor'),
                 _fmt(meta['load_before'], 2), _fmt(meta['load_after'], 2),
                 'smoke run (figures meaningless)' if meta['smoke'] else
                 '%d interleaved repetitions' % meta['repeats']))
  if tf1:
    out.append('Reference: TensorFlow %s (Python %s) in a subprocess.' % (
        tf1, meta['tf1_python_version']))
  out.append('')
  out.append('Command: `%s`' % meta['command'])
  out += ['', '## Training step (median ms per step; ratio = median of '
          'per-repetition ratios against the floor, +- half IQR)', '']
  header = ['shape', 'path', 'contrib_bn ms', 'floor ms', 'ratio', 'target',
            'ops (floor)']
  if tf1:
    header += ['TF1.15 ms', 'TF1.15 floor ms', 'TF1.15 ratio',
               'contrib_bn / TF1.15']
  out.append('| ' + ' | '.join(header) + ' |')
  out.append('|' + '---|' * len(header))
  for row in results['step']:
    cells = [_shape_label(row), row['path'], _fmt(row['ms']),
             _fmt(row['floor_ms']),
             '%s +- %s' % (_fmt(row['ratio']), _fmt(row['ratio_spread'])),
             ('<= %.2f' % row['target']) if row['target'] else
             ('<= TF1.15' if row['path'] == steps.MOMENTS else '-'),
             '%s (%s)' % (row['ops'], row['floor_ops'])]
    if tf1:
      cells += [_fmt(row.get('tf1_ms')), _fmt(row.get('tf1_floor_ms')),
                _fmt(row.get('tf1_ratio')), _fmt(row.get('vs_tf1'))]
      if row.get('tf1_error'):
        # Name the failure in the cell of whatever could not run.
        failed = -4 if row.get('tf1_ms') is None else -3
        cells[failed] = 'n/a (%s)' % row['tf1_error'][:60]
    out.append('| ' + ' | '.join(cells) + ' |')
  if results.get('table'):
    out += ['', '## Configuration table (training and inference step, '
            'ratio against the floor of the same shape, dtype and mode)', '',
            table_markdown(results['table'], meta)]
  out += ['', '## Graph construction (median of %d)' % meta['graph_repeats'],
          '', 'Times leave out the garbage collector\'s pauses, shown apart; '
          'live objects per layer bound its share.', '',
          '| impl | layers | total s | ms per layer | ops per layer | '
          'ratio vs floor | collector s | live objects per layer |',
          '|---|---|---|---|---|---|---|---|']
  for row in results['graph']:
    out.append('| %s | %d | %s | %s | %s | %s | %s | %s |' % (
        row['impl'], row['layers'], _fmt(row['total_s']),
        _fmt(row['per_layer_ms']), _fmt(row['ops_per_layer'], 1),
        _fmt(row['ratio']), _fmt(row['collector_s']),
        _fmt(row['objects_per_layer'], 1)))
  out += ['', '| impl | per-layer growth | total growth | linear would be |',
          '|---|---|---|---|']
  for row in results['growth']:
    out.append('| %s | %s (%d vs %d layers) | %s (%d vs %d layers) | %s |' % (
        row['impl'], _fmt(row['per_layer_growth']), row['large'],
        row['small'], _fmt(row['total_growth']), row['large'], row['middle'],
        _fmt(row['linear_total_growth'], 2)))
  out += ['', '## Peak resident memory, training step at %s (median of %d '
          'fresh processes)' % (MEMORY_SHAPE, meta['memory_repeats']), '',
          'Peak: the whole process (VmHWM). Graph+run: peak less the resident '
          'memory after the imports. Steps-only: the peak while the training '
          'steps ran, counted afresh after graph set-up.', '']
  header = ['impl', 'peak MiB', 'after imports MiB', 'graph+run MiB',
            'peak vs floor', 'steps-only peak MiB (vs floor)', 'ops']
  if tf1:
    header += ['TF1.15 peak MiB', 'TF1.15 graph+run MiB', 'TF1.15 vs floor']
  out.append('| ' + ' | '.join(header) + ' |')
  out.append('|' + '---|' * len(header))
  for row in results['memory']:
    cells = [row['impl'], _fmt(row['peak_mib'], 1),
             _fmt(row['baseline_mib'], 1), _fmt(row['graph_mib'], 1),
             _fmt(row['ratio']),
             '%s (%s)' % (_fmt(row['steps_peak_mib'], 1),
                          _fmt(row['steps_ratio'])),
             _fmt(row['ops'])]
    if tf1:
      cells += [_fmt(row.get('tf1_peak_mib'), 1),
                _fmt(row.get('tf1_graph_mib'), 1), _fmt(row.get('tf1_ratio'))]
    out.append('| ' + ' | '.join(cells) + ' |')
  out += ['', '## Targets', '', '| target | criterion | value | met |',
          '|---|---|---|---|']
  for row in results['targets']:
    met = {True: 'yes', False: '**no**', None: 'not measured'}[row['met']]
    out.append('| %s | %s | %s | %s |' % (row['name'], row['criterion'],
                                          _fmt(row['value']), met))
  return '\n'.join(out) + '\n'


def chart(results, path):
  """Writes the step-time bar chart; returns False without matplotlib."""
  try:
    import matplotlib  # pylint: disable=g-import-not-at-top
    matplotlib.use('Agg')
    from matplotlib import pyplot  # pylint: disable=g-import-not-at-top
  except ImportError:
    return False
  rows = results['step']
  labels = ['%s\n%s' % (r['shape_name'], r['path']) for r in rows]
  series = [('contrib_bn, TF %s' % results['meta']['tf_version'],
             [r['ratio'] for r in rows])]
  if results['meta'].get('tf1_version'):
    series.append(('tf.contrib, TF %s' % results['meta']['tf1_version'],
                   [r.get('tf1_ratio') for r in rows]))
  width = 0.8 / len(series)
  figure, axes = pyplot.subplots(figsize=(max(8, 0.7 * len(rows)), 4.5))
  for i, (name, values) in enumerate(series):
    xs = [k + (i - (len(series) - 1) / 2.0) * width for k in range(len(rows))]
    present = [(x, v) for x, v in zip(xs, values) if v is not None]
    axes.bar([p[0] for p in present], [p[1] for p in present], width,
             label=name)
    for x, v in zip(xs, values):
      if v is None:
        axes.text(x, 0.05, 'n/a', ha='center', va='bottom', fontsize=7,
                  rotation=90)
  axes.axhline(1.0, color='black', linewidth=0.8)
  for limit in (FUSED_TARGET, CORE_TARGET):
    axes.axhline(limit, color='grey', linewidth=0.6, linestyle='--')
  axes.set_xticks(range(len(rows)))
  axes.set_xticklabels(labels, fontsize=7)
  axes.set_ylabel('step time / floor of the same TF')
  axes.set_xlim(-0.6, len(rows) - 0.4)
  axes.set_title('Training-step time relative to fused_batch_norm + assigns')
  axes.legend(fontsize=8)
  figure.tight_layout()
  figure.savefig(path, dpi=120)
  pyplot.close(figure)
  return True


# ---------------------------------------------------------------------------


def _apply_smoke_settings():
  for name, value in _SMOKE_SETTINGS.items():
    if not FLAGS[name].present:
      setattr(FLAGS, name, value)


def main(argv):
  del argv
  if FLAGS.smoke:
    _apply_smoke_settings()
  if FLAGS.worker == 'memory':
    _memory_worker()
    return 0
  unknown = set(FLAGS.paths) - set(steps.PATHS)
  unknown |= set(FLAGS.graph_paths) - set(steps.PATHS)
  unknown |= set(FLAGS.shapes) - set(steps.SHAPE_ORDER)
  if unknown:
    raise app.UsageError('unknown paths: %s' % ', '.join(sorted(unknown)))
  unknown = set(FLAGS.table_rows) - set(steps.TABLE_ROW_NAMES)
  unknown |= set(FLAGS.modes) - set(steps.MODES)
  if unknown:
    raise app.UsageError('unknown table rows or modes: %s' %
                         ', '.join(sorted(unknown)))
  if len(FLAGS.layers) != 3:
    raise app.UsageError('--layers needs three stack sizes A,B,C')
  load_before = _load()
  started = time.time()
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from contrib_bn.conformance import environment  # pylint: disable=g-import-not-at-top
  shapes = steps.SMOKE_SHAPES if FLAGS.smoke else steps.SHAPES
  cases = [c for c in steps.cases(FLAGS.paths) if c[0] in FLAGS.shapes]
  _check_paths(shapes, cases)

  tf1_python = None
  tf1_server = None
  if FLAGS.tf1:
    tf1_python = discover_tf1_python()
    if not tf1_python:
      raise app.UsageError(
          '--tf1 needs a Python with TensorFlow 1.15: pass --tf1_python or '
          'set CONTRIB_BN_TF1_PYTHON')
    tf1_server = RemoteServer(tf1_python, FLAGS.smoke, FLAGS.threads)

  if FLAGS.xla:
    # Read when TensorFlow first initializes its devices; sessions without a
    # jit level are not affected.
    from contrib_bn.conformance import xla_flags  # pylint: disable=g-import-not-at-top
    xla_flags.request_cpu_clustering()
  _log('Training steps (%d cases)' % len(cases))
  try:
    step_rows = bench_steps(shapes, cases, tf1_server)
    _log('Configuration table (%d rows x %d modes)' % (
        len(FLAGS.table_rows), len(FLAGS.modes)))
    table_rows = bench_table(tf1_server)
  finally:
    if tf1_server is not None:
      tf1_server.close()
  _log('Graph construction')
  graph_rows, growth, profile_text = bench_graph(FLAGS.graph_paths)
  _log('Peak memory')
  memory_impls = [steps.FLOOR] + [p for p in steps.SHAPE_PATHS[MEMORY_SHAPE]
                                  if p in FLAGS.paths]
  memory_rows = bench_memory(memory_impls, tf1_python)

  results = {
      'meta': {
          'command': ' '.join(shlex.quote(a) for a in
                              [os.path.relpath(sys.executable)] + sys.argv),
          'tf_version': tf.__version__,
          'python': sys.version.split()[0],
          'cpus': os.cpu_count() or 0,
          'processor': processor_name(),
          'load_before': load_before,
          'load_after': _load(),
          'seconds': time.time() - started,
          'smoke': FLAGS.smoke,
          'repeats': FLAGS.repeats,
          'warmup': FLAGS.warmup,
          'graph_repeats': FLAGS.graph_repeats,
          'memory_repeats': FLAGS.memory_repeats,
          'memory_steps': FLAGS.memory_steps,
          'threads': FLAGS.threads,
          'tf1_version': tf1_server.tf_version if tf1_server else None,
          'tf1_python_version': (tf1_server.python_version if tf1_server
                                 else None),
          'tf1_python': tf1_python,
          'date': time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started)),
          'conditions': FLAGS.conditions,
          'xla': FLAGS.xla,
          'onednn': environment.onednn_enabled(),
          'onednn_setting': os.environ.get(environment.ONEDNN_VARIABLE,
                                           'default'),
      },
      'step': step_rows,
      'table': table_rows,
      'graph': graph_rows,
      'growth': growth,
      'memory': memory_rows,
  }
  results['targets'] = evaluate_targets(step_rows, graph_rows, growth,
                                        memory_rows, table_rows)
  os.makedirs(FLAGS.out_dir, exist_ok=True)
  report = markdown(results)
  with open(os.path.join(FLAGS.out_dir, 'results.md'), 'w') as f:
    f.write(report)
  with open(os.path.join(FLAGS.out_dir, 'results.json'), 'w') as f:
    json.dump(results, f, indent=1, sort_keys=True)
  if profile_text:
    with open(os.path.join(FLAGS.out_dir, 'graph_profile.txt'), 'w') as f:
      f.write(profile_text)
  print(report)
  if table_rows:
    table_png = os.path.join(FLAGS.out_dir, 'configurations.png')
    table_chart(table_rows, results['meta'], table_png)
  if FLAGS.update_docs:
    if not table_rows:
      raise app.UsageError('--update_docs needs --table_rows')
    onednn = _onednn_word(results['meta'])
    table_path, step_path = chart_paths(onednn)
    update_page(docs_block(results, table_rows), onednn)
    table_chart(table_rows, results['meta'], table_path)
    if results.get('step'):
      chart(results, step_path)
    print('docs/performance.md figures with oneDNN %s, %s and %s rewritten' % (
        onednn, table_path, step_path))
  png = os.path.join(FLAGS.out_dir, 'step_times.png')
  if chart(results, png):
    print('Chart written to %s' % png)
  else:
    print('matplotlib is not installed: skipped the chart (pip install '
          'matplotlib to get step_times.png).')
  return 0


if __name__ == '__main__':
  app.run(main)
