"""The committed distributed corpus is what TF 1.15.5 records today."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from conftest import compare

CORPUS = os.path.join(ROOT, 'contrib_bn', 'goldens', 'distributed')
RECORDER = os.path.join(ROOT, 'scripts', 'record_distributed.py')


@pytest.fixture(scope='module')
def fresh_corpus(tmp_path_factory):
  # scripts/test.sh records the fresh corpus once for this test and for
  # `contrib_bn verify`; alone, the test records its own.
  given = os.environ.get('CONTRIB_BN_FRESH_DISTRIBUTED')
  if given:
    return given
  out = str(tmp_path_factory.mktemp('fresh_distributed'))
  subprocess.check_call([sys.executable, RECORDER, '--out', out,
                         '--check_determinism'])
  return out


def _load_json(directory, name):
  with open(os.path.join(directory, name)) as f:
    return json.load(f)


def test_same_cases(fresh_corpus):
  assert (_load_json(fresh_corpus, 'manifest.json') ==
          _load_json(CORPUS, 'manifest.json'))


def test_placement_reproduces(fresh_corpus):
  problems = compare.record_differences(
      _load_json(CORPUS, 'placement.json'),
      _load_json(fresh_corpus, 'placement.json'))
  assert not problems, '\n'.join(problems[:20])


def test_records_reproduce(fresh_corpus):
  for case_id in _load_json(CORPUS, 'manifest.json')['cases']:
    problems = compare.record_differences(
        _load_json(CORPUS, case_id + '.json'),
        _load_json(fresh_corpus, case_id + '.json'))
    assert not problems, '%s:\n%s' % (case_id, '\n'.join(problems[:20]))


def test_arrays_reproduce(fresh_corpus):
  for case_id in _load_json(CORPUS, 'manifest.json')['cases']:
    with np.load(os.path.join(CORPUS, case_id + '.npz')) as a, np.load(
        os.path.join(fresh_corpus, case_id + '.npz')) as b:
      assert sorted(a.files) == sorted(b.files), case_id
      for key in a.files:
        x = a[key].astype(np.float64)
        y = b[key].astype(np.float64)
        np.testing.assert_allclose(y, x, rtol=0,
                                   atol=compare.reproduce_tolerance(x),
                                   err_msg='%s %s' % (case_id, key))


def test_checkpoints_recorded(fresh_corpus):
  for case_id in _load_json(CORPUS, 'manifest.json')['cases']:
    committed = os.path.exists(
        os.path.join(CORPUS, 'checkpoints', case_id + '.index'))
    fresh = os.path.exists(
        os.path.join(fresh_corpus, 'checkpoints', case_id + '.index'))
    assert committed == fresh, case_id
