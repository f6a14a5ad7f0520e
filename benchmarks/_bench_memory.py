"""Peak resident memory of one training-step graph, one process per sample."""

from concurrent import futures
import json
import os
import subprocess
import sys

import _bench_cases as catalogue
import _bench_stats as stats
import _bench_targets as targets
import _bench_tf1 as steps

_HERE = os.path.dirname(os.path.abspath(__file__))
# The entry point, started again as `--worker=memory`.
_BENCH = os.path.join(_HERE, 'bench.py')


def memory_worker(options):
  """Entry of `--worker=memory`: one step graph, then print the peak."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  batch_norm = None
  if options.impl != catalogue.FLOOR:
    import contrib_bn  # pylint: disable=g-import-not-at-top
    batch_norm = contrib_bn.batch_norm
  baseline = steps.current_rss_kib()
  shapes = catalogue.SMOKE_SHAPES if options.smoke else catalogue.SHAPES
  shape, data_format = shapes[options.shape]
  result = steps.measure_memory(tf, batch_norm, options.impl, shape,
                                data_format, options.memory_steps, baseline,
                                options.threads)
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
  return stats.median(values) / 1024.0 if values else None


def bench_memory(impls, tf1_python, options):
  """Peak resident memory of each implementation, one process per sample."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  common = ['--shape=%s' % targets.MEMORY_SHAPE,
            '--threads=%d' % options.threads]
  if options.smoke:
    common.append('--smoke')
  jobs = []
  for impl in impls:
    jobs.append(('tf2', impl, [sys.executable, _BENCH,
                               '--worker=memory', '--impl=%s' % impl,
                               '--memory_steps=%d' % options.memory_steps] +
                 common))
    if tf1_python:
      jobs.append(('tf1', impl, [tf1_python,
                                 os.path.join(_HERE, '_bench_tf1.py'),
                                 '--mode=memory', '--impl=%s' % impl,
                                 '--steps=%d' % options.memory_steps] + common))
  tf1_env = dict(env)
  # Only the TF1 release's own packages: no contrib_bn on its path.
  tf1_env.pop('PYTHONPATH', None)
  ordered = []
  for rep in range(options.memory_repeats):
    ordered += stats.rotated(jobs, rep)

  def run(job):
    side, impl, command = job
    result = _run_json(command, tf1_env if side == 'tf1' else env)
    stats.log('  memory %s %s: peak %.1f MiB' % (side, impl,
                                             result['peak_kib'] / 1024.0))
    return result

  samples = {}
  with futures.ThreadPoolExecutor(max(1, options.memory_jobs)) as pool:
    for (side, impl, _), result in zip(ordered, pool.map(run, ordered)):
      samples.setdefault((side, impl), []).append(result)
  rows = []
  for impl in impls:
    row = {'impl': impl, 'shape_name': targets.MEMORY_SHAPE}
    for side in ('tf2', 'tf1'):
      got = samples.get((side, impl))
      floor = samples.get((side, catalogue.FLOOR))
      prefix = '' if side == 'tf2' else 'tf1_'
      if not got:
        row.update({prefix + 'peak_mib': None, prefix + 'baseline_mib': None,
                    prefix + 'graph_mib': None, prefix + 'ratio': None,
                    prefix + 'steps_peak_mib': None,
                    prefix + 'steps_ratio': None, prefix + 'ops': None})
        continue
      peak = stats.median([s['peak_kib'] for s in got]) / 1024.0
      base = stats.median([s['baseline_kib'] for s in got]) / 1024.0
      floor_peak = (stats.median([s['peak_kib'] for s in floor]) / 1024.0
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
