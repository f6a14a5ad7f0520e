"""Low-precision inputs on every internal path, against a NumPy reference.

TF 1.15 could not run bfloat16 on CPU, so the golden corpus has no bfloat16
cases; these tests check contrib_bn's bfloat16 and float16 results against a
float64 NumPy batch norm instead.
"""

import numpy as np
import pytest
import tensorflow as tf

import contrib_bn

# bfloat16 keeps 8 significant bits (ULP 2**-7 of the value); normalized
# outputs reach about 3, and input, statistics and output are each rounded.
BFLOAT16_ATOL = 0.08
# float16 keeps 11 significant bits (ULP 2**-10).
FLOAT16_ATOL = 0.01
# Renorm with r clipped to 1 and d to 0 is plain batch normalization.
NEUTRAL_RENORM = dict(renorm=True,
                      renorm_clipping={'rmin': 1.0, 'rmax': 1.0, 'dmax': 0.0})

PATHS = {
    'fused_r2': (2, {}),
    'fused_zero_debias': (4, dict(zero_debias_moving_mean=True)),
    'core_kernel': (4, {}),
    'core_plain': (3, {}),
    'core_renorm': (4, NEUTRAL_RENORM),
    'moments_updates_none': (3, dict(updates_collections=None)),
    'moments_weights': (4, dict(batch_weights='ones')),
}
SHAPES = {2: (16, 3), 3: (4, 5, 3), 4: (4, 3, 2, 3)}
TOLERANCE = {'bfloat16': BFLOAT16_ATOL, 'float16': FLOAT16_ATOL}


@pytest.mark.parametrize('dtype', ['bfloat16', 'float16'])
@pytest.mark.parametrize('path', sorted(PATHS))
def test_low_precision_training_step(path, dtype):
  rank, kwargs = PATHS[path]
  x = np.random.RandomState(3).normal(1.0, 2.0, SHAPES[rank])
  tf_dtype = tf.as_dtype(dtype)
  kwargs = dict(kwargs)
  with tf.Graph().as_default():
    if kwargs.get('batch_weights') == 'ones':
      kwargs['batch_weights'] = tf.ones([x.shape[0]], tf_dtype)
    inputs = tf.constant(x.astype(np.float32))
    y = contrib_bn.batch_norm(tf.cast(inputs, tf_dtype), scale=True, **kwargs)
    assert y.dtype == tf_dtype
    loss = tf.reduce_sum(tf.square(tf.cast(y, tf.float32)))
    grads = tf.compat.v1.gradients(loss, tf.compat.v1.trainable_variables())
    updates = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
    mean = [v for v in tf.compat.v1.global_variables()
            if v.op.name == 'BatchNorm/moving_mean'][0]
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      # With updates_collections=None this run also updates in place.
      out, grad_values = sess.run([y, grads])
      if updates:
        sess.run(updates)
      moving_mean = sess.run(mean)
  axes = tuple(range(rank - 1))
  expected = (x - x.mean(axes)) / np.sqrt(x.var(axes) + 0.001)
  np.testing.assert_allclose(out.astype(np.float64), expected, rtol=0,
                             atol=TOLERANCE[dtype])
  assert all(np.all(np.isfinite(np.asarray(g, np.float64)))
             for g in grad_values)
  # One step of decay 0.999; a zero-debiased mean is the batch mean at once.
  rate = 1.0 if kwargs.get('zero_debias_moving_mean') else 0.001
  np.testing.assert_allclose(moving_mean.astype(np.float64),
                             rate * x.mean(axes), rtol=0.05,
                             atol=TOLERANCE[dtype] * rate)
