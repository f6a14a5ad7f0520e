"""`tf.compat.v1.layers` batch normalization on TF 2, against TF 1.15.5 goldens.

After `contrib_bn.install()`, `tf.compat.v1.layers.batch_normalization` and
`BatchNormalization` are contrib_bn.layers'. Each case of
contrib_bn/conformance/tf_layers_cases.py is built through those names; its
variables, collections and class-API facts, the outputs, losses and
gradients of three SGD steps and the variables after them must match what
TF 1.15.5 recorded (scripts/record_tf_layers.py), or it must raise TF 1.15's
exception with TF 1.15's message. Then the TF1 checkpoint after training is
restored into a fresh inference graph and its output compared. Tolerances
are contrib_bn.conformance.matching's, by the case's dtype.
"""

import os
import subprocess
import sys
import textwrap
import types

import pytest
import tensorflow as tf

import contrib_bn
from contrib_bn import layers
from contrib_bn.conformance import tf_layers_cases as cases
import golden_replay

v1 = tf.compat.v1
CORPUS = golden_replay.Corpus('tf_layers', 'record_tf_layers.py')


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


def replay(case, golden_arrays):
  """(structure, arrays) of a case run on TF 2 through tf.compat.v1.layers."""
  data, target = golden_arrays['input'], golden_arrays['target']
  graph = tf.Graph()
  with graph.as_default():
    built = cases.build(v1, _api(), case)
    structure = cases.structure(v1, built)
    with v1.Session(graph=graph, config=cases.session_config(v1)) as session:
      session.run(v1.global_variables_initializer())
      arrays = cases.train(v1, session, built, data, target)
  checkpoint = CORPUS.checkpoint(case['id'])
  assert os.path.exists(checkpoint + '.index'), (
      'no TF1 checkpoint for %s; %s' % (case['id'],
                                        CORPUS.regenerate(case['id'])))
  arrays['inference/output'] = golden_replay.infer(cases, _api(), case, data,
                                                   checkpoint)
  return structure, arrays


def test_every_case_has_a_golden():
  assert CORPUS.case_ids() == sorted(cases.case_ids())


def test_the_names_are_contrib_bns():
  assert v1.layers.batch_normalization is layers.batch_normalization
  assert v1.layers.BatchNormalization is layers.BatchNormalization


@pytest.mark.parametrize('case_id', cases.case_ids())
def test_case_matches_tf1(case_id):
  golden_replay.assert_case_matches_tf1(CORPUS, cases, _api, replay, case_id)


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
