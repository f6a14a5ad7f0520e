"""Checkpoints of several TF 1.x releases restored into contrib_bn graphs.

The goldens under contrib_bn/goldens/eras/tf<version>/ were written by
scripts/record_era_checkpoints.py under each release. TF 1.2-1.14 stored
renorm state as `renorm_mean`/`renorm_mean_weight`/`renorm_stddev`/
`renorm_stddev_weight`; TF 1.15 as `moving_stddev`/`renorm_mean`/
`renorm_stddev`. Each checkpoint must restore through
`contrib_bn.checkpoint` into a graph built with `contrib_bn.batch_norm` and
reproduce the inference output that release computed.
"""

import logging
import os

import numpy as np
import pytest
import tensorflow as tf

from contrib_bn import checkpoint
from contrib_bn.conformance import corpus
from era_checkpoints import era_dirs
from era_checkpoints import version_of
from era_checkpoints import build_graph
from era_checkpoints import Era
from era_checkpoints import ERA_CASES
from era_checkpoints import ERAS_DIR

# Inference outputs of TF 1.x and contrib_bn agree to the last float32 bits:
# kernels of the oldest releases (built without AVX/FMA) round differently,
# up to 4.8e-7 on outputs of magnitude ~3, and where TF 1.15 used separate
# multiply and add ops contrib_bn's fused kernel rounds once (renorm's
# inference: 3.1e-5 on outputs of magnitude ~360, under one ulp there).
# INFERENCE_ATOL, about four ulps at magnitude ~3, holds for small outputs;
# larger ones get INFERENCE_ULPS ulps of their magnitude. Neither leaves room
# for a wrong statistic, which moves outputs by whole percents.
INFERENCE_ATOL = 2e-6
INFERENCE_ULPS = 4


def _assert_inference_close(actual, expected):
  scale = float(np.max(np.abs(expected), initial=0.0))
  atol = max(INFERENCE_ATOL,
             INFERENCE_ULPS * float(np.finfo(np.float32).eps) * scale)
  np.testing.assert_allclose(actual, expected, rtol=0, atol=atol)
# The derivations are computed from stored float32 values by the same
# formula TF used; only the last bit may differ from TF's own evaluation.
DERIVED_RTOL = 2e-7
# TF 1.15 stores both moving_stddev and moving_variance = relu(stddev**2 -
# epsilon) in float32; inverting it loses at most a few float32 ulps.
STDDEV_ROUNDTRIP_RTOL = 1e-6

TF115 = (1, 15)


def _restore_and_infer(era, **options):
  graph, x, infer = build_graph(era.case)
  with tf.compat.v1.Session(graph=graph) as sess:
    restore_plan = checkpoint.restore(sess, era.prefix, **options)
    output = sess.run(infer, {x: era.arrays['input']})
    values = {v.op.name: sess.run(v) for v in graph.get_collection(
        tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)}
  return restore_plan, output, values


def test_recorded_eras_cover_both_renorm_layouts():
  versions = [version_of(d) for d in era_dirs()]
  assert any(v < TF115 for v in versions), versions
  assert any(v >= TF115 for v in versions), versions
  layouts = set()
  for directory in era_dirs():
    prefix = corpus.checkpoint_prefix(directory, 'renorm_r4_nhwc')
    layouts.update(layer.layout for layer in checkpoint.inspect(prefix))
  assert layouts == {checkpoint.LAYOUT_RENORM_TF1_14,
                     checkpoint.LAYOUT_RENORM_TF1_15}


@pytest.mark.parametrize('directory,case_id', ERA_CASES)
def test_era_checkpoint_restores_and_reproduces_inference(directory,
                                                          case_id):
  era = Era(directory, case_id)
  restore_plan, output, values = _restore_and_infer(
      era, layers_scope_map=era.scope_map, epsilon=era.epsilon)
  assert restore_plan.complete
  assert not restore_plan.unused, restore_plan.unused
  expected = era.arrays['inference/output']
  _assert_inference_close(output, expected)
  # The variables inference reads are restored exactly as stored.
  renamed = era.scope_map or {}
  for key, stored in era.arrays.items():
    name = key[len('var/'):]
    scope, _, role = name.rpartition('/')
    if role in ('beta', 'gamma', 'moving_mean', 'moving_variance'):
      target = renamed.get(scope, scope) + '/' + role
      np.testing.assert_array_equal(values[target], stored)


@pytest.mark.parametrize('directory,case_id', [
    p for p in ERA_CASES if p.values[1].startswith('renorm')])
def test_renorm_state_is_derived_per_layout(directory, case_id):
  era = Era(directory, case_id)
  restore_plan, _, values = _restore_and_infer(era, epsilon=era.epsilon)
  stored = {k[len('var/'):]: v for k, v in era.arrays.items()
            if k.startswith('var/')}
  kinds = {d.target: d.kind for d in restore_plan.derived}
  if era.version < TF115:
    assert kinds == {'BatchNorm/moving_stddev': 'moving_stddev',
                     'BatchNorm/renorm_mean': 'renorm_unbiased',
                     'BatchNorm/renorm_stddev': 'renorm_unbiased'}
    for role in ('renorm_mean', 'renorm_stddev'):
      unbiased = (stored['BatchNorm/' + role] /
                  stored['BatchNorm/%s_weight' % role])
      np.testing.assert_allclose(values['BatchNorm/' + role], unbiased,
                                 rtol=DERIVED_RTOL)
    expected_stddev = np.sqrt(stored['BatchNorm/moving_variance'] +
                              np.float32(era.epsilon))
    np.testing.assert_allclose(values['BatchNorm/moving_stddev'],
                               expected_stddev, rtol=DERIVED_RTOL)
    assert 'BatchNorm/renorm_mean' not in restore_plan.saver_map
  else:
    assert not restore_plan.derived
    for role in ('moving_stddev', 'renorm_mean', 'renorm_stddev'):
      np.testing.assert_array_equal(values['BatchNorm/' + role],
                                    stored['BatchNorm/' + role])


@pytest.mark.parametrize('case_id', ['renorm_r4_nhwc', 'renorm_scale_r4_nhwc'])
def test_moving_stddev_formula_inverts_tf115(case_id):
  era = Era(os.path.join(ERAS_DIR, 'tf1.15.5'), case_id)
  variance = era.arrays['var/BatchNorm/moving_variance']
  stddev = era.arrays['var/BatchNorm/moving_stddev']
  derived = checkpoint.derived_moving_stddev(variance, era.epsilon)
  np.testing.assert_allclose(derived, stddev, rtol=STDDEV_ROUNDTRIP_RTOL)
  # With the wrong epsilon the inversion is visibly off: the check can fail.
  wrong = checkpoint.derived_moving_stddev(variance, era.epsilon * 3)
  assert np.max(np.abs(wrong / stddev - 1)) > 100 * STDDEV_ROUNDTRIP_RTOL


def test_plain_saver_cannot_restore_old_renorm_layout():
  era = Era(os.path.join(ERAS_DIR, 'tf1.14.0'), 'renorm_r4_nhwc')
  graph, _, _ = build_graph(era.case)
  with graph.as_default():
    saver = tf.compat.v1.train.Saver()
  with tf.compat.v1.Session(graph=graph) as sess:
    with pytest.raises(tf.errors.NotFoundError, match='moving_stddev'):
      saver.restore(sess, era.prefix)


def test_assignment_map_feeds_a_saver():
  era = Era(os.path.join(ERAS_DIR, 'tf1.13.1'), 'renorm_scale_r4_nhwc')
  graph, x, infer = build_graph(era.case)
  var_list = checkpoint.assignment_map(era.prefix, graph)
  assert sorted(var_list) == ['BatchNorm/beta', 'BatchNorm/gamma',
                              'BatchNorm/moving_mean',
                              'BatchNorm/moving_variance']
  with graph.as_default():
    saver = tf.compat.v1.train.Saver(var_list=var_list)
    init = tf.compat.v1.global_variables_initializer()
  with tf.compat.v1.Session(graph=graph) as sess:
    sess.run(init)
    saver.restore(sess, era.prefix)
    output = sess.run(infer, {x: era.arrays['input']})
  _assert_inference_close(output, era.arrays['inference/output'])


@pytest.mark.parametrize('directory', era_dirs())
def test_tf_layers_scopes_map_automatically(directory):
  era = Era(directory, 'layers_two_r4_nhwc')
  restore_plan, output, _ = _restore_and_infer(era, layers_to_contrib=True)
  assert restore_plan.scope_map == {'batch_normalization': 'BatchNorm',
                                    'batch_normalization_1': 'BatchNorm_1'}
  _assert_inference_close(output, era.arrays['inference/output'])


def test_unmapped_tf_layers_scopes_are_reported_missing():
  era = Era(os.path.join(ERAS_DIR, 'tf1.5.0'), 'layers_two_r4_nhwc')
  graph, _, _ = build_graph(era.case)
  restore_plan = checkpoint.plan(era.prefix, graph)
  assert not restore_plan.complete
  assert len(restore_plan.missing) == 8
  assert len(restore_plan.unused) == 8
  with tf.compat.v1.Session(graph=graph) as sess:
    with pytest.raises(ValueError, match='no value for these graph'):
      checkpoint.restore(sess, era.prefix)


@pytest.mark.parametrize('directory', era_dirs())
def test_inspect_reports_release_layout(directory):
  version = version_of(directory)
  for case_id in corpus.recorded_ids(directory):
    era = Era(directory, case_id)
    layers = checkpoint.inspect(era.prefix)
    listed = checkpoint.checkpoint_variables(era.prefix)
    assert sorted(listed) == [v[0] for v in era.record['checkpoint_variables']]
    kwargs = era.case['kwargs']
    if era.case['api'] == 'layers':
      assert [l.scope for l in layers] == ['batch_normalization',
                                           'batch_normalization_1']
      assert {l.kind for l in layers} == {'tf.layers.batch_normalization'}
      expected = dict(center=True, scale=True, renorm=False,
                      zero_debias_moving_mean=False)
    else:
      assert [l.scope for l in layers] == ['BatchNorm']
      assert layers[0].kind == 'tf.contrib.layers.batch_norm'
      expected = dict(
          center=True, scale=kwargs.get('scale', False),
          renorm=kwargs.get('renorm', False),
          zero_debias_moving_mean=kwargs.get('zero_debias_moving_mean',
                                             False))
    for layer in layers:
      assert layer.implied_arguments() == expected
      assert layer.channels == era.case['shape'][-1]
      described = layer.to_dict()
      assert described['variables']['moving_mean'] == {
          'name': layer.scope + '/moving_mean', 'shape': [5],
          'dtype': 'float32'}
    if kwargs.get('renorm'):
      names = sorted(v.name for v in layers[0].variables.values())
      if version < TF115:
        assert layers[0].layout == checkpoint.LAYOUT_RENORM_TF1_14
        assert 'BatchNorm/renorm_mean_weight' in names
        assert 'BatchNorm/renorm_stddev_weight' in names
        assert 'BatchNorm/moving_stddev' not in names
      else:
        assert layers[0].layout == checkpoint.LAYOUT_RENORM_TF1_15
        assert 'BatchNorm/moving_stddev' in names
        assert not [n for n in names if n.endswith('_weight')]
    if kwargs.get('zero_debias_moving_mean'):
      assert layers[0].variables[checkpoint.DEBIAS_BIASED].name == (
          'BatchNorm/BatchNorm/moving_mean/biased')
      assert layers[0].variables[checkpoint.DEBIAS_LOCAL_STEP].name == (
          'BatchNorm/BatchNorm/moving_mean/local_step')


def _rewrite_checkpoint(source_prefix, target_prefix, rename,
                        change=lambda name, value: value):
  """Writes a copy of a checkpoint with renamed or changed variables."""
  reader = tf.train.load_checkpoint(source_prefix)
  graph = tf.Graph()
  with graph.as_default():
    variables = []
    for name in sorted(reader.get_variable_to_shape_map()):
      value = change(name, reader.get_tensor(name))
      variables.append(tf.compat.v1.get_variable(
          rename(name), initializer=tf.constant(value)))
    saver = tf.compat.v1.train.Saver(variables)
    init = tf.compat.v1.global_variables_initializer()
  with tf.compat.v1.Session(graph=graph) as sess:
    sess.run(init)
    saver.save(sess, target_prefix, write_meta_graph=False,
               write_state=False)


def test_flat_zero_debias_naming_restores(tmp_path):
  era = Era(os.path.join(ERAS_DIR, 'tf1.13.1'), 'zero_debias_r4_nhwc')
  prefix = str(tmp_path / 'flat')
  _rewrite_checkpoint(era.prefix, prefix,
                      lambda n: n.replace('BatchNorm/BatchNorm/', 'BatchNorm/'))
  layer, = checkpoint.inspect(prefix)
  assert layer.variables[checkpoint.DEBIAS_BIASED].name == (
      'BatchNorm/moving_mean/biased')
  graph, x, infer = build_graph(era.case)
  with tf.compat.v1.Session(graph=graph) as sess:
    restore_plan = checkpoint.restore(sess, prefix)
    assert restore_plan.complete and not restore_plan.unused
    output = sess.run(infer, {x: era.arrays['input']})
    biased, = [v for v in graph.get_collection(
        tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)
               if v.op.name == 'BatchNorm/BatchNorm/moving_mean/biased']
    np.testing.assert_array_equal(
        sess.run(biased),
        era.arrays['var/BatchNorm/BatchNorm/moving_mean/biased'])
  _assert_inference_close(output, era.arrays['inference/output'])


def test_scope_map_renames_nested_scopes_and_debias_state(tmp_path):
  era = Era(os.path.join(ERAS_DIR, 'tf1.15.5'), 'zero_debias_r4_nhwc')
  prefix = str(tmp_path / 'nested')
  # A layer built as scope 'tower/bn' names its debias state
  # 'tower/bn/tower/bn/moving_mean/biased'.
  _rewrite_checkpoint(era.prefix, prefix,
                      lambda n: n.replace('BatchNorm', 'tower/bn'))
  graph, x, infer = build_graph(era.case)
  with tf.compat.v1.Session(graph=graph) as sess:
    restore_plan = checkpoint.restore(sess, prefix,
                                      layers_scope_map={'tower/bn':
                                                        'BatchNorm'})
    output = sess.run(infer, {x: era.arrays['input']})
  assert restore_plan.saver_map[
      'tower/bn/tower/bn/moving_mean/local_step'].op.name == (
          'BatchNorm/BatchNorm/moving_mean/local_step')
  assert restore_plan.complete and not restore_plan.unused
  _assert_inference_close(output, era.arrays['inference/output'])


def test_never_updated_old_renorm_state_starts_like_tf115(tmp_path):
  # A TF 1.14 renorm checkpoint saved before any training step holds zero
  # weights; TF 1.15 would start renorm_mean / renorm_stddev from the moving
  # statistics' initial values, which such a checkpoint holds.
  era = Era(os.path.join(ERAS_DIR, 'tf1.14.0'), 'renorm_scale_r4_nhwc')
  prefix = str(tmp_path / 'untrained')
  _rewrite_checkpoint(
      era.prefix, prefix, lambda n: n,
      lambda n, v: np.zeros_like(v) if n.endswith('_weight') else v)
  graph, _, _ = build_graph(era.case)
  with tf.compat.v1.Session(graph=graph) as sess:
    checkpoint.restore(sess, prefix, epsilon=era.epsilon)
    values = {v.op.name: sess.run(v) for v in graph.get_collection(
        tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)}
  np.testing.assert_array_equal(values['BatchNorm/renorm_mean'],
                                era.arrays['var/BatchNorm/moving_mean'])
  np.testing.assert_array_equal(
      values['BatchNorm/renorm_stddev'],
      checkpoint.derived_moving_stddev(
          era.arrays['var/BatchNorm/moving_variance'], era.epsilon))


def _batch_mean(data):
  return data.astype(np.float64).mean(axis=(0, 1, 2))


def test_missing_zero_debias_state_is_derived_warm(caplog):
  era = Era(os.path.join(ERAS_DIR, 'tf1.13.1'), 'default_r4_nhwc')
  decay = 0.9
  graph, x, _ = build_graph(era.case, {'zero_debias_moving_mean': True,
                                       'decay': decay})
  train = graph.get_collection('train_output')[0]
  with graph.as_default():
    updates = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
    mean_var, = [v for v in tf.compat.v1.global_variables()
                 if v.op.name == 'BatchNorm/moving_mean']
  with tf.compat.v1.Session(graph=graph) as sess:
    with caplog.at_level(logging.INFO, logger='contrib_bn.checkpoint'):
      restore_plan = checkpoint.restore(sess, era.prefix)
    assert sorted(d.target for d in restore_plan.derived) == [
        'BatchNorm/BatchNorm/moving_mean/biased',
        'BatchNorm/BatchNorm/moving_mean/local_step']
    assert 'derived BatchNorm/BatchNorm/moving_mean/biased' in caplog.text
    restored = sess.run(mean_var)
    sess.run([train] + updates, {x: era.arrays['input']})
    updated = sess.run(mean_var)
  # A warmed-up debiased average moves exactly like a plain one.
  expected = restored - (restored - _batch_mean(era.arrays['input'])) * (
      1 - decay)
  np.testing.assert_allclose(updated, expected, rtol=1e-6, atol=1e-7)


def test_renorm_graph_from_plain_checkpoint_starts_from_moving_stats():
  era = Era(os.path.join(ERAS_DIR, 'tf1.15.5'), 'default_r4_nhwc')
  graph, x, infer = build_graph(era.case, {'renorm': True})
  with tf.compat.v1.Session(graph=graph) as sess:
    restore_plan = checkpoint.restore(sess, era.prefix)
    output = sess.run(infer, {x: era.arrays['input']})
    values = {v.op.name: sess.run(v) for v in graph.get_collection(
        tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)}
  assert {d.kind for d in restore_plan.derived} == {'moving_stddev',
                                                    'renorm_from_moving'}
  np.testing.assert_array_equal(values['BatchNorm/renorm_mean'],
                                era.arrays['var/BatchNorm/moving_mean'])
  stddev = checkpoint.derived_moving_stddev(
      era.arrays['var/BatchNorm/moving_variance'])
  np.testing.assert_array_equal(values['BatchNorm/renorm_stddev'], stddev)
  np.testing.assert_array_equal(values['BatchNorm/moving_stddev'], stddev)
  _assert_inference_close(output, era.arrays['inference/output'])


def test_gamma_missing_from_checkpoint_is_refused_unless_allowed():
  era = Era(os.path.join(ERAS_DIR, 'tf1.14.0'), 'default_r4_nhwc')
  graph, _, _ = build_graph(era.case, {'scale': True})
  with graph.as_default():
    init = tf.compat.v1.global_variables_initializer()
  with tf.compat.v1.Session(graph=graph) as sess:
    with pytest.raises(ValueError, match='BatchNorm/gamma'):
      checkpoint.restore(sess, era.prefix)
    sess.run(init)
    restore_plan = checkpoint.restore(sess, era.prefix, allow_missing=True)
  assert [v.name for v in restore_plan.missing] == ['BatchNorm/gamma']


def test_shape_mismatch_is_a_clear_error():
  era = Era(os.path.join(ERAS_DIR, 'tf1.14.0'), 'default_r4_nhwc')
  case = dict(era.case, shape=[4, 3, 3, 6])
  graph, _, _ = build_graph(case)
  with pytest.raises(ValueError, match=r'BatchNorm/beta \[5\].*\[6\]'):
    checkpoint.assignment_map(era.prefix, graph)
