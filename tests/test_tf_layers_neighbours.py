"""`tf.compat.v1.layers` dense, convolutions, pooling, dropout and flatten on TF 2.

After `contrib_bn.install()` every name of contrib_bn.compat.tf_layers.SERVED
is contrib_bn.layers'. Each case of
contrib_bn/conformance/tf_layers_neighbours.py is built through those names
and must match TF 1.15.5's recording (scripts/record_tf_layers_neighbours.py):
variables, collections and class-API facts; the initial values where op
seeds fix them (else TF 1.15's initial values are loaded first); outputs,
losses and gradients of two SGD steps and the variables after them; the
output of an inference graph restored from TF 1.15's checkpoint; or TF
1.15's exception type and message. Tolerances are
contrib_bn.conformance.matching's, by the case's dtype.
"""

import os

import numpy as np
import pytest
import tensorflow as tf

import contrib_bn
from contrib_bn import layers
from contrib_bn.compat import tf_layers
from contrib_bn.conformance import tf_layers_neighbours as cases
import golden_replay

v1 = tf.compat.v1
CORPUS = golden_replay.Corpus('tf_layers_neighbours',
                              'record_tf_layers_neighbours.py')


@pytest.fixture(autouse=True)
def installed():
  contrib_bn.install()
  yield
  contrib_bn.uninstall()


def _api():
  return type('Api', (), {name: staticmethod(getattr(v1.layers, name))
                          if name[0].islower() else getattr(v1.layers, name)
                          for name in cases.NAMES})()


def replay(case, golden_arrays):
  """(structure, arrays) of a case run on TF 2 through tf.compat.v1.layers."""
  data, target = golden_arrays['input'], golden_arrays['target']
  graph = tf.Graph()
  with graph.as_default():
    built = cases.build(v1, _api(), case)
    structure = cases.structure(v1, built)
    with v1.Session(graph=graph, config=cases.session_config(v1)) as session:
      session.run(v1.global_variables_initializer())
      arrays = cases.initial_values(v1, session)
      if not case['seeded']:
        # The default initializer's values depend on the graph's op count.
        for variable in v1.global_variables():
          key = 'init/var/' + variable.op.name
          variable.load(golden_arrays[key], session)
          arrays[key] = golden_arrays[key]
      arrays.update(cases.train(v1, session, built, data, target))
      has_variables = bool(v1.global_variables())
  checkpoint = CORPUS.checkpoint(case['id'])
  assert os.path.exists(checkpoint + '.index') == has_variables, (
      'TF1 checkpoint for %s; %s' % (case['id'], CORPUS.regenerate(case['id'])))
  arrays['inference/output'] = golden_replay.infer(
      cases, _api(), case, data, checkpoint if has_variables else None)
  return structure, arrays


def test_every_case_has_a_golden():
  assert CORPUS.case_ids() == sorted(cases.case_ids())


def test_served_names_are_contrib_bns():
  assert tuple(sorted(layers.__all__)) == tf_layers.SERVED
  assert cases.NAMES == tf_layers.SERVED
  for name in tf_layers.SERVED:
    assert getattr(v1.layers, name) is getattr(layers, name), name


@pytest.mark.parametrize('case_id', cases.case_ids())
def test_case_matches_tf1(case_id):
  golden_replay.assert_case_matches_tf1(CORPUS, cases, _api, replay, case_id)


@pytest.mark.parametrize('build', ['dense', 'conv2d'])
def test_default_kernel_initializer_is_glorot_uniform(build):
  with tf.Graph().as_default():
    if build == 'dense':
      x = v1.placeholder(tf.float32, [None, 300])
      v1.layers.dense(x, 200)
      fan_in, fan_out = 300, 200
    else:
      x = v1.placeholder(tf.float32, [None, 9, 9, 40])
      v1.layers.conv2d(x, 30, 3)
      fan_in, fan_out = 9 * 40, 9 * 30
    with v1.Session() as session:
      session.run(v1.global_variables_initializer())
      kernel, bias = session.run(v1.global_variables())
  limit = np.sqrt(6.0 / (fan_in + fan_out))
  assert np.abs(kernel).max() <= limit
  # Uniform on [-limit, limit]: variance limit**2 / 3, within 5 per cent.
  assert abs(kernel.var() / (limit ** 2 / 3.0) - 1.0) < 0.05
  assert not bias.any()


def test_batch_normalization_in_inference_mode_is_static():
  with tf.Graph().as_default():
    x = v1.placeholder(tf.float32, [4, 3])
    training = v1.placeholder(tf.bool, [])
    with contrib_bn.inference_mode():
      y = v1.layers.batch_normalization(
          x, training=training,
          moving_mean_initializer=v1.constant_initializer(0.5),
          moving_variance_initializer=v1.constant_initializer(4.0))
      # Still checked as TF 1.15's conditional checked it.
      with pytest.raises(TypeError, match="'Switch' Op has type int32"):
        v1.layers.batch_normalization(
            x, training=v1.placeholder(tf.int32, []))
    assert not v1.get_collection(v1.GraphKeys.UPDATE_OPS)
    data = np.arange(12, dtype=np.float32).reshape(4, 3)
    with v1.Session() as session:
      session.run(v1.global_variables_initializer())
      # The placeholder is read by nothing: no feed is needed.
      out = session.run(y, {x: data})
  np.testing.assert_allclose(out, (data - 0.5) / np.sqrt(4.0 + 1e-3),
                             rtol=1e-6)


def test_uninstall_gives_tf_its_names_back():
  contrib_bn.uninstall()
  for name in tf_layers.SERVED:
    with pytest.raises(AttributeError, match='not available with Keras 3'):
      getattr(v1.layers, name)
  contrib_bn.install()
  assert v1.layers.dense is layers.dense
