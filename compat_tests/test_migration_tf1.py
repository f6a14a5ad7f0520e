"""The migration example runs on TF 1.15 and reproduces its committed golden.

tests/test_migration.py holds contrib_bn to contrib_bn/goldens/migration;
this checks that golden against the real `tf.contrib.layers.batch_norm`: the
example's text runs unchanged here, re-recording gives the committed arrays
and checkpoints, and restoring TF 1.15's own checkpoints continues training
exactly as the uninterrupted run did (so the checkpoints hold everything the
TF 2.x replay needs).
"""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from conftest import ROOT
from conftest import matching
from contrib_bn.conformance import migration

EXAMPLE = os.path.join(ROOT, 'examples', 'legacy_net.py')
RECORDER = os.path.join(ROOT, 'scripts', 'record_migration.py')
GOLDEN = migration.DEFAULT_DIR

# Seconds the recorder or the example script may take.
SUBPROCESS_TIMEOUT = 600


def _load_arrays(directory):
  return migration.load(directory)[1]


def _load_record(directory):
  return migration.load(directory)[0]


def _assert_reproduces(actual, expected, what):
  actual = np.asarray(actual)
  expected = np.asarray(expected)
  assert actual.dtype == expected.dtype, what
  assert actual.shape == expected.shape, what
  np.testing.assert_allclose(actual.astype(np.float64),
                             expected.astype(np.float64), rtol=0,
                             atol=matching.reproduce_tolerance(expected),
                             err_msg=what)


@pytest.fixture
def example():
  """The example, imported by path; its prologue's `tf.contrib` removed after.

  On TF 1.15 the prologue binds the real contrib onto
  `tensorflow.compat.v1`, which has none of its own.
  """
  v1 = tf.compat.v1
  had_contrib = 'contrib' in vars(v1)
  module = migration.load_example(EXAMPLE)
  yield module
  if not had_contrib and hasattr(v1, 'contrib'):
    delattr(v1, 'contrib')


@pytest.fixture(scope='module')
def fresh(tmp_path_factory):
  """A new recording (the recorder itself checks it is deterministic)."""
  out = str(tmp_path_factory.mktemp('migration'))
  subprocess.run([sys.executable, RECORDER, '--out', out], check=True,
                 cwd=ROOT, timeout=SUBPROCESS_TIMEOUT)
  return out


def test_prologue_binds_the_real_contrib(example):
  assert example.tf.contrib.layers.batch_norm is tf.contrib.layers.batch_norm
  assert example.tf.contrib.framework.arg_scope is (
      tf.contrib.framework.arg_scope)
  # This process imports contrib_bn's TF-free modules; the prologue must
  # neither import the package nor install it.
  assert 'contrib_bn' not in vars(example)
  assert 'contrib_bn.compat.install' not in sys.modules


def test_record_reproduces(fresh):
  problems = matching.record_differences(_load_record(GOLDEN),
                                        _load_record(fresh))
  assert not problems, '\n'.join(problems[:20])


def test_arrays_reproduce(fresh):
  committed = _load_arrays(GOLDEN)
  again = _load_arrays(fresh)
  assert sorted(again) == sorted(committed)
  for key in committed:
    _assert_reproduces(again[key], committed[key], key)


def test_checkpoints_reproduce(fresh):
  for step in migration.CHECKPOINT_STEPS:
    committed = tf.train.load_checkpoint(
        migration.checkpoint_prefix(GOLDEN, step))
    again = tf.train.load_checkpoint(migration.checkpoint_prefix(fresh, step))
    names = sorted(committed.get_variable_to_shape_map())
    assert sorted(again.get_variable_to_shape_map()) == names
    for name in names:
      _assert_reproduces(again.get_tensor(name), committed.get_tensor(name),
                         'step %d %s' % (step, name))


def test_final_variables_are_the_checkpointed_set():
  arrays = _load_arrays(GOLDEN)
  stored = tf.train.load_checkpoint(
      migration.checkpoint_prefix(GOLDEN, migration.FIRST_STEPS))
  assert sorted('var/' + n for n in stored.get_variable_to_shape_map()) == (
      sorted(k for k in arrays if k.startswith('var/')))


@pytest.mark.parametrize('first_step', migration.CHECKPOINT_STEPS)
def test_restored_training_continues_tf1(example, first_step):
  golden = _load_arrays(GOLDEN)
  arrays, info = migration.run(
      example, first_step=first_step,
      restore_from=migration.checkpoint_prefix(GOLDEN, first_step))
  assert info['variables'] == _load_record(GOLDEN)['variables']
  _assert_reproduces(arrays['losses'], golden['losses'][first_step:],
                     'losses from step %d' % first_step)
  for key, value in arrays.items():
    if key != 'losses':
      _assert_reproduces(value, golden[key], key)


def test_example_runs_as_a_script():
  result = subprocess.run(
      [sys.executable, EXAMPLE], cwd=ROOT, timeout=SUBPROCESS_TIMEOUT,
      stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'moving statistics (is_training=False): accuracy' in result.stdout
