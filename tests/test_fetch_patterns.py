"""Each fetch moves the moving statistics exactly when TF 1.15.5 did.

The corpus (`goldens/fetches`, recorded by `scripts/record_fetches.py`) holds
what TF 1.15.5 did for six fetches on configurations that span every path,
both placements of forced updates, UPDATE_OPS and `is_training` as a bool and
a placeholder. `verify` checks it too; here each configuration is a test, and
again under control flow v1, which TF1 programs may still switch back to.
"""

import numpy as np
import pytest
import tensorflow as tf

from contrib_bn import batch_norm
from contrib_bn.conformance import fetches
from contrib_bn.conformance import verify_fetches

_RECORDS = {r['id']: r for r in fetches.load()['records']}


@pytest.mark.parametrize('config_id', sorted(_RECORDS))
def test_fetch_pattern_matches_tf1(config_id):
  result = verify_fetches.verify_record(_RECORDS[config_id])
  assert result.ok, result.problems


@pytest.fixture
def control_flow_v1():
  was_v2 = tf.compat.v1.control_flow_v2_enabled()
  tf.compat.v1.disable_control_flow_v2()
  yield
  if was_v2:
    tf.compat.v1.enable_control_flow_v2()


@pytest.mark.parametrize('config_id', sorted(
    i for i, r in _RECORDS.items() if r['config']['training'] == 'placeholder'))
def test_fetch_pattern_matches_tf1_under_control_flow_v1(config_id,
                                                         control_flow_v1):
  del control_flow_v1
  result = verify_fetches.verify_record(_RECORDS[config_id])
  assert result.ok, result.problems


def test_the_corpus_separates_the_two_forced_placements():
  # What TF 1.15.5 recorded, not what contrib_bn does: a gradient fetched
  # alone ran the forced updates of the moments path and not the fused one's.
  assert fetches.moved(_RECORDS['forced_unfused_r4'], 'input_grad')
  assert not fetches.moved(_RECORDS['forced_fused_r4'], 'input_grad')


def _outputs_and_gradients(updates_collections):
  graph = tf.Graph()
  with graph.as_default():
    x = tf.compat.v1.placeholder(tf.float32, [4, 5, 3])
    y = batch_norm(x, scale=True, updates_collections=updates_collections)
    loss = tf.reduce_sum(y * tf.sin(x))
    grads = tf.compat.v1.gradients(loss, [x] + tf.compat.v1.trainable_variables())
    data = np.random.RandomState(3).normal(1.0, 2.0, [4, 5, 3])
    with tf.compat.v1.Session(graph=graph) as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      return sess.run([y] + grads, {x: data})


def test_forced_statistics_change_no_value_bit():
  # Both take the moments path; only the placement of the updates differs.
  forced = _outputs_and_gradients(None)
  collected = _outputs_and_gradients(['custom_updates'])
  for a, b in zip(forced, collected):
    assert a.tobytes() == b.tobytes()


def test_a_callers_control_dependencies_around_the_layer_still_build():
  graph = tf.Graph()
  with graph.as_default():
    x = tf.compat.v1.placeholder(tf.float32, [4, 5, 3])
    counter = tf.compat.v1.Variable(0.0, trainable=False)
    bump = tf.compat.v1.assign_add(counter, 1.0)
    with tf.control_dependencies([bump, tf.group(bump)]):
      y = batch_norm(x, updates_collections=None)
    grad, = tf.compat.v1.gradients(tf.reduce_sum(y * x), x)
    with tf.compat.v1.Session(graph=graph) as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      sess.run(grad, {x: np.ones([4, 5, 3])})
      assert sess.run(counter) == 1.0
