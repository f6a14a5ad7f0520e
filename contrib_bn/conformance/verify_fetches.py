"""Verification of the fetch-pattern corpus (`goldens/fetches`).

Each configuration is rebuilt with `contrib_bn.batch_norm` and every fetch
runs once from the initial values, as the recorder ran it under TF 1.15.5.
The set of variables a fetch changed must be the one TF 1.15 changed, exactly;
their values must agree within the float32 corpus tolerance.
"""

import re

import numpy as np
import tensorflow as tf

from contrib_bn import layer
from contrib_bn.conformance import matching
from contrib_bn.conformance import fetches
from contrib_bn.conformance import goldens
from contrib_bn.conformance import harness
from contrib_bn.conformance import verify_single_device

REGENERATE_HINT = ('regenerate with Python 3.7 and TensorFlow 1.15.5: '
                   'python scripts/record_fetches.py')


def _as_float32(values):
  return {name: np.asarray(value, np.float32) for name, value in values.items()}


def verify_record(record):
  """One `CaseResult` for one recorded configuration and its six fetches."""
  config = record['config']
  case_id = 'fetch/' + record['id']
  path = verify_single_device.path_of(dict(config, kwargs=dict(
      config['kwargs'],
      updates_collections=config['kwargs'].get(
          'updates_collections', harness.UPDATE_OPS_MARKER))))
  comparison = matching.Comparison(matching.tolerance_for(config['dtype']))
  try:
    ours = fetches.record_config(tf, layer.batch_norm, config,
                                 harness.session_config(tf))
  except Exception as e:  # pylint: disable=broad-except
    return verify_single_device.CaseResult(case_id, path, problems=[verify_single_device.one_line(e)],
                             dtype=config['dtype'])
  for fetch in fetches.FETCHES:
    expected, got = fetches.moved(record, fetch), fetches.moved(ours, fetch)
    if expected != got:
      comparison.problem('fetch %s moved %s; TF1 moved %s' % (
          fetch, got or 'nothing', expected or 'nothing'))
    golden = _as_float32(record['after'][fetch])
    comparison.arrays(
        {'%s/%s' % (fetch, k): v for k, v in golden.items()},
        {'%s/%s' % (fetch, k): v
         for k, v in _as_float32(ours['after'][fetch]).items()})
  return verify_single_device.CaseResult(case_id, path, comparison, dtype=config['dtype'])


def run(directory=None, pattern=None, out=print):
  """Verifies the fetch-pattern corpus; returns `CaseResult`s."""
  try:
    corpus = fetches.load(directory)
  except FileNotFoundError as e:
    return [verify_single_device.CaseResult('fetch/*', '?',
                              problems=['%s; %s' % (e, REGENERATE_HINT)])]
  regex = re.compile(pattern) if pattern else None
  records = [r for r in corpus['records']
             if not regex or regex.search('fetch/' + r['id'])]
  if not records:
    return []
  tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
  out('')
  out('Fetch patterns: what each of %s, run alone, does to the moving '
      'statistics' % ', '.join(fetches.FETCHES))
  results = []
  for record in records:
    result = verify_record(record)
    results.append(result)
    verify_single_device.report(result, out)
  matched = sum(1 for r in results if r.ok)
  out('%d/%d fetch-pattern cases match %s' % (
      matched, len(results), goldens.REFERENCE))
  return results

