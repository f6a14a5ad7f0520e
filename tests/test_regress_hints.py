"""The regression harness's measures and likely-cause hints, on given arrays."""

import numpy as np
import pytest

from contrib_bn.tools.regress import compare
from contrib_bn.tools.regress import hints as likely_causes

SCOPE = 'bn'
CHANNELS = 3
ROWS = 8  # n = ROWS values per channel in a [ROWS, CHANNELS] output


def _layer(fused=True, epsilon=0.001, constants=(0.9,), dtype='float32'):
  return {'scope': SCOPE, 'output': 'bn/out:0', 'dtype': dtype,
          'fused_kernels': ['FusedBatchNormV3'] if fused else [],
          'fused_epsilons': [epsilon] if fused else [],
          'scalar_constants': sorted(constants)}


def _run(variance_factor=1.0, moved=True, decay=0.9):
  """Arrays of two steps; the first update as TF's moving averages make it.

  Each statistic moves by (1 - decay) * (batch value - old value); the batch
  variance is scaled by `variance_factor` (n/(n-1) for Bessel's correction).
  """
  rng = np.random.RandomState(0)
  batch_mean = rng.uniform(-2.0, 2.0, CHANNELS)
  batch_variance = rng.uniform(0.5, 2.0, CHANNELS) * variance_factor
  old_mean = np.zeros(CHANNELS)
  old_variance = np.ones(CHANNELS)
  c = 0.0 if not moved else 1.0 - decay
  return {
      'step0/layer/' + SCOPE: np.zeros([ROWS, CHANNELS], np.float32),
      'step0/moving/%s/moving_mean' % SCOPE: old_mean.astype(np.float32),
      'step1/moving/%s/moving_mean' % SCOPE: (
          old_mean + c * (batch_mean - old_mean)).astype(np.float32),
      'step0/moving/%s/moving_variance' % SCOPE: old_variance.astype(
          np.float32),
      'step1/moving/%s/moving_variance' % SCOPE: (
          old_variance + c * (batch_variance - old_variance)).astype(
              np.float32),
  }


@pytest.mark.parametrize('expected, actual', [
    ([1.0, 2.0], [1.0, 2.0]),
    ([0.0, 0.0], [0.0, 0.0]),
])
def test_divergence_zero_for_equal_arrays(expected, actual):
  assert compare.divergence(expected, actual) == 0.0


@pytest.mark.parametrize('expected, actual, value', [
    # scaled by the largest TF1 magnitude...
    ([10.0, -20.0], [10.0, -20.2], 0.01),
    # ...but never by less than SCALE_FLOOR
    ([0.001, 0.0], [0.002, 0.0], 0.001),
    ([1.0, 2.0], [1.0], float('inf')),
    ([np.nan, 1.0], [1.0, 1.0], float('inf')),
])
def test_divergence(expected, actual, value):
  assert compare.divergence(expected, actual) == pytest.approx(value)


def test_bessel_correction_is_named():
  tf1 = _run()
  tf2 = _run(variance_factor=ROWS / (ROWS - 1.0))
  hints = likely_causes.layer_hints(SCOPE, _layer(), _layer(), tf1, tf2, 2)
  assert any(h.startswith('Bessel correction') and 'n=%d' % ROWS in h
             for h in hints), hints


def test_decay_difference_is_named():
  tf1 = _run(decay=0.9)
  tf2 = _run(decay=0.8)
  hints = likely_causes.layer_hints(SCOPE, _layer(),
                                    _layer(constants=(0.8,)), tf1, tf2, 2)
  # (1 - 0.8) / (1 - 0.9) = 2
  assert any(h.startswith('decay: the first moving-mean update of bn is 2 '
                          'times') for h in hints), hints
  assert any('TF 1.15 only [0.9], TF 2 only [0.8]' in h for h in hints)


def test_update_ops_not_run_is_named():
  hints = likely_causes.layer_hints(SCOPE, _layer(), _layer(), _run(),
                                    _run(moved=False), 2)
  assert any(h.startswith('update ops not run: bn') for h in hints), hints
  assert not any(h.startswith(('decay', 'Bessel')) for h in hints), hints


@pytest.mark.parametrize('tf1_layer, tf2_layer, start', [
    (_layer(fused=True), _layer(fused=False), 'path: bn: TF 1.15 ran the '
     'fused kernel, contrib_bn ran the non-fused ops'),
    (_layer(epsilon=1.001e-5), _layer(epsilon=1e-6),
     'epsilon floor: the fused kernel of bn used epsilon [1.001e-05] on TF '
     '1.15 and [1e-06] on TF 2 (TF 1.15 raises epsilon'),
    (_layer(dtype='float32'), _layer(dtype='float16'),
     'dtype: bn outputs float32 on TF 1.15 and float16 on TF 2'),
])
def test_graph_differences_are_named(tf1_layer, tf2_layer, start):
  hints = likely_causes.layer_hints(SCOPE, tf1_layer, tf2_layer, _run(),
                                    _run(), 2)
  assert any(h.startswith(start) for h in hints), hints


def test_variance_difference_without_bessel_factor():
  hints = likely_causes.layer_hints(SCOPE, _layer(), _layer(), _run(),
                                    _run(variance_factor=1.5), 2)
  assert hints == ['variance: the moving-mean update of bn agrees but the '
                   'moving-variance update differs']


def test_agreeing_layers_get_no_hint():
  assert likely_causes.layer_hints(SCOPE, _layer(), _layer(), _run(),
                                   _run(), 2) == []
