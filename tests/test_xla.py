"""Under XLA auto-clustering: TF 1.15's numbers, and no negative variance.

TensorFlow clusters CPU graphs for XLA only with TF_XLA_FLAGS
--tf_xla_cpu_global_jit, read before the process's first session, so each
check runs in a fresh interpreter.

The corpus part runs a representative subset, not all 276 cases: under XLA
every case compiles its clusters afresh, about 15 s a case on this project's
two shared cores, so the whole corpus takes over an hour. The subset holds
one case of every path and of every way a path computes its statistics
(fused kernel, core layer with the kernel at rank 4, the kernel viewing
rank 2, 3 and 5 and NCHW input as rank 4, the moments formulas kept for
renorm, float64 and batch weights), float16 through the kernel, a fed
`is_training` and zero-debiasing. `python -m contrib_bn verify --xla` runs
the whole corpus.

It also holds the three float16 cases that keep TF 1.15's half-precision
formulas (`float16_core_plain`, `float16_moments_noupd`,
`float16_moments_bw`): XLA would sum their float16 gradients in float32 and
miss the goldens, so `_half_precision` keeps those sums off XLA. And the
four float32 cases that compiled renorm formulas or a compiled harness loss
moved past their tolerance: renorm's training formulas are kept out of XLA
(`_outside_xla`), and so is the harness's loss under `verify --xla`.
"""

import json
import os
import subprocess
import sys

import pytest

from contrib_bn.conformance import xla_flags

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

XLA_SUBSET = (
    'default_r2_nhwc', 'default_r4_nhwc', 'unfused_r3_nhwc',
    'unfused_r5_nchw', 'unfused_r4_nchw', 'updates_none_r3_nhwc',
    'zero_debias_r5_nhwc', 'zero_debias_r4_nhwc', 'renorm_r4_nhwc',
    'batch_weights_r3_nhwc', 'training_placeholder_core_plain',
    'adjustment_r4_nhwc', 'float16_core_fused', 'float64_core_plain',
    'float16_core_plain', 'float16_moments_noupd', 'float16_moments_bw',
    'renorm_r4_nchw', 'renorm_adjustment', 'initializers_renorm',
    'tiny_epsilon_fused_zd',
)
# Generous: ~15 s a case, on a loaded machine several times that.
SUBSET_TIMEOUT_SECONDS = 1800

# Each configuration names a path that feeds the kernel's batch variance to
# the moving variance; the data make XLA's E[x^2] - E[x]^2 go negative.
_GUARD_SCRIPT = r'''
import json
import numpy as np
import tensorflow as tf
from contrib_bn import batch_norm
from contrib_bn.conformance import verify_single_device

verify_single_device.enable_xla_auto_clustering()
configs = {
    'core_kernel_r4': ([16, 4, 4, 8], {}),
    'fused_r2': ([64, 8], {}),
    'fused_zero_debias_r4': ([16, 4, 4, 8],
                             {'zero_debias_moving_mean': True}),
    'core_unfused_r3': ([16, 16, 8], {'fused': False}),
    'core_r5': ([4, 4, 4, 4, 8], {}),
    'moments_updates_none_r3': ([16, 16, 8], {'updates_collections': None}),
}
result = {}
for name, (shape, kwargs) in configs.items():
  rng = np.random.RandomState(0)
  data = (1000.0 + rng.normal(0.0, 1e-3, size=shape)).astype(np.float32)
  graph = tf.Graph()
  with graph.as_default():
    x = tf.compat.v1.placeholder(tf.float32, shape)
    y = batch_norm(x, decay=0.0, **kwargs)
    updates = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
    variance = [v for v in tf.compat.v1.global_variables()
                if v.op.name.endswith('moving_variance')][0]
    config = tf.compat.v1.ConfigProto()
    config.graph_options.optimizer_options.global_jit_level = (
        tf.compat.v1.OptimizerOptions.ON_1)
    with tf.compat.v1.Session(config=config) as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      metadata = tf.compat.v1.RunMetadata()
      sess.run([y] + updates, {x: data},
               options=tf.compat.v1.RunOptions(output_partition_graphs=True),
               run_metadata=metadata)
      compiled = any(node.op == '_XlaCompile'
                     for partition in metadata.partition_graphs
                     for node in partition.node)
      result[name] = {'min_moving_variance':
                          float(np.min(sess.run(variance))),
                      'compiled': compiled}
print(json.dumps(result))
'''


def _run(args, timeout, unset=()):
  env = dict(os.environ)
  env['PYTHONPATH'] = _ROOT + os.pathsep + env.get('PYTHONPATH', '')
  env.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  for name in unset:
    env.pop(name, None)
  return subprocess.run([sys.executable] + args, cwd=_ROOT, env=env,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        universal_newlines=True, timeout=timeout)


def test_corpus_subset_matches_tf1_under_xla():
  pattern = '^(%s)$' % '|'.join(XLA_SUBSET)
  result = _run(['-m', 'contrib_bn', 'verify', '--xla', '--filter', pattern],
                SUBSET_TIMEOUT_SECONDS)
  assert result.returncode == 0, result.stdout + result.stderr
  assert 'XLA auto-clustering: on' in result.stdout
  assert '%d/%d golden cases match' % (
      len(XLA_SUBSET), len(XLA_SUBSET)) in result.stdout, result.stdout


def test_command_line_enables_xla_before_its_quiet_start_up():
  # Without TF_CPP_MIN_LOG_LEVEL the command line lists TensorFlow's devices
  # while loading it quietly, which is when XLA reads its flags.
  result = _run(['-m', 'contrib_bn', 'verify', '--xla', '--filter',
                 '^default_r2_nhwc$'], 900,
                unset=('TF_CPP_MIN_LOG_LEVEL', 'TF_XLA_FLAGS'))
  assert result.returncode == 0, result.stdout + result.stderr
  assert '1/1 golden cases match' in result.stdout, result.stdout


@pytest.mark.parametrize('argv, wanted', [
    (['verify', '--xla'], True),
    (['verify', '--filter', 'x', '--xla'], True),
    (['verify'], False),
    (['scan', '--xla'], False),
    ([], False),
])
def test_xla_flag_requested_only_by_verify_xla(argv, wanted):
  assert xla_flags.requested_on_command_line(argv) is wanted


@pytest.mark.parametrize('before, after', [
    ({}, '--tf_xla_cpu_global_jit'),
    ({'TF_XLA_FLAGS': '--xla_foo=1'}, '--xla_foo=1 --tf_xla_cpu_global_jit'),
    ({'TF_XLA_FLAGS': '--tf_xla_cpu_global_jit'}, '--tf_xla_cpu_global_jit'),
])
def test_xla_cpu_flag_keeps_other_flags(before, after):
  environ = dict(before)
  xla_flags.request_cpu_clustering(environ)
  assert environ['TF_XLA_FLAGS'] == after


@pytest.fixture(scope='module')
def guard_result():
  result = _run(['-c', _GUARD_SCRIPT], 900)
  assert result.returncode == 0, result.stderr
  return json.loads(result.stdout.strip().splitlines()[-1])


def test_xla_compiles_every_configuration(guard_result):
  # Otherwise the next test would pass without XLA having run.
  assert all(r['compiled'] for r in guard_result.values()), guard_result


def test_moving_variance_never_negative_under_xla(guard_result):
  for name, r in guard_result.items():
    assert r['min_moving_variance'] >= 0.0, (name, r)
