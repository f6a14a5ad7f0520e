"""A committed recording against a fresh one, made by the same recorder now.

Shared by the compat tests that re-record a committed golden directory under
TF 1.15.5 and require the same content: every float within the
cross-processor tolerance of `contrib_bn/conformance/matching.py`, everything
else (keys, strings, integers, shapes, which checkpoints exist) exactly.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import matching
from conftest import ROOT
from contrib_bn.conformance import corpus


def fresh_directory(env_var, recorder, tmp_path_factory, extra_args=()):
  """The directory of a fresh recording.

  scripts/test.sh records some corpora once and shares them with `verify`,
  naming the directory in `env_var`; otherwise `recorder` records one here,
  twice over (`--check_determinism`), into a temporary directory.
  """
  given = os.environ.get(env_var)
  if given:
    return given
  out = str(tmp_path_factory.mktemp('fresh'))
  subprocess.check_call([sys.executable, recorder, '--out', out,
                         '--check_determinism'] + list(extra_args))
  return out


def load_json(directory, name):
  return corpus.read_json(os.path.join(directory, name))


def assert_records_reproduce(committed, fresh, case_ids):
  for case_id in case_ids:
    problems = matching.record_differences(
        load_json(committed, case_id + '.json'),
        load_json(fresh, case_id + '.json'))
    assert not problems, '%s:\n%s' % (case_id, '\n'.join(problems[:20]))


def assert_arrays_reproduce(committed, fresh, case_ids):
  for case_id in case_ids:
    a = corpus.read_arrays(os.path.join(committed, case_id + '.npz'))
    b = corpus.read_arrays(os.path.join(fresh, case_id + '.npz'))
    assert sorted(a) == sorted(b), case_id
    for key in a:
      x = a[key].astype(np.float64)
      y = b[key].astype(np.float64)
      np.testing.assert_allclose(y, x, rtol=0,
                                 atol=matching.reproduce_tolerance(x),
                                 err_msg='%s %s' % (case_id, key))


def assert_same_checkpoints(committed, fresh, case_ids):
  """A case has a TF1 checkpoint in both directories or in neither."""
  for case_id in case_ids:
    present = [corpus.checkpoint_exists(corpus.checkpoint_prefix(d, case_id))
               for d in (committed, fresh)]
    assert present[0] == present[1], case_id


def case_ids(directory, suffix='.json'):
  """The ids of the cases recorded in `directory` with a `suffix` file."""
  return corpus.recorded_ids(directory, suffix)


def corpus_tests(name, recorder, env_var, minimum_cases):
  """The fixture and tests of a corpus that may hold cases recorded raising.

  A compat test module binds them to its own names, so that each corpus's
  tests keep their ids:

    (fresh, test_same_cases, test_records_reproduce, test_arrays_reproduce,
     test_checkpoints_reproduce) = recordings.corpus_tests(...)

  Args:
    name: the committed directory, under contrib_bn/goldens/.
    recorder: the script under scripts/ that records it.
    env_var: names a fresh recording made beforehand (`fresh_directory`).
    minimum_cases: fewer recorded cases than this fails.

  Returns:
    (fresh, test_same_cases, test_records_reproduce, test_arrays_reproduce,
    test_checkpoints_reproduce).
  """
  committed = corpus.directory(name)
  recorder = os.path.join(ROOT, 'scripts', recorder)

  @pytest.fixture(scope='module')
  def fresh(tmp_path_factory):
    return fresh_directory(env_var, recorder, tmp_path_factory)

  def test_same_cases(fresh):
    assert case_ids(fresh) == case_ids(committed)
    assert len(case_ids(committed)) >= minimum_cases
    # Cases that raise have a record and nothing else, in both.
    assert case_ids(fresh, '.npz') == case_ids(committed, '.npz')

  def test_records_reproduce(fresh):
    assert_records_reproduce(committed, fresh, case_ids(committed))

  def test_arrays_reproduce(fresh):
    assert_arrays_reproduce(committed, fresh, case_ids(committed, '.npz'))

  def test_checkpoints_reproduce(fresh):
    assert_same_checkpoints(committed, fresh, case_ids(committed))

  return (fresh, test_same_cases, test_records_reproduce,
          test_arrays_reproduce, test_checkpoints_reproduce)
