"""Scale: a 1,000-layer stack of `batch_norm` builds, trains and checkpoints.

Legacy networks stack hundreds of batch-norm layers; each creates its own
variables, update ops and scopes. This builds 1,000 of them (cheap `tanh`
in between, so that every layer has something to normalize), runs one
training step with the update ops, and saves and restores every variable
exactly.

That building stays linear in the number of layers is checked by counting,
not by timing (speed is the benchmark's business): every layer, the 250th
as much as the 1,000th, adds the same number of ops and graph edges and
reads the same number of collection entries. A layer that scanned a
collection, or wired itself to every earlier layer, would grow with depth.
"""

import time

import numpy as np
import pytest
import tensorflow as tf

from contrib_bn import batch_norm

LAYERS = 1000
# The layers whose building cost is compared with the last one's.
EARLY_LAYER = 250
# Batch of 8 and 4 channels: the fused kernel path at rank 2, the default.
INPUT_SHAPE = [8, 4]
# One stack per internal path (see `batch_norm`'s docstring).
PATH_ARGUMENTS = {
    'fused': {},
    'core': {'fused': False},
    'moments_forced_updates': {'fused': False, 'updates_collections': None},
    'core_renorm': {'fused': False, 'renorm': True},
}


class _CollectionReads(object):
  """Counts the collection entries `tf.Graph.get_collection` hands out."""

  def __init__(self, monkeypatch):
    self.entries = 0
    original = tf.Graph.get_collection

    def counting(graph, name, scope=None):
      found = original(graph, name, scope)
      self.entries += len(found)
      return found

    monkeypatch.setattr(tf.Graph, 'get_collection', counting)


def _layer_costs(arguments, reads):
  """Per layer of a `LAYERS`-deep stack: (ops, edges, collection entries)."""
  graph = tf.Graph()
  costs = []
  with graph.as_default():
    h = tf.compat.v1.placeholder(tf.float32, INPUT_SHAPE, name='x')
    before_stack = graph.version
    for _ in range(LAYERS):
      first_op = graph.version
      entries = reads.entries
      h = tf.tanh(batch_norm(h, **arguments))
      costs.append([graph.version - first_op, 0, reads.entries - entries])
    # `get_operations` lists ops in creation order and `graph.version`
    # counts them, so positions say which layer built an op; one pass over
    # the graph at the end keeps the test itself linear.
    stack_ops = graph.get_operations()[before_stack:]
    start = 0
    for cost in costs:
      for op in stack_ops[start:start + cost[0]]:
        cost[1] += len(op.inputs) + len(op.control_inputs)
      start += cost[0]
    assert start == len(stack_ops)
  return [tuple(c) for c in costs]


@pytest.mark.parametrize('path', sorted(PATH_ARGUMENTS))
def test_graph_building_cost_per_layer_is_constant(path, monkeypatch):
  reads = _CollectionReads(monkeypatch)
  costs = _layer_costs(PATH_ARGUMENTS[path], reads)
  print('%s: ops, edges, collection entries read per layer: %s' %
        (path, costs[-1]))
  assert costs[0][0] > 0
  # The first layer may differ (no `_1` suffix to find for its scope).
  assert costs[EARLY_LAYER - 1] == costs[LAYERS - 1]
  assert set(costs[1:]) == {costs[-1]}, sorted(set(costs[1:]))[:5]


def _build():
  graph = tf.Graph()
  with graph.as_default():
    x = tf.compat.v1.placeholder(tf.float32, INPUT_SHAPE, name='x')
    h = x
    for i in range(LAYERS):
      h = batch_norm(h, scale=(i % 2 == 0), decay=0.9)
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
  graph, x, output, train_op, saver, init, update_ops = _build()
  # Printed for the record only; linearity is checked by counting above.
  print('built %d batch_norm layers in %.1f s' % (LAYERS, time.time() - start))
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
