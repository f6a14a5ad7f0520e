"""`export` on `tf.layers` code: batch norms folded into conv2d and dense.

`export` folds every batch norm of tests/data/tf_layers_models/
tf_layers_net.py (as `install()` serves `tf.compat.v1.layers`) into its
conv2d or dense, and the SavedModel, frozen graph and TFLite model reproduce
the unexported graph restored from the same checkpoint with `is_training` fed
False, within the export's tolerances. A ghost-batch layer folds like any
other; a layer normalized over an axis list stays a multiply and an add. The
folds of a dense -> batch_normalization and a conv2d_transpose ->
batch_normalization are checked against NumPy.
"""

import os

import numpy as np
import pytest
import tensorflow as tf

from contrib_bn.tools import artifacts
from contrib_bn.tools import export as export_tool
from contrib_bn.tools import fold as fold_module
from contrib_bn.tools import model_file
from tf_layers_models import NET
from tf_layers_models import NET_LAYERS

v1 = tf.compat.v1
# The linear op each layer of tf_layers_net.py follows.
NET_LINEAR = {'batch_normalization': 'Conv2D conv1/',
              'batch_normalization_1': 'Conv2D conv2/',
              'batch_normalization_2': 'MatMul fc/'}
TRAIN_STEPS = 3
BATCH_NORM_OPS = ('FusedBatchNorm', 'FusedBatchNormV2', 'FusedBatchNormV3',
                  'Rsqrt')


def _images(seed, batch=5):
  return np.random.RandomState(seed).normal(
      1.0, 2.0, (batch, 6, 6, 3)).astype(np.float32)


def _train_and_save(target, directory):
  model = model_file.build(target)
  batch = model.inputs['images'].shape.as_list()[0] or 5
  images = _images(1, batch)
  with model.graph.as_default():
    saver = v1.train.Saver()
    with v1.Session() as session:
      session.run(v1.global_variables_initializer())
      for _ in range(TRAIN_STEPS):
        session.run(model.train_op, {model.inputs['images']: images})
      moving = [v for v in v1.global_variables()
                if v.op.name.endswith('/moving_mean')]
      # Training moved them, so the fold has something to fold.
      assert all(np.any(value != 0.0) for value in session.run(moving))
      return saver.save(session, os.path.join(directory, 'model'))


def _unexported(target, checkpoint, images):
  """The legacy graph, restored, with `is_training` fed False."""
  model = model_file.build(target)
  with model.graph.as_default():
    with v1.Session() as session:
      v1.train.Saver().restore(session, checkpoint)
      return session.run(dict(model.outputs),
                         {model.inputs['images']: images,
                          model.is_training: False})


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
  cache = {}

  def get(function):
    if function not in cache:
      cache[function] = _train_and_save(
          NET + ':' + function, str(tmp_path_factory.mktemp(function)))
    return cache[function]

  return get


def _close(got, want, tolerance):
  rtol, atol = tolerance
  assert sorted(got) == sorted(want)
  for key in want:
    np.testing.assert_allclose(np.asarray(got[key]), want[key], rtol=rtol,
                               atol=atol, err_msg=key)


def _graph_def(path):
  graph_def = v1.GraphDef()
  with open(path, 'rb') as f:
    graph_def.ParseFromString(f.read())
  return graph_def


@pytest.mark.parametrize('fold', fold_module.FOLD_MODES)
@pytest.mark.parametrize('function', ['build', 'build_renorm'])
def test_export_folds_into_conv2d_and_dense(function, fold, checkpoints,
                                            tmp_path):
  target = NET + ':' + function
  checkpoint = checkpoints(function)
  saved, flat, frozen = (str(tmp_path / 'saved'), str(tmp_path / 'm.tflite'),
                         str(tmp_path / 'frozen.pb'))
  result = export_tool.export(target, checkpoint, saved, tflite=flat,
                              frozen_graph=frozen, fold=fold)
  assert result.ok
  assert [c.artifact for c in result.checks] == ['SavedModel',
                                                 'frozen graph', 'TFLite']
  images = _images(11)
  want = _unexported(target, checkpoint, images)
  tolerance = (export_tool.SAVED_MODEL_TOLERANCE if fold == 'none' else
               export_tool.FOLDED_TOLERANCE)
  _close(artifacts.run_saved_model(saved, {'images': images}), want,
         tolerance)
  output = {n: t.name for n, t in model_file.build(
      target, is_training=False).outputs.items()}
  _close(artifacts.run_frozen_graph(frozen, {'images': 'images:0'}, output,
                                    {'images': images}), want, tolerance)
  interpreter = tf.lite.Interpreter(model_path=flat)
  _close(interpreter.get_signature_runner('serving_default')(images=images),
         want, export_tool.TFLITE_TOLERANCE)
  ops = {node.op for node in _graph_def(frozen).node}
  report = result.fold
  if fold == 'none':
    assert ops & set(BATCH_NORM_OPS)
    return
  assert not ops & set(BATCH_NORM_OPS), ops
  assert not report.left, report.lines()
  assert [f.layer for f in report.folded] == list(NET_LAYERS)
  if fold == 'conv':
    for folded in report.folded:
      assert folded.kind == 'conv'
      assert folded.into.startswith(NET_LINEAR[folded.layer]), folded
  lines = report.lines()
  for layer in NET_LAYERS:
    assert any(line.startswith('folded %s (' % layer) for line in lines)


def test_export_of_ghost_batches_and_an_axis_list(checkpoints, tmp_path):
  # The ghost-batch layer folds into conv1 like any other; the layer
  # normalized per height and channel (axis=[1, 3]) has [1, 6, 1, 4]
  # parameters, which no conv channel axis carries: it stays a multiply and
  # an add of that shape.
  target = NET + ':build_ghost_batches'
  checkpoint = checkpoints('build_ghost_batches')
  images = _images(11, batch=8)
  want = _unexported(target, checkpoint, images)
  for fold in ('affine', 'conv'):
    saved = str(tmp_path / fold)
    result = export_tool.export(target, checkpoint, saved, fold=fold)
    assert result.ok
    _close(artifacts.run_saved_model(saved, {'images': images}), want,
           export_tool.FOLDED_TOLERANCE)
    report = result.fold
    assert [f.layer for f in report.folded] == list(NET_LAYERS)
    kinds = [f.kind for f in report.folded]
    if fold == 'affine':
      assert kinds == ['affine'] * 3 and not report.left
      continue
    assert kinds == ['conv', 'affine', 'conv'], report.lines()
    [left] = report.left
    assert left.layer == 'batch_normalization_1'
    assert 'several axes (parameters of shape [1, 6, 1, 4])' in left.reason


@pytest.mark.parametrize('fused', [None, False])
def test_dense_batch_normalization_fold_matches_numpy(fused, installed):
  del installed
  rng = np.random.RandomState(4)
  kernel = rng.normal(0.0, 1.0, (4, 3))
  bias = rng.normal(0.0, 1.0, 3)
  gamma, beta = rng.uniform(0.5, 2.0, 3), rng.normal(0.0, 1.0, 3)
  mean, variance = rng.normal(0.0, 1.0, 3), rng.uniform(0.1, 2.0, 3)
  epsilon = 1e-2
  constant = lambda value: v1.constant_initializer(value.astype(np.float32))
  with tf.Graph().as_default() as graph:
    x = v1.placeholder(tf.float32, [None, 4], name='x')
    net = v1.layers.dense(x, 3, kernel_initializer=constant(kernel),
                          bias_initializer=constant(bias), name='fc')
    y = v1.layers.batch_normalization(
        net, training=False, epsilon=epsilon, fused=fused,
        gamma_initializer=constant(gamma), beta_initializer=constant(beta),
        moving_mean_initializer=constant(mean),
        moving_variance_initializer=constant(variance))
    with v1.Session() as session:
      session.run(v1.global_variables_initializer())
      graph_def = v1.graph_util.convert_variables_to_constants(
          session, graph.as_graph_def(), [y.op.name])
  folded, report = fold_module.fold_graph_def(graph_def, 'conv', [y.name])
  assert not report.left, report.lines()
  assert [(f.layer, f.kind) for f in report.folded] == [
      ('batch_normalization', 'conv')]
  assert report.folded[0].into.startswith('MatMul fc/MatMul + BiasAdd')
  scale = gamma / np.sqrt(variance + epsilon)
  consts = {n.name: tf.make_ndarray(n.attr['value'].tensor)
            for n in folded.node if n.op == 'Const'}
  np.testing.assert_allclose(consts['fc/MatMul/folded_weights'],
                             kernel * scale, rtol=1e-6)
  [folded_bias] = [v for k, v in consts.items() if k.endswith('folded_bias')]
  np.testing.assert_allclose(folded_bias, (bias - mean) * scale + beta,
                             rtol=1e-6, atol=1e-7)
  assert not {n.op for n in folded.node} & set(BATCH_NORM_OPS)
  data = rng.normal(0.0, 1.0, (5, 4)).astype(np.float32)
  with tf.Graph().as_default():
    v1.import_graph_def(folded, name='')
    with v1.Session() as session:
      got = session.run(y.name, {'x:0': data})
  want = (data @ kernel + bias - mean) * scale + beta
  np.testing.assert_allclose(got, want, rtol=export_tool.FOLDED_TOLERANCE[0],
                             atol=export_tool.FOLDED_TOLERANCE[1])


@pytest.mark.parametrize('fused', [None, False])
def test_conv2d_transpose_batch_normalization_folds(fused, installed):
  # pix2pix's decoder step. The transposed conv's filter is [h, w, out, in]:
  # the scale goes along its third axis. Checked against NumPy for the
  # weights and bias, and against the unfolded frozen graph for the output.
  del installed
  rng = np.random.RandomState(6)
  kernel = rng.normal(0.0, 1.0, (3, 3, 4, 2))
  bias = rng.normal(0.0, 1.0, 4)
  gamma, beta = rng.uniform(0.5, 2.0, 4), rng.normal(0.0, 1.0, 4)
  mean, variance = rng.normal(0.0, 1.0, 4), rng.uniform(0.1, 2.0, 4)
  epsilon = 1e-2
  constant = lambda value: v1.constant_initializer(value.astype(np.float32))
  with tf.Graph().as_default() as graph:
    x = v1.placeholder(tf.float32, [None, 3, 3, 2], name='x')
    net = v1.layers.conv2d_transpose(
        x, 4, 3, strides=2, padding='same', name='up',
        kernel_initializer=constant(kernel), bias_initializer=constant(bias))
    y = v1.layers.batch_normalization(
        net, training=False, epsilon=epsilon, fused=fused,
        gamma_initializer=constant(gamma), beta_initializer=constant(beta),
        moving_mean_initializer=constant(mean),
        moving_variance_initializer=constant(variance))
    with v1.Session() as session:
      session.run(v1.global_variables_initializer())
      graph_def = v1.graph_util.convert_variables_to_constants(
          session, graph.as_graph_def(), [y.op.name])
  folded, report = fold_module.fold_graph_def(graph_def, 'conv', [y.name])
  assert not report.left, report.lines()
  assert [(f.layer, f.kind) for f in report.folded] == [
      ('batch_normalization', 'conv')]
  assert report.folded[0].into.startswith(
      'Conv2DBackpropInput up/conv2d_transpose + BiasAdd')
  scale = gamma / np.sqrt(variance + epsilon)
  consts = {n.name: tf.make_ndarray(n.attr['value'].tensor)
            for n in folded.node if n.op == 'Const'}
  [weights] = [v for k, v in consts.items() if k.endswith('folded_weights')]
  np.testing.assert_allclose(weights, kernel * scale[:, None], rtol=1e-6)
  [folded_bias] = [v for k, v in consts.items() if k.endswith('folded_bias')]
  np.testing.assert_allclose(folded_bias, (bias - mean) * scale + beta,
                             rtol=1e-6, atol=1e-7)
  assert not {n.op for n in folded.node} & set(BATCH_NORM_OPS)
  data = rng.normal(0.0, 1.0, (2, 3, 3, 2)).astype(np.float32)
  outputs = []
  for definition in (graph_def, folded):
    with tf.Graph().as_default():
      v1.import_graph_def(definition, name='')
      with v1.Session() as session:
        outputs.append(session.run(y.name, {'x:0': data}))
  np.testing.assert_allclose(outputs[1], outputs[0],
                             rtol=export_tool.FOLDED_TOLERANCE[0],
                             atol=export_tool.FOLDED_TOLERANCE[1])

