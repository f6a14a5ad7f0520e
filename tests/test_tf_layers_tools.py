"""The tools on `tf.layers` code: check_update_ops, export folding, XLA, regress.

What `contrib_bn.install()` serves as `tf.compat.v1.layers.batch_normalization`
(and `BatchNormalization`, `conv2d`, `dense`, `dropout`, `flatten`) goes
through the same tools as the contrib layer:

- `check_update_ops` / `warn_on_unwired_updates` report a layer whose
  UPDATE_OPS the train op skips, also when `training` is a placeholder (its
  updates then sit inside a control flow v2 conditional), and are quiet when
  the train op is built under `tf.control_dependencies(UPDATE_OPS)`;
- `export` folds every batch norm of tests/data/tf_layers_models/
  tf_layers_net.py into its conv2d or dense, and the SavedModel, frozen graph
  and TFLite model reproduce the unexported graph restored from the same
  checkpoint with `is_training` fed False, within the export's tolerances;
  the fold of a dense -> batch_normalization is checked against NumPy;
- under XLA (auto-clustering, and `jit_scope`) tf.layers golden cases train
  and infer as TF 1.15.5 recorded them, within the corpus tolerances;
- `regress` records tf_layers_net.py under TF 1.15.5 and compares it on
  TF 2 (needs CONTRIB_BN_TF1_PYTHON).
"""

import io
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import tensorflow as tf

import contrib_bn
from contrib_bn.tools import artifacts
from contrib_bn.tools import export as export_tool
from contrib_bn.tools import fold as fold_module
from contrib_bn.tools import model_file
from contrib_bn.tools import update_ops

v1 = tf.compat.v1
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, 'tests', 'data', 'tf_layers_models')
NET = os.path.join(MODELS, 'tf_layers_net.py')
XLA_REPLAY = os.path.join(MODELS, 'replay_under_xla.py')
TF1_PYTHON = os.environ.get('CONTRIB_BN_TF1_PYTHON')
# The layers of tf_layers_net.py, named as TF 1.15's tf.layers names them,
# and the linear op each one follows.
NET_LAYERS = ('batch_normalization', 'batch_normalization_1',
              'batch_normalization_2')
NET_LINEAR = {'batch_normalization': 'Conv2D conv1/',
              'batch_normalization_1': 'Conv2D conv2/',
              'batch_normalization_2': 'MatMul fc/'}
TRAIN_STEPS = 3
BATCH_NORM_OPS = ('FusedBatchNorm', 'FusedBatchNormV2', 'FusedBatchNormV3',
                  'Rsqrt')


@pytest.fixture
def installed():
  contrib_bn.install()
  yield
  contrib_bn.uninstall()


# ---- check_update_ops and warn_on_unwired_updates

LAYER_KINDS = {
    'fused': {},
    'unfused': {'fused': False},
    'renorm': {'renorm': True},
    'dense': {},
}
TRAINING_KINDS = ('bool', 'placeholder', 'placeholder_with_default')
# How the train op is wired -> the layers (0: the class's, 1: the
# functional form's) whose updates it runs.
WIRINGS = {
    'update_ops': (0, 1),
    'class_updates': (0,),
    'none': (),
}


def _training(kind):
  if kind == 'bool':
    return True
  if kind == 'placeholder':
    return v1.placeholder(tf.bool, [], name='is_training')
  return v1.placeholder_with_default(True, [], name='is_training')


def _two_layer_train_op(layer_kind, training_kind, wiring):
  """A BatchNormalization object and a batch_normalization call, then a
  train op wired as `wiring` says; returns (train_op, training)."""
  kwargs = LAYER_KINDS[layer_kind]
  training = _training(training_kind)
  x = v1.random_normal([4, 5, 5, 3], seed=1) + 2.0
  net = v1.layers.conv2d(x, 4, 3, name='conv')
  if layer_kind == 'dense':
    net = v1.layers.dense(v1.layers.flatten(net), 6, name='fc')
  layer = v1.layers.BatchNormalization(momentum=0.5, **kwargs)
  net = layer.apply(net, training=training)
  net = v1.layers.batch_normalization(tf.nn.relu(net), training=training,
                                      **kwargs)
  loss = tf.reduce_mean(tf.square(net))
  optimizer = v1.train.AdamOptimizer(0.1)
  if wiring == 'update_ops':
    with tf.control_dependencies(v1.get_collection(v1.GraphKeys.UPDATE_OPS)):
      return optimizer.minimize(loss), training
  if wiring == 'class_updates':
    with tf.control_dependencies(layer.updates):
      return optimizer.minimize(loss), training
  return optimizer.minimize(loss), training


def _feed(training):
  return {training: True} if isinstance(training, tf.Tensor) else None


@pytest.mark.parametrize('wiring', sorted(WIRINGS))
@pytest.mark.parametrize('training_kind', TRAINING_KINDS)
@pytest.mark.parametrize('layer_kind', sorted(LAYER_KINDS))
def test_check_update_ops_finds_exactly_the_unwired_layers(
    layer_kind, training_kind, wiring, installed):
  del installed
  with tf.Graph().as_default():
    train_op, _ = _two_layer_train_op(layer_kind, training_kind, wiring)
    found = update_ops.check_update_ops(train_op)
  want = [NET_LAYERS[i] for i in (0, 1) if i not in WIRINGS[wiring]]
  assert [layer.scope for layer in found] == want
  for layer in found:
    assert layer.statistics == ('moving_mean', 'moving_variance')
    assert layer.reason == update_ops.REASON_NOT_DEPENDENCY
    assert layer.update_ops


@pytest.mark.parametrize('training_kind', TRAINING_KINDS)
@pytest.mark.parametrize('layer_kind', ['fused', 'unfused', 'renorm'])
def test_the_moving_mean_moves_exactly_when_reported_wired(
    layer_kind, training_kind, installed):
  # What check_update_ops says agrees with what a training step does.
  del installed
  for wiring in ('update_ops', 'none'):
    with tf.Graph().as_default():
      train_op, training = _two_layer_train_op(layer_kind, training_kind,
                                               wiring)
      unwired = update_ops.check_update_ops(train_op)
      means = [v for v in v1.global_variables()
               if v.op.name.endswith('/moving_mean')]
      with v1.Session() as session:
        session.run(v1.global_variables_initializer())
        session.run(train_op, _feed(training))
        moved = [bool(np.any(value != 0.0)) for value in session.run(means)]
    assert moved == [not unwired] * 2, (wiring, unwired)


@pytest.mark.parametrize('training_kind', TRAINING_KINDS)
def test_warn_on_unwired_updates_warns_once_and_only_when_unwired(
    training_kind, installed):
  del installed
  for wiring, warned in (('none', 1), ('update_ops', 0)):
    with tf.Graph().as_default():
      train_op, training = _two_layer_train_op('unfused', training_kind,
                                               wiring)
      with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        with contrib_bn.warn_on_unwired_updates():
          with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            for _ in range(2):
              session.run(train_op, _feed(training))
    messages = [str(w.message) for w in caught
                if issubclass(w.category, update_ops.UnwiredUpdatesWarning)]
    assert len(messages) == warned, messages
    for message in messages:
      assert 'batch_normalization:' in message
      assert 'batch_normalization_1:' in message


def test_inference_layers_are_never_reported(installed):
  del installed
  with tf.Graph().as_default():
    x = v1.random_normal([4, 6], seed=1)
    net = v1.layers.batch_normalization(v1.layers.dense(x, 3), training=False)
    net = v1.layers.batch_normalization(net, fused=False)
    train_op = v1.train.GradientDescentOptimizer(0.1).minimize(
        tf.reduce_sum(net))
    assert update_ops.check_update_ops(train_op) == []


@pytest.mark.parametrize('function, unwired', [('build', []),
                                               ('build_unwired',
                                                list(NET_LAYERS))])
def test_model_file_train_op(function, unwired):
  model = model_file.build(NET + ':' + function)
  found = update_ops.check_update_ops(model.train_op)
  assert [layer.scope for layer in found] == unwired


# ---- export: folding into conv2d and dense


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


# ---- XLA

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


# ---- regress: recorded under TF 1.15.5, compared on TF 2

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
