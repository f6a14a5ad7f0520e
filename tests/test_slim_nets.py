"""tf_slim's nets on TF 2.x, through contrib_bn, against TF 1.15.5's tf.contrib.slim.nets.

scripts/record_slim_nets.py ran each case of
contrib_bn/conformance/slim_nets.py (resnet_v1_50, inception_v3, and
small configurations of the same generators) on TF 1.15.5: the net's own arg
scope, a training and an evaluation tower, three momentum steps
(contrib_bn/goldens/slim). Here the same procedure runs on TF 2.x after
`contrib_bn.install()`, through the same `tensorflow.contrib.slim` imports,
and must give the same variables, losses, evaluation logits and trained
variables; the TF 1.15 checkpoints must restore and evaluate to TF 1.15's
logits. The small cases' checkpoints are committed; for the full-size nets
(~100 MB each) the checkpoint is recorded at test time by TF 1.15.5 when
CONTRIB_BN_TF1_PYTHON names its interpreter (scripts/test.sh sets it).
Each case starts where the procedure is well-conditioned (slim_nets.CASES
says why); the tolerances and their reasons are in
slim_net_tolerances.py, shared with the TF 1.15 re-recording test.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

import slim_net_tolerances

import contrib_bn
from contrib_bn.conformance import slim_nets

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECORDER = os.path.join(_ROOT, 'scripts', 'record_slim_nets.py')
GOLDEN = slim_nets.DEFAULT_DIR

pytest.importorskip('tf_slim',
                    reason='tf-slim is in the test extra: pip install .[test]')

# Tolerances (each with its reason) are shared with the TF 1.15 re-recording
# test in compat_tests/, so they live in a module without TensorFlow.
FORWARD_RTOL = slim_net_tolerances.FORWARD_RTOL
TRAINED_RTOL = slim_net_tolerances.TRAINED_RTOL
SLOT_RTOL = slim_net_tolerances.SLOT_RTOL
INCEPTION_SLOT_RTOL = slim_net_tolerances.INCEPTION_SLOT_RTOL
RESTORE_RTOL = slim_net_tolerances.RESTORE_RTOL

# Seconds the TF 1.15 recorder may take for one full-size net.
TF1_RECORD_TIMEOUT = 1800

_CASES = sorted(c for c in slim_nets.CASES
                if os.path.exists(os.path.join(GOLDEN, c + '.json')))
_SMALL = [c for c in _CASES if slim_nets.CASES[c]['committed_checkpoint']]
_FULL = [c for c in _CASES if not slim_nets.CASES[c]['committed_checkpoint']]


# Cases the catalogue holds whose goldens are not committed, and why. Empty:
# every case is committed; a case added to the catalogue must either get its
# goldens or be listed here with the reason.
NOT_COMMITTED = {}


def test_every_case_has_a_golden():
  assert _CASES == sorted(set(slim_nets.CASES) - set(NOT_COMMITTED))


def _golden(directory, case_id):
  return slim_nets.load(directory, case_id)


@pytest.fixture(scope='module')
def installed():
  contrib_bn.install()
  yield
  contrib_bn.uninstall()


def _max_scaled_diff(expected, actual):
  expected = np.asarray(expected, np.float64)
  actual = np.asarray(actual, np.float64)
  assert expected.shape == actual.shape
  if not expected.size:
    return 0.0
  scale = max(1.0, float(np.max(np.abs(expected))))
  return float(np.max(np.abs(expected - actual))) / scale


def _differences(golden_record, golden, record, arrays):
  """Per array: (scaled difference of a TF 2 run from TF 1.15, tolerance)."""
  for key in ('variables', 'trainable', 'update_ops'):
    assert record[key] == golden_record[key], key
  assert set(arrays) == set(golden)
  net = golden_record['case']['net']
  found = {}
  for key in sorted(golden):
    if key in slim_nets.INPUT_KEYS:
      assert np.array_equal(arrays[key], golden[key]), key
      continue
    if key.startswith('sum/'):
      # Sums over a whole tensor: relative to the sum of |x| (entry 1).
      expected, actual = golden[key], arrays[key]
      diff = float(np.max(np.abs(expected - actual))) / max(1.0, expected[1])
    else:
      diff = _max_scaled_diff(golden[key], arrays[key])
    found[key] = (diff, slim_net_tolerances.rtol_for(key, net))
  return found


def _group(key):
  return key.split('/')[0] + ('/Momentum' if key.endswith('/Momentum')
                              else '')


def _compare_run(golden_record, golden, record, arrays):
  """Asserts a TF 2 run equals a TF 1.15 recording; returns the worst diffs."""
  worst = {}
  for key, (diff, rtol) in _differences(golden_record, golden, record,
                                        arrays).items():
    worst[_group(key)] = max(worst.get(_group(key), 0.0), diff)
    assert diff <= rtol, (key, diff, rtol)
  return worst


@pytest.mark.parametrize('case_id', _CASES)
def test_training_matches_tf115(case_id, installed):
  del installed
  golden_record, golden = _golden(GOLDEN, case_id)
  assert golden_record['tensorflow'] == '1.15.5'
  arrays, record = slim_nets.run(case_id)
  worst = _compare_run(golden_record, golden, record, arrays)
  print('%s: worst scaled differences %s' % (case_id, worst))


def test_inception_slot_tolerance_still_catches_a_wrong_epsilon(
    installed, monkeypatch):
  # INCEPTION_SLOT_RTOL is wider than SLOT_RTOL; a real defect must still
  # fail it. The same procedure with batch norm's epsilon doubled (the arg
  # scope's own argument; TF 1.15 used 1e-3) moves the gradients, hence the
  # momentum slots, well past it.
  del installed
  case_id = 'inception_v3_dm0.1'
  golden_record, golden = _golden(GOLDEN, case_id)
  monkeypatch.setitem(slim_nets.CASES, case_id,
                      dict(slim_nets.CASES[case_id], batch_norm_epsilon=2e-3))
  arrays, record = slim_nets.run(case_id)
  found = _differences(golden_record, golden, record, arrays)
  slots = [diff for key, (diff, _) in found.items()
           if key.endswith('/Momentum')]
  print('epsilon 2e-3: largest slot difference %.3g' % max(slots))
  # Measured 9.8e-2 on TF 2.21: the defect's effect is systematic, not
  # rounding, so it does not shrink on another processor.
  assert max(slots) > 2 * INCEPTION_SLOT_RTOL


@pytest.mark.parametrize('case_id', _SMALL)
def test_committed_tf1_checkpoint_restores(case_id, installed):
  del installed
  golden_record, golden = _golden(GOLDEN, case_id)
  prefix = slim_nets.checkpoint_prefix(GOLDEN, case_id)
  arrays, record = slim_nets.run(case_id, restore_from=prefix)
  assert record['checkpointed'] == golden_record['checkpointed']
  diff = _max_scaled_diff(golden['eval_logits_final'],
                          arrays['eval_logits_restored'])
  print('%s: restored logits differ by %.3g' % (case_id, diff))
  assert diff <= RESTORE_RTOL, diff


def _tf1_python():
  python = os.environ.get('CONTRIB_BN_TF1_PYTHON')
  if not python:
    pytest.skip('CONTRIB_BN_TF1_PYTHON is not set: the full-size nets\' TF1 '
                'checkpoints (~100 MB) are recorded at test time by TF 1.15.5 '
                '(scripts/test.sh sets it)')
  return python


@pytest.mark.parametrize('case_id', _FULL)
def test_full_size_tf1_checkpoint_restores(case_id, installed, tmp_path):
  del installed
  python = _tf1_python()
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  env.pop('PYTHONPATH', None)
  result = subprocess.run(
      [python, RECORDER, '--cases', case_id, '--checkpoints',
       '--out', str(tmp_path)], cwd=_ROOT, env=env, capture_output=True,
      text=True, timeout=TF1_RECORD_TIMEOUT, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  # The fresh TF 1.15 recording is the committed one (up to this machine's
  # rounding), so the checkpoint belongs to the committed goldens.
  golden_record, golden = _golden(GOLDEN, case_id)
  fresh_record, fresh = _golden(str(tmp_path), case_id)
  assert fresh_record['variables'] == golden_record['variables']
  for key in ('loss', 'total_loss', 'eval_logits_final'):
    assert _max_scaled_diff(golden[key], fresh[key]) <= TRAINED_RTOL, key
  prefix = slim_nets.checkpoint_prefix(str(tmp_path), case_id)
  arrays, record = slim_nets.run(case_id, restore_from=prefix)
  assert record['checkpointed'] == fresh_record['checkpointed']
  diff = _max_scaled_diff(fresh['eval_logits_final'],
                          arrays['eval_logits_restored'])
  print('%s: restored logits differ by %.3g' % (case_id, diff))
  assert diff <= RESTORE_RTOL, diff


def test_goldens_stay_small():
  total = 0
  for root, _, names in os.walk(GOLDEN):
    total += sum(os.path.getsize(os.path.join(root, n)) for n in names)
  assert total < 5 * 2**20, total


def test_recorder_refuses_other_tensorflow():
  result = subprocess.run(
      [sys.executable, RECORDER, '--out', os.devnull],
      cwd=_ROOT, capture_output=True, text=True, timeout=300, check=False)
  assert result.returncode != 0
  assert 'goldens come from TensorFlow 1.15.5' in result.stderr


def _readme_example():
  with open(os.path.join(_ROOT, 'docs', 'tf_slim.md')) as f:
    section = f.read()
  start = section.index('```python\n') + len('```python\n')
  return section[start:section.index('```', start)]


def test_docs_example_restores_tf1_checkpoint():
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', PYTHONPATH=_ROOT)
  result = subprocess.run(
      [sys.executable, '-c', _readme_example()], cwd=_ROOT, env=env,
      capture_output=True, text=True, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  line = [l for l in result.stdout.splitlines() if l.startswith('max |')][-1]
  diff = float(line.split(':')[-1])
  _, golden = _golden(GOLDEN, 'resnet_v1_small')
  scale = max(1.0, float(np.max(np.abs(golden['eval_logits_final']))))
  assert diff <= RESTORE_RTOL * scale, line


@pytest.mark.parametrize('nudge', [False, True])
def test_check_determinism_writes_only_identical_recordings(
    tmp_path, monkeypatch, nudge):
  # The recorder's own bookkeeping, with run() replaced: the second recording
  # differs by one ULP when `nudge`, and then nothing may be written.
  results = []

  def fake_run(case_id, restore_from=None, save_to=None):
    del case_id, restore_from, save_to
    value = np.float32([2.5])
    if nudge and results:
      value = np.nextafter(value, np.float32(3))
    results.append(value)
    return {'total_loss': value, 'loss': value}, {'variables': []}

  monkeypatch.setattr(slim_nets, 'run', fake_run)
  problems = slim_nets.record_cases(str(tmp_path), ['resnet_v1_50'], False,
                                   check_determinism=True)
  assert len(results) == 2
  if nudge:
    assert problems == ['resnet_v1_50: two recordings differ in loss, '
                        'total_loss']
    assert os.listdir(str(tmp_path)) == []
  else:
    assert problems == []
    assert sorted(os.listdir(str(tmp_path))) == ['resnet_v1_50.json',
                                                 'resnet_v1_50.npz']
