"""The loss, gradients and train op both tf.layers corpora put on a case.

contrib_bn.conformance.tf_layers_harness.attach_loss_and_train, built on
TF 2's `tf.compat.v1` as the replay builds it, against its closed form:
`sum(output * target) + 0.25 * sum(output ** 2)` plus the regularization
losses in float32, the gradients of the input and of the trainable
variables that get one, and one SGD step grouped with UPDATE_OPS. A float32
graph gets no Cast op from it: the op count decides the values of unseeded
initializers, which TF 1.15.5 recorded.
"""

import numpy as np
import tensorflow as tf

from contrib_bn.conformance import tf_layers_harness

v1 = tf.compat.v1
# The loss is summed in float32 from float64 operands.
FLOAT32_RTOL = 1e-5
LEARNING_RATE = 0.1


def _float64_case(graph):
  """A `Built` of output x * w in float64 with a float64 regularization
  loss, an unused trainable variable and a counter in UPDATE_OPS."""
  with graph.as_default():
    built = tf_layers_harness.Built()
    built.x = v1.placeholder(tf.float64, [2, 3], name='input')
    w = v1.get_variable('w', initializer=np.array([0.5, -1.0, 2.0]))
    v1.get_variable('unused', initializer=np.float64(3.0))
    counter = v1.get_variable('counter', initializer=0, trainable=False)
    v1.add_to_collection(v1.GraphKeys.UPDATE_OPS, counter.assign_add(1))
    v1.add_to_collection(v1.GraphKeys.REGULARIZATION_LOSSES,
                         0.5 * tf.reduce_sum(tf.square(w)))
    built.output = built.x * w
    tf_layers_harness.attach_loss_and_train(v1, built, [2, 3], LEARNING_RATE)
  return built, w, counter


def test_loss_gradients_and_step_follow_the_closed_form():
  graph = tf.Graph()
  built, w, counter = _float64_case(graph)
  rng = np.random.RandomState(3)
  x = rng.normal(size=(2, 3))
  target = rng.normal(size=(2, 3)).astype(np.float32)
  w0 = np.array([0.5, -1.0, 2.0])
  out = x * w0
  loss = (np.sum(out * target) + 0.25 * np.sum(out ** 2)
          + 0.5 * np.sum(w0 ** 2))
  grad_out = target + 0.5 * out
  grad_w = np.sum(x * grad_out, axis=0) + w0

  assert built.loss.dtype == tf.float32
  assert built.target.get_shape().as_list() == [2, 3]
  assert built.grad_names == ['input', 'w']
  with v1.Session(graph=graph) as session:
    session.run(v1.global_variables_initializer())
    feed = {built.x: x, built.target: target}
    got_loss, got_grads = session.run([built.loss, built.grads], feed)
    session.run(built.train, feed)
    got_w, got_counter = session.run([w, counter])
  np.testing.assert_allclose(got_loss, loss, rtol=FLOAT32_RTOL)
  np.testing.assert_allclose(got_grads[0], w0 * grad_out, rtol=FLOAT32_RTOL)
  np.testing.assert_allclose(got_grads[1], grad_w, rtol=FLOAT32_RTOL)
  np.testing.assert_allclose(got_w, w0 - LEARNING_RATE * grad_w,
                             rtol=FLOAT32_RTOL)
  assert got_counter == 1


def test_target_takes_the_shape_given():
  graph = tf.Graph()
  with graph.as_default():
    built = tf_layers_harness.Built()
    built.x = v1.placeholder(tf.float32, [4, 3], name='input')
    built.output = tf.reduce_mean(built.x, axis=0)
    tf_layers_harness.attach_loss_and_train(
        v1, built, built.output.get_shape(), LEARNING_RATE)
  assert built.target.get_shape().as_list() == [3]
  assert built.target.dtype == tf.float32


def test_a_float32_graph_gets_no_cast_op():
  graph = tf.Graph()
  with graph.as_default():
    built = tf_layers_harness.Built()
    built.x = v1.placeholder(tf.float32, [2, 3], name='input')
    w = v1.get_variable('w', initializer=np.float32([1.0, 2.0, 3.0]))
    v1.add_to_collection(v1.GraphKeys.REGULARIZATION_LOSSES,
                         tf.reduce_sum(w))
    built.output = built.x * w
    tf_layers_harness.attach_loss_and_train(v1, built, [2, 3], LEARNING_RATE)
  assert 'Cast' not in [op.type for op in graph.get_operations()]
  assert built.grad_names == ['input', 'w']
