"""TF 1.15 batch-norm checkpoints exported to native Keras 3 layers.

For golden cases of the TF 1.15.5 corpus, the Keras 3 `BatchNormalization`
built by `contrib_bn.keras_export.to_keras` from the case's TF1 checkpoint
must compute, in inference mode, what contrib_bn computes in a graph restored
from the same checkpoint (`contrib_bn.conformance.verify_single_device.restore_and_infer`).
"""

import json
import os

import numpy as np
import pytest

from contrib_bn import constants
from contrib_bn import keras_export
from contrib_bn.conformance import goldens
from contrib_bn.conformance import verify_single_device
from keras_reference import contrib_bn_inference
from keras_reference import KERAS_ATOL

# Against outputs recorded by older TF 1.x releases, whose kernels (built
# without AVX/FMA) round differently: as in test_checkpoint_eras, up to 4.8e-7
# was seen on outputs of magnitude ~3; four float32 ulps there.
ERA_KERAS_ATOL = 2e-6

ERAS_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    'contrib_bn', 'goldens', 'eras')

# Cases covering NHWC and NCHW, ranks 2 to 5, every internal path and the
# center/scale combinations; each checkpoint is TF 1.15.5's own.
CASES = [
    'default_r2_nhwc', 'default_r2_nchw', 'default_r3_nhwc',
    'default_r3_nchw', 'default_r4_nhwc', 'default_r4_nchw',
    'default_r5_nhwc', 'default_r5_nchw',
    'unfused_r4_nchw', 'zero_debias_r4_nhwc', 'zero_debias_r2_nchw',
    'batch_weights_r4_nchw',
    'center0_scale0_core_fused', 'center1_scale1_core_fused',
    'center0_scale1_core_fused', 'center0_scale0_fused_r2',
    'center1_scale1_fused_r2', 'center0_scale1_fused_r2',
    'center0_scale0_moments_bw', 'center1_scale1_moments_bw',
    'center0_scale0_core_plain', 'center1_scale1_moments_noupd',
    'epsilon_core_fused', 'epsilon_moments_bw', 'decay_fused_r2',
    'tiny_epsilon_core_fused', 'tiny_epsilon_core_plain',
    'tiny_epsilon_fused_r2', 'initializers_core_plain',
]


def _effective_epsilon(case):
  epsilon = case['kwargs'].get('epsilon', 0.001)
  # TF 1.15's fused kernel raised smaller epsilons to this floor; the
  # exported layer must be given the value the kernel really used.
  if verify_single_device.path_of(case) in ('fused', 'core+kernel'):
    return max(epsilon, constants.FUSED_MIN_EPSILON)
  return epsilon


def _export_args(case):
  return dict(data_format=case['kwargs'].get('data_format', 'NHWC'),
              epsilon=_effective_epsilon(case),
              decay=case['kwargs'].get('decay', 0.999),
              rank=len(case['shape']))


@pytest.mark.parametrize('case_id', CASES)
def test_keras_layer_matchescontrib_bn_inference(case_id):
  golden = goldens.load(case_id)
  case = golden.case
  scope = case['kwargs'].get('scope') or 'BatchNorm'
  layer = keras_export.to_keras(golden.checkpoint_prefix, scope,
                                **_export_args(case))
  assert layer.center == case['kwargs'].get('center', True)
  assert layer.scale == case['kwargs'].get('scale', False)
  assert layer.momentum == case['kwargs'].get('decay', 0.999)
  nchw = case['kwargs'].get('data_format') == 'NCHW'
  assert layer.axis == (1 if nchw and len(case['shape']) > 2 else -1)
  expected = contrib_bn_inference(golden)
  got = keras_export.infer(layer, golden.arrays['input'])
  np.testing.assert_allclose(got, expected, rtol=0, atol=KERAS_ATOL)


def test_comparison_detects_other_statistics():
  # The statistics of a neighbouring case (same shape, data format and
  # arguments, another input) are close but not equal: the comparison above
  # can fail.
  golden = goldens.load('default_r4_nchw')
  other = goldens.load('unfused_r4_nchw')
  layer = keras_export.to_keras(other.checkpoint_prefix, 'BatchNorm',
                                data_format='NCHW', rank=4)
  got = keras_export.infer(layer, golden.arrays['input'])
  assert np.max(np.abs(got - contrib_bn_inference(golden))) > KERAS_ATOL


def test_tiny_epsilon_needs_the_fused_floor():
  golden = goldens.load('tiny_epsilon_core_fused')
  args = _export_args(golden.case)
  args['epsilon'] = golden.case['kwargs']['epsilon']
  layer = keras_export.to_keras(golden.checkpoint_prefix, 'BatchNorm',
                                **args)
  got = keras_export.infer(layer, golden.arrays['input'])
  assert np.max(np.abs(got - contrib_bn_inference(golden))) > KERAS_ATOL


def test_renorm_needs_inference_only():
  golden = goldens.load('renorm_r4_nhwc')
  with pytest.raises(ValueError, match='Keras 3 dropped batch renormal'):
    keras_export.to_keras(golden.checkpoint_prefix, 'BatchNorm')
  layer = keras_export.to_keras(golden.checkpoint_prefix, 'BatchNorm',
                                inference_only=True,
                                **_export_args(golden.case))
  got = keras_export.infer(layer, golden.arrays['input'])
  np.testing.assert_allclose(got, contrib_bn_inference(golden), rtol=0,
                             atol=KERAS_ATOL)


def test_unknown_scope_lists_the_available_ones():
  golden = goldens.load('scope_core_fused')
  with pytest.raises(ValueError, match="has: 'bn1'"):
    keras_export.to_keras(golden.checkpoint_prefix, 'BatchNorm')


def test_save_needs_keras_suffix(tmp_path):
  golden = goldens.load('default_r4_nhwc')
  layer = keras_export.to_keras(golden.checkpoint_prefix, 'BatchNorm')
  with pytest.raises(ValueError, match='.keras'):
    keras_export.save(layer, str(tmp_path / 'bn.h5'))


@pytest.mark.parametrize('release', ['tf1.2.1', 'tf1.13.1', 'tf1.15.5'])
def test_tf_layers_checkpoint_of_any_release_exports(release):
  # Two tf.layers.batch_normalization layers with a ReLU between, trained
  # and saved by that release; the exported Keras layers must reproduce the
  # inference output the release itself computed.
  directory = os.path.join(ERAS_DIR, release)
  with open(os.path.join(directory, 'layers_two_r4_nhwc.json')) as f:
    case = json.load(f)['case']
  with np.load(os.path.join(directory, 'layers_two_r4_nhwc.npz')) as data:
    inputs, expected = data['input'], data['inference/output']
  prefix = os.path.join(directory, 'checkpoints', 'layers_two_r4_nhwc')
  momentum = case['kwargs']['momentum']
  first = keras_export.to_keras(prefix, 'batch_normalization', decay=momentum)
  second = keras_export.to_keras(prefix, 'batch_normalization_1',
                                 decay=momentum)
  hidden = np.maximum(keras_export.infer(first, inputs), 0)
  got = keras_export.infer(second, hidden)
  np.testing.assert_allclose(got, expected, rtol=0, atol=ERA_KERAS_ATOL)
