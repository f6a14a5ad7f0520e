"""Legacy TF1 code runs unmodified on TF 2.x and continues TF 1.15 training.

examples/legacy_net.py is TF1 code using `tf.contrib.layers.batch_norm`
(plain, renorm and zero-debiased layers under `arg_scope`). On TF 1.15.5,
scripts/record_migration.py trained it for ten steps and committed
checkpoints after steps 0 and 5 plus the losses, evaluation outputs and final
variables (contrib_bn/goldens/migration/tf1.15.5). Here the same text, with
contrib_bn installed by its prologue, restores those checkpoints and must
continue exactly as TF 1.15 did, through the same procedure
(`contrib_bn.conformance.migration.run`).
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

import contrib_bn
from contrib_bn.conformance import migration

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(_ROOT, 'examples', 'legacy_net.py')
GOLDEN = migration.DEFAULT_DIR

# Largest allowed difference from TF 1.15, relative to max(1, max |golden|)
# of each array. TF 2.x runs other kernel builds (Eigen, oneDNN) whose float32
# sums round differently; after ten momentum steps through three batch-norm
# layers the arrays differ by ~1e-6. 1e-4 leaves room for other CPUs, while
# the defects tried (renorm_decay 0.99 for 0.9; update ops not run) are off by
# 2.5e-3 or more.
MATCH_TOLERANCE = 1e-4

# The synthetic images come from NumPy's Gaussian stream, which goes through
# libm's log and sqrt; another processor's libm may round a float64 in the last
# bit, which can move a float32 image value by one ULP (2**-23 relative).
DATA_RTOL = 2.0 ** -22

# Seconds a subprocess running the example under TF 2.x may take.
SUBPROCESS_TIMEOUT = 600

# Delimit the example's migration prologue: from its comment to the first
# line after it.
_PROLOGUE_START = '# Migration prologue'
_PROLOGUE_END = 'NUM_CLASSES = 4'
_ORIGINAL_IMPORT = 'import tensorflow as tf\n'
_UPGRADED_IMPORT = 'import tensorflow.compat.v1 as tf\n'


@pytest.fixture
def example():
  """The example module, freshly imported; contrib_bn uninstalled after."""
  module = migration.load_example(EXAMPLE)
  yield module
  contrib_bn.uninstall()


@pytest.fixture(scope='module')
def golden():
  record, arrays = migration.load(GOLDEN)
  return arrays, record


def _assert_matches(actual, expected, what):
  actual = np.asarray(actual, dtype=np.float64)
  expected = np.asarray(expected, dtype=np.float64)
  assert actual.shape == expected.shape, what
  scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
  np.testing.assert_allclose(actual, expected, rtol=0,
                             atol=MATCH_TOLERANCE * scale, err_msg=what)


def _assert_continues_tf1(arrays, golden_arrays, first_step):
  """`arrays` from `migration.run(first_step=...)` match the TF 1.15 run."""
  _assert_matches(arrays['losses'], golden_arrays['losses'][first_step:],
                  'losses from step %d' % first_step)
  evaluated = [s for s in migration.EVAL_STEPS if s >= first_step]
  for step in evaluated:
    for what in ('logits', 'loss'):
      key = migration.eval_key(step, what)
      _assert_matches(arrays[key], golden_arrays[key], key)
  expected_vars = sorted(k for k in golden_arrays if k.startswith('var/'))
  assert sorted(k for k in arrays if k.startswith('var/')) == expected_vars
  for key in expected_vars:
    _assert_matches(arrays[key], golden_arrays[key], key)


def test_golden_is_from_tf115(golden):
  _, record = golden
  assert record['tensorflow_version'] == '1.15.5'
  assert record['first_steps'] == migration.FIRST_STEPS
  assert record['more_steps'] == migration.MORE_STEPS


def test_golden_moving_statistics_were_trained(golden):
  # Guards the comparisons below against a golden in which the update ops
  # never ran: then moving means stay 0 and a layer that skips its updates
  # would match.
  arrays, _ = golden
  means = [k for k in arrays if k.endswith('/moving_mean')]
  assert len(means) == 3
  for key in means:
    assert np.all(np.abs(arrays[key]) > 1e-3), key
  assert not np.allclose(arrays[migration.eval_key(0, 'logits')],
                         arrays[migration.eval_key(migration.TOTAL_STEPS,
                                                  'logits')])


def test_import_builds_nothing_and_keeps_eager():
  graph = tf.compat.v1.get_default_graph()
  before = len(graph.get_operations())
  try:
    migration.load_example(EXAMPLE)
    assert tf.executing_eagerly()
    assert len(graph.get_operations()) == before
  finally:
    contrib_bn.uninstall()


def test_prologue_installs_contrib_bn(example):
  del example
  assert tf.compat.v1.contrib.layers.batch_norm is contrib_bn.batch_norm
  assert tf.compat.v1.contrib.framework.arg_scope is contrib_bn.arg_scope


def test_dataset_matches_golden(example, golden):
  arrays, _ = golden
  images, labels = example.make_dataset()
  assert images.dtype == arrays['images'].dtype
  np.testing.assert_allclose(images, arrays['images'], rtol=DATA_RTOL, atol=0)
  assert labels.dtype == arrays['labels'].dtype
  assert labels.tobytes() == arrays['labels'].tobytes()


def test_variables_match_tf1(example, golden):
  _, record = golden
  specs = migration.variable_specs(migration.build(example))
  assert {s[0] for s in specs} == {s[0] for s in record['variables']}
  assert sorted(specs) == sorted(record['variables'])


def test_checkpoint_holds_exactly_the_variables(golden):
  _, record = golden
  for step in migration.CHECKPOINT_STEPS:
    stored = dict(tf.train.list_variables(
        migration.checkpoint_prefix(GOLDEN, step)))
    assert stored == {name: shape for name, shape, _ in record['variables']}


@pytest.mark.parametrize('first_step', migration.CHECKPOINT_STEPS)
def test_restored_training_matches_tf1(example, golden, first_step):
  arrays, info = migration.run(
      example, first_step=first_step,
      restore_from=migration.checkpoint_prefix(GOLDEN, first_step))
  # In-process TF 2.x graphs get resource variables.
  assert info['variable_op_types'] == ['VarHandleOp']
  _assert_continues_tf1(arrays, golden[0], first_step)


def test_disable_v2_behavior_matches_tf1(golden, tmp_path):
  # What a legacy script does on TF 2.x: `tf.disable_v2_behavior()` first,
  # giving TF1 reference variables and v1 control flow. It is process-wide,
  # hence the subprocess.
  out = str(tmp_path / 'replayed.npz')
  code = textwrap.dedent('''
      import numpy as np
      import tensorflow.compat.v1 as tf
      tf.disable_v2_behavior()
      from contrib_bn.conformance import migration
      example = migration.load_example(%r)
      arrays = {}
      for step in migration.CHECKPOINT_STEPS:
        replayed, info = migration.run(
            example, first_step=step,
            restore_from=migration.checkpoint_prefix(%r, step))
        assert info['variable_op_types'] == ['VariableV2'], info
        arrays.update({'from%%d/%%s' %% (step, k): v
                       for k, v in replayed.items()})
      np.savez(%r, **arrays)
      ''') % (EXAMPLE, GOLDEN, out)
  subprocess.run([sys.executable, '-c', code], check=True, cwd=_ROOT,
                 timeout=SUBPROCESS_TIMEOUT, env=_env_with_root())
  with np.load(out) as f:
    replayed = {key: f[key] for key in f.files}
  for step in migration.CHECKPOINT_STEPS:
    prefix = 'from%d/' % step
    arrays = {k[len(prefix):]: v for k, v in replayed.items()
              if k.startswith(prefix)}
    _assert_continues_tf1(arrays, golden[0], step)


def _env_with_root():
  env = dict(os.environ)
  env['PYTHONPATH'] = os.pathsep.join(
      p for p in (_ROOT, env.get('PYTHONPATH')) if p)
  return env


def test_example_is_upgrader_output_plus_prologue(tmp_path):
  # The example claims to be legacy code as `tf_upgrade_v2 --mode SAFETY`
  # leaves it. Undo the two edits (prologue, import) and upgrade again: the
  # upgrader must give back the example without its prologue.
  with open(EXAMPLE) as f:
    text = f.read()
  start = text.index(_PROLOGUE_START)
  end = text.index(_PROLOGUE_END, start)
  upgraded = text[:start] + text[end:]
  original = upgraded.replace(_UPGRADED_IMPORT, _ORIGINAL_IMPORT)
  assert original.count(_ORIGINAL_IMPORT) == 1
  infile = tmp_path / 'original.py'
  outfile = tmp_path / 'upgraded.py'
  infile.write_text(original)
  subprocess.run(
      [sys.executable, '-m', 'tensorflow.tools.compatibility.tf_upgrade_v2_main',
       '--mode', 'SAFETY', '--infile', str(infile), '--outfile', str(outfile),
       '--reportfile', str(tmp_path / 'report.txt')],
      check=True, timeout=SUBPROCESS_TIMEOUT, stdout=subprocess.DEVNULL)
  assert outfile.read_text() == upgraded


def test_example_runs_as_a_script():
  result = subprocess.run(
      [sys.executable, EXAMPLE], cwd=_ROOT, timeout=SUBPROCESS_TIMEOUT,
      env=_env_with_root(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      universal_newlines=True)
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'moving statistics (is_training=False): accuracy' in result.stdout
