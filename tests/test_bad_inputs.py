"""The bad-input catalogue: contrib_bn against what TF 1.15 did.

`scripts/probe_bad_inputs.py` tries every wrong argument of the catalogue in
`contrib_bn/conformance/bad_inputs.py` on
the real `tf.contrib.layers.batch_norm` (TF 1.15.5) and records the outcome in
`tests/data/tf1_bad_inputs.json`. These tests replay the same probes, with
the same runner (`bad_inputs_runner`), against `contrib_bn.batch_norm`:

  * TF 1.15 raised while building: contrib_bn raises the same type and
    message;
  * TF 1.15 failed only at run time, or ran and silently did harm: contrib_bn
    raises a ValueError/TypeError while building, naming the argument and the
    value (`contrib_bn._validation`); the one failure no build-time check can
    see (batch weights whose length is only known at run time) must still
    fail at run time;
  * TF 1.15 ran and did no harm: contrib_bn runs too, without harm.

`_validation.validate_arguments` is also tested on its own: it refuses the
harmful probes and stands aside wherever TF 1.15 raised its own error, for the
probes and for every case of the golden corpus.
"""

import json
import os
import re

import pytest
import tensorflow as tf

from contrib_bn import _validation
from contrib_bn import batch_norm
from contrib_bn.conformance import bad_inputs as probes
from contrib_bn.conformance import bad_inputs_runner as runner
from contrib_bn.conformance import cases as corpus_cases
from contrib_bn.conformance import harness

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_REFERENCE = os.path.join(_ROOT, 'tests', 'data', 'tf1_bad_inputs.json')


with open(_REFERENCE) as _f:
  REFERENCE = json.load(_f)
TF1 = REFERENCE['cases']
CASES = {case.id: case for case in probes.cases()}

# TF 1.15 failed at run time here, and no build-time check can know better:
# the batch size and the weights' length are both unknown until fed.
UNDECIDABLE_AT_BUILD_TIME = {
    'batch_weights_dynamic_length-moments_bw':
        'the batch and the weights have unknown lengths until run time',
}


def _category(record):
  if record['outcome'] == 'build_error':
    return 'tf1_error'
  if record['id'] in UNDECIDABLE_AT_BUILD_TIME:
    return 'run_time'
  if record['outcome'] == 'run_error' or record['harm']:
    return 'refuse'
  return 'accept'


def _ids(category):
  return [case_id for case_id, record in TF1.items()
          if _category(record) == category]


def _normalize(message):
  """Folds TF 2.x's node description into TF 1.15's for shape errors.

  TF 1.15 named the failing node `'bn/add' (op: 'AddV2')`; TF 2.x prints its
  whole NodeDef. The text around it, which is what users read, is unchanged.
  """
  return re.sub(r"'\{\{node ([^}]+)\}\} = (\w+)\[[^\]]*\]\([^)]*\)'",
                r"'\1' (op: '\2')", message)


def _run(case_id):
  return runner.run_case(tf, batch_norm, CASES[case_id])


def _describe(record):
  if 'error' in record:
    return '%s at %s: %s: %s' % (record['outcome'], record['error']['stage'],
                                 record['error']['type'],
                                 record['error']['message'])
  return 'accepted, harm: %s' % (record['harm'],)


def test_reference_matches_catalogue():
  assert REFERENCE['tensorflow_version'] == probes.REFERENCE_VERSION
  assert sorted(TF1) == sorted(CASES), (
      'tests/data/tf1_bad_inputs.json is stale: rerun '
      'scripts/probe_bad_inputs.py under TF 1.15.5')


def test_every_category_is_exercised():
  counts = {c: len(_ids(c))
            for c in ('tf1_error', 'refuse', 'accept', 'run_time')}
  assert all(counts.values()), counts


@pytest.mark.parametrize('case_id', _ids('tf1_error'))
def test_tf1_build_error_reproduced(case_id):
  expected = TF1[case_id]['error']
  ours = _run(case_id)
  assert ours['outcome'] == 'build_error', _describe(ours)
  got = ours['error']
  assert (got['stage'], got['type'], _normalize(got['message'])) == (
      expected['stage'], expected['type'], expected['message'])


@pytest.mark.parametrize('case_id', _ids('refuse'))
def test_refused_at_build_time(case_id):
  """TF 1.15 failed at run time or silently did harm; we refuse to build."""
  ours = _run(case_id)
  assert ours['outcome'] == 'build_error', _describe(ours)
  assert ours['error']['stage'] == 'build', _describe(ours)
  assert ours['error']['type'] in ('ValueError', 'TypeError'), _describe(ours)
  message = ours['error']['message']
  probe = CASES[case_id].probe
  assert message.startswith('batch_norm: '), message
  assert probe.argument in message, message
  assert probe.value in message, message


@pytest.mark.parametrize('case_id', sorted(UNDECIDABLE_AT_BUILD_TIME))
def test_undecidable_case_still_fails_at_run_time(case_id):
  expected = TF1[case_id]
  assert expected['outcome'] == 'run_error'
  ours = _run(case_id)
  assert ours['outcome'] == 'run_error', _describe(ours)
  assert (ours['error']['stage'], ours['error']['type']) == (
      expected['error']['stage'], expected['error']['type'])


@pytest.mark.parametrize('case_id', _ids('accept'))
def test_harmless_input_accepted(case_id):
  ours = _run(case_id)
  assert ours['outcome'] == 'accepted', _describe(ours)
  assert ours['harm'] == [], ours['harm']


def _validate(case_id):
  """Calls `validate_arguments` on a probe's input and arguments."""
  case = CASES[case_id]
  with tf.Graph().as_default():
    ctx, kwargs = runner.prepare(tf, batch_norm, case)
    _validation.validate_arguments(ctx.x, **kwargs)


@pytest.mark.parametrize('case_id', _ids('refuse'))
def test_validation_refuses(case_id):
  probe = CASES[case_id].probe
  with pytest.raises((ValueError, TypeError)) as info:
    _validate(case_id)
  message = str(info.value)
  assert message.startswith('batch_norm: '), message
  assert probe.argument in message and probe.value in message, message


@pytest.mark.parametrize('case_id', _ids('tf1_error') + _ids('accept') +
                         sorted(UNDECIDABLE_AT_BUILD_TIME))
def test_validation_stands_aside(case_id):
  """Never pre-empts a TF 1.15 error, never refuses a harmless input."""
  _validate(case_id)


def _corpus_call(case):
  """A corpus case's input and real keyword arguments, in a fresh graph."""
  shape = case['input_shape']
  shape = None if shape == 'unknown_rank' else shape
  x = tf.compat.v1.placeholder(tf.as_dtype(case['dtype']), shape)
  kwargs = harness.layer_kwargs(tf, case)
  if case['training'] == 'placeholder':
    kwargs['is_training'] = tf.compat.v1.placeholder(tf.bool, [])
  elif case['training'] == 'variable':
    kwargs['is_training'] = tf.compat.v1.Variable(True, trainable=False)
  else:
    kwargs['is_training'] = case['training'] == 'true'
  return x, kwargs


@pytest.mark.parametrize('expect', ['ok', 'error'])
def test_validation_accepts_the_golden_corpus(expect):
  """Every recorded TF 1.15 case: valid ones pass, TF1 errors stay TF1's."""
  selected = [c for c in corpus_cases.all_cases() if c['expect'] == expect]
  assert selected
  refused = []
  for case in selected:
    with tf.Graph().as_default():
      x, kwargs = _corpus_call(case)
      try:
        _validation.validate_arguments(x, **kwargs)
      except (ValueError, TypeError) as e:
        refused.append('%s: %s' % (case['id'], e))
  assert not refused, refused


@pytest.mark.parametrize('tf1_error, extra', [
    # TF 1.15 raised for the undefined channels before it read any dict.
    ('inputs_unknown_channels-core',
     {'param_initializers': {'betta': None}}),
    # TF 1.15 rejected the lowercase data format first.
    ('data_format_lowercase-fused', {'decay': 1.5}),
    # TF 1.15 rejected the integer input before it used epsilon.
    ('inputs_int32-moments', {'epsilon': -1.0}),
])
def test_validation_keeps_tf1_errors_first(tf1_error, extra):
  """With a second bad argument, TF 1.15's own error still comes first."""
  case = CASES[tf1_error]
  expected = TF1[tf1_error]['error']
  with tf.Graph().as_default():
    ctx, kwargs = runner.prepare(tf, batch_norm, case)
    kwargs.update(extra)
    _validation.validate_arguments(ctx.x, **kwargs)
    with pytest.raises(Exception) as info:
      batch_norm(ctx.x, **kwargs)
  assert (type(info.value).__name__, str(info.value)) == (
      expected['type'], expected['message'])


def test_validation_adds_nothing_to_the_graph():
  graph = tf.Graph()
  with graph.as_default():
    x = tf.compat.v1.placeholder(tf.float32, [4, 3, 3, 5])
    weights = tf.constant([1.0, 2.0, 3.0, 4.0])
    training = tf.constant(True)
    rmax = tf.constant(2.0)
    before = len(graph.get_operations())
    _validation.validate_arguments(
        x, batch_weights=weights, is_training=training,
        param_initializers={'beta': tf.compat.v1.constant_initializer(0.1)},
        renorm=True, renorm_clipping={'rmax': rmax})
    _validation.validate_arguments(
        x, batch_weights=[1.0, 2.0, 3.0, 4.0], epsilon=0.01, decay=0.9)
    assert len(graph.get_operations()) == before
