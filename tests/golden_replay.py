"""Replaying one-case-per-file TF 1.15.5 goldens on TF 2, for the tests.

The corpus reading, the replay and the comparison are
contrib_bn.conformance.verify_tf_layers', which `verify` runs too; this
module gives the tests of the contrib neighbours and tf.layers neighbours
corpora their shape of it: a `Corpus` named by its directory under
contrib_bn/goldens/ and its recorder under scripts/, and assertions.
"""

import tensorflow as tf

from contrib_bn.conformance import matching
from contrib_bn.conformance import recording
from contrib_bn.conformance import verify_tf_layers

v1 = tf.compat.v1


def Corpus(name, recorder):  # pylint: disable=invalid-name
  """The corpus of contrib_bn/goldens/`name`, recorded by scripts/`recorder`."""
  return verify_tf_layers.Corpus(name, recorder)


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
  replayed = verify_tf_layers.Corpus(
      corpus.name, corpus.recorder, cases=cases,
      replay=lambda unused_corpus, case, golden, unused_api: replay(
          case, golden),
      api=api)
  result = verify_tf_layers.verify_case(replayed, case_id)
  assert result.ok, '%s:\n%s' % (case_id, '\n'.join(result.problems))
  print('%s: max abs diff %s' % (case_id, result.max_abs_diff))
