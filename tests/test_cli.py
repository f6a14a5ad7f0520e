"""The command line: `python -m contrib_bn verify | inspect | export-keras`.

Every subcommand is run through `cli.main`, as the console script runs it,
and judged by its exit code and what it prints.
"""

import argparse
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from contrib_bn import checkpoint
from contrib_bn import cli
from contrib_bn.conformance import environment
from contrib_bn.conformance import goldens
from contrib_bn.conformance import verify_single_device
from contrib_bn.tools import inspect_checkpoint
from contrib_bn.tools import keras_export
from era_checkpoints import build_graph
from era_checkpoints import Era
from era_checkpoints import ERAS_DIR
from keras_reference import contrib_bn_inference
from keras_reference import KERAS_ATOL


def _cli(capsys, argv):
  """Runs the command line; returns (exit code, stdout, stderr)."""
  capsys.readouterr()
  code = cli.main(argv)
  captured = capsys.readouterr()
  return code, captured.out, captured.err


@pytest.mark.parametrize('module', cli.SUBCOMMANDS,
                         ids=lambda module: module.__name__)
def test_each_subcommand_registers_the_same_way(module):
  subparsers = argparse.ArgumentParser().add_subparsers(dest='command')
  module.register(subparsers)
  assert subparsers.choices, module.__name__
  for name, parser in subparsers.choices.items():
    assert callable(parser.get_default('func')), name


@pytest.mark.parametrize('command',
                         ['verify', 'inspect', 'export-keras', 'export'])
def test_every_subcommand_explains_itself(command, capsys):
  with pytest.raises(SystemExit) as info:
    cli.main([command, '--help'])
  assert info.value.code == 0
  assert 'exit code' in ' '.join(capsys.readouterr().out.split()).lower()


def test_no_subcommand_prints_help_and_exits_2(capsys):
  code, out, _ = _cli(capsys, [])
  assert code == cli.EXIT_USAGE
  assert 'export-keras' in out and 'inspect' in out and 'verify' in out


def test_verify_command_reports_and_fails_on_mismatch(tmp_path, capsys,
                                                      copy_golden):
  case_id = 'default_r3_nhwc'
  copy_golden(tmp_path, case_id)
  (tmp_path / 'manifest.json').write_text('{"cases": ["%s"]}' % case_id)
  assert cli.main(['verify', '--goldens', str(tmp_path)]) == 0
  assert '1/1 golden cases match TF 1.15.5' in capsys.readouterr().out
  path = tmp_path / (case_id + '.npz')
  with np.load(str(path)) as data:
    arrays = {k: data[k] for k in data.files}
  arrays['step0/output0'] = arrays['step0/output0'] * np.float32(1.01)
  np.savez(str(path), **arrays)
  assert cli.main(['verify', '--goldens', str(tmp_path)]) == 1
  assert '0/1 golden cases match TF 1.15.5' in capsys.readouterr().out


def test_verify_checks_the_tf_layers_corpora_beside_a_given_corpus(
    tmp_path, capsys, copy_golden):
  case_id = 'default_r3_nhwc'
  copy_golden(tmp_path, case_id)
  (tmp_path / 'manifest.json').write_text('{"cases": ["%s"]}' % case_id)
  selected = ('^(%s|tf_layers/axes_rank3_1_2|'
              'tf_layers_neighbours/flatten_rank3)$' % case_id)
  code, out, _ = _cli(capsys, ['verify', '--goldens', str(tmp_path),
                               '--filter', selected])
  assert code == 0 and 'tf.layers' not in out.splitlines()[-1]
  code, out, _ = _cli(capsys, ['verify', '--goldens', str(tmp_path),
                               '--tf-layers', '--filter', selected])
  assert code == 0
  assert out.splitlines()[-1].startswith(
      '3/3 cases match in total: single device 1/1, tf.layers 1/1, '
      'tf.layers neighbours 1/1'), out.splitlines()[-1]


@pytest.mark.parametrize('flag', ['--goldens', '--distributed-goldens',
                                  '--fetch-goldens'])
def test_verify_names_a_missing_corpus_directory_and_exits_2(
    tmp_path, capsys, flag):
  missing = str(tmp_path / 'no_such_corpus')
  code, out, err = _cli(capsys, ['verify', flag, missing])
  assert code == cli.EXIT_USAGE
  assert err.strip() == 'verify: error: %s %s is not a directory' % (
      flag, missing)
  assert 'Traceback' not in out + err


def test_verify_header_names_what_ran(tmp_path, capsys, copy_golden):
  case_id = 'default_r3_nhwc'
  copy_golden(tmp_path, case_id)
  (tmp_path / 'manifest.json').write_text('{"cases": ["%s"]}' % case_id)
  code, out, _ = _cli(capsys, ['verify', '--goldens', str(tmp_path)])
  assert code == 0
  header = out.splitlines()[0]
  for part in ('TensorFlow ', 'Python ', 'oneDNN ', 'TF_ENABLE_ONEDNN_OPTS=',
               'XLA off', 'CPU '):
    assert part in header, header
  expected = 'on' if environment.onednn_enabled() else 'off'
  assert 'oneDNN %s ' % expected in header


def test_verify_json_carries_the_environment_and_every_case(
    tmp_path, capsys, copy_golden):
  case_id = 'default_r3_nhwc'
  copy_golden(tmp_path, case_id)
  (tmp_path / 'manifest.json').write_text('{"cases": ["%s"]}' % case_id)
  code, out, err = _cli(capsys, ['verify', '--goldens', str(tmp_path),
                                 '--json'])
  assert code == 0
  report = json.loads(out)
  assert report['environment']['tensorflow'] == tf.__version__
  assert isinstance(report['environment']['onednn'], bool)
  assert isinstance(report['environment']['cpu_features'], list)
  assert (report['matched'], report['total']) == (1, 1)
  assert report['cases'][0]['id'] == case_id and report['cases'][0]['ok']
  assert case_id in err  # the per-case lines are progress on stderr


def _failing_run_error():
  graph = tf.Graph()
  with graph.as_default():
    variable = tf.compat.v1.Variable([0.0, 0.0, 0.0], name='moving')
    value = tf.compat.v1.placeholder(tf.float32, None)
    update = tf.compat.v1.assign_sub(variable, value, name='update')
    with tf.compat.v1.Session(graph=graph) as sess:
      sess.run(variable.initializer)
      try:
        sess.run(update, {value: np.ones([4, 3])})
      except tf.errors.OpError as e:
        return e
  raise AssertionError('the update ran')


def test_a_failing_case_reports_one_line_and_verbose_the_trace(monkeypatch):
  error = _failing_run_error()
  line = verify_single_device.one_line(error)
  assert '\n' not in line
  assert line.startswith('InvalidArgumentError at node AssignSubVariableOp: '
                         'Cannot update variable with shape [3]'), line
  monkeypatch.setattr(verify_single_device, 'VERBOSE', True)
  assert len(verify_single_device.one_line(error).splitlines()) > 5


def test_an_autograph_error_reports_its_own_last_line():
  error = TypeError('in user code:\n\n    File "model.py", line 3, in step\n'
                    '        return layer(x)\n\n'
                    '    TypeError: unsupported operand type(s)\n')
  assert verify_single_device.one_line(error) == (
      'TypeError: unsupported operand type(s)')


def cli_graph():
  """A renorm contrib_bn graph for `inspect --graph` (built in place)."""
  case = Era(os.path.join(ERAS_DIR, 'tf1.13.1'),
             'renorm_scale_r4_nhwc').case
  graph, _, _ = build_graph(case)
  return graph


def cli_graph_with_extra_gamma():
  case = Era(os.path.join(ERAS_DIR, 'tf1.13.1'), 'renorm_r4_nhwc').case
  kwargs = dict(case['kwargs'], scale=True)
  graph, _, _ = build_graph(case, kwargs)
  return graph


def test_cli_inspect_lists_layers(capsys):
  prefix = os.path.join(ERAS_DIR, 'tf1.13.1', 'checkpoints',
                        'renorm_scale_r4_nhwc')
  code, text, _ = _cli(capsys, ['inspect', prefix])
  assert code == 0
  assert 'BatchNorm  [tf.contrib.layers.batch_norm; %s]' % (
      checkpoint.LAYOUT_RENORM_TF1_14) in text
  assert ('implies: center=True renorm=True scale=True '
          'zero_debias_moving_mean=False') in text
  assert 'BatchNorm/renorm_mean_weight [] float32' in text


def test_cli_inspect_with_graph_lists_lacking_and_extra(capsys):
  prefix = os.path.join(ERAS_DIR, 'tf1.13.1', 'checkpoints',
                        'renorm_scale_r4_nhwc')
  code, text, _ = _cli(capsys, ['inspect', prefix, '--graph',
                        'test_cli:cli_graph', '--epsilon',
                        '0.01'])
  assert code == 0, text
  assert ('BatchNorm/moving_stddev [5] float32  (derived on restore: '
          'sqrt(BatchNorm/moving_variance + 0.01))') in text
  assert ('BatchNorm/renorm_mean_weight [] float32  (used to derive '
          'BatchNorm/renorm_mean)') in text
  assert 'restore: complete (4 restored, 3 derived)' in text


def test_cli_inspect_with_graph_reports_incomplete(capsys):
  prefix = os.path.join(ERAS_DIR, 'tf1.13.1', 'checkpoints', 'renorm_r4_nhwc')
  code, text, _ = _cli(capsys, ['inspect', prefix, '--json', '--graph',
                        'test_cli:cli_graph_with_extra_gamma'])
  assert code == inspect_checkpoint.EXIT_INCOMPLETE
  report = json.loads(text)
  assert report['complete'] is False
  assert report['plan']['missing'] == [['BatchNorm/gamma', [5], 'float32']]


def test_cli_inspect_maps_tf_layers_scopes(capsys):
  prefix = os.path.join(ERAS_DIR, 'tf1.2.1', 'checkpoints',
                        'layers_two_r4_nhwc')
  code, text, _ = _cli(capsys, ['inspect', prefix, '--graph',
                        'test_cli:cli_layers_graph',
                        '--scope-map', 'batch_normalization=BatchNorm',
                        '--scope-map', 'batch_normalization_1=BatchNorm_1'])
  assert code == 0, text
  assert ('BatchNorm_1/gamma [5] float32  (restored from '
          'batch_normalization_1/gamma)') in text


def cli_layers_graph():
  case = Era(os.path.join(ERAS_DIR, 'tf1.2.1'), 'layers_two_r4_nhwc').case
  graph, _, _ = build_graph(case)
  return graph


def test_cli_bad_arguments_exit_2(capsys):
  code, _, errors = _cli(capsys, ['inspect', '/nonexistent/ckpt'])
  assert code == inspect_checkpoint.EXIT_USAGE
  assert 'cannot read checkpoint' in errors
  prefix = os.path.join(ERAS_DIR, 'tf1.2.1', 'checkpoints', 'default_r4_nhwc')
  code, _, errors = _cli(capsys, ['inspect', prefix, '--graph', 'no_colon'])
  assert code == inspect_checkpoint.EXIT_USAGE
  assert 'module:callable' in errors


def test_export_keras_cli_writes_a_loadable_file(tmp_path, capsys):
  golden = goldens.load('center1_scale1_core_fused')
  path = str(tmp_path / 'bn.keras')
  code, text, errors = _cli(capsys, ['export-keras', golden.checkpoint_prefix,
                             '--scope', 'BatchNorm', '--output', path])
  assert code == 0, errors
  assert 'axis=-1' in text and 'scale=True' in text
  assert os.path.getsize(path) > 0
  layer = keras_export.load(path)
  assert keras_export.is_keras_batch_norm(layer)
  got = keras_export.infer(layer, golden.arrays['input'])
  np.testing.assert_allclose(got, contrib_bn_inference(golden), rtol=0,
                             atol=KERAS_ATOL)


def test_export_keras_cli_nchw(tmp_path, capsys):
  golden = goldens.load('default_r4_nchw')
  path = str(tmp_path / 'bn_nchw.keras')
  code, text, errors = _cli(capsys, ['export-keras', golden.checkpoint_prefix,
                             '--scope', 'BatchNorm', '--output', path,
                             '--data-format', 'NCHW'])
  assert code == 0, errors
  assert 'axis=1' in text
  got = keras_export.infer(keras_export.load(path), golden.arrays['input'])
  np.testing.assert_allclose(got, contrib_bn_inference(golden), rtol=0,
                             atol=KERAS_ATOL)


def test_export_keras_cli_refuses_renorm(tmp_path, capsys):
  golden = goldens.load('renorm_r4_nhwc')
  path = str(tmp_path / 'renorm.keras')
  code, _, errors = _cli(capsys, ['export-keras', golden.checkpoint_prefix,
                          '--scope', 'BatchNorm', '--output', path])
  assert code == keras_export.EXIT_USAGE
  assert 'Keras 3 dropped batch renormalization' in errors
  assert '--inference-only' in errors
  assert not os.path.exists(path)
