"""Renorm's training formulas out of XLA: same gradients, every op marked.

`contrib_bn._outside_xla` builds a computation inside an XLA scope that
refuses compilation and differentiates it through a gradient of its own, so
the gradient's reductions carry the same mark. Without XLA the numbers must
be TensorFlow's own, bit for bit (one process, one machine); the XLA corpus
run itself is in `test_xla.py`.
"""

import numpy as np
import pytest
import tensorflow as tf

from contrib_bn import _outside_xla
from contrib_bn import batch_norm

_SHAPE = (4, 3, 3, 5)
# Differentiating the gradient again meets the wrapped layer's terms in
# another order than the plain graph's, so AddN sums them in another order:
# float32 rounding of the largest value, not a different formula.
SECOND_ORDER_RTOL = 1e-6
# Op types that carry the formulas' arithmetic and the gradients'
# reductions: the ones XLA would otherwise cluster.
_ARITHMETIC = frozenset(['Mean', 'Sum', 'SquaredDifference', 'Rsqrt',
                         'RsqrtGrad', 'Mul', 'AddV2', 'Sub', 'RealDiv'])


def _refuses_xla(op):
  try:
    return op.get_attr('_XlaCompile') is False
  except ValueError:
    return False


def _normalize(x, gamma, beta):
  mean, variance = tf.nn.moments(x, [0, 1, 2])
  outputs = tf.nn.batch_normalization(x, mean, variance, beta, gamma, 1e-3)
  return outputs, 'built alongside'


def _inputs():
  """Placeholders and their feed: constants would be folded by grappler."""
  rng = np.random.RandomState(0)
  values = (rng.randn(*_SHAPE), rng.uniform(0.5, 1.5, _SHAPE[-1]),
            rng.randn(_SHAPE[-1]), rng.randn(*_SHAPE))
  tensors = [tf.compat.v1.placeholder(tf.float32, np.shape(value))
             for value in values]
  return tensors, dict(zip(tensors, values))


def _run_normalize(wrapped):
  graph = tf.Graph()
  with graph.as_default():
    (x, gamma, beta, target), feed = _inputs()
    if wrapped:
      y, extra = _outside_xla.outside_xla(_normalize, [x, gamma, beta])
      assert extra == 'built alongside'
    else:
      y, _ = _normalize(x, gamma, beta)
    loss = tf.reduce_sum(y * y * y) + tf.reduce_sum(y * target)
    grads = tf.compat.v1.gradients(loss, [x, gamma, beta])
    second = tf.compat.v1.gradients(tf.reduce_sum(tf.square(grads[0])),
                                    [x, gamma])
    with tf.compat.v1.Session(graph=graph) as sess:
      return sess.run([y, loss] + grads + second, feed)


def test_values_and_gradients_are_tensorflows_own():
  plain = _run_normalize(wrapped=False)
  wrapped = _run_normalize(wrapped=True)
  names = ['output', 'loss', 'grad x', 'grad gamma', 'grad beta',
           'second-order x', 'second-order gamma']
  for name, expected, actual in zip(names, plain, wrapped):
    assert actual is not None, name
    if name.startswith('second-order'):
      limit = SECOND_ORDER_RTOL * np.max(np.abs(expected))
      assert np.max(np.abs(actual - expected)) <= limit, name
    else:
      np.testing.assert_array_equal(actual, expected, err_msg=name)


def _new_ops(graph, before):
  return [op for op in graph.get_operations() if op not in before]


def test_forward_and_gradient_ops_are_marked():
  graph = tf.Graph()
  with graph.as_default():
    (x, gamma, beta, _), _ = _inputs()
    before = set(graph.get_operations())
    y, _ = _outside_xla.outside_xla(_normalize, [x, gamma, beta])
    forward = _new_ops(graph, before)
    before = set(graph.get_operations())
    tf.compat.v1.gradients(tf.reduce_sum(y * y), [x, gamma, beta])
    layer_gradient = [op for op in _new_ops(graph, before)
                      if 'IdentityN_grad/' in op.name]
  assert [op.name for op in forward if not _refuses_xla(op)] == []
  assert [op.name for op in layer_gradient if not _refuses_xla(op)] == []
  assert {'Mean', 'SquaredDifference'} <= {op.type for op in forward}
  # The batch sums of the gradient are what XLA reorders.
  assert 'Sum' in {op.type for op in layer_gradient}


def test_a_jit_scope_alone_leaves_the_gradient_to_xla():
  # Why the module exists: TensorFlow extends a jit_scope to gradients only
  # when it asks for compilation.
  graph = tf.Graph()
  with graph.as_default():
    (x, gamma, beta, _), _ = _inputs()
    with tf.xla.experimental.jit_scope(compile_ops=False):
      y, _ = _normalize(x, gamma, beta)
    before = set(graph.get_operations())
    tf.compat.v1.gradients(tf.reduce_sum(y * y), [x])
    sums = [op for op in _new_ops(graph, before) if op.type == 'Sum']
  assert sums and not any(_refuses_xla(op) for op in sums)


def _layer_ops(**kwargs):
  graph = tf.Graph()
  with graph.as_default():
    x = tf.compat.v1.placeholder(tf.float32, _SHAPE)
    y = batch_norm(x, scale=True, is_training=True, **kwargs)
    tf.compat.v1.gradients(tf.reduce_sum(y * y), [x] +
                           tf.compat.v1.trainable_variables())
  return [op for op in graph.get_operations()
          if op.type in _ARITHMETIC and 'BatchNorm/' in op.name]


@pytest.mark.parametrize('kwargs', [
    dict(renorm=True),
    dict(renorm=True, data_format='NCHW'),
    dict(renorm=True, renorm_clipping={'rmax': 1.5, 'rmin': 0.8, 'dmax': 0.1}),
    # The adjustment is the user's computation; it builds no arithmetic here.
    dict(renorm=True, adjustment=lambda shape: (
        tf.fill(shape[-1:], 1.1), tf.zeros(shape[-1:]))),
], ids=['renorm', 'renorm_nchw', 'renorm_clipping', 'renorm_adjustment'])
def test_renorm_training_is_kept_out_of_xla(kwargs):
  ops = _layer_ops(**kwargs)
  assert len(ops) > 10
  assert [op.name for op in ops if not _refuses_xla(op)] == []


@pytest.mark.parametrize('kwargs', [
    dict(fused=False), dict(), dict(renorm=True, is_training=False)],
    ids=['moments', 'fused', 'renorm_inference'])
def test_other_layers_still_cluster(kwargs):
  training = kwargs.pop('is_training', True)
  graph = tf.Graph()
  with graph.as_default():
    x = tf.compat.v1.placeholder(tf.float32, _SHAPE)
    y = batch_norm(x, scale=True, is_training=training, **kwargs)
    tf.compat.v1.gradients(tf.reduce_sum(y * y), [x])
  marked = [op.name for op in graph.get_operations() if _refuses_xla(op)]
  assert marked == []


def _gradients_in_inference(layer):
  rng = np.random.RandomState(1)
  data = rng.randn(*_SHAPE)
  mean, variance = rng.randn(_SHAPE[-1]), rng.uniform(0.5, 2.0, _SHAPE[-1])
  graph = tf.Graph()
  with graph.as_default():
    x = tf.compat.v1.placeholder(tf.float32, _SHAPE)
    feed = {x: data}
    if layer:
      training = tf.compat.v1.placeholder(tf.bool, [])
      feed[training] = False
      y = batch_norm(x, scale=True, renorm=True, is_training=training,
                     param_initializers={
                         'moving_mean': tf.compat.v1.constant_initializer(mean),
                         'moving_variance': tf.compat.v1.constant_initializer(
                             variance)})
      variables = tf.compat.v1.global_variables()[:4]
      assert [v.op.name.split('/')[-1] for v in variables] == [
          'gamma', 'beta', 'moving_mean', 'moving_variance']
    else:
      # The inference formula written out, as TF 1.15's moments path built it.
      variables = [tf.compat.v1.Variable(value, dtype=tf.float32)
                   for value in (np.ones(_SHAPE[-1]), np.zeros(_SHAPE[-1]),
                                 mean, variance)]
      gamma, beta, moving_mean, moving_variance = variables
      y = tf.nn.batch_normalization(x, moving_mean, moving_variance, beta,
                                    gamma, 0.001)
    grads = tf.compat.v1.gradients(tf.reduce_sum(y * y * y),
                                   [x] + variables)
    assert None not in grads
    with tf.compat.v1.Session(graph=graph) as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      return sess.run(grads, feed)


def test_a_fed_is_training_keeps_the_moving_statistics_gradients():
  # Fed False, the renorm layer normalizes by its moving statistics; TF 1.15
  # differentiated through them there, the moving statistics included.
  expected = _gradients_in_inference(layer=False)
  actual = _gradients_in_inference(layer=True)
  names = ['x', 'gamma', 'beta', 'moving_mean', 'moving_variance']
  for name, want, got in zip(names, expected, actual):
    assert np.max(np.abs(want)) > 0, name
    np.testing.assert_array_equal(got, want, err_msg=name)
