"""Smoke test of benchmarks/bench.py: it runs and reports every row.

Timing figures of a smoke run mean nothing, so nothing here asserts speed;
only that the run completes and every expected row holds finite, positive
numbers.
"""

import functools
import importlib
import json
import math
import os
import subprocess
import sys

import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_BENCHMARKS = os.path.join(_ROOT, 'benchmarks')
_BENCH = os.path.join(_BENCHMARKS, 'bench.py')

# Written out here rather than imported from the script, so that a row the
# script stops producing fails the test.
_STEP_ROWS = {
    ('nhwc', 'fused'), ('nhwc', 'fused_debias'), ('nhwc', 'core'),
    ('nhwc', 'renorm'), ('nhwc', 'moments'),
    ('nchw', 'fused'), ('nchw', 'fused_debias'), ('nchw', 'core'),
    ('nchw', 'renorm'), ('nchw', 'moments'),
    ('rank2', 'fused'), ('rank2', 'fused_debias'), ('rank2', 'renorm'),
    ('rank2', 'moments'),
    ('rank5', 'core'), ('rank5', 'renorm'), ('rank5', 'moments'),
}
_RANKS = {'nhwc': 4, 'nchw': 4, 'rank2': 2, 'rank5': 5}
_INTERNAL = {'fused': 'fused', 'fused_debias': 'fused', 'core': 'core',
             'renorm': 'core', 'moments': 'moments'}
_SMOKE_LAYERS = {4, 5, 20}
_TABLE_ROWS = {'core_nhwc', 'fused_false', 'renorm', 'batch_weights', 'rank5',
               'rank3', 'nchw', 'float16', 'bfloat16', 'tf_layers',
               'tf_layers_fused_false'}
# Implementations whose graph construction is measured, besides the floor.
_GRAPH_IMPLS = {'core', 'tf_layers'}
_MODES = {'train', 'infer'}
_MEMORY_IMPLS = {'floor', 'fused', 'fused_debias', 'core', 'renorm', 'moments'}


@functools.lru_cache(maxsize=None)
def _report_module():
  # The benchmark's modules import their siblings by name, as bench.py
  # runs them.
  if _BENCHMARKS not in sys.path:
    sys.path.insert(0, _BENCHMARKS)
  return importlib.import_module('_bench_report')


def _positive(value):
  return (isinstance(value, (int, float)) and not isinstance(value, bool) and
          math.isfinite(value) and value > 0)


def _run(out_dir, *extra):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  return subprocess.run(
      [sys.executable, _BENCH, '--smoke', '--out_dir=%s' % out_dir] +
      list(extra), capture_output=True, text=True, env=env, timeout=1500,
      check=False)


@pytest.fixture(scope='module')
def smoke(tmp_path_factory):
  out_dir = tmp_path_factory.mktemp('bench')
  result = _run(out_dir)
  return result, out_dir


def test_exits_zero_and_prints_the_table(smoke):
  result, _ = smoke
  assert result.returncode == 0, result.stderr[-3000:]
  assert '## Training step' in result.stdout
  assert '## Targets' in result.stdout


def test_writes_markdown_and_json(smoke):
  _, out_dir = smoke
  assert (out_dir / 'results.md').read_text().startswith('# contrib_bn')
  results = json.loads((out_dir / 'results.json').read_text())
  assert results['meta']['smoke'] is True
  # Ratios depend on the processor, so the report names it.
  processor = results['meta']['processor']
  assert isinstance(processor, str) and processor.strip()
  assert '(%s)' % processor in (out_dir / 'results.md').read_text()


def test_every_step_row_has_finite_positive_figures(smoke):
  _, out_dir = smoke
  results = json.loads((out_dir / 'results.json').read_text())
  rows = {(r['shape_name'], r['path']): r for r in results['step']}
  assert set(rows) == _STEP_ROWS
  for key, row in rows.items():
    assert len(row['shape']) == _RANKS[key[0]], key
    assert row['internal_path'] == _INTERNAL[key[1]], key
    for field in ('ms', 'floor_ms', 'ratio', 'ratio_of_medians', 'ops',
                  'floor_ops'):
      assert _positive(row[field]), (key, field, row[field])


def test_every_table_row_has_finite_positive_figures(smoke):
  _, out_dir = smoke
  results = json.loads((out_dir / 'results.json').read_text())
  rows = {(r['row'], r['mode']): r for r in results['table']}
  assert set(rows) == {(r, m) for r in _TABLE_ROWS for m in _MODES}
  for key, row in rows.items():
    for field in ('tf2_layer_ms', 'tf2_floor_ms', 'tf2_ratio',
                  'tf2_layer_xla_ms', 'tf2_floor_xla_ms', 'tf2_xla_ratio'):
      assert _positive(row[field]), (key, field, row.get(field))
  assert '## Configuration table' in (out_dir / 'results.md').read_text()


@pytest.mark.parametrize('onednn', ['off', 'on'])
def test_docs_block_is_replaced_between_the_markers(onednn):
  report = _report_module()
  start, end = report.docs_markers(onednn)
  other = report.docs_markers('on' if onednn == 'off' else 'off')
  text = 'a\n%s\nold table\n%s\n%s\nother\n%s\nb\n' % (
      start, end, other[0], other[1])
  replaced = report.replace_docs_block(text, 'new table\n', onednn)
  assert replaced == 'a\n%s\nnew table\n%s\n%s\nother\n%s\nb\n' % (
      start, end, other[0], other[1])
  with pytest.raises(ValueError):
    report.replace_docs_block('no markers', 'new table\n', onednn)
  with open(report.PERFORMANCE_PAGE) as f:
    page = f.read()
  assert page.index(start) < page.index(end)


def test_docs_block_holds_every_figure_of_the_run(smoke):
  _, out_dir = smoke
  report = _report_module()
  results = json.loads((out_dir / 'results.json').read_text())
  block = report.docs_block(results, results['table'])
  for name in _TABLE_ROWS:
    assert '| %s |' % name in block, name
  assert len(results['step']) == len(_STEP_ROWS)
  for row in results['step']:
    assert '| %s | %s |' % (report.shape_label(row), row['path']) in block
  assert 'Graph construction (core path)' in block
  assert 'Graph construction (tf.layers.batch_normalization)' in block
  assert 'Peak memory of a training step against the floor' in block
  onednn = 'on' if results['meta']['onednn'] else 'off'
  assert 'with oneDNN %s' % onednn in block
  for line in report.chart_lines(onednn):
    assert line in block


def test_every_graph_row_has_finite_positive_figures(smoke):
  _, out_dir = smoke
  results = json.loads((out_dir / 'results.json').read_text())
  rows = {(r['impl'], r['layers']): r for r in results['graph']}
  assert set(rows) == {(impl, n) for impl in {'floor'} | _GRAPH_IMPLS
                       for n in _SMOKE_LAYERS}
  for key, row in rows.items():
    for field in ('total_s', 'per_layer_ms', 'ops', 'ops_per_layer', 'ratio',
                  'objects_per_layer', 'objects_ratio'):
      assert _positive(row[field]), (key, field, row[field])
    # A short build may see no collection at all.
    assert row['collector_s'] == 0 or _positive(row['collector_s']), key
  growth = {r['impl']: r for r in results['growth']}
  assert set(growth) == {'floor'} | _GRAPH_IMPLS
  for impl, row in growth.items():
    for field in ('per_layer_growth', 'total_growth'):
      assert _positive(row[field]), (impl, field, row[field])


def test_every_memory_row_has_finite_positive_figures(smoke):
  _, out_dir = smoke
  results = json.loads((out_dir / 'results.json').read_text())
  rows = {r['impl']: r for r in results['memory']}
  assert set(rows) == _MEMORY_IMPLS
  for impl, row in rows.items():
    for field in ('peak_mib', 'baseline_mib', 'ratio', 'ops'):
      assert _positive(row[field]), (impl, field, row[field])
    # Not every kernel lets a process reset its peak count.
    for field in ('steps_peak_mib', 'steps_ratio'):
      assert row[field] is None or _positive(row[field]), (impl, field)


def test_targets_cover_every_measurement(smoke):
  _, out_dir = smoke
  results = json.loads((out_dir / 'results.json').read_text())
  names = [t['name'] for t in results['targets']]
  assert len(names) == len(set(names))
  # Every step row, every table row and mode, per measured graph the three
  # sizes, the live objects per layer and the growth, and every non-floor
  # memory row.
  assert len(names) == (len(_STEP_ROWS) + len(_TABLE_ROWS) * len(_MODES) +
                        (3 + 1 + 1) * len(_GRAPH_IMPLS) +
                        len(_MEMORY_IMPLS) - 1)
  for impl in _GRAPH_IMPLS:
    assert 'graph %s live objects per layer' % impl in names
    assert 'graph %s total 20 vs 5 layers' % impl in names
  for mode in _MODES:
    assert 'table tf_layers/%s' % mode in names
    assert 'table tf_layers_fused_false/%s' % mode in names


def test_chart_or_message(smoke):
  result, out_dir = smoke
  try:
    import matplotlib  # pylint: disable=g-import-not-at-top,unused-import
  except ImportError:
    assert 'matplotlib is not installed' in result.stdout
  else:
    assert (out_dir / 'step_times.png').stat().st_size > 0


def test_unknown_path_is_a_usage_error(tmp_path):
  result = _run(tmp_path, '--paths=fused,nonsense')
  assert result.returncode != 0
  assert 'nonsense' in result.stderr
  assert not (tmp_path / 'results.json').exists()


def test_tf1_reference_column(tmp_path):
  python = os.environ.get('CONTRIB_BN_TF1_PYTHON')
  if not python:
    pytest.skip('CONTRIB_BN_TF1_PYTHON names no TF 1.15 interpreter')
  result = _run(tmp_path, '--tf1', '--paths=core,moments',
                '--memory_repeats=0', '--table_rows=rank3,nchw,tf_layers')
  assert result.returncode == 0, result.stderr[-3000:]
  results = json.loads((tmp_path / 'results.json').read_text())
  assert results['meta']['tf1_version'].startswith('1.15')
  rows = {(r['shape_name'], r['path']): r for r in results['step']}
  # TF 1.15 has no NCHW fused kernel on CPU; everything else runs there.
  assert rows[('nchw', 'core')]['tf1_ms'] is None
  assert rows[('nchw', 'core')]['tf1_error']
  for key in (('nhwc', 'core'), ('nhwc', 'moments'), ('rank5', 'core'),
              ('rank2', 'moments')):
    assert _positive(rows[key]['tf1_ms']), key
    assert _positive(rows[key]['tf1_ratio']), key
  # The moments path runs there too, but without a floor to divide by.
  assert _positive(rows[('nchw', 'moments')]['tf1_ms'])
  assert rows[('nchw', 'moments')]['tf1_ratio'] is None
  table = {(r['row'], r['mode']): r for r in results['table']}
  for mode in _MODES:
    for row in ('rank3', 'tf_layers'):
      assert _positive(table[(row, mode)]['tf1_layer_ms']), (row, mode)
      assert _positive(table[(row, mode)]['tf1_ratio']), (row, mode)
  # No NCHW kernel in TF 1.15 on CPU: the floor cannot run there.
  assert table[('nchw', 'train')]['tf1_floor_error']
