"""`regress` on `tf.layers` code: recorded under TF 1.15.5, compared on TF 2.

`regress` records tests/data/tf_layers_models/tf_layers_net.py under
TF 1.15.5 and compares it on TF 2 (needs CONTRIB_BN_TF1_PYTHON): the numbers
agree with TF 1's and TF 2's control flow, a model that diverges on TF 2 is
named at its first diverging layer, and a train op that skips the updates is
reported as such.
"""

import io
import os

import pytest

from tf_layers_models import NET
from tf_layers_models import NET_LAYERS

TF1_PYTHON = os.environ.get('CONTRIB_BN_TF1_PYTHON')

needs_tf1 = pytest.mark.skipif(
    not TF1_PYTHON,
    reason='LOUD SKIP: CONTRIB_BN_TF1_PYTHON (a Python with TensorFlow 1.15) '
    'is not set; scripts/test.sh sets it')
REGRESS_SHAPES = ['images=8,6,6,3']
REGRESS_STEPS = 3


@pytest.fixture(scope='module')
def recordings(tmp_path_factory):
  from contrib_bn.tools.regress import record  # pylint: disable=g-import-not-at-top
  cache = {}

  def get(function):
    if function not in cache:
      out = str(tmp_path_factory.mktemp('regress') / function)
      log = io.StringIO()
      manifest = record.record(NET + ':' + function, out, TF1_PYTHON,
                               REGRESS_STEPS, 0, REGRESS_SHAPES, stderr=log)
      cache[function] = out, manifest, log.getvalue()
    return cache[function]

  return get


@needs_tf1
@pytest.mark.parametrize('function', ['build', 'build_renorm',
                                      'build_ghost_batches'])
def test_regress_tf_layers_model_agrees_with_tf115(function, recordings):
  from contrib_bn.tools.regress import compare  # pylint: disable=g-import-not-at-top
  out, manifest, log = recordings(function)
  assert manifest['tensorflow'] == '1.15.5'
  assert 'step %d/%d' % (REGRESS_STEPS, REGRESS_STEPS) in log
  assert [l['scope'] for l in manifest['layers']] == list(NET_LAYERS)
  # TF 1.15 fuses a tf.layers batch norm only at rank 4, by default, and
  # never with renorm or ghost batches.
  kernels = [l['fused_kernels'] for l in manifest['layers']]
  assert kernels[1:] == [[], []]
  assert kernels[0] == (['FusedBatchNormV3'] if function == 'build' else [])
  result = compare.compare_recording(NET + ':' + function, out)
  assert result.ok, (result.problems, [
      (e.key, e.divergence, e.threshold) for e in result.entries
      if e.diverged])
  assert result.layer_order == list(NET_LAYERS)
  assert not result.unwired
  groups = {e.group for e in result.entries}
  assert {'layer', 'moving', 'output', 'loss', 'variable final',
          'restored output'} <= groups
  assert len([e for e in result.entries if e.group == 'layer']) == (
      len(NET_LAYERS) * REGRESS_STEPS)
  # Built with TF 2's own control flow the numbers agree just as well, and
  # the updates inside its conditionals still count as wired.
  result_v2 = compare.compare_recording(NET + ':' + function, out,
                                        control_flow_v2=True)
  assert result_v2.ok, result_v2.problems
  assert not result_v2.unwired


@needs_tf1
def test_regress_names_the_tf_layers_layer_that_diverges(recordings):
  # build_divergent is `build` on TF 1.15; on TF 2 its second batch norm
  # uses another epsilon.
  from contrib_bn.tools.regress import compare  # pylint: disable=g-import-not-at-top
  out = recordings('build_divergent')[0]
  result = compare.compare_recording(NET + ':build_divergent', out)
  assert not result.ok
  first = result.first
  assert (first.group, first.name, first.step) == (
      'layer', 'batch_normalization_1', 0)
  # Before the first update, the layer ahead of it still agrees.
  diverged = {e.name for e in result.entries
              if e.group == 'layer' and e.step == 0 and e.diverged}
  assert 'batch_normalization_1' in diverged
  assert 'batch_normalization' not in diverged


@needs_tf1
def test_regress_reports_the_tf_layers_layers_the_train_op_skips(recordings):
  # Unwired on both sides, so the numbers agree (the moving statistics stay
  # at their initial values under TF 1.15 too); the TF 2 train op is still
  # named as skipping every layer's updates, built with TF1's control flow
  # (compare's default) and with TF 2's, where the two layers whose
  # `training` placeholder decides a conditional update inside an If op.
  from contrib_bn.tools.regress import compare  # pylint: disable=g-import-not-at-top
  out = recordings('build_unwired')[0]
  for control_flow_v2 in (False, True):
    result = compare.compare_recording(NET + ':build_unwired', out,
                                       control_flow_v2=control_flow_v2)
    assert result.ok, result.problems
    assert result.unwired == list(NET_LAYERS), control_flow_v2
