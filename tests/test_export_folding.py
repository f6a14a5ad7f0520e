"""The export's fold and inference-graph rules, on graphs built by hand.

The affine fold uses the epsilon the fused kernel used (TF's floor where the
requested one is below it); the conv fold scales an NCHW convolution's
weights per output channel; and what is left of training mode in a graph
(conditionals and Switch/Merge on the mode placeholder, training-mode
kernels) is reported op by op. The folds of the exported model files are
checked in tests/test_export.py.
"""

import re

import numpy as np
import pytest
import tensorflow as tf

import contrib_bn
from contrib_bn.tools import fold as fold_module
from contrib_bn.tools import inference_graph


@pytest.mark.parametrize('requested, floor_applied', [(1e-7, True),
                                                      (1e-3, False)])
def test_affine_fold_uses_the_epsilon_the_kernel_used(requested,
                                                      floor_applied):
  gamma = np.array([1.5, 0.5], np.float32)
  beta = np.array([0.25, -1.0], np.float32)
  mean = np.array([2.0, -3.0], np.float32)
  variance = np.array([1e-6, 4.0], np.float32)
  with tf.Graph().as_default() as graph:
    x = tf.compat.v1.placeholder(tf.float32, [None, 2, 2, 2], name='x')
    y = contrib_bn.batch_norm(
        x, is_training=False, scale=True, epsilon=requested,
        zero_debias_moving_mean=True,
        param_initializers={'gamma': tf.constant_initializer(gamma),
                            'beta': tf.constant_initializer(beta),
                            'moving_mean': tf.constant_initializer(mean),
                            'moving_variance':
                                tf.constant_initializer(variance)})
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      graph_def = tf.compat.v1.graph_util.convert_variables_to_constants(
          sess, graph.as_graph_def(), [y.op.name])
  folded, report = fold_module.fold_graph_def(graph_def, 'affine', [y.name])
  assert len(report.folded) == 1
  epsilon = 1.001e-5 if floor_applied else requested
  assert report.folded[0].epsilon == pytest.approx(epsilon, rel=1e-6)
  consts = {n.name: tf.make_ndarray(n.attr['value'].tensor)
            for n in folded.node if n.op == 'Const'}
  scale = [v for k, v in consts.items() if k.endswith('folded_scale')][0]
  offset = [v for k, v in consts.items() if k.endswith('folded_offset')][0]
  want_scale = gamma.astype(np.float64) / np.sqrt(variance + epsilon)
  np.testing.assert_allclose(scale, want_scale, rtol=1e-6)
  np.testing.assert_allclose(offset, beta - mean * want_scale, rtol=1e-6)
  ops = sorted(n.op for n in folded.node if n.op not in ('Const',
                                                          'Placeholder'))
  assert ops == ['AddV2', 'Mul']


@pytest.mark.parametrize('fused', [True, False])
def test_leftover_training_mode_is_reported(fused):
  with tf.Graph().as_default() as graph:
    x = tf.compat.v1.placeholder(tf.float32, [None, 2, 2, 3], name='x')
    mode = tf.compat.v1.placeholder_with_default(True, [], name='is_training')
    y = contrib_bn.batch_norm(x, is_training=mode, fused=fused,
                              zero_debias_moving_mean=fused)
    # TF1-style control flow, as graphs built with control flow v1 have it.
    switch = tf.raw_ops.Switch(data=x, pred=mode)
    merged = tf.raw_ops.Merge(inputs=[switch.output_false,
                                      switch.output_true]).output
    y = y + merged
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      live = inference_graph.training_leftovers(
          inference_graph.GraphIndex(graph.as_graph_def()), [y.name])
      frozen = tf.compat.v1.graph_util.convert_variables_to_constants(
          sess, graph.as_graph_def(), [y.op.name])
  problems = inference_graph.training_leftovers(
      inference_graph.GraphIndex(frozen), [y.name])
  text = '\n'.join(problems)
  # The kernel paths build their conditional inside the normalization's
  # name scope (BatchNorm/batchnorm_1/cond).
  assert re.search(r'If BatchNorm/(\S+/)?cond is switched by the bool '
                   r'placeholder is_training', text), text
  assert 'Switch Switch is switched by the bool placeholder is_training' in text
  assert 'Merge Merge joins branches chosen by the bool placeholder' in text
  if fused:
    assert 'training-mode FusedBatchNormV3' in text
  else:
    assert 'normalizes with batch statistics' in text
  assert 'variable op' not in text
  assert any('variable op VarHandleOp' in p for p in live)


def test_conv_fold_respects_nchw_channel_axis():
  # CPU kernels cannot run an NCHW Conv2D, so the folded graph is checked
  # structurally: weights scaled per output channel, a BiasAdd in NCHW.
  gamma = np.array([2.0, 0.5], np.float32)
  variance = np.array([3.0, 0.25], np.float32)
  mean = np.array([1.0, -1.0], np.float32)
  with tf.Graph().as_default() as graph:
    x = tf.compat.v1.placeholder(tf.float32, [None, 3, 4, 4], name='x')
    weights = np.random.RandomState(0).normal(
        size=(3, 3, 3, 2)).astype(np.float32)
    conv = tf.nn.conv2d(x, weights, [1, 1, 1, 1], 'SAME', data_format='NCHW')
    y = contrib_bn.batch_norm(
        conv, is_training=False, scale=True, data_format='NCHW',
        param_initializers={'gamma': tf.constant_initializer(gamma),
                            'moving_mean': tf.constant_initializer(mean),
                            'moving_variance':
                                tf.constant_initializer(variance)})
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      frozen = tf.compat.v1.graph_util.convert_variables_to_constants(
          sess, graph.as_graph_def(), [y.op.name])
  folded, report = fold_module.fold_graph_def(frozen, 'conv', [y.name])
  assert [f.kind for f in report.folded] == ['conv'], report.lines()
  nodes = {n.name: n for n in folded.node}
  out = nodes[y.op.name]
  assert out.op == 'BiasAdd' and out.attr['data_format'].s == b'NCHW'
  scale = gamma / np.sqrt(variance + 0.001)
  conv_node = [n for n in folded.node if n.op == 'Conv2D'][0]
  new_weights = tf.make_ndarray(nodes[conv_node.input[1]].attr['value'].tensor)
  np.testing.assert_allclose(new_weights, weights * scale, rtol=1e-6)
  bias = tf.make_ndarray(nodes[out.input[1]].attr['value'].tensor)
  np.testing.assert_allclose(bias, -mean * scale, rtol=1e-6)


@pytest.mark.parametrize('mode', ['affine', 'conv'])
@pytest.mark.parametrize('axis, shape, counted', [
    ([1, 3], [None, 6, 5, 4], 'parameters of shape [1, 6, 1, 4], 24 values '
     'each'),
    (-1, [None, 6, 5, 4], '4 channels'),
    (1, [None, 1, 5, 4], '1 channel'),
], ids=['axis_list', 'one_axis', 'one_channel'])
def test_fold_report_counts_channels_or_parameters(axis, shape, counted, mode,
                                                   installed):
  # A layer normalized over an axis list has a parameter per position of
  # its parameters' shape, not per channel; the report says which it counts.
  del installed
  with tf.Graph().as_default() as graph:
    x = tf.compat.v1.placeholder(tf.float32, shape, name='x')
    y = tf.compat.v1.layers.batch_normalization(x, axis=axis, training=False)
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      frozen = tf.compat.v1.graph_util.convert_variables_to_constants(
          sess, graph.as_graph_def(), [y.op.name])
  _, report = fold_module.fold_graph_def(frozen, mode, [y.name])
  [line] = [l for l in report.lines() if l.startswith('folded ')]
  assert line.startswith(
      'folded batch_normalization (epsilon 0.001, %s) into ' % counted), line
  if isinstance(axis, list):
    assert 'channel' not in line, line
    assert report.to_dict()['folded'][0]['params_shape'] == [1, 6, 1, 4]
  else:
    assert report.to_dict()['folded'][0]['params_shape'] is None
