"""Behaviour of `tf.contrib.layers.batch_norm`, as tests of any implementation.

The same tests run against `contrib_bn.batch_norm` on TF 2.x
(`tests/test_behaviour.py`) and against the real TF 1.15.5 contrib layer
(`compat_tests/test_behaviour_tf1.py`), which proves they encode TF 1.15's
behaviour rather than ours. Each of them subclasses `BatchNormContract` and
provides three fixtures: `tf`, the TensorFlow module; `batch_norm`, the
implementation; and `nchw_fused_on_cpu`, whether the fused kernel runs NCHW on
CPU (TF 1.15 could not). The module uses only the `tf.compat.v1` API both
releases share, and Python 3.7 syntax.
"""

import numpy as np
import pytest

# float32 normalization of O(1) data: a few ULPs of rounding per element.
OUTPUT_ATOL = 1e-5
# Moving statistics after a handful of float32 updates.
STATS_ATOL = 1e-6
# The fused kernel's epsilon floor in TF 1.15.
FUSED_MIN_EPSILON = 1.001e-5

# Argument sets that select each internal path of TF 1.15.
PATHS = {
    'fused_r2': dict(rank=2, kwargs={}),
    'fused_zero_debias': dict(rank=4, kwargs={'zero_debias_moving_mean': True}),
    'core_kernel': dict(rank=4, kwargs={}),
    'core_plain': dict(rank=3, kwargs={}),
    'moments_updates_none': dict(rank=3, kwargs={'updates_collections': None}),
    'moments_weights': dict(rank=4, kwargs={'batch_weights': 'ones'}),
}
# Paths whose moving variance receives the kernel's Bessel-corrected variance.
BESSEL_PATHS = ('fused_r2', 'fused_zero_debias', 'core_kernel')
SHAPES = {2: (16, 3), 3: (4, 5, 3), 4: (4, 3, 2, 3)}


def _data(shape, seed=0):
  rng = np.random.RandomState(seed)
  offsets = rng.uniform(-2, 2, size=(1,) * (len(shape) - 1) + (shape[-1],))
  return (rng.normal(0.5, 2.0, size=shape) + offsets).astype(np.float32)


def _numpy_batch_norm(x, axes, epsilon, beta=0.0, gamma=1.0):
  mean = x.mean(axis=axes, keepdims=True)
  var = x.var(axis=axes, keepdims=True)
  return (x - mean) / np.sqrt(var + epsilon) * gamma + beta


def _kwargs(tf, path, x):
  kwargs = dict(PATHS[path]['kwargs'])
  if kwargs.get('batch_weights') == 'ones':
    kwargs['batch_weights'] = tf.ones([x.shape[0]])
  return kwargs


def _session(tf):
  return tf.compat.v1.Session()


def _run_updates(tf, sess, path, outputs, feed=None):
  """One training step's statistics update, as legacy code runs it."""
  updates = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
  if PATHS[path]['kwargs'].get('updates_collections', 0) is None:
    sess.run(outputs, feed)
  else:
    sess.run(updates, feed)


def _variable(tf, name):
  matches = [v for v in tf.compat.v1.global_variables() if v.op.name == name]
  assert len(matches) == 1, name
  return matches[0]


class BatchNormContract(object):
  """TF 1.15's batch-norm behaviour, as tests of any implementation.

  A subclass named `Test...` runs them; it provides three fixtures: `tf`,
  the TensorFlow module; `batch_norm`, the implementation; and
  `nchw_fused_on_cpu`, whether the fused kernel runs NCHW on CPU.
  """

  @pytest.mark.parametrize('path', sorted(PATHS))
  def test_training_output_is_numpy_batch_norm(self, tf, batch_norm, path):
    rank = PATHS[path]['rank']
    x = _data(SHAPES[rank])
    with tf.Graph().as_default():
      y = batch_norm(tf.constant(x), epsilon=0.01, scale=True,
                     **_kwargs(tf, path, x))
      with _session(tf) as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        out = sess.run(y)
    expected = _numpy_batch_norm(x, tuple(range(rank - 1)), 0.01)
    np.testing.assert_allclose(out, expected, atol=OUTPUT_ATOL, rtol=0)

  @pytest.mark.parametrize('path', sorted(PATHS))
  def test_one_step_moving_statistics_closed_form(self, tf, batch_norm, path):
    rank = PATHS[path]['rank']
    x = _data(SHAPES[rank], seed=1)
    decay = 0.9
    with tf.Graph().as_default():
      y = batch_norm(tf.constant(x), decay=decay, **_kwargs(tf, path, x))
      with _session(tf) as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        _run_updates(tf, sess, path, y)
        mean, var = sess.run([_variable(tf, 'BatchNorm/moving_mean'),
                              _variable(tf, 'BatchNorm/moving_variance')])
    axes = tuple(range(rank - 1))
    count = x.size // x.shape[-1]
    batch_var = x.var(axis=axes)
    if path in BESSEL_PATHS:
      batch_var = batch_var * count / (count - 1.0)
    if path == 'fused_zero_debias':
      expected_mean = x.mean(axis=axes)  # debiased after one step
    else:
      expected_mean = (1 - decay) * x.mean(axis=axes)
    np.testing.assert_allclose(mean, expected_mean, atol=STATS_ATOL, rtol=1e-5)
    np.testing.assert_allclose(var, decay * 1.0 + (1 - decay) * batch_var,
                               atol=STATS_ATOL, rtol=1e-5)

  @pytest.mark.parametrize('path', sorted(PATHS))
  def test_decay_zero_copies_batch_statistics(self, tf, batch_norm, path):
    rank = PATHS[path]['rank']
    x = _data(SHAPES[rank], seed=2)
    with tf.Graph().as_default():
      y = batch_norm(tf.constant(x), decay=0.0, **_kwargs(tf, path, x))
      with _session(tf) as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        _run_updates(tf, sess, path, y)
        mean = sess.run(_variable(tf, 'BatchNorm/moving_mean'))
    np.testing.assert_allclose(mean, x.mean(axis=tuple(range(rank - 1))),
                               atol=STATS_ATOL, rtol=1e-5)

  @pytest.mark.parametrize('kind', ['python', 'placeholder', 'variable'])
  @pytest.mark.parametrize('path', sorted(PATHS))
  def test_not_training_never_moves_statistics(self, tf, batch_norm, path,
                                               kind):
    rank = PATHS[path]['rank']
    x = _data(SHAPES[rank], seed=3)
    with tf.Graph().as_default():
      feed = None
      if kind == 'python':
        is_training = False
      elif kind == 'placeholder':
        is_training = tf.compat.v1.placeholder(tf.bool, [])
        feed = {is_training: False}
      else:
        is_training = tf.compat.v1.Variable(False, trainable=False)
      y = batch_norm(tf.constant(x), is_training=is_training,
                     **_kwargs(tf, path, x))
      moving = [_variable(tf, 'BatchNorm/moving_mean'),
                _variable(tf, 'BatchNorm/moving_variance')]
      with _session(tf) as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        before = sess.run(moving)
        for _ in range(2):
          sess.run([y] + tf.compat.v1.get_collection(
              tf.compat.v1.GraphKeys.UPDATE_OPS), feed)
        after = sess.run(moving)
        out = sess.run(y, feed)
    for b, a in zip(before, after):
      np.testing.assert_array_equal(b, a)
    # Inference normalizes with the initial moving statistics (0 and 1).
    np.testing.assert_allclose(out, x / np.sqrt(1.0 + 0.001), atol=OUTPUT_ATOL)

  def test_update_ops_must_be_run_or_moving_mean_stays_zero(self, tf,
                                                            batch_norm):
    x = _data(SHAPES[4], seed=4)
    with tf.Graph().as_default():
      y = batch_norm(tf.constant(x))
      update_ops = tf.compat.v1.get_collection(
          tf.compat.v1.GraphKeys.UPDATE_OPS)
      assert len(update_ops) == 2
      mean = _variable(tf, 'BatchNorm/moving_mean')
      with _session(tf) as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        sess.run(y)
        np.testing.assert_array_equal(sess.run(mean), np.zeros(3, np.float32))
        sess.run(update_ops)
        assert np.all(sess.run(mean) != 0)

  def test_updates_collections_none_updates_in_place(self, tf, batch_norm):
    x = _data(SHAPES[3], seed=5)
    with tf.Graph().as_default():
      y = batch_norm(tf.constant(x), updates_collections=None)
      assert not tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
      mean = _variable(tf, 'BatchNorm/moving_mean')
      with _session(tf) as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        sess.run(y)
        np.testing.assert_allclose(sess.run(mean), 0.001 * x.mean(axis=(0, 1)),
                                   atol=STATS_ATOL, rtol=1e-5)

  @pytest.mark.parametrize('path', sorted(PATHS))
  def test_nchw_equals_nhwc_transposed(self, tf, batch_norm, nchw_fused_on_cpu,
                                       path):
    rank = PATHS[path]['rank']
    uses_kernel = path in BESSEL_PATHS
    if uses_kernel and not nchw_fused_on_cpu:
      pytest.skip('this TensorFlow has no NCHW fused batch-norm kernel on CPU')
    x = _data(SHAPES[rank], seed=6)
    perm = [0, rank - 1] + list(range(1, rank - 1))
    outputs = []
    for data_format, data in (('NHWC', x), ('NCHW', x.transpose(perm))):
      with tf.Graph().as_default():
        y = batch_norm(tf.constant(data), data_format=data_format, scale=True,
                       **_kwargs(tf, path, x))
        with _session(tf) as sess:
          sess.run(tf.compat.v1.global_variables_initializer())
          outputs.append(sess.run(y))
    inverse = np.argsort(perm)
    np.testing.assert_allclose(outputs[1].transpose(inverse), outputs[0],
                               atol=OUTPUT_ATOL, rtol=0)

  @pytest.mark.parametrize('path', ['fused_r2', 'core_kernel', 'core_plain',
                                    'moments_weights'])
  def test_fused_kernel_floors_epsilon(self, tf, batch_norm, path):
    rank = PATHS[path]['rank']
    x = _data(SHAPES[rank], seed=7) * 1e-3
    with tf.Graph().as_default():
      y = batch_norm(tf.constant(x), epsilon=1e-8, **_kwargs(tf, path, x))
      with _session(tf) as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        out = sess.run(y)
    axes = tuple(range(rank - 1))
    epsilon = FUSED_MIN_EPSILON if path in BESSEL_PATHS else 1e-8
    expected = _numpy_batch_norm(x.astype(np.float64), axes, epsilon)
    other = _numpy_batch_norm(
        x.astype(np.float64), axes,
        1e-8 if path in BESSEL_PATHS else FUSED_MIN_EPSILON)
    assert np.max(np.abs(expected - other)) > 100 * 1e-3
    np.testing.assert_allclose(out, expected, atol=1e-3, rtol=1e-3)

  @pytest.mark.parametrize('path', ['core_kernel', 'core_plain',
                                    'moments_updates_none', 'fused_r2'])
  def test_trainable_false_freezes_core_layer_statistics(self, tf, batch_norm,
                                                         path):
    rank = PATHS[path]['rank']
    x = _data(SHAPES[rank], seed=8)
    with tf.Graph().as_default():
      y = batch_norm(tf.constant(x), trainable=False, **_kwargs(tf, path, x))
      assert not tf.compat.v1.trainable_variables()
      mean = _variable(tf, 'BatchNorm/moving_mean')
      with _session(tf) as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        _run_updates(tf, sess, path, y)
        moved = np.any(sess.run(mean) != 0)
    # TF 1.15's core layer reported no updates when not trainable.
    assert moved == (not path.startswith('core'))

  def test_arguments_arrive(self, tf, batch_norm):
    x = _data(SHAPES[4], seed=9)
    init = {
        'beta': tf.compat.v1.constant_initializer([0.5, -0.5, 1.0]),
        'gamma': tf.compat.v1.constant_initializer([2.0, 3.0, 0.5]),
        'moving_mean': tf.compat.v1.constant_initializer([0.1, 0.2, 0.3]),
        'moving_variance': tf.compat.v1.constant_initializer([4.0, 2.0, 1.0]),
    }
    for path in sorted(PATHS):
      if PATHS[path]['rank'] != 4:
        continue
      with tf.Graph().as_default():
        inputs = tf.constant(x)
        kwargs = _kwargs(tf, path, x)
        train = batch_norm(inputs, scale=True, epsilon=0.25,
                           param_initializers=init, scope='bn', **kwargs)
        infer = batch_norm(inputs, scale=True, epsilon=0.25,
                           param_initializers=init, scope='bn', reuse=True,
                           is_training=False, **kwargs)
        with _session(tf) as sess:
          sess.run(tf.compat.v1.global_variables_initializer())
          out_train, out_infer = sess.run([train, infer])
      gamma = np.array([2.0, 3.0, 0.5])
      beta = np.array([0.5, -0.5, 1.0])
      expected_train = _numpy_batch_norm(x, (0, 1, 2), 0.25, beta, gamma)
      expected_infer = (x - [0.1, 0.2, 0.3]) / np.sqrt(
          np.array([4.0, 2.0, 1.0]) + 0.25) * gamma + beta
      np.testing.assert_allclose(out_train, expected_train, atol=1e-4,
                                 err_msg=path)
      np.testing.assert_allclose(out_infer, expected_infer, atol=1e-5,
                                 err_msg=path)

  @pytest.mark.parametrize('path', sorted(PATHS))
  def test_default_scope_is_uniquified(self, tf, batch_norm, path):
    rank = PATHS[path]['rank']
    x = _data(SHAPES[rank])
    with tf.Graph().as_default():
      inputs = tf.constant(x)
      batch_norm(inputs, **_kwargs(tf, path, x))
      batch_norm(inputs, **_kwargs(tf, path, x))
      names = [v.op.name for v in tf.compat.v1.global_variables()]
    assert 'BatchNorm/moving_mean' in names
    assert 'BatchNorm_1/moving_mean' in names

  @pytest.mark.parametrize('path',
                           ['fused_zero_debias', 'moments_updates_none'])
  def test_zero_debias_variable_names(self, tf, batch_norm, path):
    rank = PATHS[path]['rank']
    x = _data(SHAPES[rank])
    kwargs = _kwargs(tf, path, x)
    kwargs['zero_debias_moving_mean'] = True
    with tf.Graph().as_default():
      with tf.compat.v1.variable_scope('net'):
        batch_norm(tf.constant(x), scope='bn', **kwargs)
      names = [v.op.name for v in tf.compat.v1.global_variables()]
    assert 'net/bn/net/bn/moving_mean/biased' in names
    assert 'net/bn/net/bn/moving_mean/local_step' in names

  @pytest.mark.parametrize('path',
                           ['fused_zero_debias', 'moments_updates_none'])
  def test_zero_debias_name_collision_is_suffixed(self, tf, batch_norm, path):
    rank = PATHS[path]['rank']
    x = _data(SHAPES[rank])
    kwargs = _kwargs(tf, path, x)
    kwargs['zero_debias_moving_mean'] = True
    with tf.Graph().as_default():
      with tf.compat.v1.variable_scope('a'):
        tf.compat.v1.get_variable('BatchNorm/a/BatchNorm/moving_mean/biased',
                                  [3])
      with tf.compat.v1.variable_scope('a'):
        batch_norm(tf.constant(x), **kwargs)
      names = [v.op.name for v in tf.compat.v1.global_variables()]
    assert 'a/BatchNorm/a/BatchNorm/moving_mean/biased_1' in names
    assert 'a/BatchNorm/a/BatchNorm/moving_mean/local_step' in names

  @pytest.mark.parametrize('path', ['fused_r2', 'core_kernel', 'core_plain',
                                    'moments_updates_none'])
  def test_outer_partitioner_spares_moving_statistics(self, tf, batch_norm,
                                                      path):
    rank = PATHS[path]['rank']
    x = _data(SHAPES[rank], seed=10)
    with tf.Graph().as_default():
      partitioner = tf.compat.v1.fixed_size_partitioner(3)
      with tf.compat.v1.variable_scope('p', partitioner=partitioner):
        y = batch_norm(tf.constant(x), scale=True, **_kwargs(tf, path, x))
      names = sorted(v.op.name for v in tf.compat.v1.global_variables())
      with _session(tf) as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        out = sess.run(y)
    assert 'p/BatchNorm/moving_mean' in names
    assert 'p/BatchNorm/moving_variance' in names
    assert 'p/BatchNorm/beta/part_0' in names
    assert 'p/BatchNorm/gamma/part_2' in names
    expected = _numpy_batch_norm(x, tuple(range(rank - 1)), 0.001)
    np.testing.assert_allclose(out, expected, atol=OUTPUT_ATOL, rtol=0)
