"""`tf.compat.v1.layers` batch normalization on TF 2, against TF 1.15.5 goldens.

After `contrib_bn.install()`, `tf.compat.v1.layers.batch_normalization` and
`BatchNormalization` are contrib_bn.layers'. Each case of
contrib_bn/conformance/tf_layers_cases.py is built through those names; its
variables, collections and class-API facts, the outputs, losses and
gradients of three SGD steps and the variables after them must match what
TF 1.15.5 recorded (scripts/record_tf_layers.py), or it must raise TF 1.15's
exception with TF 1.15's message. Then the TF1 checkpoint after training is
restored into a fresh inference graph and its output compared. Tolerances
are contrib_bn.conformance.compare's, by the case's dtype.
"""

import json
import os
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest
import tensorflow as tf

import contrib_bn
from contrib_bn import layers
from contrib_bn.conformance import compare
from contrib_bn.conformance import tf_layers_cases as cases

v1 = tf.compat.v1
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDENS = os.path.join(_ROOT, 'contrib_bn', 'goldens', 'tf_layers')
_REGENERATE = ('regenerate with: .venvs/tf115/bin/python '
               'scripts/record_tf_layers.py --filter ^%s$ '
               '--check_determinism')


@pytest.fixture(autouse=True)
def installed():
  contrib_bn.install()
  yield
  contrib_bn.uninstall()


def _api():
  return types.SimpleNamespace(
      batch_normalization=v1.layers.batch_normalization,
      BatchNormalization=v1.layers.BatchNormalization,
      batch_norm=v1.contrib.layers.batch_norm)


def _golden(case_id):
  json_path = os.path.join(GOLDENS, case_id + '.json')
  assert os.path.exists(json_path), 'missing golden %s; %s' % (
      json_path, _REGENERATE % case_id)
  with open(json_path) as f:
    record = json.load(f)
  if 'error' in record:
    return record, None
  npz_path = os.path.join(GOLDENS, case_id + '.npz')
  assert os.path.exists(npz_path), 'missing golden %s; %s' % (
      npz_path, _REGENERATE % case_id)
  with np.load(npz_path) as arrays:
    return record, {k: arrays[k] for k in arrays.files}


def replay(case_id, golden_arrays):
  """(structure, arrays) of a case run on TF 2 through tf.compat.v1.layers."""
  case = cases.case_by_id(case_id)
  data, target = golden_arrays['input'], golden_arrays['target']
  graph = tf.Graph()
  with graph.as_default():
    built = cases.build(v1, _api(), case)
    structure = cases.structure(v1, built)
    with v1.Session(graph=graph, config=cases.session_config(v1)) as session:
      session.run(v1.global_variables_initializer())
      arrays = cases.train(v1, session, built, data, target)
  checkpoint = os.path.join(GOLDENS, 'checkpoints', case_id)
  assert os.path.exists(checkpoint + '.index'), (
      'no TF1 checkpoint for %s; %s' % (case_id, _REGENERATE % case_id))
  graph = tf.Graph()
  with graph.as_default():
    built = cases.build(v1, _api(), case, training_kind='false')
    with v1.Session(graph=graph, config=cases.session_config(v1)) as session:
      v1.train.Saver().restore(session, checkpoint)
      arrays['inference/output'] = cases.infer(session, built, data)
  return structure, arrays


def test_every_case_has_a_golden():
  recorded = sorted(name[:-len('.json')] for name in os.listdir(GOLDENS)
                    if name.endswith('.json'))
  assert recorded == sorted(cases.case_ids())


def test_the_names_are_contrib_bns():
  assert v1.layers.batch_normalization is layers.batch_normalization
  assert v1.layers.BatchNormalization is layers.BatchNormalization


@pytest.mark.parametrize('case_id', cases.case_ids())
def test_case_matches_tf1(case_id):
  record, golden_arrays = _golden(case_id)
  case = cases.case_by_id(case_id)
  if 'error' in record:
    with tf.Graph().as_default():
      with pytest.raises(Exception) as raised:
        cases.build(v1, _api(), case)
    assert cases.error_record(raised.value) == record['error']
    return
  structure, arrays = replay(case_id, golden_arrays)
  comparison = compare.Comparison(compare.tolerance_for(case['dtype']))
  comparison.structure(record['structure'], structure)
  comparison.arrays(golden_arrays, arrays)
  assert not comparison.problems, '%s:\n%s' % (
      case_id, '\n'.join(comparison.problems))
  print('%s: max abs diff %.3g' % (case_id, comparison.max_abs_diff))


def test_refused_arguments_name_themselves():
  with tf.Graph().as_default():
    x = v1.placeholder(tf.float32, [4, 3, 3, 2])
    with pytest.raises(ValueError, match='virtual_batch_size=2'):
      v1.layers.batch_normalization(x, virtual_batch_size=2)
    with pytest.raises(ValueError, match=r'axis=\[1, 2\]'):
      v1.layers.batch_normalization(x, axis=[1, 2])


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
  with pytest.raises(AttributeError,
                     match='`separable_conv2d` is not available'):
    v1.layers.separable_conv2d  # pylint: disable=pointless-statement


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
