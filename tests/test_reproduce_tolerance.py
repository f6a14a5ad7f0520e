"""Re-recordings on another processor compare equal; real changes do not.

The compat tests hold a fresh TF 1.15.5 recording (corpus, bad-input record,
migration run) to the committed one with `matching.record_differences` and
`matching.reproduce_tolerance`. These tests check both directions of that
comparison on the committed records themselves.
"""

import copy
import json
import os

import numpy as np
import pytest

from contrib_bn.conformance import matching

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PROBE_RECORD = os.path.join(_ROOT, 'tests', 'data', 'tf1_bad_inputs.json')
_CORPUS = os.path.join(_ROOT, 'contrib_bn', 'goldens', 'tf1.15.5')

# Last-bit noise seen between two processors, and a margin above it.
_ULP_MOVES = (1, 2, 4, 8)
# A real change to a recorded statistic that must never pass.
_REAL_CHANGE = 1e-4


def _move_floats(record, ulps):
  """`record` with every float moved `ulps` float64 ULPs away from zero."""
  if isinstance(record, float):
    value = record
    for _ in range(ulps):
      value = float(np.nextafter(value, np.copysign(np.inf, value)))
    return value
  if isinstance(record, dict):
    return {k: _move_floats(v, ulps) for k, v in record.items()}
  if isinstance(record, list):
    return [_move_floats(v, ulps) for v in record]
  return record


def _probe_cases():
  with open(_PROBE_RECORD) as f:
    return json.load(f)['cases']


def _first_case_with(cases, key):
  for case_id, case in sorted(cases.items()):
    observations = case.get('observations') or {}
    if isinstance(observations.get(key), float):
      return case_id
  raise AssertionError('no recorded case has a float %r' % key)


@pytest.mark.parametrize('ulps', _ULP_MOVES)
def test_probe_record_moved_by_ulps_compares_equal(ulps):
  cases = _probe_cases()
  moved = _move_floats(cases, ulps)
  assert moved != cases  # the move really changed floats
  assert matching.record_differences(cases, moved) == []


@pytest.mark.parametrize('key', ['input_output_correlation',
                                 'train_output_std'])
def test_probe_record_real_change_is_reported(key):
  cases = _probe_cases()
  case_id = _first_case_with(cases, key)
  changed = copy.deepcopy(cases)
  changed[case_id]['observations'][key] *= 1.0 + _REAL_CHANGE
  problems = matching.record_differences(cases, changed)
  assert len(problems) == 1, problems
  assert case_id in problems[0] and key in problems[0]


@pytest.mark.parametrize('change', [
    ('message text', lambda r: r.update(message=r['message'] + '!')),
    ('int', lambda r: r.update(count=r['count'] + 1)),
    ('bool', lambda r: r.update(flag=not r['flag'])),
    ('list length', lambda r: r['values'].append(1.0)),
    ('missing key', lambda r: r.pop('count')),
    ('extra key', lambda r: r.update(extra=None)),
    ('nan to number', lambda r: r['values'].__setitem__(2, 0.0)),
    ('infinity sign', lambda r: r['values'].__setitem__(3, float('-inf'))),
], ids=lambda c: c[0] if isinstance(c, tuple) else None)
def test_exact_parts_of_a_record_must_match(change):
  record = {'message': 'epsilon must be positive', 'count': 3, 'flag': True,
            'values': [0.5, 2.0, float('nan'), float('inf')]}
  changed = copy.deepcopy(record)
  change[1](changed)
  assert matching.record_differences(record, changed)
  assert matching.record_differences(record, copy.deepcopy(record)) == []


def _corpus_arrays(dtypes=('float32', 'float64'), limit=12):
  with open(os.path.join(_CORPUS, 'manifest.json')) as f:
    case_ids = json.load(f)['cases']
  arrays = []
  for case_id in case_ids:
    path = os.path.join(_CORPUS, case_id + '.npz')
    if not os.path.exists(path):
      continue  # an error case has no arrays
    with np.load(path) as f:
      for key in f.files:
        value = f[key]
        if value.dtype.name in dtypes and value.size and np.all(
            np.isfinite(value)):
          arrays.append(('%s/%s' % (case_id, key), value))
          break
    if len(arrays) == limit:
      break
  return arrays


@pytest.mark.parametrize('ulps', _ULP_MOVES)
def test_corpus_arrays_moved_by_ulps_reproduce(ulps):
  for name, value in _corpus_arrays():
    moved = value.copy()
    for _ in range(ulps):
      moved = np.nextafter(moved, np.copysign(np.inf, moved).astype(
          moved.dtype))
    diff = np.max(np.abs(moved.astype(np.float64) - value.astype(np.float64)))
    assert diff > 0, name
    assert diff <= matching.reproduce_tolerance(value), (name, ulps, diff)


@pytest.mark.parametrize('ulps', [1, matching.REPRODUCE_LOW_PRECISION_ULPS])
def test_half_precision_arrays_moved_by_their_own_ulps_reproduce(ulps):
  arrays = _corpus_arrays(dtypes=('float16',))
  assert arrays, 'the corpus has float16 cases'
  for name, value in arrays:
    moved = value
    for _ in range(ulps):
      moved = np.nextafter(moved, np.copysign(np.inf, moved).astype(
          moved.dtype))
    diff = np.max(np.abs(moved.astype(np.float64) - value.astype(np.float64)))
    assert diff <= matching.reproduce_tolerance(value), (name, ulps, diff)
    # Three of its own ULPs on a value near the scale is more than rounding.
    worse = np.nextafter(moved, np.copysign(np.inf, moved).astype(moved.dtype))
    big = np.argmax(np.abs(value.astype(np.float64)))
    if abs(float(value.flat[big])) >= 1.0:
      worse_diff = abs(float(worse.flat[big]) - float(value.flat[big]))
      if ulps == matching.REPRODUCE_LOW_PRECISION_ULPS:
        assert worse_diff > matching.reproduce_tolerance(value), name


def test_corpus_arrays_real_change_exceeds_tolerance():
  for name, value in _corpus_arrays():
    changed = value.astype(np.float64) * (1.0 + _REAL_CHANGE)
    diff = np.max(np.abs(changed - value.astype(np.float64)))
    # A statistic near 1 or above moves by 1e-4 of its scale: 100 times the
    # tolerance. Smaller arrays are measured against a scale of 1, so only
    # those with a visible magnitude are a meaningful check.
    if np.max(np.abs(value)) >= 1.0:
      assert diff > matching.reproduce_tolerance(value), name


@pytest.mark.parametrize('change', ['none', 'last_bit', 'dtype', 'shape',
                                    'key'])
def test_arrays_identical_is_exact(change):
  a = {'x': np.array([1.0, 2.0], np.float32), 'n': np.array([3], np.int64)}
  b = {k: v.copy() for k, v in a.items()}
  if change == 'last_bit':
    b['x'][1] = np.nextafter(b['x'][1], np.float32(3.0))
  elif change == 'dtype':
    b['x'] = b['x'].astype(np.float64)
  elif change == 'shape':
    b['x'] = b['x'].reshape([2, 1])
  elif change == 'key':
    b['y'] = b.pop('x')
  assert matching.arrays_identical(a, b) == (change == 'none')
