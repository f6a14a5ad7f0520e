"""The export takes model files in every form, with no edit to them.

Models: tests/data/export_forms.py (a placeholder two calls below the build
function; a returned placeholder_with_default with slim; dropout and the
model's own conditionals on the placeholder; a batch norm shared by a
training and an inference tower; an inference-only builder). Each is trained
a few steps in training mode, exported to a SavedModel, a TFLite flatbuffer
and a frozen graph, and every artifact is run in a fresh process that cannot
import contrib_bn. The reference is built without the export's machinery:
the model as written, restored by a plain Saver, its placeholder (named
'is_training' in every model there) fed False, the way the legacy code
evaluated it.
"""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import contrib_bn
from contrib_bn.tools import export as export_tool
from contrib_bn.tools import inference_graph
from contrib_bn.tools import model_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FORMS = os.path.join(ROOT, 'tests', 'data', 'export_forms.py')
MODE = 'is_training:0'
TRAIN_STEPS = 3

# case -> (exported function, function that trains its checkpoint)
CASES = {
    'deep_placeholder': ('build_deep', 'build_deep'),
    'returned_slim': ('build_returned', 'build_returned'),
    'dropout_and_conditionals': ('build_dropout', 'build_dropout'),
    'towers_shared_by_reuse': ('build_towers', 'build_towers'),
    'inference_only': ('build_inference', 'build_train'),
}
# Op types no exported graph may hold: conditionals, and what only training
# mode builds (random dropout masks and noise).
TRAINING_OPS = ('Switch', 'Merge', 'If', 'StatelessIf', 'RandomUniform',
                'RandomStandardNormal')


def _target(function):
  return FORMS + ':' + function


def _images(seed):
  return np.random.RandomState(seed).normal(
      1.0, 2.0, (3, 6, 6, 3)).astype(np.float32)


def _mode(graph):
  try:
    return graph.get_tensor_by_name(MODE)
  except KeyError:
    return None


def _train_and_save(function, directory):
  model = model_file.build(_target(function))
  with model.graph.as_default():
    saver = tf.compat.v1.train.Saver()
    feed = {t: _images(1) for t in model.inputs.values()}
    mode = _mode(model.graph)
    if mode is not None:
      feed[mode] = True
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      for _ in range(TRAIN_STEPS):
        sess.run(model.train_op, feed)
      return saver.save(sess, os.path.join(directory, 'model'))


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
  cache = {}

  def get(function):
    if function not in cache:
      cache[function] = _train_and_save(
          function, str(tmp_path_factory.mktemp('ckpt_' + function)))
    return cache[function]

  return get


def _reference(function, checkpoint, images):
  """The model as written, restored, with is_training fed False."""
  model = model_file.build(_target(function))
  with model.graph.as_default():
    saver = tf.compat.v1.train.Saver()
    with tf.compat.v1.Session() as sess:
      saver.restore(sess, checkpoint)
      feed = {model.inputs['images']: images}
      mode = _mode(model.graph)
      if mode is not None:
        feed[mode] = False
      return sess.run(dict(model.outputs), feed)


_FRESH_PROCESS = r'''
import importlib.abc
import sys
import numpy as np


class _NoContribBn(importlib.abc.MetaPathFinder):
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
saved, flat, pb, inputs, out = sys.argv[1:6]
images = np.load(inputs)['images']
results = {}
serving = tf.saved_model.load(saved).signatures['serving_default']
for k, v in serving(images=tf.constant(images)).items():
  results['saved_model/' + k] = v.numpy()
runner = tf.lite.Interpreter(model_path=flat).get_signature_runner(
    'serving_default')
for k, v in runner(images=images).items():
  results['tflite/' + k] = v
graph_def = tf.compat.v1.GraphDef()
with open(pb, 'rb') as f:
  graph_def.ParseFromString(f.read())
frozen = tf.compat.v1.wrap_function(
    lambda: tf.compat.v1.import_graph_def(graph_def, name=''), [])
tensors = dict(arg.split('=') for arg in sys.argv[6:])
results['frozen/features'] = frozen.prune(
    'images:0', tensors['features'])(tf.constant(images)).numpy()
np.savez(out, **results)
assert not any(m.split('.')[0] == 'contrib_bn' for m in sys.modules)
'''


def _close(got, want, tolerance):
  rtol, atol = tolerance
  np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
  return float(np.max(np.abs(got - want)))


@pytest.mark.parametrize('case', sorted(CASES))
def test_each_form_exports_and_runs_without_contrib_bn(case, checkpoints,
                                                       tmp_path):
  function, trainer = CASES[case]
  checkpoint = checkpoints(trainer)
  saved, flat, pb = (str(tmp_path / 'saved'), str(tmp_path / 'm.tflite'),
                     str(tmp_path / 'frozen.pb'))
  result = export_tool.export(_target(function), checkpoint, saved,
                              tflite=flat, frozen_graph=pb)
  assert result.ok
  assert [c.artifact for c in result.checks] == ['SavedModel', 'frozen graph',
                                                 'TFLite']
  assert list(result.inputs) == ['images']
  graph_def = tf.compat.v1.GraphDef()
  with open(pb, 'rb') as f:
    graph_def.ParseFromString(f.read())
  ops = [n.op for n in graph_def.node]
  assert not set(ops) & set(TRAINING_OPS), ops
  assert [n.name for n in graph_def.node if 'Placeholder' in n.op] == [
      'images']
  for node in graph_def.node:
    if node.op.startswith('FusedBatchNorm'):
      assert not node.attr['is_training'].b, node.name
  assert not inference_graph.training_leftovers(
      inference_graph.GraphIndex(graph_def), result.tensors.values(),
      ['is_training'])
  images = _images(23)
  np.savez(str(tmp_path / 'in.npz'), images=images)
  env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
  env['TF_CPP_MIN_LOG_LEVEL'] = '2'
  subprocess.run(
      [sys.executable, '-c', _FRESH_PROCESS, saved, flat, pb,
       str(tmp_path / 'in.npz'), str(tmp_path / 'out.npz'),
       'features=' + result.tensors['features']],
      cwd=str(tmp_path), env=env, check=True, timeout=300)
  got = dict(np.load(str(tmp_path / 'out.npz')))
  want = _reference(function, checkpoint, images)['features']
  for artifact, tolerance in (
      ('saved_model', export_tool.SAVED_MODEL_TOLERANCE),
      ('frozen', export_tool.SAVED_MODEL_TOLERANCE),
      ('tflite', export_tool.TFLITE_TOLERANCE)):
    worst = _close(got[artifact + '/features'], want, tolerance)
    print('%s %s max abs diff %.3g' % (case, artifact, worst))


def test_dropout_and_conditionals_are_folded(checkpoints, tmp_path):
  result = export_tool.export(_target('build_dropout'),
                              checkpoints('build_dropout'),
                              str(tmp_path / 'saved'))
  # Two tf.conds on the mode and one nested in the inference branch, each
  # with its own Switch ops.
  assert result.modes == ['is_training'] and len(result.folded) >= 3
  line = [l for l in result.lines() if l.startswith('mode placeholder')]
  assert line and 'is_training fed False' in line[0], result.lines()
  # The inference branch of the nested conditional halves the features:
  # dropping it would leave the SavedModel twice the reference.
  images = _images(29)
  got = export_tool.run_saved_model(str(tmp_path / 'saved'),
                                    {'images': images})['features']
  _close(got, _reference('build_dropout', checkpoints('build_dropout'),
                         images)['features'],
         export_tool.SAVED_MODEL_TOLERANCE)


@pytest.mark.parametrize('case', ['deep_placeholder',
                                  'dropout_and_conditionals',
                                  'inference_only'])
def test_as_function_takes_every_form(case, checkpoints):
  function, trainer = CASES[case]
  checkpoint = checkpoints(trainer)
  wrapped = contrib_bn.export.as_function(_target(function), checkpoint)
  images = _images(31)
  got = wrapped(images=images)['features'].numpy()
  _close(got, _reference(function, checkpoint, images)['features'],
         export_tool.SAVED_MODEL_TOLERANCE)


def _leftover_line():
  with open(FORMS) as f:
    return [i + 1 for i, text in enumerate(f) if text.rstrip().endswith(
        '# leftover')]


@pytest.mark.parametrize('function, problem, fix', [
    ('build_bad_raw_kernel', r'training-mode FusedBatchNormV3 \S+ '
     r'\(normalizes with batch statistics\)', 'fix for a batch norm'),
    ('build_bad_data_conditional', r'Switch cond/Switch is switched by the '
     r'bool placeholder is_training \(fed False\)', 'fix for a conditional'),
])
def test_leftovers_name_the_op_and_the_model_line(function, problem, fix,
                                                 checkpoints, tmp_path):
  lines = _leftover_line()
  with pytest.raises(export_tool.ExportError) as caught:
    export_tool.export(_target(function), checkpoints(function),
                       str(tmp_path / 'saved'))
  text = str(caught.value)
  assert re.search(problem, text), text
  sites = set(int(n) for n in re.findall(
      re.escape(FORMS) + r':(\d+) `[^`]*# leftover`', text))
  assert sites and sites <= set(lines), text
  assert fix in text
  assert not os.listdir(str(tmp_path))


def test_unreturned_flag_that_decides_nothing_is_named(checkpoints, tmp_path):
  with pytest.raises(export_tool.ExportError,
                     match=r"features <- use_offset .*returned under "
                     r"'is_training'"):
    export_tool.export(_target('build_bad_unreturned_flag'),
                       checkpoints('build_bad_unreturned_flag'),
                       str(tmp_path / 'saved'))


def test_required_parameter_is_named(tmp_path):
  model = tmp_path / 'needs.py'
  model.write_text('def build(images, is_training=None):\n  return {}\n')
  with pytest.raises(model_file.ModelFileError,
                     match=r'takes the parameter\(s\) images without a '
                     r'default'):
    model_file.build(str(model) + ':build', for_inference=True)


def test_mode_placeholders_are_found_by_what_they_decide():
  with tf.Graph().as_default() as graph:
    data = tf.compat.v1.placeholder(tf.bool, [], name='data_flag')
    x = tf.compat.v1.placeholder(tf.float32, [2], name='x')
    negated = tf.compat.v1.placeholder_with_default(True, [], name='negated')
    cast_only = tf.compat.v1.placeholder_with_default(True, [], name='cast')
    vector = tf.compat.v1.placeholder(tf.bool, [2], name='vector')
    deep = tf.compat.v1.placeholder(tf.bool, [], name='deep')
    y = tf.compat.v1.cond(tf.logical_not(negated), lambda: x * 2.0,
                          lambda: x)
    y = tf.compat.v1.cond(data, lambda: y, lambda: -y)
    y += tf.cast(cast_only, tf.float32) + tf.reduce_sum(
        tf.cast(vector, tf.float32))
    tf.raw_ops.Switch(data=x, pred=tf.logical_and(deep, True))
    inputs = {'x': x, 'data_flag': data}
    found = model_file.find_mode_placeholders(graph, inputs)
    assert [t.op.name for t in found] == ['deep', 'negated']
    returned = model_file.find_mode_placeholders(graph, inputs, cast_only)
    assert [t.op.name for t in returned] == ['cast', 'deep', 'negated']


_CLI_CASES = ['deep_placeholder', 'inference_only']


@pytest.mark.parametrize('case', _CLI_CASES)
def test_one_command_exports_without_editing_the_model(case, checkpoints,
                                                       tmp_path):
  function, trainer = CASES[case]
  env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL='2')
  done = subprocess.run(
      [sys.executable, '-m', 'contrib_bn', 'export', _target(function),
       checkpoints(trainer), '--saved-model', str(tmp_path / 'saved'),
       '--tflite', str(tmp_path / 'm.tflite'), '--frozen-graph',
       str(tmp_path / 'g.pb')], cwd=ROOT, env=env, capture_output=True,
      text=True, timeout=600)
  assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
  assert done.stdout.rstrip().endswith('export verified'), done.stdout
  assert sorted(os.listdir(str(tmp_path))) == ['g.pb', 'm.tflite', 'saved']


def test_help_shows_every_form():
  env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL='2')
  done = subprocess.run([sys.executable, '-m', 'contrib_bn', 'export',
                         '--help'], cwd=ROOT, env=env, capture_output=True,
                        text=True, timeout=300)
  assert done.returncode == 0
  for text in ('def build(is_training=None):', 'def build():',
               'def build_inference():', 'contrib_bn.inference_mode()',
               'fed False'):
    assert text in done.stdout, text
