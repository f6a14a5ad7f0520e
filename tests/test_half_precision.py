"""Half-precision formulas: TF's own gradient sums, marked to stay off XLA.

`tests/test_xla.py` checks the float16 golden cases under XLA; these tests
check, without XLA, that the gradients built by `_half_precision` are the
ones `tf.nn.batch_normalization` gets from TensorFlow's registry, bit for
bit on one machine, and that every op they add refuses XLA compilation.
"""

import numpy as np
import pytest
import tensorflow as tf

from contrib_bn import _half_precision
from contrib_bn import batch_norm

# name -> (input shape, parameter shape, fed batch dimension unknown)
SHAPES = {
    'nhwc': ([4, 3, 3, 5], [5], False),
    'nchw': ([4, 5, 3, 3], [1, 5, 1, 1], False),
    'rank2': ([8, 5], [5], False),
    'rank3_unknown_batch': ([6, 4, 5], [5], True),
}
HALF = {'float16': tf.float16, 'bfloat16': tf.bfloat16}


def _gradients(normalize, dtype, shape, param_shape, unknown_batch):
  rng = np.random.RandomState(3)
  data = rng.normal(0.5, 2.0, size=shape).astype(np.float32)
  upstream = rng.normal(0.0, 1.0, size=shape).astype(np.float32)
  params = [rng.normal(1.0, 0.5, size=param_shape).astype(np.float32)
            for _ in range(4)]
  graph = tf.Graph()
  with graph.as_default():
    placeholder_shape = [None] + shape[1:] if unknown_batch else shape
    x = tf.compat.v1.placeholder(dtype, placeholder_shape)
    mean, variance, offset, scale = [tf.constant(p, dtype) for p in params]
    variance = tf.abs(variance)
    y = normalize(x, mean, variance, offset, scale, 1e-3)
    grads = tf.gradients(y, [x, mean, variance, offset, scale],
                         grad_ys=tf.constant(upstream, dtype))
    with tf.compat.v1.Session(graph=graph) as sess:
      values = sess.run(grads, {x: data.astype(dtype.as_numpy_dtype)})
  return graph, [np.asarray(v, np.float32) for v in values]


@pytest.mark.parametrize('dtype_name', sorted(HALF))
@pytest.mark.parametrize('shape_name', sorted(SHAPES))
def test_gradients_equal_tensorflows_own(dtype_name, shape_name):
  shape, param_shape, unknown = SHAPES[shape_name]
  dtype = HALF[dtype_name]
  _, own = _gradients(_half_precision.batch_normalization, dtype, shape,
                      param_shape, unknown)
  _, reference = _gradients(tf.nn.batch_normalization, dtype, shape,
                            param_shape, unknown)
  for got, want in zip(own, reference):
    # The same kernels over the same axes on one machine: identical bits.
    np.testing.assert_array_equal(got, want)


def _added_gradient_ops(graph):
  return [op for op in graph.get_operations()
          if op.name.startswith('gradients') and op.type == 'Sum']


@pytest.mark.parametrize('dtype_name', sorted(HALF))
def test_half_gradient_sums_refuse_xla(dtype_name):
  shape, param_shape, unknown = SHAPES['nhwc']
  graph, _ = _gradients(_half_precision.batch_normalization,
                        HALF[dtype_name], shape, param_shape, unknown)
  sums = _added_gradient_ops(graph)
  assert sums, 'the gradient has no sums to check'
  for op in sums:
    assert op.get_attr('_XlaCompile') is False, op.name


def test_float32_keeps_the_registry_gradients():
  shape, param_shape, unknown = SHAPES['nhwc']
  graph, _ = _gradients(_half_precision.batch_normalization, tf.float32,
                        shape, param_shape, unknown)
  sums = _added_gradient_ops(graph)
  assert sums
  for op in sums:
    with pytest.raises(ValueError):
      op.get_attr('_XlaCompile')


# name -> (input shape, batch_norm kwargs); each keeps TF 1.15's formulas
# for float16 (rank 4 with `updates_collections=None` would take the kernel).
FORMULA_LAYERS = {
    'core_plain': ([4, 3, 3, 5], dict(fused=False, scale=True)),
    'moments_bw': ([4, 3, 3, 5], dict(batch_weights=True, scale=True)),
    'moments_updates_none_r3': ([4, 6, 5],
                                dict(updates_collections=None, scale=True)),
}


@pytest.mark.parametrize('name', sorted(FORMULA_LAYERS))
def test_layer_routes_float16_formulas_through_it(name):
  shape, kwargs = FORMULA_LAYERS[name]
  graph = tf.Graph()
  with graph.as_default():
    kwargs = dict(kwargs)
    if kwargs.get('batch_weights'):
      kwargs['batch_weights'] = tf.ones([shape[0]])
    x = tf.compat.v1.placeholder(tf.float16, shape)
    y = batch_norm(x, **kwargs)
    tf.gradients(tf.reduce_sum(y), tf.compat.v1.trainable_variables())
  sums = [op for op in _added_gradient_ops(graph)
          if op.inputs[0].dtype == tf.float16 and 'batchnorm' in op.name]
  assert sums, 'no float16 gradient sum: the formulas were not used'
  for op in sums:
    assert op.get_attr('_XlaCompile') is False, op.name
