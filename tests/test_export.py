"""The export of legacy batch-norm models: SavedModel, TFLite, frozen graph.

The model files of tests/export_cases.py are exported with each fold mode,
and every artifact is run against their reference, built independently of
the export (export_cases.reference): in this process, in a fresh one that
cannot import contrib_bn, and as an eager function; the legacy net's
SavedModel reproduces TF 1.15.5's logits. Then what the export refuses, and
the command line. tests/test_export_folding.py checks the fold and the
inference-graph rules on graphs built by hand.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import contrib_bn
from contrib_bn.tools import export as export_tool
from contrib_bn.tools import model_file
from export_cases import CASES
from export_cases import close
from export_cases import inputs_for
from export_cases import MODELS
from export_cases import reference
from export_cases import ROOT
from export_cases import TF115_CHECKPOINT
from export_cases import TF115_GOLDEN
from export_cases import TF115_LOGITS
from export_cases import TF115_MATCH_TOLERANCE
from export_cases import train_and_save

FOLDS = ('none', 'affine', 'conv')
BATCH_NORM_OPS = ('FusedBatchNorm', 'FusedBatchNormV2', 'FusedBatchNormV3',
                  'Rsqrt')
TRAINING_SWITCH_OPS = ('Switch', 'Merge', 'If', 'StatelessIf')


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
  cache = {}

  def get(case):
    if case == 'legacy_net':
      return TF115_CHECKPOINT
    if case not in cache:
      directory = str(tmp_path_factory.mktemp('ckpt_' + case))
      cache[case] = train_and_save(CASES[case][0], directory)
    return cache[case]

  return get


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
  feeds = inputs_for(case)
  want = reference(target, checkpoint, feeds)
  # The SavedModel, loaded and run here on other inputs than the export's.
  got = export_tool.run_saved_model(saved, feeds)
  worst = close(got, want, tolerance)
  print('%s fold=%s SavedModel max abs diff %.3g' % (case, fold, worst))
  graph_def, ops = _graph_ops(pb)
  names = {n.name for n in graph_def.node}
  inputs = {n: n + ':0' for n in feeds}
  frozen_out = export_tool.run_frozen_graph(pb, inputs,
                                            _output_tensors(target), feeds)
  close(frozen_out, want, tolerance)
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
  feeds = inputs_for(case)
  want = reference(target, checkpoint, feeds)
  interpreter = tf.lite.Interpreter(model_path=flat)
  got = interpreter.get_signature_runner('serving_default')(**feeds)
  worst = close(got, want, export_tool.TFLITE_TOLERANCE)
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
  feeds = inputs_for(case)
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
  close(got, reference(target, checkpoint, feeds), tolerance)


@pytest.mark.parametrize('case', ['legacy_net', 'activation_fn'])
def test_as_function_runs_eagerly_with_restored_variables(case, checkpoints):
  target = CASES[case][0]
  checkpoint = checkpoints(case)
  function = contrib_bn.export.as_function(target, checkpoint)
  assert contrib_bn.export is export_tool
  assert tf.executing_eagerly()
  feeds = inputs_for(case)
  got = function(**feeds)
  close({k: v.numpy() for k, v in got.items()},
        reference(target, checkpoint, feeds),
        export_tool.SAVED_MODEL_TOLERANCE)
  reader = tf.train.load_checkpoint(checkpoint)
  assert function.variables
  for variable in function.variables:
    np.testing.assert_array_equal(
        variable.numpy(), reader.get_tensor(variable.name.split(':')[0]))
  with pytest.raises(TypeError, match='keyword inputs'):
    function(wrong=feeds['images'])


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
  feeds = inputs_for('renorm')
  close(export_tool.run_saved_model(saved, feeds),
        reference(CASES['renorm'][0], checkpoints('renorm'), feeds),
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
