"""Checkpoints: TF 1.15's restore into contrib_bn graphs, and round trips.

The golden corpus holds the checkpoint TF 1.15.5 saved after training each
case (`contrib_bn/goldens/tf1.15.5/checkpoints/`). A contrib_bn graph built
by the same harness must restore it bit for bit, and a graph that does not
match it (a variable the checkpoint lacks, another shape, another dtype) must
be refused with an error naming the variable. Graphs of every internal path
must also save and restore their own state exactly.
"""

import copy

import numpy as np
import pytest
import tensorflow as tf

from contrib_bn import batch_norm
from contrib_bn import checkpoint
from contrib_bn.conformance import goldens
from contrib_bn.conformance import harness

# One case per internal path (and per extra variable set): the fused
# kernel path, the core layer with and without the kernel, renorm, and
# zero-debiasing on both the fused and the moments paths.
PATH_CASES = {
    'fused': 'default_r2_nhwc',
    'core+kernel': 'default_r4_nhwc',
    'core': 'default_r3_nhwc',
    'core+renorm': 'renorm_r4_nhwc',
    'fused+zero_debias': 'zero_debias_r4_nhwc',
    'moments+zero_debias': 'zero_debias_r3_nhwc',
    'moments+weights+zero_debias': 'batch_weights_zero_debias_r4_nhwc',
    'core+bool_variable': 'training_variable_core_fused',
}


def _config():
  # One thread: reductions then run in a fixed order, run after run.
  return tf.compat.v1.ConfigProto(intra_op_parallelism_threads=1,
                                  inter_op_parallelism_threads=1)


def _golden(case_id):
  golden = goldens.load(case_id)
  assert golden.checkpoint_prefix is not None, goldens.REGENERATE_HINT
  return golden


# The harness's `is_training` variable is saved True and recorded after the
# inference that set it False; it is the harness's, not the layer's.
_HARNESS_VARIABLES = ('is_training',)


def _variables(built, sess):
  with built.graph.as_default():
    variables = [v for v in tf.compat.v1.global_variables()
                 if v.op.name not in _HARNESS_VARIABLES]
  return {v.op.name: np.asarray(value)
          for v, value in zip(variables, sess.run(variables))}


def _recorded_variables(arrays):
  return {k[len('var/'):]: v for k, v in arrays.items()
          if k.startswith('var/') and k[len('var/'):] not in
          _HARNESS_VARIABLES}


def _assert_bitwise(actual, expected, what):
  actual, expected = np.asarray(actual), np.asarray(expected)
  assert actual.dtype == expected.dtype, (what, actual.dtype, expected.dtype)
  assert actual.shape == expected.shape, (what, actual.shape, expected.shape)
  assert actual.tobytes() == expected.tobytes(), (
      '%s differs: max |diff| %g' % (
          what, np.max(np.abs(actual.astype(np.float64) -
                              expected.astype(np.float64)))))


def _restore_error(case, prefix):
  """Builds `case` and restores `prefix`; returns the error raised."""
  built = harness.build(tf, batch_norm, case)
  with built.graph.as_default():
    with tf.compat.v1.Session(graph=built.graph, config=_config()) as sess:
      with pytest.raises(Exception) as info:
        built.saver.restore(sess, prefix)
  return info.value


def _with(case, **kwargs):
  case = copy.deepcopy(case)
  case['kwargs'].update(kwargs)
  return case


def _with_channels(case, channels):
  case = copy.deepcopy(case)
  for key in ('shape', 'input_shape'):
    case[key] = case[key][:-1] + [channels]
  return case


@pytest.mark.parametrize('path', sorted(PATH_CASES))
def test_tf1_checkpoint_restores_bitwise(path):
  """Every variable TF 1.15 saved comes back bit for bit."""
  golden = _golden(PATH_CASES[path])
  built = harness.build(tf, batch_norm, golden.case)
  with built.graph.as_default():
    with tf.compat.v1.Session(graph=built.graph, config=_config()) as sess:
      built.saver.restore(sess, golden.checkpoint_prefix)
      restored = _variables(built, sess)
  expected = _recorded_variables(golden.arrays)
  assert sorted(restored) == sorted(expected)
  for name, value in expected.items():
    _assert_bitwise(restored[name], value, name)


@pytest.mark.parametrize('change, missing', [
    # scale=True adds gamma, which the default case never had.
    ({'scale': True}, ['BatchNorm/gamma']),
    # Zero-debiasing adds the biased accumulator and its step counter.
    ({'zero_debias_moving_mean': True},
     ['BatchNorm/BatchNorm/moving_mean/biased',
      'BatchNorm/BatchNorm/moving_mean/local_step']),
    # Renorm adds its own moving averages.
    ({'renorm': True},
     ['BatchNorm/moving_stddev', 'BatchNorm/renorm_mean',
      'BatchNorm/renorm_stddev']),
    # Another scope renames every variable.
    ({'scope': 'bn'}, ['bn/beta', 'bn/moving_mean', 'bn/moving_variance']),
], ids=['gamma', 'zero_debias', 'renorm', 'scope'])
def test_restore_names_variable_missing_from_checkpoint(change, missing):
  golden = _golden('default_r4_nhwc')
  error = _restore_error(_with(golden.case, **change),
                         golden.checkpoint_prefix)
  assert isinstance(error, tf.errors.NotFoundError), repr(error)
  message = str(error)
  assert any('Key %s not found in checkpoint' % name in message
             for name in missing), message


def test_restore_names_variable_of_another_dtype():
  # float64 input: the core layer keeps float64 variables at rank 3.
  golden = _golden('default_r3_nhwc')
  case = copy.deepcopy(golden.case)
  case['dtype'] = 'float64'
  error = _restore_error(case, golden.checkpoint_prefix)
  assert isinstance(error, tf.errors.InvalidArgumentError), repr(error)
  assert ('tensor_name = BatchNorm/beta; expected dtype double does not '
          'equal original dtype float') in str(error), str(error)


@pytest.mark.parametrize('case_id', ['default_r4_nhwc', 'default_r3_nhwc'])
def test_contrib_bn_restore_refuses_variable_of_another_shape(case_id):
  """TF 1.15 refused this at restore: a 3-channel graph from 5 channels."""
  golden = _golden(case_id)
  built = harness.build(tf, batch_norm, _with_channels(golden.case, 3))
  with built.graph.as_default():
    with tf.compat.v1.Session(graph=built.graph, config=_config()) as sess:
      with pytest.raises(ValueError) as info:
        checkpoint.restore(sess, golden.checkpoint_prefix)
  assert 'BatchNorm/beta' in str(info.value), str(info.value)


@pytest.mark.xfail(strict=True, reason=(
    'TF 2.x resource variables take a checkpoint value of another shape '
    'without an error at Saver.restore; use contrib_bn.checkpoint.restore '
    'or checkpoint.validate_checkpoint (docs/parity.md, deliberate differences)'))
def test_plain_saver_refuses_variable_of_another_shape():
  golden = _golden('default_r3_nhwc')
  built = harness.build(tf, batch_norm, _with_channels(golden.case, 3))
  with built.graph.as_default():
    with tf.compat.v1.Session(graph=built.graph, config=_config()) as sess:
      with pytest.raises(Exception):
        built.saver.restore(sess, golden.checkpoint_prefix)


@pytest.mark.parametrize('channels', [3, 1])
def test_validate_checkpoint_names_misshaped_variables(channels):
  golden = _golden('default_r3_nhwc')
  built = harness.build(tf, batch_norm,
                        _with_channels(golden.case, channels))
  with built.graph.as_default():
    with pytest.raises(ValueError) as info:
      checkpoint.validate_checkpoint(golden.checkpoint_prefix)
  message = str(info.value)
  for name in ('BatchNorm/beta', 'BatchNorm/moving_mean',
               'BatchNorm/moving_variance'):
    assert '%s has shape [5] in the checkpoint but [%d] in the graph' % (
        name, channels) in message, message


def test_validate_checkpoint_names_missing_and_retyped_variables():
  golden = _golden('default_r3_nhwc')
  case = _with(golden.case, scale=True)
  case['dtype'] = 'float64'
  built = harness.build(tf, batch_norm, case)
  with built.graph.as_default():
    with pytest.raises(ValueError) as info:
      checkpoint.validate_checkpoint(golden.checkpoint_prefix)
  message = str(info.value)
  assert 'BatchNorm/gamma is missing from the checkpoint' in message, message
  assert ('BatchNorm/beta has dtype float32 in the checkpoint but float64 '
          'in the graph') in message, message


@pytest.mark.parametrize('path', sorted(PATH_CASES))
def test_validate_checkpoint_accepts_matching_graph(path):
  golden = _golden(PATH_CASES[path])
  built = harness.build(tf, batch_norm, golden.case)
  with built.graph.as_default():
    checkpoint.validate_checkpoint(golden.checkpoint_prefix)
    checkpoint.validate_checkpoint(
        golden.checkpoint_prefix,
        {v.op.name: v for v in tf.compat.v1.global_variables()})


@pytest.mark.parametrize('path', sorted(PATH_CASES))
def test_save_restore_round_trip_is_exact(path, tmp_path):
  """Train, save, restore into a fresh graph: the same bits, same outputs."""
  golden = _golden(PATH_CASES[path])
  case = golden.case
  data, target = harness.case_data(case)
  prefix = str(tmp_path / 'model')
  trained = harness.run(tf, harness.build(tf, batch_norm, case), data,
                        target, checkpoint_prefix=prefix)
  built = harness.build(tf, batch_norm, case)
  with built.graph.as_default():
    with tf.compat.v1.Session(graph=built.graph, config=_config()) as sess:
      built.saver.restore(sess, prefix)
      restored = _variables(built, sess)
      inference = harness.infer(built, sess, data, target)
  saved = _recorded_variables(trained)
  assert sorted(restored) == sorted(saved)
  for name, value in saved.items():
    _assert_bitwise(restored[name], value, name)
  for i, value in enumerate(inference):
    _assert_bitwise(value, trained['inference/output%d' % i],
                    'inference output %d' % i)
