"""The committed corpus is what TF 1.15.5 records today, run after run."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from conftest import compare

CORPUS = os.path.join(ROOT, 'contrib_bn', 'goldens', 'tf1.15.5')
RECORDER = os.path.join(ROOT, 'scripts', 'record_goldens.py')


@pytest.fixture(scope='module')
def fresh_corpus(tmp_path_factory):
  # scripts/test.sh records the fresh corpus once for this test and for
  # `contrib_bn verify`; alone, the test records its own.
  given = os.environ.get('CONTRIB_BN_FRESH_CORPUS')
  if given:
    return given
  out = str(tmp_path_factory.mktemp('fresh'))
  subprocess.check_call([sys.executable, RECORDER, '--out', out,
                         '--check_determinism'])
  return out


def _ids(directory):
  with open(os.path.join(directory, 'manifest.json')) as f:
    return json.load(f)['cases']


def test_same_case_ids(fresh_corpus):
  assert _ids(fresh_corpus) == _ids(CORPUS)


def test_records_reproduce(fresh_corpus):
  for case_id in _ids(CORPUS):
    with open(os.path.join(CORPUS, case_id + '.json')) as f:
      committed = json.load(f)
    with open(os.path.join(fresh_corpus, case_id + '.json')) as f:
      fresh = json.load(f)
    problems = compare.record_differences(committed, fresh)
    assert not problems, '%s:\n%s' % (case_id, '\n'.join(problems[:20]))


def test_arrays_reproduce(fresh_corpus):
  for case_id in _ids(CORPUS):
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
  for case_id in _ids(CORPUS):
    committed = os.path.exists(
        os.path.join(CORPUS, 'checkpoints', case_id + '.index'))
    fresh = os.path.exists(
        os.path.join(fresh_corpus, 'checkpoints', case_id + '.index'))
    assert committed == fresh, case_id
