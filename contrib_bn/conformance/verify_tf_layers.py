"""The `tf.layers` corpora of `verify`: TF 1.15.5's recordings replayed.

Two corpora, one file per case (`<id>.json`, `<id>.npz`, `checkpoints/<id>`):
`goldens/tf_layers` (`tf.layers.batch_normalization` and
`BatchNormalization`, cases of tf_layers_cases, recorded by
scripts/record_tf_layers.py) and `goldens/tf_layers_neighbours` (dense,
convolutions, pooling, dropout, flatten; tf_layers_neighbours, recorded by
scripts/record_tf_layers_neighbours.py). Every recorded case is rebuilt
with contrib_bn.layers and must give TF 1.15's variables, collections and
class-API facts, the outputs, losses and gradients of its SGD steps, the
variables after them and the output of an inference graph restored from
TF 1.15's checkpoint, within matching's tolerance for its dtype; or raise
TF 1.15's exception type and message. The case ids are the recorded files',
so cases added to a corpus are verified as soon as they are recorded.

tests/test_tf_layers.py and test_tf_layers_neighbours.py replay the same
corpora through `tf.compat.v1.layers` after `contrib_bn.install()`, passing
those names as `api`.
"""

import re
import types

import tensorflow as tf

from contrib_bn import constants
from contrib_bn import layer
from contrib_bn import layers
from contrib_bn.conformance import corpus as golden_files
from contrib_bn.conformance import matching
from contrib_bn.conformance import recording
from contrib_bn.conformance import tf_layers_cases
from contrib_bn.conformance import tf_layers_neighbours
from contrib_bn.conformance import verify_single_device

v1 = tf.compat.v1
REFERENCE = 'TF ' + constants.TF1_VERSION


class Corpus(object):
  """A golden directory: `<id>.json`, `<id>.npz` and `checkpoints/<id>`."""

  def __init__(self, name, recorder, label=None, path=None, cases=None,
               replay=None, api=None):
    """A corpus of contrib_bn/goldens/`name`, recorded by scripts/`recorder`.

    Args:
      name: the directory under contrib_bn/goldens, also the prefix of the
        corpus's case ids in `verify`.
      recorder: the script under scripts/ that records it.
      label: what `verify` calls the corpus.
      path: the `path` of its results (a row of the parity table).
      cases: its case catalogue module (`case_by_id`, `build`,
        `error_record`, ...).
      replay: `replay(corpus, case, golden_arrays, api)` -> (structure,
        arrays) on TF 2.
      api: a function returning contrib_bn's layer names the cases use.

    Only `name` and `recorder` are needed to read the corpus;
    `verify_case` needs the rest.
    """
    self.name = name
    self.directory = golden_files.directory(name)
    self.recorder = recorder
    self.label = label or name
    self.path = path or name
    self.cases = cases
    self.replay = replay
    self.api = api

  def regenerate(self, case_id):
    """How to record `case_id` again, for a failure's message."""
    return ('regenerate with: .venvs/tf115/bin/python scripts/%s '
            '--filter ^%s$ --check_determinism' % (self.recorder, case_id))

  def case_ids(self):
    """The ids of the recorded cases, sorted."""
    return golden_files.recorded_ids(self.directory)

  def checkpoint(self, case_id):
    """The prefix of the case's TF1 checkpoint (which may not exist)."""
    return golden_files.checkpoint_prefix(self.directory, case_id)

  def golden(self, case_id):
    """(record, arrays); arrays is None for a case recorded raising.

    Raises:
      FileNotFoundError: a file of the case is missing.
    """
    case = golden_files.Case(self.directory, case_id,
                             self.regenerate(case_id))
    return case.record, (None if case.error else case.arrays)


def batch_normalization_api():
  """contrib_bn's names for a tf.layers case: the layer and contrib's."""
  return types.SimpleNamespace(
      batch_normalization=layers.batch_normalization,
      BatchNormalization=layers.BatchNormalization,
      batch_norm=layer.batch_norm)


def neighbours_api():
  """contrib_bn.layers' names for a neighbours case, as attributes."""
  return types.SimpleNamespace(**{name: getattr(layers, name)
                                  for name in tf_layers_neighbours.NAMES})


def _infer(corpus, api, case, data, checkpoint):
  return recording.infer_restored(v1, corpus.cases, api, case, data,
                                  checkpoint)


def _train(corpus, case, golden_arrays, api, initial_arrays=None):
  """Builds a case in a graph of its own and trains it as TF 1.15.5 did.

  Args:
    corpus: one of CORPORA.
    case: a case of its catalogue.
    golden_arrays: the case's recorded arrays (`input`, `target`, ...).
    api: the layer names to build with.
    initial_arrays: `initial_arrays(session, case, golden_arrays)` -> a dict
      of arrays, run after the variables are initialized and before the
      first step, or None.

  Returns:
    (structure, arrays, has_variables): the graph's recorded facts, the
    arrays of `initial_arrays` and of the training steps, and whether the
    graph holds any variable.
  """
  cases = corpus.cases
  data, target = golden_arrays['input'], golden_arrays['target']
  graph = tf.Graph()
  with graph.as_default():
    built = cases.build(v1, api, case)
    structure = cases.structure(v1, built)
    with v1.Session(graph=graph, config=cases.session_config(v1)) as session:
      session.run(v1.global_variables_initializer())
      arrays = {}
      if initial_arrays is not None:
        arrays.update(initial_arrays(session, case, golden_arrays))
      arrays.update(cases.train(v1, session, built, data, target))
      has_variables = bool(v1.global_variables())
  return structure, arrays, has_variables


def replay_batch_normalization(corpus, case, golden_arrays, api):
  """(structure, arrays) of a tf.layers batch-normalization case on TF 2."""
  structure, arrays, _ = _train(corpus, case, golden_arrays, api)
  checkpoint = corpus.checkpoint(case['id'])
  if not golden_files.checkpoint_exists(checkpoint):
    raise FileNotFoundError('no TF1 checkpoint for %s; %s' % (
        case['id'], corpus.regenerate(case['id'])))
  arrays['inference/output'] = _infer(corpus, api, case,
                                      golden_arrays['input'], checkpoint)
  return structure, arrays


def _neighbours_initial_values(session, case, golden_arrays):
  """The initialized variables' `init/var/` arrays; TF 1.15's in an
  unseeded case, loaded into the variables."""
  arrays = tf_layers_neighbours.initial_values(v1, session)
  if not case['seeded']:
    # The default initializer's values depend on the graph's op count,
    # so TF 1.15's initial values are loaded.
    for variable in v1.global_variables():
      key = 'init/var/' + variable.op.name
      variable.load(golden_arrays[key], session)
      arrays[key] = golden_arrays[key]
  return arrays


def replay_neighbours(corpus, case, golden_arrays, api):
  """(structure, arrays) of a neighbours case on TF 2."""
  structure, arrays, has_variables = _train(
      corpus, case, golden_arrays, api, _neighbours_initial_values)
  checkpoint = corpus.checkpoint(case['id'])
  if golden_files.checkpoint_exists(checkpoint) != has_variables:
    raise FileNotFoundError('TF1 checkpoint of %s %s; %s' % (
        case['id'], 'missing' if has_variables else 'unexpected',
        corpus.regenerate(case['id'])))
  arrays['inference/output'] = _infer(
      corpus, api, case, golden_arrays['input'],
      checkpoint if has_variables else None)
  return structure, arrays


BATCH_NORMALIZATION = Corpus(
    'tf_layers', 'record_tf_layers.py', 'tf.layers', 'tf.layers',
    tf_layers_cases, replay_batch_normalization, batch_normalization_api)
NEIGHBOURS = Corpus(
    'tf_layers_neighbours', 'record_tf_layers_neighbours.py',
    'tf.layers neighbours', 'neighbours', tf_layers_neighbours,
    replay_neighbours, neighbours_api)
CORPORA = (BATCH_NORMALIZATION, NEIGHBOURS)


def _result(corpus, case_id, comparison=None, problems=None, note='',
            dtype=None):
  return verify_single_device.CaseResult(
      '%s/%s' % (corpus.name, case_id), corpus.path, comparison, problems,
      note, dtype)


def _verify_error(corpus, case, expected, api):
  try:
    with tf.Graph().as_default():
      corpus.cases.build(v1, api, case)
  except Exception as e:  # pylint: disable=broad-except
    got = corpus.cases.error_record(e)
    if got != expected:
      return _result(corpus, case['id'], problems=[
          'raised %s: %s; TF 1.15 raised %s: %s' % (
              got['type'], got['message'], expected['type'],
              expected['message'])], dtype=case['dtype'])
    return _result(corpus, case['id'], note='same error',
                   dtype=case['dtype'])
  return _result(corpus, case['id'], problems=[
      'built without error; TF 1.15 raised %s: %s' % (
          expected['type'], expected['message'])], dtype=case['dtype'])


def verify_case(corpus, case_id, api=None):
  """One `CaseResult`: the case raises TF 1.15's error or replays to its
  results.

  Args:
    corpus: one of CORPORA.
    case_id: a recorded case of it.
    api: the layer names to build with; default contrib_bn.layers' (the
      tests pass `tf.compat.v1.layers`' after `install()`).
  """
  api = api if api is not None else corpus.api()
  try:
    record, golden_arrays = corpus.golden(case_id)
    case = corpus.cases.case_by_id(case_id)
  except (FileNotFoundError, KeyError) as e:
    return _result(corpus, case_id, problems=[str(e)])
  if 'error' in record:
    return _verify_error(corpus, case, record['error'], api)
  comparison = matching.Comparison(matching.tolerance_for(case['dtype']))
  try:
    structure, arrays = corpus.replay(corpus, case, golden_arrays, api)
  except Exception as e:  # pylint: disable=broad-except
    return _result(corpus, case_id, problems=[
        'failed: ' + verify_single_device.one_line(e)], dtype=case['dtype'])
  comparison.structure(record['structure'], structure)
  comparison.arrays(golden_arrays, arrays)
  return _result(corpus, case_id, comparison, dtype=case['dtype'])


def run_corpus(corpus, pattern=None, out=print):
  """Verifies one corpus; returns its `CaseResult`s (none if none selected).

  `pattern` selects by the prefixed id, `<corpus name>/<case id>`.
  """
  ids = corpus.case_ids()
  if pattern:
    regex = re.compile(pattern)
    ids = [i for i in ids if regex.search('%s/%s' % (corpus.name, i))]
  if not ids:
    return []
  v1.logging.set_verbosity(v1.logging.ERROR)
  out('')
  out('%s: %d cases of contrib_bn/goldens/%s' % (corpus.label, len(ids),
                                                 corpus.name))
  results = []
  for case_id in ids:
    result = verify_case(corpus, case_id)
    results.append(result)
    verify_single_device.report(result, out)
  matched = sum(1 for r in results if r.ok)
  out('%d/%d %s cases match %s' % (matched, len(results), corpus.label,
                                   REFERENCE))
  return results


def run(pattern=None, out=print):
  """Verifies every corpus of CORPORA; returns (label, results) pairs."""
  return [(corpus.label, run_corpus(corpus, pattern, out))
          for corpus in CORPORA]
