"""`tf.compat.v1.layers` batch normalization on TF 2, against TF 1.15.5 goldens.

After `contrib_bn.install()`, `tf.compat.v1.layers.batch_normalization` and
`BatchNormalization` are contrib_bn.layers'. Each case of
contrib_bn/conformance/tf_layers_cases.py is built through those names and
replayed by contrib_bn.conformance.verify_tf_layers, as `verify` replays
it: its variables, collections and class-API facts, the outputs, losses and
gradients of three SGD steps and the variables after them must match what
TF 1.15.5 recorded (scripts/record_tf_layers.py), or it must raise TF 1.15's
exception with TF 1.15's message. Then the TF1 checkpoint after training is
restored into a fresh inference graph and its output compared. Tolerances
are contrib_bn.conformance.matching's, by the case's dtype.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest
import tensorflow as tf

import contrib_bn
from contrib_bn import cli
from contrib_bn import layers
from contrib_bn.conformance import tf_layers_cases as cases
from contrib_bn.conformance import verify_tf_layers

v1 = tf.compat.v1
CORPUS = verify_tf_layers.BATCH_NORMALIZATION


pytestmark = pytest.mark.usefixtures('installed')


def _api():
  return types.SimpleNamespace(
      batch_normalization=v1.layers.batch_normalization,
      BatchNormalization=v1.layers.BatchNormalization,
      batch_norm=v1.contrib.layers.batch_norm)


def test_every_case_has_a_golden():
  assert CORPUS.case_ids() == sorted(cases.case_ids())


def test_the_names_are_contrib_bns():
  assert v1.layers.batch_normalization is layers.batch_normalization
  assert v1.layers.BatchNormalization is layers.BatchNormalization


@pytest.mark.parametrize('case_id', cases.case_ids())
def test_case_matches_tf1(case_id):
  result = verify_tf_layers.verify_case(CORPUS, case_id, api=_api())
  assert result.ok, '\n'.join(result.problems)


EPSILON = 1e-3
# float32 arithmetic on unit-scale data against a float64 NumPy reference,
# relative and, for values near zero, absolute.
REFERENCE_RTOL = 1e-5


def _train_once(x_value, **kwargs):
  """(output, moving_mean, moving_variance) after one training step."""
  with tf.Graph().as_default():
    x = v1.placeholder(tf.float32, x_value.shape)
    y = v1.layers.batch_normalization(x, training=True, momentum=0.0,
                                      epsilon=EPSILON, **kwargs)
    updates = v1.get_collection(v1.GraphKeys.UPDATE_OPS)
    assert len(updates) == 2
    with v1.Session() as session:
      session.run(v1.global_variables_initializer())
      out, _ = session.run([y, updates], {x: x_value})
      mean, variance = session.run(
          [v for v in v1.global_variables()
           if v.op.name.endswith(('moving_mean', 'moving_variance'))])
  return out, mean, variance


def test_ghost_batches_are_strided_and_average_their_statistics():
  data = np.random.RandomState(3).normal(1.0, 2.0, (8, 3, 2))
  out, moving_mean, moving_variance = _train_once(data, virtual_batch_size=4)
  # [4, 2, 3, 2]: example i is in ghost batch i % 2.
  ghosts = data.reshape(4, 2, 3, 2)
  mean = ghosts.mean(axis=(0, 2), keepdims=True)
  variance = ghosts.var(axis=(0, 2), keepdims=True)
  expected = ((ghosts - mean) / np.sqrt(variance + EPSILON)).reshape(8, 3, 2)
  np.testing.assert_allclose(out, expected, rtol=REFERENCE_RTOL,
                             atol=REFERENCE_RTOL)
  # With momentum 0 the moving statistics are the ghost batches' average.
  assert moving_mean.shape == (1, 1, 1, 2)
  np.testing.assert_allclose(moving_mean, mean.mean(axis=1, keepdims=True),
                             rtol=REFERENCE_RTOL, atol=REFERENCE_RTOL)
  np.testing.assert_allclose(moving_variance,
                             variance.mean(axis=1, keepdims=True),
                             rtol=REFERENCE_RTOL)


def test_an_axis_list_normalizes_each_position_of_those_axes():
  data = np.random.RandomState(4).normal(-0.5, 1.5, (6, 3, 5))
  out, moving_mean, moving_variance = _train_once(data, axis=[1, -1])
  mean = data.mean(axis=0, keepdims=True)
  variance = data.var(axis=0, keepdims=True)
  np.testing.assert_allclose(out, (data - mean) / np.sqrt(variance + EPSILON),
                             rtol=REFERENCE_RTOL, atol=REFERENCE_RTOL)
  assert moving_mean.shape == (1, 3, 5)
  np.testing.assert_allclose(moving_mean, mean, rtol=REFERENCE_RTOL,
                             atol=REFERENCE_RTOL)
  np.testing.assert_allclose(moving_variance, variance, rtol=REFERENCE_RTOL)


def _copied_corpus(tmp_path, case_id):
  """The tf_layers corpus reduced to `case_id`, copied under `tmp_path`."""
  corpus = verify_tf_layers.Corpus(
      CORPUS.name, CORPUS.recorder, cases=CORPUS.cases, replay=CORPUS.replay,
      api=CORPUS.api)
  corpus.directory = str(tmp_path)
  os.makedirs(os.path.join(corpus.directory, 'checkpoints'))
  for name in os.listdir(CORPUS.directory):
    if name.startswith(case_id + '.'):
      shutil.copy(os.path.join(CORPUS.directory, name), corpus.directory)
  for name in os.listdir(os.path.join(CORPUS.directory, 'checkpoints')):
    if name.startswith(case_id + '.'):
      shutil.copy(os.path.join(CORPUS.directory, 'checkpoints', name),
                  os.path.join(corpus.directory, 'checkpoints'))
  return corpus


def test_verify_reports_a_perturbed_golden(tmp_path):
  corpus = _copied_corpus(tmp_path, 'virtual_batch_rank2_train')
  assert verify_tf_layers.verify_case(corpus, 'virtual_batch_rank2_train').ok
  path = os.path.join(corpus.directory, 'virtual_batch_rank2_train.npz')
  with np.load(path) as data:
    arrays = {k: data[k] for k in data.files}
  arrays['step1/output'] = arrays['step1/output'] * np.float32(1.01)
  np.savez(path, **arrays)
  result = verify_tf_layers.verify_case(corpus, 'virtual_batch_rank2_train')
  assert result.case_id == 'tf_layers/virtual_batch_rank2_train'
  assert not result.ok
  assert any('step1/output' in p for p in result.problems), result.problems


def test_verify_reports_another_error_in_one_line(tmp_path):
  corpus = _copied_corpus(tmp_path, 'error_virtual_batch_zero')
  path = os.path.join(corpus.directory, 'error_virtual_batch_zero.json')
  with open(path) as f:
    record = json.load(f)
  record['error']['message'] = 'another message'
  with open(path, 'w') as f:
    json.dump(record, f)
  result = verify_tf_layers.verify_case(corpus, 'error_virtual_batch_zero')
  assert result.problems == [
      'raised ValueError: virtual_batch_size must be a positive integer that '
      'divides the true batch size of the input Tensor; TF 1.15 raised '
      'ValueError: another message']


def test_verify_counts_each_tf_layers_corpus(capsys):
  code = cli.main(['verify', '--json', '--filter',
                   '^tf_layers/axes_rank3_1_2$|'
                   '^tf_layers_neighbours/flatten_rank3$'])
  captured = capsys.readouterr()
  assert code == 0, captured.err[-3000:]
  report = json.loads(captured.out)
  assert report['corpora'] == {
      'tf.layers': {'matched': 1, 'total': 1},
      'tf.layers neighbours': {'matched': 1, 'total': 1}}
  summary = captured.err.strip().splitlines()[-1]
  assert summary.startswith('2/2 cases match in total: tf.layers 1/1, '
                            'tf.layers neighbours 1/1 ('), summary


def test_every_spelling_of_tf_layers_is_served():
  # Code written `import tensorflow.compat.v1 as tf` may still spell
  # `tf.compat.v1.layers`: the `layers` of another module object.
  for spelled in (v1.layers, v1.compat.v1.layers, tf.compat.v1.layers):
    assert spelled.batch_normalization is layers.batch_normalization
  contrib_bn.uninstall()
  with pytest.raises(AttributeError, match='not available with Keras 3'):
    v1.compat.v1.layers.batch_normalization  # pylint: disable=pointless-statement
  contrib_bn.install()


def test_uninstall_gives_tf_its_names_back():
  contrib_bn.uninstall()
  for name in ('batch_normalization', 'BatchNormalization'):
    with pytest.raises(AttributeError, match='not available with Keras 3'):
      getattr(v1.layers, name)
  contrib_bn.install()
  assert v1.layers.batch_normalization is layers.batch_normalization


def test_unserved_names_stay_tfs():
  with pytest.raises(AttributeError, match='`InputSpec` is not available'):
    v1.layers.InputSpec  # pylint: disable=pointless-statement


_PROGRAM = textwrap.dedent('''
    import sys
    import contrib_bn
    if sys.argv[1] == 'install_first':
      contrib_bn.install()
    import tensorflow.compat.v1 as tf
    if sys.argv[1] == 'import_first':
      # Executes TF's own module for the name, which tf.layers becomes.
      import tensorflow.compat.v1.layers
      contrib_bn.install()
    from tensorflow.compat.v1.layers import batch_normalization
    from contrib_bn import layers
    assert batch_normalization is layers.batch_normalization
    assert tf.layers.BatchNormalization is layers.BatchNormalization
    tf.disable_eager_execution()
    y = tf.layers.batch_normalization(tf.zeros([2, 3]), training=True)
    assert [v.op.name for v in tf.global_variables()][0] == (
        'batch_normalization/gamma')
    assert len(tf.get_collection(tf.GraphKeys.UPDATE_OPS)) == 2
    contrib_bn.uninstall()
    try:
      tf.layers.batch_normalization
    except AttributeError:
      print('ok')
''')


@pytest.mark.parametrize('order', ['install_first', 'import_first'])
def test_import_order(order):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  result = subprocess.run([sys.executable, '-c', _PROGRAM, order], env=env,
                          capture_output=True, text=True, check=False)
  assert result.stdout.strip().endswith('ok'), result.stderr[-3000:]
