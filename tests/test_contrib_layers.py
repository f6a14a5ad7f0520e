"""tf.contrib.layers initializers and regularizers against TF 1.15.5.

scripts/record_contrib_layers.py ran every case of
contrib_bn/conformance/contrib_layers_cases.py on TF 1.15.5 with the real
`tf.contrib.layers` and committed the values, op names, collections and
errors (contrib_bn/goldens/contrib_layers). Here the same case functions run
against `tf.contrib.layers` after `contrib_bn.install()`.
"""

import importlib

import numpy as np
import pytest
import tensorflow as tf

import contrib_bn
from contrib_bn.conformance import contrib_layers_cases

contrib_layers = importlib.import_module('contrib_bn.compat.contrib_layers')

# Largest difference allowed, relative to max(1, max |golden|). The random
# bits are integer Philox output of the same kernels with the same seed pair,
# but turning them into floats goes through log/sin/cos (truncated normal) and
# a multiply-add whose vectorized form may differ between CPUs and Eigen
# builds by an ULP or two; sums of penalties reduce in another order. 1e-6 is
# a few float32 ULPs; a wrong constant (1.3 vs 1.0, sqrt(3) vs sqrt(6)) or a
# wrong seed is off by 1e-2 or more.
VALUE_RTOL = 1e-6

# Op types TF 2 renamed for the same computation: `a + b` builds AddV2.
_TF2_OP_TYPES = {'Add': 'AddV2'}
# Cases that create a variable: TF 2's `tf.compat.v1.get_variable` makes a
# resource variable (VarHandleOp, ...) where TF 1.15 made a ref variable
# (VariableV2, ...); only the initializer's ops are compared there.
_VARIABLE_CASE_SUFFIX = '/get_variable'
_INITIALIZER_SCOPE = 'w/Initializer/'

_GOLDEN, _VALUES = contrib_layers_cases.load()
_CASES = contrib_layers_cases.all_cases()


@pytest.fixture(scope='module')
def layers():
  contrib_bn.install()
  yield tf.compat.v1.contrib.layers
  contrib_bn.uninstall()


def test_golden_covers_every_case():
  assert _GOLDEN['tensorflow'] == '1.15.5'
  assert sorted(_GOLDEN['cases']) == sorted(_CASES)


def _ops(record, case_id, rename):
  ops = [[name, _TF2_OP_TYPES.get(kind, kind) if rename else kind]
         for name, kind in record['ops']]
  if case_id.endswith(_VARIABLE_CASE_SUFFIX):
    ops = [op for op in ops if op[0].startswith(_INITIALIZER_SCOPE)]
  return ops


@pytest.mark.parametrize('case_id', sorted(_CASES))
def test_case_matches_tf115(case_id, layers):
  golden = _GOLDEN['cases'][case_id]
  record, value = contrib_layers_cases.run_case(
      case_id, _CASES[case_id], tf.compat.v1, layers)
  assert record.get('error') == golden.get('error')
  assert record.get('output') == golden.get('output')
  assert record['collections'] == golden['collections']
  assert _ops(record, case_id, False) == _ops(golden, case_id, True)
  if case_id in _VALUES:
    expected = _VALUES[case_id]
    assert value is not None
    assert value.dtype == expected.dtype and value.shape == expected.shape
    scale = max(1.0, float(np.max(np.abs(expected))) if expected.size else 1.)
    diff = np.max(np.abs(value.astype(np.float64) -
                         expected.astype(np.float64))) if value.size else 0.
    assert diff <= VALUE_RTOL * scale, (case_id, diff)
  else:
    assert value is None


@pytest.mark.parametrize('name', contrib_layers.__all__)
def test_names_reachable_on_both_modules(name, layers):
  assert getattr(layers, name) is getattr(contrib_layers, name)
  assert getattr(tf.contrib.layers, name) is getattr(contrib_layers, name)


def test_xavier_conv2d_is_xavier():
  assert contrib_layers.xavier_initializer_conv2d is (
      contrib_layers.xavier_initializer)


@pytest.mark.parametrize('dtype', ['not a dtype', object()])
def test_unconvertible_dtype_names_argument(dtype):
  with pytest.raises(TypeError, match='dtype must be a TensorFlow floating'):
    contrib_layers.variance_scaling_initializer(dtype=dtype)


def test_apply_regularization_unknown_rank_is_clear():
  graph = tf.Graph()
  with graph.as_default():
    weights = tf.compat.v1.placeholder(tf.float32, shape=None)
    with pytest.raises(ValueError, match='unknown rank'):
      contrib_layers.apply_regularization(lambda w: w * 2.0, [weights])
