"""Scale: a 1,000-layer stack of `batch_norm` builds, trains and checkpoints.

Legacy networks stack hundreds of batch-norm layers; each creates its own
variables, update ops and scopes. This builds 1,000 of them (cheap `tanh`
in between, so that every layer has something to normalize), runs one
training step with the update ops, and saves and restores every variable
exactly. Graph building must stay linear in the number of layers: that is
checked by counting, not by a clock (a loaded machine would fail a time
limit, and a fast one would hide a quadratic term), as the ops each layer adds
and the collection entries it reads, which must be the same for the 250th
and the 1,000th layer.
"""

import contextlib
import time

import numpy as np
import tensorflow as tf

from contrib_bn import batch_norm

LAYERS = 1000
# Batch of 8 and 4 channels: the fused kernel path at rank 2, the default.
INPUT_SHAPE = [8, 4]
# Layers whose building cost is compared with the last one's. Layers alternate
# scale=True/False, so the compared layers have the same parity.
EARLY_LAYER = 250


@contextlib.contextmanager
def _counting_collection_reads(counter):
  """Counts the entries every `tf.Graph.get_collection` call returns."""
  original = tf.Graph.get_collection

  def counted(self, name, scope=None):
    values = original(self, name, scope)
    counter[0] += len(values)
    return values

  tf.Graph.get_collection = counted
  try:
    yield
  finally:
    tf.Graph.get_collection = original


def _build(costs=None):
  """Builds the stack; `costs` gets (ops added, entries read) per layer."""
  graph = tf.Graph()
  reads = [0]
  with graph.as_default(), _counting_collection_reads(reads):
    x = tf.compat.v1.placeholder(tf.float32, INPUT_SHAPE, name='x')
    h = x
    for i in range(LAYERS):
      ops_before, reads_before = len(graph.get_operations()), reads[0]
      h = batch_norm(h, scale=(i % 2 == 0), decay=0.9)
      if costs is not None:
        costs.append((len(graph.get_operations()) - ops_before,
                      reads[0] - reads_before))
      h = tf.tanh(h)
    loss = tf.reduce_sum(tf.square(h))
    update_ops = tf.compat.v1.get_collection(
        tf.compat.v1.GraphKeys.UPDATE_OPS)
    optimizer = tf.compat.v1.train.GradientDescentOptimizer(0.01)
    # Grouped rather than `with tf.control_dependencies(update_ops):` around
    # `minimize`: that idiom gives each of the thousands of gradient ops all
    # 2,000 update ops as control inputs, ~2 minutes of building here.
    train_op = tf.group(optimizer.minimize(loss), *update_ops)
    saver = tf.compat.v1.train.Saver(max_to_keep=None)
    init = tf.compat.v1.global_variables_initializer()
  return graph, x, h, train_op, saver, init, update_ops


def test_thousand_layer_stack_builds_trains_and_checkpoints(tmp_path):
  start = time.time()
  costs = []
  graph, x, output, train_op, saver, init, update_ops = _build(costs)
  print('built %d batch_norm layers in %.1f s' % (LAYERS, time.time() - start))
  last = LAYERS - 1 if (LAYERS - 1) % 2 == EARLY_LAYER % 2 else LAYERS - 2
  # Ops added and collection entries read by one layer do not grow with
  # the number of layers before it.
  assert costs[EARLY_LAYER] == costs[last], (costs[EARLY_LAYER], costs[last])
  assert costs[EARLY_LAYER][0] > 0
  with graph.as_default():
    variables = tf.compat.v1.global_variables()
    names = [v.op.name for v in variables]
    # beta, moving_mean, moving_variance everywhere; gamma every other one.
    assert len(variables) == LAYERS * 3 + LAYERS // 2
    assert len(set(names)) == len(names)
    assert 'BatchNorm/beta' in names
    assert 'BatchNorm_%d/moving_variance' % (LAYERS - 1) in names
    assert len(update_ops) == 2 * LAYERS
  data = np.random.RandomState(0).normal(0.5, 2.0, INPUT_SHAPE).astype(
      np.float32)
  config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=1,
                                    inter_op_parallelism_threads=1)
  with tf.compat.v1.Session(graph=graph, config=config) as sess:
    sess.run(init)
    initial = sess.run(variables)
    start = time.time()
    sess.run(train_op, {x: data})
    print('one training step in %.1f s' % (time.time() - start))
    trained = sess.run(variables)
    moved = [n for n, a, b in zip(names, initial, trained)
             if 'moving_' in n and a.tobytes() != b.tobytes()]
    # Every layer's moving mean and variance took the training step.
    assert len(moved) == 2 * LAYERS
    outputs = sess.run(output, {x: data})
    assert np.all(np.isfinite(outputs))
    prefix = str(tmp_path / 'stack')
    start = time.time()
    saver.save(sess, prefix, write_meta_graph=False)
    sess.run(init)
    assert sess.run(variables[0]).tobytes() == initial[0].tobytes()
    saver.restore(sess, prefix)
    print('saved and restored in %.1f s' % (time.time() - start))
    restored = sess.run(variables)
  for name, value, expected in zip(names, restored, trained):
    assert value.tobytes() == expected.tobytes(), name
