"""Benchmarks `contrib_bn.batch_norm` against a hand-written floor.

One run measures, on the running TensorFlow 2:

1. Training-step time (forward, backward, moving-average updates and a
   GradientDescent step on gamma/beta, in a `tf.compat.v1.Session`) of each
   internal path of `contrib_bn.batch_norm`, as a ratio against the floor:
   `tf.compat.v1.nn.fused_batch_norm` plus two `assign_sub` updates built by
   hand, with the same loss and optimizer (see `_bench_cases.py`).
2. Graph-construction time per layer for stacks of layers (200, 250 and 1,000
   by default; each layer's output, through a ReLU, feeds the next), for
   `contrib_bn.batch_norm`, `contrib_bn.layers.batch_normalization` and the
   floor built by hand, and how it grows, the garbage collector's pauses
   apart (see `_bench_graph.py`).
3. Peak resident memory of one training-step graph per implementation, each
   in a fresh subprocess.
4. With `--tf1`, the step times (and peak memory) of TF 1.15's
   `tf.contrib.layers.batch_norm` (and `tf.layers.batch_normalization`) and
   its floor, from a Python 3.7 subprocess, as a reference column.
5. The configuration table (`--table_rows`): the default core layer (NHWC),
   `fused=False`, renorm, `batch_weights`, rank 5, rank 3, NCHW, float16,
   bfloat16 and `tf.layers.batch_normalization` (fused by default, and
   `fused=False`), each in training and in inference, against the floor of
   the same shape, dtype and mode; with `--xla` (the default) also under XLA
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

The entry point: flags and the order of the measurements. Each
measurement has a module beside it: `_bench_steps.py` (step and table
timing), `_bench_graph.py` (graph construction), `_bench_memory.py` (peak
memory), `_bench_remote.py` (the TF 1.15 subprocess), `_bench_targets.py`
(bounds), `_bench_report.py` (results.md and the performance page) and
`_bench_charts.py`; `_bench_stats.py` holds the interleaving and statistics.
`_bench_cases.py` (what is measured, and the floor) and `_bench_tf1.py` (the
step graphs) are what both TensorFlow releases build.
"""

import json
import os
import shlex
import sys
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

# pylint: disable=wrong-import-position
import _bench_cases as catalogue
import _bench_charts as charts
import _bench_graph as graph
import _bench_memory as memory
import _bench_remote as remote
import _bench_report as report
import _bench_stats as stats
import _bench_steps as step_timing
import _bench_targets as targets
# pylint: enable=wrong-import-position

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
flags.DEFINE_list('paths', list(catalogue.PATHS),
                  'Paths to measure: %s.' % ', '.join(catalogue.PATHS))
flags.DEFINE_list('shapes', list(catalogue.SHAPE_ORDER),
                  'Step-benchmark shapes: %s.' %
                  ', '.join(catalogue.SHAPE_ORDER))
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
flags.DEFINE_list('graph_paths', [catalogue.CORE, catalogue.TF_LAYERS],
                  'Paths whose graph construction is measured (rank-4 NHWC '
                  'input): %s.' % ', '.join(catalogue.GRAPH_IMPLS))
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
flags.DEFINE_list('table_rows', list(catalogue.TABLE_ROW_NAMES),
                  'Configuration-table rows to time (empty: none): %s.' %
                  ', '.join(catalogue.TABLE_ROW_NAMES))
flags.DEFINE_list('modes', list(catalogue.MODES),
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
flags.DEFINE_enum('impl', catalogue.FLOOR, list(catalogue.IMPLS),
                  'Internal, memory worker: the implementation.')
flags.DEFINE_enum('shape', 'nhwc', list(catalogue.SHAPE_ORDER),
                  'Internal, memory worker: the input shape.')

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



def _apply_smoke_settings():
  for name, value in _SMOKE_SETTINGS.items():
    if not FLAGS[name].present:
      setattr(FLAGS, name, value)


def main(argv):
  del argv
  if FLAGS.smoke:
    _apply_smoke_settings()
  if FLAGS.worker == 'memory':
    memory.memory_worker(FLAGS)
    return 0
  unknown = set(FLAGS.paths) - set(catalogue.PATHS)
  unknown |= set(FLAGS.graph_paths) - set(catalogue.GRAPH_IMPLS)
  unknown |= set(FLAGS.shapes) - set(catalogue.SHAPE_ORDER)
  if unknown:
    raise app.UsageError('unknown paths: %s' % ', '.join(sorted(unknown)))
  unknown = set(FLAGS.table_rows) - set(catalogue.TABLE_ROW_NAMES)
  unknown |= set(FLAGS.modes) - set(catalogue.MODES)
  if unknown:
    raise app.UsageError('unknown table rows or modes: %s' %
                         ', '.join(sorted(unknown)))
  if len(FLAGS.layers) != 3:
    raise app.UsageError('--layers needs three stack sizes A,B,C')
  load_before = stats.load_average()
  started = time.time()
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  # pylint: disable=g-import-not-at-top
  from contrib_bn.conformance import environment
  shapes = catalogue.SMOKE_SHAPES if FLAGS.smoke else catalogue.SHAPES
  cases = [c for c in catalogue.cases(FLAGS.paths) if c[0] in FLAGS.shapes]
  step_timing.check_paths(shapes, cases)

  tf1_python = None
  tf1_server = None
  if FLAGS.tf1:
    tf1_python = remote.discover_tf1_python(FLAGS.tf1_python)
    if not tf1_python:
      raise app.UsageError(
          '--tf1 needs a Python with TensorFlow 1.15: pass --tf1_python or '
          'set CONTRIB_BN_TF1_PYTHON')
    tf1_server = remote.RemoteServer(tf1_python, FLAGS.smoke, FLAGS.threads)

  if FLAGS.xla:
    # Read when TensorFlow first initializes its devices; sessions without a
    # jit level are not affected.
    # pylint: disable=g-import-not-at-top
    from contrib_bn.conformance import xla_flags
    xla_flags.request_cpu_clustering()
  stats.log('Training steps (%d cases)' % len(cases))
  try:
    step_rows = step_timing.bench_steps(shapes, cases, tf1_server, FLAGS)
    stats.log('Configuration table (%d rows x %d modes)' % (
        len(FLAGS.table_rows), len(FLAGS.modes)))
    table_rows = step_timing.bench_table(tf1_server, FLAGS)
  finally:
    if tf1_server is not None:
      tf1_server.close()
  stats.log('Graph construction')
  graph_rows, growth, profile_text = graph.bench_graph(FLAGS.graph_paths, FLAGS)
  stats.log('Peak memory')
  memory_impls = [catalogue.FLOOR] + [
      p for p in catalogue.SHAPE_PATHS[targets.MEMORY_SHAPE]
      if p in FLAGS.paths]
  memory_rows = memory.bench_memory(memory_impls, tf1_python, FLAGS)

  results = {
      'meta': {
          'command': ' '.join(shlex.quote(a) for a in
                              [os.path.relpath(sys.executable)] + sys.argv),
          'tf_version': tf.__version__,
          'python': sys.version.split()[0],
          'cpus': os.cpu_count() or 0,
          'processor': report.processor_name(),
          'load_before': load_before,
          'load_after': stats.load_average(),
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
  results['targets'] = targets.evaluate_targets(step_rows, graph_rows, growth,
                                        memory_rows, table_rows)
  os.makedirs(FLAGS.out_dir, exist_ok=True)
  text = report.markdown(results)
  with open(os.path.join(FLAGS.out_dir, 'results.md'), 'w') as f:
    f.write(text)
  with open(os.path.join(FLAGS.out_dir, 'results.json'), 'w') as f:
    json.dump(results, f, indent=1, sort_keys=True)
  if profile_text:
    with open(os.path.join(FLAGS.out_dir, 'graph_profile.txt'), 'w') as f:
      f.write(profile_text)
  print(text)
  if table_rows:
    table_png = os.path.join(FLAGS.out_dir, 'configurations.png')
    charts.table_chart(table_rows, results['meta'], table_png)
  if FLAGS.update_docs:
    if not table_rows:
      raise app.UsageError('--update_docs needs --table_rows')
    onednn = report.onednn_word(results['meta'])
    table_path, step_path = report.chart_paths(onednn)
    report.update_page(report.docs_block(results, table_rows), onednn)
    charts.table_chart(table_rows, results['meta'], table_path)
    if results.get('step'):
      charts.chart(results, step_path)
    print('docs/performance.md figures with oneDNN %s, %s and %s rewritten' % (
        onednn, table_path, step_path))
  png = os.path.join(FLAGS.out_dir, 'step_times.png')
  if charts.chart(results, png):
    print('Chart written to %s' % png)
  else:
    print('matplotlib is not installed: skipped the chart (pip install '
          'matplotlib to get step_times.png).')
  return 0


if __name__ == '__main__':
  app.run(main)
