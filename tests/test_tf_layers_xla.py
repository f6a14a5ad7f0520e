"""`tf.layers` golden cases under XLA, as TF 1.15.5 recorded them.

Under XLA (auto-clustering, and `jit_scope`) tf.layers golden cases train
and infer as TF 1.15.5 recorded them, within the corpus tolerances. Each
mode replays the cases in a fresh process
(tests/data/tf_layers_models/replay_under_xla.py), so that the XLA flags
apply from TensorFlow's start.
"""

import json
import os
import subprocess
import sys

import pytest

from tf_layers_models import MODELS
from tf_layers_models import ROOT

XLA_REPLAY = os.path.join(MODELS, 'replay_under_xla.py')

# One case of each way a tf.layers batch norm computes: the fused kernel by
# default and with fused=True, the formulas (fused=False) with training a
# bool and a placeholder, rank 2 through the kernel, renorm at ranks 4 and 2,
# ghost batches and an axis list.
XLA_CASES = ('rank4_default', 'rank4_fused_true', 'rank4_fused_false',
             'rank4_fused_false_placeholder', 'rank2_train',
             'renorm_clipping_rank4', 'renorm_rank2_placeholder',
             'virtual_batch_rank4_train', 'axes_rank4_1_3')
# Each case compiles its clusters afresh: seconds a case, minutes when the
# machine is loaded.
XLA_TIMEOUT_SECONDS = 1200


@pytest.mark.parametrize('mode', ['auto', 'jit_scope'])
def test_tf_layers_train_and_infer_as_tf115_under_xla(mode):
  env = dict(os.environ)
  env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
  env.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  if mode == 'jit_scope':
    env.pop('TF_XLA_FLAGS', None)
  done = subprocess.run([sys.executable, XLA_REPLAY, mode] + list(XLA_CASES),
                        cwd=ROOT, env=env, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, universal_newlines=True,
                        timeout=XLA_TIMEOUT_SECONDS)
  assert done.returncode == 0, done.stderr[-3000:]
  results = json.loads(done.stdout.strip().splitlines()[-1])
  assert sorted(results) == sorted(XLA_CASES)
  for case_id, result in sorted(results.items()):
    print('%s %s: %d XLA ops, max abs diff %.3g' % (
        mode, case_id, result['compiled'], result['max_abs_diff']))
    # Otherwise the comparison would pass without XLA having run.
    assert result['compiled'] > 0, (case_id, result)
    assert not result['problems'], (case_id, result['problems'])

