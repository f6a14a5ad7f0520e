"""`--fold conv` through conv1d's Squeeze.

TF builds a 1-D convolution as ExpandDims -> Conv2D -> Squeeze, with its
bias added after the Squeeze (a BiasAdd channels-last, an add of a
`[1, filters, 1]` constant channels-first); the rank-3 batch norm after it
reads the Squeeze's (or the bias add's) output. The fold scales the Conv2D's
filter per output channel and moves the shift into the bias (checked
against NumPy), and the folded frozen graph gives the unfolded one's outputs
within the export's folded tolerance. Cases: `tf.layers.conv1d` with and
without a bias, channels last and first, with `fused=None` and `fused=False`
(both normalize a rank-4 view with the fused kernel); tf_slim's `conv1d`
with `normalizer_fn=batch_norm`; the bias added before the Squeeze; and
`tf.nn.batch_normalization`'s ops (the moments pattern) after `tf.nn.conv1d`,
NWC and NCW. Last, a conv1d network exported with and without the fold.
"""

import os

import numpy as np
import pytest
import tensorflow as tf

from contrib_bn.tools import artifacts
from contrib_bn.tools import export as export_tool
from contrib_bn.tools import fold as fold_module
from contrib_bn.tools import model_file
from tf_layers_models import MODELS

pytestmark = pytest.mark.usefixtures('installed')

v1 = tf.compat.v1
CONV1D_NET = os.path.join(MODELS, 'conv1d_net.py')
FILTERS, WIDTH, IN_CHANNELS, KERNEL = 4, 7, 3, 3
EPSILON = 1e-2
BATCH_NORM_OPS = ('FusedBatchNorm', 'FusedBatchNormV2', 'FusedBatchNormV3',
                  'Rsqrt')
# A Conv2D in NCHW has no kernel on CPU without oneDNN; these are its words.
NCHW_UNSUPPORTED = 'only supports the NHWC tensor format'


def _parameters(seed):
  rng = np.random.RandomState(seed)
  return dict(kernel=rng.normal(0.0, 1.0, (KERNEL, IN_CHANNELS, FILTERS)),
              bias=rng.normal(0.0, 1.0, FILTERS),
              gamma=rng.uniform(0.5, 2.0, FILTERS),
              beta=rng.normal(0.0, 1.0, FILTERS),
              mean=rng.normal(0.0, 1.0, FILTERS),
              variance=rng.uniform(0.1, 2.0, FILTERS))


def _constant(value):
  return v1.constant_initializer(np.asarray(value, np.float32))


def _tf_layers(x, p, data_format, use_bias, fused):
  net = v1.layers.conv1d(x, FILTERS, KERNEL, data_format=data_format,
                         use_bias=use_bias, name='conv',
                         kernel_initializer=_constant(p['kernel']),
                         bias_initializer=_constant(p['bias']))
  return v1.layers.batch_normalization(
      net, axis=1 if data_format == 'channels_first' else -1,
      training=False, epsilon=EPSILON, fused=fused,
      gamma_initializer=_constant(p['gamma']),
      beta_initializer=_constant(p['beta']),
      moving_mean_initializer=_constant(p['mean']),
      moving_variance_initializer=_constant(p['variance']))


def _bias_before_squeeze(x, p, fused):
  # The bias added to the rank-4 convolution, then squeezed.
  kernel = tf.constant(p['kernel'][None].astype(np.float32))
  conv = tf.nn.conv2d(tf.expand_dims(x, 1), kernel, 1, 'VALID')
  net = tf.squeeze(tf.nn.bias_add(conv, p['bias'].astype(np.float32)), [1])
  return v1.layers.batch_normalization(
      net, training=False, epsilon=EPSILON, fused=fused,
      gamma_initializer=_constant(p['gamma']),
      beta_initializer=_constant(p['beta']),
      moving_mean_initializer=_constant(p['mean']),
      moving_variance_initializer=_constant(p['variance']))


def _nn_batch_normalization(x, p, data_format):
  # tf.nn's ops, as the moments path writes them: the parameters broadcast
  # from the input's last axis, `[C, 1]` for channels first.
  kernel = tf.constant(p['kernel'].astype(np.float32))
  net = tf.nn.conv1d(x, kernel, 1, 'VALID', data_format=data_format)
  shape = [FILTERS, 1] if data_format == 'NCW' else [FILTERS]
  values = [tf.constant(p[k].reshape(shape).astype(np.float32))
            for k in ('mean', 'variance', 'beta', 'gamma')]
  return tf.nn.batch_normalization(net, *values, variance_epsilon=EPSILON)


def _slim(x, p):
  pytest.importorskip(
      'tf_slim', reason='tf-slim is in the test extra: pip install .[test]')
  params = {'is_training': False, 'epsilon': EPSILON, 'scale': True,
            'param_initializers': {
                'beta': _constant(p['beta']), 'gamma': _constant(p['gamma']),
                'moving_mean': _constant(p['mean']),
                'moving_variance': _constant(p['variance'])}}
  return tf.contrib.layers.conv1d(
      x, FILTERS, KERNEL, padding='VALID', activation_fn=None,
      weights_initializer=_constant(p['kernel']),
      normalizer_fn=tf.contrib.layers.batch_norm, normalizer_params=params)


# id -> (build(x, parameters), channels first, with a bias)
CASES = {}
for _fused in (None, False):
  _path = 'fused_none' if _fused is None else 'fused_false'
  for _format in ('channels_last', 'channels_first'):
    for _bias in (True, False):
      CASES['tf_layers_%s_%s_%s' % (
          _format, 'bias' if _bias else 'no_bias', _path)] = (
              lambda x, p, f=_format, b=_bias, u=_fused: _tf_layers(
                  x, p, f, b, u), _format == 'channels_first', _bias)
  CASES['bias_before_squeeze_' + _path] = (
      lambda x, p, u=_fused: _bias_before_squeeze(x, p, u), False, True)
CASES['slim_conv1d_batch_norm'] = (_slim, False, False)
for _format in ('NWC', 'NCW'):
  CASES['nn_batch_normalization_' + _format] = (
      lambda x, p, f=_format: _nn_batch_normalization(x, p, f),
      _format == 'NCW', False)


def _frozen(case, p):
  build, channels_first, _ = CASES[case]
  shape = [None, IN_CHANNELS, WIDTH] if channels_first else [
      None, WIDTH, IN_CHANNELS]
  with tf.Graph().as_default() as graph:
    x = v1.placeholder(tf.float32, shape, name='x')
    y = build(x, p)
    with v1.Session() as session:
      session.run(v1.global_variables_initializer())
      graph_def = v1.graph_util.convert_variables_to_constants(
          session, graph.as_graph_def(), [y.op.name])
  return graph_def, y.name, [2] + shape[1:]


def _run(graph_def, output, data):
  with tf.Graph().as_default():
    v1.import_graph_def(graph_def, name='')
    with v1.Session() as session:
      return session.run(output, {'x:0': data})


@pytest.mark.parametrize('case', sorted(CASES))
def test_conv1d_batch_norm_folds_into_the_conv2d(case):
  p = _parameters(3)
  use_bias = CASES[case][2]
  graph_def, output, _ = _frozen(case, p)
  folded, report = fold_module.fold_graph_def(graph_def, 'conv', [output])
  assert not report.left, report.lines()
  [line] = report.lines()
  assert line.startswith('folded ') and ' into Conv2D ' in line, line
  assert '%d channels' % FILTERS in line, line
  assert not {n.op for n in folded.node} & set(BATCH_NORM_OPS)
  scale = p['gamma'] / np.sqrt(p['variance'] + EPSILON)
  consts = {n.name: tf.make_ndarray(n.attr['value'].tensor)
            for n in folded.node if n.op == 'Const'}
  [weights] = [v for k, v in consts.items() if k.endswith('folded_weights')]
  # The Conv2D's filter is conv1d's kernel with a leading axis of 1.
  np.testing.assert_allclose(weights, (p['kernel'] * scale)[None],
                             rtol=1e-6)
  [bias] = [v for k, v in consts.items() if k.endswith('folded_bias')]
  bias = bias.reshape([-1])
  want = (p['bias'] - p['mean']) * scale + p['beta'] if use_bias else (
      p['beta'] - p['mean'] * scale)
  np.testing.assert_allclose(bias, want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize('case', sorted(CASES))
def test_folded_conv1d_graph_gives_the_unfolded_outputs(case):
  p = _parameters(5)
  graph_def, output, shape = _frozen(case, p)
  folded, report = fold_module.fold_graph_def(graph_def, 'conv', [output])
  assert [f.kind for f in report.folded] == ['conv'], report.lines()
  data = np.random.RandomState(8).normal(1.0, 2.0, shape).astype(np.float32)
  try:
    want = _run(graph_def, output, data)
  except tf.errors.UnimplementedError as e:
    if CASES[case][1] and NCHW_UNSUPPORTED in str(e):
      pytest.skip('LOUD SKIP: this CPU build runs no channels-first conv1d '
                  '(Conv2D in NCHW; with TF_ENABLE_ONEDNN_OPTS=1 it does), '
                  'so the folded outputs cannot be compared here; the fold '
                  'itself is checked against NumPy in '
                  'test_conv1d_batch_norm_folds_into_the_conv2d')
    raise
  got = _run(folded, output, data)
  np.testing.assert_allclose(got, want, rtol=export_tool.FOLDED_TOLERANCE[0],
                             atol=export_tool.FOLDED_TOLERANCE[1])


def test_export_folds_a_conv1d_network(tmp_path):
  # tests/data/tf_layers_models/conv1d_net.py, trained a few steps so that
  # the moving statistics moved, exported unfolded and with --fold conv:
  # each export checks itself against the restored graph, and the two
  # SavedModels agree within the folded tolerance. The TFLite models are
  # checked by the export itself.
  target = CONV1D_NET + ':build'
  model = model_file.build(target)
  sequences = np.random.RandomState(2).normal(
      1.0, 2.0, (5, 10, 3)).astype(np.float32)
  with model.graph.as_default():
    saver = v1.train.Saver()
    with v1.Session() as session:
      session.run(v1.global_variables_initializer())
      for _ in range(3):
        session.run(model.train_op, {model.inputs['sequences']: sequences})
      checkpoint = saver.save(session, str(tmp_path / 'model'))
  outputs = {}
  for fold in ('none', 'conv'):
    saved = str(tmp_path / fold)
    result = export_tool.export(target, checkpoint, saved, fold=fold,
                                tflite=str(tmp_path / (fold + '.tflite')))
    assert result.ok, result.lines()
    assert [c.artifact for c in result.checks] == ['SavedModel', 'TFLite']
    outputs[fold] = artifacts.run_saved_model(saved, {'sequences': sequences})
  report = result.fold
  assert not report.left, report.lines()
  assert [(f.layer, f.kind) for f in report.folded] == [
      ('batch_normalization', 'conv'), ('batch_normalization_1', 'conv')]
  assert report.lines() == [
      'folded batch_normalization (epsilon 0.001, 6 channels) into Conv2D '
      'conv1/convolution + BiasAdd conv1/BiasAdd',
      'folded batch_normalization_1 (epsilon 0.001, 4 channels) into Conv2D '
      'conv2/convolution (+ a new BiasAdd)']
  np.testing.assert_allclose(outputs['conv']['logits'],
                             outputs['none']['logits'],
                             rtol=export_tool.FOLDED_TOLERANCE[0],
                             atol=export_tool.FOLDED_TOLERANCE[1])
