"""Replaying one-case-per-file TF 1.15.5 goldens on TF 2, and the comparison.

Shared by tests/test_tf_layers.py, test_tf_layers_neighbours.py and
test_contrib_neighbours.py: each names its corpus (a directory of
contrib_bn/goldens/ and the script under scripts/ that records it), replays
its cases through `tf.compat.v1` after `contrib_bn.install()`, and compares
with contrib_bn.conformance.matching's tolerances.
"""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from contrib_bn.conformance import matching
from contrib_bn.conformance import recording

v1 = tf.compat.v1
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Corpus(object):
  """A golden directory: `<id>.json`, `<id>.npz` and `checkpoints/<id>`."""

  def __init__(self, name, recorder):
    """A corpus of contrib_bn/goldens/`name`, recorded by scripts/`recorder`."""
    self.directory = os.path.join(_ROOT, 'contrib_bn', 'goldens', name)
    self._recorder = recorder

  def regenerate(self, case_id):
    """How to record `case_id` again, for a failure's message."""
    return ('regenerate with: .venvs/tf115/bin/python scripts/%s '
            '--filter ^%s$ --check_determinism' % (self._recorder, case_id))

  def case_ids(self):
    """The ids of the recorded cases, sorted."""
    return sorted(name[:-len('.json')] for name in os.listdir(self.directory)
                  if name.endswith('.json'))

  def checkpoint(self, case_id):
    """The prefix of the case's TF1 checkpoint (which may not exist)."""
    return os.path.join(self.directory, 'checkpoints', case_id)

  def golden(self, case_id):
    """(record, arrays); arrays is None for a case recorded raising."""
    json_path = os.path.join(self.directory, case_id + '.json')
    assert os.path.exists(json_path), 'missing golden %s; %s' % (
        json_path, self.regenerate(case_id))
    with open(json_path) as f:
      record = json.load(f)
    if 'error' in record:
      return record, None
    npz_path = os.path.join(self.directory, case_id + '.npz')
    assert os.path.exists(npz_path), 'missing golden %s; %s' % (
        npz_path, self.regenerate(case_id))
    with np.load(npz_path) as arrays:
      return record, {k: arrays[k] for k in arrays.files}


def infer(cases, api, case, data, checkpoint):
  """The output of the case's inference graph, from `checkpoint` if not None."""
  return recording.infer_restored(v1, cases, api, case, data, checkpoint)


def assert_matches(case_id, rtol, expected_structure, structure,
                   golden_arrays, arrays):
  """The structures equal and every array is within `rtol` of its golden."""
  comparison = matching.Comparison(rtol)
  comparison.structure(expected_structure, structure)
  comparison.arrays(golden_arrays, arrays)
  assert not comparison.problems, '%s:\n%s' % (
      case_id, '\n'.join(comparison.problems))
  print('%s: max abs diff %.3g' % (case_id, comparison.max_abs_diff))


def assert_case_matches_tf1(corpus, cases, api, replay, case_id):
  """A case raises TF 1.15's error, or replays to TF 1.15's results.

  Args:
    corpus: the `Corpus` the case was recorded into.
    cases: the case catalogue module (`case_by_id`, `build`, `error_record`).
    api: a function returning the layer names the case is built from.
    replay: `replay(case, golden_arrays)` -> (structure, arrays) on TF 2.
    case_id: the case.
  """
  record, golden_arrays = corpus.golden(case_id)
  case = cases.case_by_id(case_id)
  if 'error' in record:
    with tf.Graph().as_default():
      with pytest.raises(Exception) as raised:
        cases.build(v1, api(), case)
    assert cases.error_record(raised.value) == record['error']
    return
  structure, arrays = replay(case, golden_arrays)
  assert_matches(case_id, matching.tolerance_for(case['dtype']),
                 record['structure'], structure, golden_arrays, arrays)
