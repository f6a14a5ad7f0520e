"""The export of legacy batch-norm models: SavedModel, TFLite, frozen graph.

The reference for every check is built independently of the export: the
model with its `is_training` placeholder, restored by a plain Saver and run
with `is_training` fed False, the way the legacy code evaluated it.
"""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import contrib_bn
from contrib_bn.tools import export as export_tool
from contrib_bn.tools import fold as fold_module
from contrib_bn.tools import inference_graph
from contrib_bn.tools import model_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, 'tests', 'export_models.py')
LEGACY_NET = os.path.join(ROOT, 'examples', 'legacy_net.py')
TRAIN_STEPS = 4
# examples/legacy_net.py trained 5 steps by TF 1.15.5 itself
# (scripts/record_migration.py), with the evaluation logits TF 1.15.5 computed
# from that state (is_training=False) on the data set's 16 images.
TF115_GOLDEN = os.path.join(ROOT, 'contrib_bn', 'goldens', 'migration',
                            'tf1.15.5')
TF115_CHECKPOINT = os.path.join(TF115_GOLDEN, 'ckpt_step5')
TF115_LOGITS = 'eval/step5/logits'
# Largest difference from TF 1.15.5's recorded logits, relative to
# max(1, max |golden|): other kernel builds on another CPU round float32 sums
# differently (the same bound tests/test_migration.py uses).
TF115_MATCH_TOLERANCE = 1e-4

# (target, batch norms folded into a conv/matmul under --fold conv, layers
# left affine with a reason that must appear in the report)
CASES = {
    'legacy_net': (LEGACY_NET + ':build_graph', 3, []),
    'nchw': (MODELS + ':build_nchw', 0,
             [('bn_fused', 'Transpose'), ('bn_plain', 'activation (Relu')]),
    'zero_debias': (MODELS + ':build_zero_debias', 2, []),
    'renorm': (MODELS + ':build_renorm', 1, []),
    # dense_bn (fused=False, rank 2) runs the fused kernel on a rank-4 view,
    # as dense_fused does; the view keeps the channels last, so both fold
    # into their MatMul + bias through its Reshape.
    'activation_fn': (MODELS + ':build_activation', 3,
                      [('after_relu', 'activation (Relu'),
                       ('shared_input', 'other consumers')]),
    'shared_reuse': (MODELS + ':build_shared', 2, []),
}
FOLDS = ('none', 'affine', 'conv')
BATCH_NORM_OPS = ('FusedBatchNorm', 'FusedBatchNormV2', 'FusedBatchNormV3',
                  'Rsqrt')
TRAINING_SWITCH_OPS = ('Switch', 'Merge', 'If', 'StatelessIf')


def _feeds(model, seed=7):
  rng = np.random.RandomState(seed)
  result = {}
  for name, tensor in model.inputs.items():
    dims = [3 if d is None else d for d in tensor.shape.as_list()]
    if tensor.dtype.is_floating:
      result[name] = rng.normal(1.0, 2.0, dims).astype(np.float32)
    else:
      result[name] = rng.randint(0, 4, dims).astype(np.int32)
  return result


def _train_and_save(target, directory):
  """Trains a few steps in training mode and saves a checkpoint."""
  model = model_file.build(target)
  feeds = _feeds(model, seed=1)
  with model.graph.as_default():
    saver = tf.compat.v1.train.Saver()
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      for _ in range(TRAIN_STEPS):
        sess.run(model.train_op,
                 {model.inputs[n]: v for n, v in feeds.items()})
      return saver.save(sess, os.path.join(directory, 'model'))


_REFERENCES = {}


def _reference(target, checkpoint, feeds):
  """Outputs of the legacy graph with is_training fed False (cached)."""
  key = (target, checkpoint, tuple(sorted(
      (k, v.tobytes()) for k, v in feeds.items())))
  if key not in _REFERENCES:
    _REFERENCES[key] = _run_reference(target, checkpoint, feeds)
  return _REFERENCES[key]


def _run_reference(target, checkpoint, feeds):
  model = model_file.build(target)
  with model.graph.as_default():
    saver = tf.compat.v1.train.Saver()
    with tf.compat.v1.Session() as sess:
      saver.restore(sess, checkpoint)
      feed = {model.inputs[n]: v for n, v in feeds.items()}
      feed[model.is_training] = False
      return sess.run(dict(model.outputs), feed)


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
  cache = {}

  def get(case):
    if case == 'legacy_net':
      return TF115_CHECKPOINT
    if case not in cache:
      directory = str(tmp_path_factory.mktemp('ckpt_' + case))
      cache[case] = _train_and_save(CASES[case][0], directory)
    return cache[case]

  return get


def _image_feeds(seed=11):
  rng = np.random.RandomState(seed)
  return rng.normal(1.0, 2.0, (3, 6, 6, 3)).astype(np.float32)


def _inputs_for(case):
  if case == 'legacy_net':
    return {'images': np.random.RandomState(5).normal(
        2.0, 3.0, (3, 8, 8, 3)).astype(np.float32)}
  return {'images': _image_feeds()}


def _close(got, want, tolerance):
  rtol, atol = tolerance
  assert sorted(got) == sorted(want)
  worst = 0.0
  for key in want:
    np.testing.assert_allclose(np.asarray(got[key]), want[key], rtol=rtol,
                               atol=atol, err_msg=key)
    worst = max(worst, float(np.max(np.abs(np.asarray(got[key]) -
                                           want[key]))))
  return worst


def _graph_ops(pb_path):
  graph_def = tf.compat.v1.GraphDef()
  with open(pb_path, 'rb') as f:
    graph_def.ParseFromString(f.read())
  return graph_def, [n.op for n in graph_def.node]


@pytest.mark.parametrize('fold', FOLDS)
@pytest.mark.parametrize('case', sorted(CASES))
def test_export_round_trip(case, fold, checkpoints, tmp_path):
  target, into_conv, left = CASES[case]
  checkpoint = checkpoints(case)
  saved = str(tmp_path / 'saved')
  pb = str(tmp_path / 'frozen.pb')
  result = export_tool.export(target, checkpoint, saved, frozen_graph=pb,
                              fold=fold)
  assert result.ok and len(result.checks) == 2
  tolerance = (export_tool.SAVED_MODEL_TOLERANCE if fold == 'none' else
               export_tool.FOLDED_TOLERANCE)
  feeds = _inputs_for(case)
  want = _reference(target, checkpoint, feeds)
  # The SavedModel, loaded and run here on other inputs than the export's.
  got = export_tool.run_saved_model(saved, feeds)
  worst = _close(got, want, tolerance)
  print('%s fold=%s SavedModel max abs diff %.3g' % (case, fold, worst))
  graph_def, ops = _graph_ops(pb)
  names = {n.name for n in graph_def.node}
  inputs = {n: n + ':0' for n in feeds}
  frozen_out = export_tool.run_frozen_graph(pb, inputs,
                                            _output_tensors(target), feeds)
  _close(frozen_out, want, tolerance)
  assert not set(ops) & set(TRAINING_SWITCH_OPS), ops
  assert 'is_training' not in names
  for node in graph_def.node:
    if node.op.startswith('FusedBatchNorm'):
      assert not node.attr['is_training'].b, node.name
  assert not {'VarHandleOp', 'VariableV2', 'ReadVariableOp'} & set(ops)
  report = result.fold
  if fold == 'none':
    assert not report.folded and not report.left
    assert set(ops) & set(BATCH_NORM_OPS)
  else:
    # Every batch norm became a multiply + add or went into a linear op.
    assert not set(ops) & set(BATCH_NORM_OPS), ops
    conv = [f for f in report.folded if f.kind == 'conv']
    if fold == 'affine':
      assert not conv and not report.left
    else:
      assert len(conv) == into_conv, report.lines()
      assert len(report.left) == len(left), report.lines()
      for scope, reason in left:
        hits = [l for l in report.left if scope in l.layer]
        assert hits and reason in hits[0].reason, report.lines()


_OUTPUT_TENSORS = {}


def _output_tensors(target):
  if target not in _OUTPUT_TENSORS:
    model = model_file.build(target, is_training=False)
    _OUTPUT_TENSORS[target] = {n: t.name for n, t in model.outputs.items()}
  return _OUTPUT_TENSORS[target]


@pytest.mark.parametrize('fold', FOLDS)
def test_export_reproduces_tf115_inference(fold, tmp_path):
  with np.load(os.path.join(TF115_GOLDEN, 'migration.npz')) as golden:
    images, expected = golden['images'], golden[TF115_LOGITS]
  saved = str(tmp_path / 'saved')
  export_tool.export(CASES['legacy_net'][0], TF115_CHECKPOINT, saved,
                     fold=fold)
  got = export_tool.run_saved_model(saved, {'images': images})['logits']
  scale = max(1.0, float(np.max(np.abs(expected))))
  worst = float(np.max(np.abs(got - expected)))
  print('fold=%s SavedModel vs TF 1.15.5 logits: max abs diff %.3g' %
        (fold, worst))
  assert worst <= TF115_MATCH_TOLERANCE * scale


@pytest.mark.parametrize('case, fold', [('legacy_net', 'conv'),
                                        ('nchw', 'affine'),
                                        ('zero_debias', 'none')])
def test_tflite_round_trip(case, fold, checkpoints, tmp_path):
  target = CASES[case][0]
  checkpoint = checkpoints(case)
  flat = str(tmp_path / 'model.tflite')
  result = export_tool.export(target, checkpoint, str(tmp_path / 'saved'),
                              tflite=flat, fold=fold)
  assert [c.artifact for c in result.checks] == ['SavedModel', 'TFLite']
  feeds = _inputs_for(case)
  want = _reference(target, checkpoint, feeds)
  interpreter = tf.lite.Interpreter(model_path=flat)
  got = interpreter.get_signature_runner('serving_default')(**feeds)
  worst = _close(got, want, export_tool.TFLITE_TOLERANCE)
  print('%s fold=%s TFLite max abs diff %.3g' % (case, fold, worst))
  ops = {d['op_name'] for d in interpreter._get_ops_details()}  # pylint: disable=protected-access
  assert not any('BATCH_NORM' in op for op in ops), ops


_FRESH_PROCESS = r'''
import importlib.abc
import sys
import numpy as np


class _NoContribBn(importlib.abc.MetaPathFinder):
  # Stands for a machine without contrib_bn, even where the test environment
  # has it installed in site-packages.
  def find_spec(self, fullname, path=None, target=None):
    if fullname == 'contrib_bn' or fullname.startswith('contrib_bn.'):
      raise ImportError('contrib_bn is not available in this process')
    return None


sys.meta_path.insert(0, _NoContribBn())
try:
  import contrib_bn
except ImportError:
  pass
else:
  sys.exit('contrib_bn is importable: %s' % contrib_bn.__file__)
import tensorflow as tf
loaded = tf.saved_model.load(sys.argv[1])
feeds = dict(np.load(sys.argv[2]))
out = loaded.signatures['serving_default'](
    **{k: tf.constant(v) for k, v in feeds.items()})
np.savez(sys.argv[3], **{k: v.numpy() for k, v in out.items()})
assert not any(m.split('.')[0] == 'contrib_bn' for m in sys.modules)
'''


@pytest.mark.parametrize('case, fold', [('legacy_net', 'none'),
                                        ('shared_reuse', 'conv')])
def test_saved_model_loads_in_fresh_process_without_contrib_bn(
    case, fold, checkpoints, tmp_path):
  target = CASES[case][0]
  checkpoint = checkpoints(case)
  saved = str(tmp_path / 'saved')
  export_tool.export(target, checkpoint, saved, fold=fold)
  feeds = _inputs_for(case)
  np.savez(str(tmp_path / 'in.npz'), **feeds)
  env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
  env['TF_CPP_MIN_LOG_LEVEL'] = '2'
  subprocess.run(
      [sys.executable, '-c', _FRESH_PROCESS, saved, str(tmp_path / 'in.npz'),
       str(tmp_path / 'out.npz')], cwd=str(tmp_path), env=env, check=True,
      timeout=300)
  got = dict(np.load(str(tmp_path / 'out.npz')))
  tolerance = (export_tool.SAVED_MODEL_TOLERANCE if fold == 'none' else
               export_tool.FOLDED_TOLERANCE)
  _close(got, _reference(target, checkpoint, feeds), tolerance)


@pytest.mark.parametrize('case', ['legacy_net', 'activation_fn'])
def test_as_function_runs_eagerly_with_restored_variables(case, checkpoints):
  target = CASES[case][0]
  checkpoint = checkpoints(case)
  function = contrib_bn.export.as_function(target, checkpoint)
  assert contrib_bn.export is export_tool
  assert tf.executing_eagerly()
  feeds = _inputs_for(case)
  got = function(**feeds)
  _close({k: v.numpy() for k, v in got.items()},
         _reference(target, checkpoint, feeds),
         export_tool.SAVED_MODEL_TOLERANCE)
  reader = tf.train.load_checkpoint(checkpoint)
  assert function.variables
  for variable in function.variables:
    np.testing.assert_array_equal(
        variable.numpy(), reader.get_tensor(variable.name.split(':')[0]))
  with pytest.raises(TypeError, match='keyword inputs'):
    function(wrong=feeds['images'])


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


# ---- bad input


def test_missing_variable_is_named(checkpoints, tmp_path):
  with pytest.raises(export_tool.ExportError,
                     match=r'no value for .*extra/moving_mean'):
    export_tool.export(MODELS + ':build_extra_layer', checkpoints('renorm'),
                       str(tmp_path / 'saved'))
  assert not os.listdir(str(tmp_path))


def test_wrong_shape_is_named(checkpoints, tmp_path):
  with pytest.raises(export_tool.ExportError,
                     match=r'differ in shape.*conv1/weights'):
    export_tool.export(MODELS + ':build_wider', checkpoints('renorm'),
                       str(tmp_path / 'saved'))


def test_output_on_unlisted_placeholder(checkpoints, tmp_path):
  with pytest.raises(export_tool.ExportError,
                     match=r'not listed in `inputs`: features <- offset'):
    export_tool.export(MODELS + ':build_hidden_placeholder',
                       checkpoints('renorm'), str(tmp_path / 'saved'))


def test_function_without_is_training_exports(checkpoints, tmp_path):
  # It returns its own placeholder (build_renorm(None)): the export feeds it
  # False, and inference mode keeps every batch norm off it.
  saved = str(tmp_path / 'saved')
  result = export_tool.export(MODELS + ':build_without_mode',
                              checkpoints('renorm'), saved)
  assert result.ok and result.modes == ['is_training']
  feeds = _inputs_for('renorm')
  _close(export_tool.run_saved_model(saved, feeds),
         _reference(CASES['renorm'][0], checkpoints('renorm'), feeds),
         export_tool.SAVED_MODEL_TOLERANCE)


def test_existing_output_needs_overwrite(checkpoints, tmp_path):
  saved = tmp_path / 'saved'
  saved.mkdir()
  (saved / 'keep').write_text('old')
  with pytest.raises(export_tool.ExportError, match='--overwrite'):
    export_tool.export(CASES['renorm'][0], checkpoints('renorm'), str(saved))
  assert os.listdir(str(saved)) == ['keep']
  export_tool.export(CASES['renorm'][0], checkpoints('renorm'), str(saved),
                     overwrite=True)
  assert 'saved_model.pb' in os.listdir(str(saved))
  assert sorted(os.listdir(str(tmp_path))) == ['saved']


def test_failed_verification_leaves_nothing(checkpoints, tmp_path,
                                            monkeypatch):
  # A negative tolerance no artifact can meet.
  monkeypatch.setattr(export_tool, 'SAVED_MODEL_TOLERANCE', (0.0, -1.0))
  with pytest.raises(export_tool.ExportError, match='verification failed'):
    export_tool.export(CASES['renorm'][0], checkpoints('renorm'),
                       str(tmp_path / 'saved'),
                       frozen_graph=str(tmp_path / 'g.pb'))
  assert not os.listdir(str(tmp_path))


def test_unknown_fold_mode(checkpoints, tmp_path):
  with pytest.raises(export_tool.ExportError, match="'fused'"):
    export_tool.export(CASES['renorm'][0], checkpoints('renorm'),
                       str(tmp_path / 'saved'), fold='fused')


# ---- command line


def _cli(*args):
  env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL='2')
  return subprocess.run([sys.executable, '-m', 'contrib_bn'] + list(args),
                        cwd=ROOT, env=env, capture_output=True, text=True,
                        timeout=600)


def test_cli_exports_and_reports_json(checkpoints, tmp_path):
  done = _cli('export', CASES['activation_fn'][0],
              checkpoints('activation_fn'), '--saved-model',
              str(tmp_path / 'saved'), '--fold', 'conv', '--json')
  assert done.returncode == 0, done.stderr[-2000:]
  result = json.loads(done.stdout)
  assert result['ok'] and result['outputs'] == ['fused', 'plain']
  assert len(result['fold']['left']) == len(CASES['activation_fn'][2])
  assert 'FusedBatchNormV3' not in result['op_types']
  again = _cli('export', CASES['activation_fn'][0],
               checkpoints('activation_fn'), '--saved-model',
               str(tmp_path / 'saved'))
  assert again.returncode == 1
  assert '--overwrite' in again.stdout


def test_cli_help_names_every_option():
  done = _cli('export', '--help')
  assert done.returncode == 0
  for option in ('--saved-model', '--tflite', '--frozen-graph', '--fold',
                 '--overwrite', '--json', 'is_training'):
    assert option in done.stdout


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
