"""The fused kernel where TF 1.15 used moments: which cases, and its numerics.

The golden corpus checks TF 1.15's numbers on these paths; these tests pin
which configurations run the kernel (and which keep the moments formulas,
and why), and check the conversions the kernel needs against NumPy in
float64: the biased variance for the moving averages, the outputs, and the
gradients in training and inference.
"""

import numpy as np
import pytest
import tensorflow as tf

from contrib_bn import batch_norm

# Outputs and statistics of float32 computations against float64 NumPy:
# a few float32 roundings of values of order 1.
FLOAT32_RTOL = 1e-5
FLOAT32_ATOL = 1e-5

_KERNEL = 'FusedBatchNormV3'
# `nn.moments` builds this op; the kernel never does.
_MOMENTS = 'SquaredDifference'

# name -> (shape, batch_norm kwargs); every one of these took `nn.moments`
# in TF 1.15 and now runs the kernel.
KERNEL_CASES = {
    'unfused_r4_nhwc': ([4, 3, 3, 5], dict(fused=False)),
    'unfused_r4_nchw': ([4, 5, 3, 3], dict(fused=False, data_format='NCHW')),
    'unfused_r2': ([8, 5], dict(fused=False)),
    'unfused_r2_nchw': ([8, 5], dict(fused=False, data_format='NCHW')),
    'default_r3': ([4, 6, 5], {}),
    'default_r3_nchw': ([4, 5, 6], dict(data_format='NCHW')),
    'default_r5': ([2, 3, 2, 3, 5], {}),
    'default_r5_nchw': ([2, 5, 3, 2, 3], dict(data_format='NCHW')),
    'moments_updates_none_r3': ([4, 6, 5], dict(updates_collections=None)),
    'moments_zero_debias_r5': ([2, 3, 2, 3, 5],
                               dict(zero_debias_moving_mean=True)),
    'moments_unfused_custom_r4': ([4, 3, 3, 5],
                                  dict(fused=False,
                                       updates_collections=['custom'])),
}

# name -> (shape, dtype, kwargs, reason); these keep the moments formulas.
MOMENTS_CASES = {
    'renorm': ([4, 6, 5], 'float32', dict(renorm=True),
               'input gradient rounds beyond tolerance'),
    'float16': ([4, 6, 5], 'float16', {}, 'TF 1.15 reduced in float16'),
    'bfloat16': ([4, 6, 5], 'bfloat16', {}, 'TF 1.15 reduced in bfloat16'),
    'float64': ([4, 6, 5], 'float64', {}, 'no float64 kernel'),
    'tiny_epsilon': ([4, 6, 5], 'float32', dict(epsilon=1e-7),
                     'below the kernel floor'),
}


def _op_types(graph):
  return {op.type for op in graph.get_operations()}


def _build(shape, dtype, kwargs, is_training=True):
  graph = tf.Graph()
  with graph.as_default():
    x = tf.compat.v1.placeholder(dtype, shape, name='x')
    kwargs = dict(kwargs)
    if kwargs.get('batch_weights') == 'ones':
      kwargs['batch_weights'] = tf.ones([shape[0]], dtype)
    y = batch_norm(x, is_training=is_training, **kwargs)
  return graph, x, y


@pytest.mark.parametrize('name', sorted(KERNEL_CASES))
def test_kernel_replaces_moments(name):
  shape, kwargs = KERNEL_CASES[name]
  graph, _, _ = _build(shape, tf.float32, kwargs)
  types = _op_types(graph)
  assert _KERNEL in types
  assert _MOMENTS not in types


@pytest.mark.parametrize('name', sorted(MOMENTS_CASES))
def test_moments_kept_where_the_kernel_cannot_reproduce_tf1(name):
  shape, dtype, kwargs, _ = MOMENTS_CASES[name]
  graph, _, _ = _build(shape, tf.as_dtype(dtype), kwargs)
  types = _op_types(graph)
  assert _MOMENTS in types
  assert _KERNEL not in types


def test_per_example_adjustment_keeps_moments():
  graph = tf.Graph()
  with graph.as_default():
    x = tf.compat.v1.placeholder(tf.float32, [4, 6, 5])
    # One factor per example cannot be a kernel scale.
    batch_norm(x, adjustment=lambda shape: (tf.ones([4, 1, 1]),
                                            tf.zeros([4, 1, 1])))
  assert _MOMENTS in _op_types(graph)


def test_per_channel_adjustment_runs_the_kernel():
  graph = tf.Graph()
  with graph.as_default():
    x = tf.compat.v1.placeholder(tf.float32, [4, 5, 6])
    batch_norm(x, data_format='NCHW',
               adjustment=lambda shape: (tf.ones([1, 5, 1]),
                                         tf.zeros([1, 5, 1])))
  types = _op_types(graph)
  assert _KERNEL in types and _MOMENTS not in types


def _data(shape, seed=0):
  rng = np.random.RandomState(seed)
  return (rng.normal(0.5, 2.0, size=shape) +
          rng.uniform(-1, 1, size=shape[-1:])).astype(np.float32)


@pytest.mark.parametrize('name', sorted(KERNEL_CASES))
def test_kernel_statistics_are_the_moments_ones(name):
  shape, kwargs = KERNEL_CASES[name]
  nchw = kwargs.get('data_format') == 'NCHW'
  axis = 1 if nchw and len(shape) > 2 else len(shape) - 1
  axes = tuple(i for i in range(len(shape)) if i != axis)
  data = _data(shape)
  epsilon = 0.01
  graph = tf.Graph()
  with graph.as_default():
    x = tf.compat.v1.placeholder(tf.float32, shape)
    kwargs = dict(kwargs, decay=0.0, epsilon=epsilon)
    kwargs.pop('zero_debias_moving_mean', None)
    y = batch_norm(x, **kwargs)
    updates = (tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
               + tf.compat.v1.get_collection('custom'))
    moving = [v for v in tf.compat.v1.global_variables()
              if v.op.name.endswith(('moving_mean', 'moving_variance'))]
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      outputs = sess.run(y, {x: data})
      sess.run(updates, {x: data})
      mean, variance = sess.run(moving)
  data64 = data.astype(np.float64)
  np.testing.assert_allclose(mean, data64.mean(axes), FLOAT32_RTOL,
                             FLOAT32_ATOL)
  # The biased variance, as `nn.moments` gave it; the kernel's own is
  # larger by n / (n - 1).
  np.testing.assert_allclose(variance, data64.var(axes), FLOAT32_RTOL,
                             FLOAT32_ATOL)
  shape_c = [1] * len(shape)
  shape_c[axis] = shape[axis]
  expected = ((data64 - data64.mean(axes).reshape(shape_c)) /
              np.sqrt(data64.var(axes).reshape(shape_c) + epsilon))
  np.testing.assert_allclose(outputs, expected, FLOAT32_RTOL, FLOAT32_ATOL)


@pytest.mark.parametrize('is_training', [True, False, 'fed_true',
                                         'fed_false'])
def test_gradients_match_the_moments_formulas(is_training):
  # The float64 input keeps the moments formulas; the float32 run of the
  # same data through the kernel must give the same gradients.
  shape = [4, 6, 5]
  data = _data(shape)
  target = _data(shape, seed=1)
  results = []
  for dtype in (tf.float64, tf.float32):
    graph = tf.Graph()
    with graph.as_default():
      x = tf.compat.v1.placeholder(dtype, shape)
      flag = tf.compat.v1.placeholder(tf.bool, [])
      fed = isinstance(is_training, str)
      training = flag if fed else is_training
      y = batch_norm(x, scale=True, is_training=training,
                     param_initializers={
                         'gamma': tf.compat.v1.constant_initializer(1.5),
                         'beta': tf.compat.v1.constant_initializer(0.2),
                         'moving_variance':
                             tf.compat.v1.constant_initializer(2.0)})
      loss = tf.reduce_sum(tf.cast(y, tf.float64) * target)
      grads = tf.compat.v1.gradients(
          loss, [x] + tf.compat.v1.trainable_variables())
      assert (_KERNEL in _op_types(graph)) == (dtype == tf.float32)
      with tf.compat.v1.Session() as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        feed = {x: data}
        if fed:
          feed[flag] = is_training == 'fed_true'
        results.append(sess.run(grads, feed))
  for ours, reference in zip(results[1], results[0]):
    scale = max(1.0, np.abs(reference).max())
    np.testing.assert_allclose(ours, reference, 0, FLOAT32_RTOL * scale)


@pytest.mark.parametrize('kwargs', [{'renorm': True},
                                    {'fused': False, 'renorm': True}],
                         ids=['renorm', 'renorm_unfused'])
@pytest.mark.parametrize('is_training', [True, False])
def test_training_only_features_use_the_kernel_in_inference(kwargs,
                                                            is_training):
  # Renorm's corrections act on batch statistics only, so a layer built for
  # inference normalizes by the moving statistics with the kernel; in
  # training it keeps the moments formulas.
  graph = tf.Graph()
  with graph.as_default():
    x = tf.compat.v1.placeholder(tf.float32, [8, 6, 5])
    kwargs = dict(kwargs)
    if kwargs.get('batch_weights') == 'weights':
      kwargs['batch_weights'] = tf.ones([8])
    batch_norm(x, is_training=is_training, **kwargs)
  assert (_KERNEL in _op_types(graph)) == (not is_training)


@pytest.mark.parametrize('data_format', ['NHWC', 'NCHW'])
def test_batch_weights_normalize_by_weighted_moments_with_the_kernel(
    data_format):
  # Weighted moments are no kernel statistic, so training keeps
  # `nn.weighted_moments`; the inference kernel normalizes by them, with the
  # gradient of `nn.batch_normalization` for the statistics as well.
  shape = [6, 5, 4, 3] if data_format == 'NHWC' else [6, 3, 5, 4]
  axis = 3 if data_format == 'NHWC' else 1
  axes = [i for i in range(4) if i != axis]
  broadcast = [1, 1, 1, 1]
  broadcast[axis] = 3
  data = _data(shape)
  weights = np.linspace(0.5, 2.0, shape[0]).astype(np.float32)
  graph = tf.Graph()
  with graph.as_default():
    x = tf.compat.v1.placeholder(tf.float32, shape)
    w = tf.constant(weights)
    y = batch_norm(x, batch_weights=w, scale=True, data_format=data_format,
                   updates_collections=None)
    kernels = [op for op in graph.get_operations() if op.type == _KERNEL]
    assert kernels and _MOMENTS in _op_types(graph)
    assert not any(op.get_attr('is_training') for op in kernels)
    variables = {v.op.name: v for v in tf.compat.v1.global_variables()}
    gamma, beta = variables['BatchNorm/gamma'], variables['BatchNorm/beta']
    mean, variance = tf.nn.weighted_moments(
        x, axes, tf.reshape(w, [-1, 1, 1, 1]))
    reference = tf.nn.batch_normalization(
        x, tf.reshape(mean, broadcast), tf.reshape(variance, broadcast),
        tf.reshape(beta, broadcast), tf.reshape(gamma, broadcast), 0.001)
    # A loss whose gradient differs per element, so that the statistics'
    # share of the input gradient does not vanish.
    probe = tf.constant(_data(shape, seed=1))
    grads = [tf.compat.v1.gradients(tf.reduce_sum(out * probe),
                                    [x, gamma, beta])
             for out in (y, reference)]
    with tf.compat.v1.Session(graph=graph) as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      sess.run(tf.compat.v1.assign(gamma, [0.5, 1.5, 2.0]))
      ours, theirs = sess.run([[y] + grads[0], [reference] + grads[1]],
                              {x: data})
  for got, want in zip(ours, theirs):
    scale = max(1.0, np.abs(want).max())
    np.testing.assert_allclose(got, want, 0, FLOAT32_RTOL * scale)
