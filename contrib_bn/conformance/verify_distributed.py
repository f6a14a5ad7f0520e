"""Verification of the distributed corpus (`goldens/distributed`).

Each case is rebuilt with `contrib_bn.batch_norm` under
`tf.compat.v1.distribute.MirroredStrategy` on two virtual CPU devices of a
session, run like the recorder ran it, and compared with the arrays and
structure TF 1.15.5 recorded; the case's TF1 checkpoint is then restored into a
single-device contrib_bn graph. Cases TF 1.15 could not run must be refused at
build time with a clear ValueError/TypeError.
"""

import os
import re
import shutil
import tempfile

import tensorflow as tf

from contrib_bn import constants
from contrib_bn import layer
from contrib_bn.conformance import corpus
from contrib_bn.conformance import distributed
from contrib_bn.conformance import matching
from contrib_bn.conformance import verify_single_device

DEFAULT_DIR = corpus.directory('distributed')
REGENERATE_HINT = (
    'regenerate with Python 3.7 and TensorFlow %s: '
    'python scripts/record_distributed.py --filter "^<case id>$"'
    % constants.TF1_VERSION)
PLACEMENT = 'placement.json'
_INPUTS = ('input', 'target', 'weights')
REFERENCE = 'TF ' + constants.TF1_VERSION


class Golden(corpus.Case):
  """One recorded distributed case."""

  def __init__(self, directory, case_id):
    super(Golden, self).__init__(directory, case_id, REGENERATE_HINT)


def case_ids(directory=DEFAULT_DIR):
  return corpus.manifest_ids(directory)


def session_config():
  """A session config with the recorder's two virtual CPU devices."""
  return tf.compat.v1.ConfigProto(
      device_count={'CPU': distributed.REPLICAS})


def mirrored_strategy():
  return tf.compat.v1.distribute.MirroredStrategy(
      devices=distributed.DEVICES)


def run_case(case, data, target, weights, checkpoint_prefix,
             strategy_fn=mirrored_strategy, config=None, target_url=''):
  """Builds and runs `case` with contrib_bn; returns (structure, arrays).

  Args:
    case: a case of `distributed.CASES`.
    data: input, one slice per replica.
    target: loss target, one slice per replica.
    weights: batch weights, one row per replica.
    checkpoint_prefix: where the trained variables are saved.
    strategy_fn: builds the strategy inside the case's graph.
    config: the session config (default: two virtual CPU devices).
    target_url: the session target (a server's address for a cluster).
  """
  graph = tf.Graph()
  with graph.as_default():
    strategy = strategy_fn()
    built = distributed.build(tf, layer.batch_norm, case, strategy)
    structure = distributed.structure(tf, built)
    with tf.compat.v1.Session(target_url, graph=graph,
                              config=config or session_config()) as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      arrays = distributed.run(tf, sess, built, data, target, weights,
                               checkpoint_prefix)
  arrays.update(distributed.checkpoint_arrays(tf, checkpoint_prefix))
  return structure, arrays


def _path(case):
  kwargs = dict(case['kwargs'])
  return verify_single_device.path_of({
      'input_shape': case['shape'], 'kwargs': kwargs})


def verify_case(golden, scratch_dir):
  """Verifies one distributed case; returns a `verify_single_device.CaseResult`."""
  case = golden.case
  arrays = golden.arrays
  path = _path(case)
  if golden.error is not None:
    try:
      graph = tf.Graph()
      with graph.as_default():
        distributed.build(tf, layer.batch_norm, case, mirrored_strategy())
    except (ValueError, TypeError):
      return verify_single_device.CaseResult(golden.id, path, note=(
          'build-time error; TF 1.15 failed at %s' % golden.error['stage']))
    except Exception as e:  # pylint: disable=broad-except
      return verify_single_device.CaseResult(golden.id, path, problems=[
          'expected a ValueError/TypeError at build time, got %s: %s' %
          (type(e).__name__, e)])
    return verify_single_device.CaseResult(golden.id, path, problems=[
        'built without error; TF 1.15 failed with %s: %s' % (
            golden.error['type'], golden.error['message'])])
  comparison = matching.Comparison(matching.FLOAT32_RTOL)
  try:
    structure, ours = run_case(
        case, arrays['input'], arrays['target'], arrays['weights'],
        os.path.join(scratch_dir, golden.id))
  except Exception as e:  # pylint: disable=broad-except
    return verify_single_device.CaseResult(golden.id, path, problems=[
        'failed: ' + verify_single_device.one_line(e)])
  comparison.structure(golden.record['structure'], structure)
  keys = [k for k in arrays if k not in _INPUTS and k != 'inference/global']
  comparison.arrays(arrays, ours, keys)
  for key in ours:
    if key not in arrays:
      comparison.problem('unexpected array %s' % key)
  if golden.checkpoint_prefix is None:
    comparison.problem('TF1 checkpoint missing; ' + REGENERATE_HINT)
  else:
    restored = distributed.single_device_inference(
        tf, layer.batch_norm, case, golden.checkpoint_prefix,
        arrays['input'], arrays['weights'])
    comparison.array('inference/global', arrays['inference/global'],
                     restored)
  return verify_single_device.CaseResult(golden.id, path, comparison, dtype='float32')


def placement_goldens(directory=DEFAULT_DIR):
  """`{case id: {'case', 'placement'}}` recorded under replica_device_setter."""
  return corpus.read_json(os.path.join(directory, PLACEMENT), REGENERATE_HINT)


def verify_placement(case_id, recorded):
  """Problems in contrib_bn's placement of one case (empty when it matches)."""
  ours = distributed.placement(tf, layer.batch_norm, recorded['case'])
  expected = recorded['placement']
  problems = []
  for part in ('variables', 'writes'):
    for name in sorted(set(expected[part]) | set(ours[part])):
      if expected[part].get(name) != ours[part].get(name):
        problems.append('%s %s %s: contrib_bn %r, TF1 %r' % (
            case_id, part, name, ours[part].get(name),
            expected[part].get(name)))
  return problems


def run(directory=None, pattern=None, out=print):
  """Verifies the distributed corpus and placement; returns `CaseResult`s."""
  directory = directory or DEFAULT_DIR
  regex = re.compile(pattern) if pattern else None
  ids = [i for i in case_ids(directory) if not regex or regex.search(i)]
  placements = {k: v for k, v in placement_goldens(directory).items()
                if not regex or regex.search(k)}
  if not ids and not placements:
    return []
  tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
  out('')
  out('Distributed: MirroredStrategy on 2 virtual CPUs, a different batch '
      'per replica')
  results = []
  scratch = tempfile.mkdtemp(prefix='contrib_bn_verify_')
  try:
    for case_id in ids:
      try:
        result = verify_case(Golden(directory, case_id), scratch)
      except FileNotFoundError as e:
        result = verify_single_device.CaseResult(case_id, '?', problems=[str(e)])
      results.append(result)
      verify_single_device.report(result, out)
  finally:
    shutil.rmtree(scratch, ignore_errors=True)
  for case_id, recorded in placements.items():
    result = verify_single_device.CaseResult(case_id, 'placement',
                               problems=verify_placement(case_id, recorded),
                               note='same devices')
    results.append(result)
    verify_single_device.report(result, out)
  matched = sum(1 for r in results if r.ok)
  out('%d/%d distributed cases match %s' % (matched, len(results),
                                             REFERENCE))
  return results
