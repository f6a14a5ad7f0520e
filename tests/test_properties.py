"""Property-based tests of `contrib_bn.batch_norm` against closed forms.

Hypothesis draws argument combinations over ranks 2 to 5, both data formats,
float16/float32/float64, `fused`, `center`/`scale`, the three kinds of
`updates_collections`, zero-debiasing, batch weights, renorm (with and
without clipping) and the three kinds of `is_training` (Python bool, bool
placeholder, bool variable). For each combination:

  * it builds and runs, or raises a ValueError/TypeError, and exactly when
    TF 1.15's rules say it must (renorm outside the core layer; float64 where
    the fused kernel or renorm runs);
  * the training outputs equal a NumPy batch norm written here: batch
    statistics over every axis but the channel axis, biased variance,
    weighted by `batch_weights`; for renorm, the correction `r`, `d` taken
    against the initial renorm statistics and clipped;
  * after k training steps on a fixed input the moving statistics equal
    their closed form: `m_k = d^k m_0 + (1 - d^k) mean`, with the variance
    convention of the path (Bessel-corrected where the fused kernel runs,
    biased elsewhere), `mean` itself under zero-debiasing, and renorm's
    moving standard deviation for renorm;
  * NHWC and NCHW agree up to the transposition;
  * nothing changes the moving statistics when not training.

Each example builds its own `tf.Graph()`; examples are derandomized and
bounded so that the file runs in well under two minutes on two cores.

This file is over 400 lines because the strategies, the NumPy reference and
the properties judged against it are one argument: the reference model of a
layer is only trustworthy next to the draws it is checked on.
"""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck
from hypothesis import event
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from contrib_bn import batch_norm

# The fused kernel's epsilon floor, the cuDNN minimum TF 1.15 enforced.
KERNEL_MIN_EPSILON = 1.001e-5

# Tolerances, by input dtype, as (rtol, atol).
# float32: outputs are O(1) values normalized through float32 reductions of
# at most 48 elements (relative error ~1e-6), so 1e-4 leaves ample room.
# float64: the same computations in float64; the kernel never runs.
# float16: inputs are float16 and so are the outputs (eps 2**-11 ~ 5e-4 on
# values up to ~4), with float32 statistics in between on every path.
OUTPUT_TOLERANCE = {
    'float16': (1e-2, 3e-2),
    'float32': (1e-4, 1e-4),
    'float64': (1e-9, 1e-9),
}
# Moving statistics after a few steps, updated by `v -= (v - x) * rate`:
# float32: relative error ~1e-6 over the statistics and the updates.
# float64: `rate = 1 - decay` becomes a float32 tensor before its cast to
# float64 (TF 1.15 did the same): each update is off by up to 2**-24 ~ 6e-8
# of its size, which is O(1) here, and a moving mean near 0 may be much
# smaller than the updates that produced it, hence the absolute bound.
# float16: the moments path keeps float16 variables (3 significant digits).
STATS_TOLERANCE = {
    'float16': (5e-3, 5e-3),
    'float32': (1e-5, 1e-5),
    'float64': (2e-7, 3e-7),
}
# Half the spacing of float16 numbers near 1.
FLOAT16_ROUNDING = 2.0 ** -11
# Zero-debiasing float16 variables (the moments path keeps the input dtype)
# divides by `1 - (1 - rate)**k` computed in float16, where `1 - rate` is
# rounded by up to FLOAT16_ROUNDING: the relative error of the quotient is
# amplified by `1 / (1 - decay**k)`; four roundings bound it.
FLOAT16_DEBIAS_ROUNDINGS = 4
# NHWC against NCHW: the same numbers reduced in another order.
LAYOUT_TOLERANCE = {
    'float16': (1e-2, 1e-2),
    'float32': (1e-5, 1e-5),
    'float64': (1e-10, 1e-10),
}

# Shapes in NHWC order, small enough for one graph per example.
_NHWC_SHAPES = {
    2: [6, None],
    3: [3, 4, None],
    4: [2, 3, 2, None],
    5: [2, 2, 2, 2, None],
}
_CUSTOM_UPDATES = 'property_updates'
_STAT_NAMES = ('moving_mean', 'moving_variance', 'moving_stddev',
               'renorm_mean', 'renorm_stddev', 'biased', 'local_step')



def bounded(max_examples):
  """Fixed-seed settings with a bounded example count (graphs are slow)."""
  return settings(
      max_examples=max_examples, derandomize=True, database=None,
      deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Config(object):
  """One drawn argument combination."""

  def __init__(self, **kwargs):
    self.__dict__.update(kwargs)

  def __repr__(self):
    return 'Config(%s)' % ', '.join(
        '%s=%r' % item for item in sorted(self.__dict__.items()))

  def replace(self, **kwargs):
    values = dict(self.__dict__)
    values.update(kwargs)
    return Config(**values)


@st.composite
def configs(draw, training=st.just(True)):
  """Argument combinations, valid or not; `training` draws is_training."""
  rank = draw(st.sampled_from([2, 3, 4, 5]))
  # Options that force the moments path or make renorm fail are drawn less
  # often, so that every path gets a fair share of the examples.
  renorm = draw(st.sampled_from([False, False, False, True]))
  return Config(
      rank=rank,
      channels=draw(st.integers(1, 3)),
      data_format=draw(st.sampled_from(['NHWC', 'NCHW'])),
      dtype=draw(st.sampled_from(['float32', 'float32', 'float64',
                                  'float16'])),
      fused=draw(st.sampled_from([None, True, False])),
      center=draw(st.booleans()),
      scale=draw(st.booleans()),
      updates=draw(st.sampled_from(['default', 'default', 'default', None,
                                    'custom'])),
      zero_debias=draw(st.sampled_from([False, False, False, True])),
      weighted=draw(st.sampled_from([False, False, False, True])),
      renorm=renorm,
      clipping=draw(st.sampled_from([
          None, 'identity', {'rmin': 0.8, 'rmax': 1.25, 'dmax': 0.1}]))
      if renorm else None,
      renorm_decay=draw(st.sampled_from([0.99, 0.5])),
      decay=draw(st.sampled_from([0.5, 0.9, 0.99])),
      epsilon=draw(st.sampled_from([1e-3, 1e-2, 1e-6])),
      training_kind=draw(st.sampled_from(['python', 'placeholder',
                                          'variable'])),
      training=draw(training),
      steps=draw(st.integers(1, 3)),
      seed=draw(st.integers(0, 2**16)),
      # A narrow spread makes the variance comparable to epsilon, so that
      # the fused kernel's epsilon floor shows in the outputs.
      spread=draw(st.sampled_from([1.5, 1.5, 0.004])),
  )


def config(**overrides):
  """A hand-written combination, for the examples every run must try."""
  values = dict(
      rank=4, channels=2, data_format='NHWC', dtype='float32', fused=None,
      center=True, scale=True, updates='default', zero_debias=False,
      weighted=False, renorm=False, clipping=None, renorm_decay=0.99,
      decay=0.9, epsilon=1e-3, training_kind='python', training=True,
      steps=2, seed=3, spread=1.5)
  values.update(overrides)
  return Config(**values)


# Combinations tried on every run whatever Hypothesis draws, so that each
# path and option is covered even if the random draw misses it.
EXPLICIT = [
    config(renorm=True),
    config(renorm=True, rank=5, data_format='NCHW', training_kind='placeholder',
           clipping={'rmin': 0.8, 'rmax': 1.25, 'dmax': 0.1}, steps=3),
    config(renorm=True, rank=3, dtype='float16', clipping='identity',
           training_kind='variable', renorm_decay=0.5),
    config(rank=2, zero_debias=True, updates=None, epsilon=1e-6,
           spread=0.004, steps=3),
    config(rank=4, epsilon=1e-6, spread=0.004, training_kind='variable'),
    config(rank=4, data_format='NCHW', fused=True, updates='custom',
           training_kind='placeholder'),
    config(rank=3, dtype='float64', data_format='NCHW', weighted=True,
           updates='custom', steps=3),
    config(rank=3, dtype='float16', zero_debias=True, decay=0.5, steps=3),
    config(rank=5, fused=False, dtype='float64', center=False),
    config(renorm=True, weighted=True),
    config(rank=2, dtype='float64'),
]


def expected_path(cfg):
  """TF 1.15's internal path for a combination."""
  fused = cfg.fused is not False
  default_updates = cfg.updates == 'default'
  possible_to_fuse = (not cfg.weighted and not cfg.renorm and
                      cfg.rank in (2, 4))
  if fused and possible_to_fuse and (
      cfg.zero_debias or cfg.rank == 2 or not default_updates):
    return 'fused'
  if not cfg.weighted and default_updates and not cfg.zero_debias:
    return 'core'
  return 'moments'


def uses_kernel(cfg):
  path = expected_path(cfg)
  return path == 'fused' or (path == 'core' and cfg.rank == 4 and
                             cfg.fused is not False and not cfg.renorm)


def expected_error(cfg):
  """The error type TF 1.15 raised for a combination, or None."""
  if cfg.renorm and expected_path(cfg) != 'core':
    return ValueError
  if cfg.dtype == 'float64' and (uses_kernel(cfg) or cfg.renorm):
    return TypeError
  return None


def make_valid(cfg):
  """The nearest combination that builds: drops what TF 1.15 refused."""
  if cfg.renorm and expected_path(cfg) != 'core':
    cfg = cfg.replace(renorm=False, clipping=None)
  if expected_error(cfg) is TypeError:
    cfg = cfg.replace(dtype='float32')
  return cfg


def valid_configs(training=st.just(True)):
  return configs(training).map(make_valid)


def shape_of(cfg, data_format):
  shape = list(_NHWC_SHAPES[cfg.rank])
  shape[-1] = cfg.channels
  if data_format == 'NCHW':
    shape = [shape[0], shape[-1]] + shape[1:-1]
  return shape


def channel_axis(cfg, data_format):
  return 1 if data_format == 'NCHW' else cfg.rank - 1


def nhwc_to(data_format, array):
  if data_format == 'NHWC':
    return array
  return np.moveaxis(array, -1, 1)


def make_data(cfg):
  """NHWC input data, exactly representable in the config's dtype."""
  rng = np.random.RandomState(cfg.seed)
  shape = shape_of(cfg, 'NHWC')
  offsets = rng.uniform(-1.0, 1.0, size=[cfg.channels])
  # float16 cannot resolve a narrow spread around O(1) values.
  spread = 1.5 if cfg.dtype == 'float16' else cfg.spread
  data = rng.normal(0.3, spread, size=shape) + offsets
  return data.astype(cfg.dtype)


def ramp(start, step, count):
  return [start + step * i for i in range(count)]


def initial_values(cfg):
  """Initial parameters, varied per channel so that each one is checked."""
  c = cfg.channels
  return {
      'beta': np.array(ramp(0.1, 0.2, c)),
      'gamma': np.array(ramp(0.9, 0.15, c)),
      'moving_mean': np.array(ramp(-0.2, 0.3, c)),
      'moving_variance': np.array(ramp(0.6, 0.5, c)),
  }


def batch_weights_of(cfg):
  return np.linspace(0.5, 1.5, shape_of(cfg, 'NHWC')[0])


def numpy_moments(x, axis, weights=None):
  """Per-channel mean and biased variance, weighted per example if asked."""
  x = np.asarray(x, dtype=np.float64)
  axes = tuple(i for i in range(x.ndim) if i != axis)
  if weights is None:
    w = np.ones_like(x)
  else:
    w = np.broadcast_to(
        np.reshape(weights, [-1] + [1] * (x.ndim - 1)), x.shape)
  total = w.sum(axis=axes)
  mean = (w * x).sum(axis=axes) / total
  centred = x - _broadcast(mean, x.ndim, axis)
  variance = (w * centred * centred).sum(axis=axes) / total
  return mean, variance


def _broadcast(values, ndim, axis):
  shape = [1] * ndim
  shape[axis] = -1
  return np.reshape(values, shape)


def numpy_batch_norm(cfg, x, data_format):
  """Training-mode outputs at step 0, from the config and the input."""
  axis = channel_axis(cfg, data_format)
  init = initial_values(cfg)
  weights = batch_weights_of(cfg) if cfg.weighted else None
  mean, variance = numpy_moments(x, axis, weights)
  epsilon = cfg.epsilon
  if uses_kernel(cfg):
    epsilon = max(epsilon, KERNEL_MIN_EPSILON)
  bc = lambda v: _broadcast(v, x.ndim, axis)
  normalized = (np.asarray(x, np.float64) - bc(mean)) / np.sqrt(
      bc(variance) + epsilon)
  if cfg.renorm:
    normalized = _renorm_correct(cfg, normalized, mean, variance, init, bc)
  if cfg.scale:
    normalized = normalized * bc(init['gamma'])
  if cfg.center:
    normalized = normalized + bc(init['beta'])
  return normalized


def _renorm_correct(cfg, normalized, mean, variance, init, bc):
  """Batch renorm's `x_hat * r + d` against the initial renorm averages.

  The renorm mean starts at the moving-mean initializer and the renorm
  standard deviation at the square root of the moving-variance one.
  """
  stddev = np.sqrt(variance + cfg.epsilon)
  renorm_stddev = np.maximum(np.sqrt(init['moving_variance']),
                             np.sqrt(cfg.epsilon))
  r = stddev / renorm_stddev
  d = (mean - init['moving_mean']) / renorm_stddev
  clipping = clipping_of(cfg) or {}
  if 'rmin' in clipping:
    r = np.maximum(r, clipping['rmin'])
  if 'rmax' in clipping:
    r = np.minimum(r, clipping['rmax'])
  if 'dmax' in clipping:
    d = np.clip(d, -clipping['dmax'], clipping['dmax'])
  return normalized * bc(r) + bc(d)


def clipping_of(cfg):
  if cfg.clipping == 'identity':
    # r == 1 and d == 0: renorm reduces to plain batch norm.
    return {'rmin': 1.0, 'rmax': 1.0, 'dmax': 0.0}
  return cfg.clipping


def expected_statistics(cfg, x, data_format):
  """Closed-form moving statistics after `cfg.steps` steps on input `x`."""
  axis = channel_axis(cfg, data_format)
  init = initial_values(cfg)
  weights = batch_weights_of(cfg) if cfg.weighted else None
  mean, variance = numpy_moments(x, axis, weights)
  k = cfg.steps
  keep = cfg.decay ** k
  stats = {}
  if cfg.zero_debias:
    # biased_k = (1 - d^k) mean and moving_mean = biased_k / (1 - d^k).
    stats['moving_mean'] = mean
    stats['biased'] = (1 - keep) * mean
    stats['local_step'] = np.array(float(k))
  else:
    stats['moving_mean'] = keep * init['moving_mean'] + (1 - keep) * mean
  if uses_kernel(cfg):
    count = x.size // x.shape[axis]
    variance = variance * count / (count - 1.0)
  if cfg.renorm:
    stddev = np.sqrt(variance + cfg.epsilon)
    moving_stddev = (keep * np.sqrt(init['moving_variance']) +
                     (1 - keep) * stddev)
    stats['moving_stddev'] = moving_stddev
    stats['moving_variance'] = np.maximum(
        moving_stddev * moving_stddev - cfg.epsilon, 0.0)
    renorm_keep = cfg.renorm_decay ** k
    stats['renorm_mean'] = (renorm_keep * init['moving_mean'] +
                            (1 - renorm_keep) * mean)
    stats['renorm_stddev'] = (
        renorm_keep * np.sqrt(init['moving_variance']) +
        (1 - renorm_keep) * stddev)
  else:
    stats['moving_variance'] = (keep * init['moving_variance'] +
                                (1 - keep) * variance)
  return stats


class Layer(object):
  """A built layer and what a session needs to drive it."""

  def __init__(self, graph, x, output, train_feed, infer_feed, update_fetch,
               set_training):
    self.graph = graph
    self.x = x
    self.output = output
    self.train_feed = train_feed
    self.infer_feed = infer_feed
    self.update_fetch = update_fetch
    self.set_training = set_training


def build(cfg, data_format, train_op=False):
  """Builds one layer in a fresh graph; raises what `batch_norm` raises."""
  graph = tf.Graph()
  with graph.as_default():
    x = tf.compat.v1.placeholder(cfg.dtype, shape_of(cfg, data_format),
                                 name='x')
    init = initial_values(cfg)
    kwargs = dict(
        decay=cfg.decay, center=cfg.center, scale=cfg.scale,
        epsilon=cfg.epsilon, fused=cfg.fused, data_format=data_format,
        zero_debias_moving_mean=cfg.zero_debias, renorm=cfg.renorm,
        renorm_decay=cfg.renorm_decay, scope='bn',
        param_initializers={
            name: tf.compat.v1.constant_initializer(values.tolist())
            for name, values in init.items()})
    if cfg.updates is None:
      kwargs['updates_collections'] = None
    elif cfg.updates == 'custom':
      kwargs['updates_collections'] = [_CUSTOM_UPDATES]
    if cfg.weighted:
      kwargs['batch_weights'] = tf.constant(
          batch_weights_of(cfg).astype(cfg.dtype))
    if cfg.renorm and clipping_of(cfg) is not None:
      kwargs['renorm_clipping'] = clipping_of(cfg)
    train_feed, infer_feed, set_training = {}, {}, None
    if cfg.training_kind == 'python':
      kwargs['is_training'] = cfg.training
    elif cfg.training_kind == 'placeholder':
      flag = tf.compat.v1.placeholder(tf.bool, [], name='is_training')
      kwargs['is_training'] = flag
      train_feed[flag] = cfg.training
      infer_feed[flag] = False
    else:
      flag = tf.compat.v1.Variable(cfg.training, trainable=False,
                                   name='is_training')
      kwargs['is_training'] = flag
      value = tf.compat.v1.placeholder(tf.bool, [])
      assign = tf.compat.v1.assign(flag, value)
      set_training = lambda sess, v: sess.run(assign, {value: v})
    output = batch_norm(x, **kwargs)
    updates = (tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS) +
               tf.compat.v1.get_collection(_CUSTOM_UPDATES))
    if cfg.updates is None:
      # The updates run in place, as a dependency of the output.
      update_fetch = [output]
    else:
      update_fetch = list(updates)
    if train_op:
      trainable = tf.compat.v1.trainable_variables()
      if trainable:
        loss = tf.reduce_sum(tf.square(tf.cast(output, tf.float32)))
        update_fetch.append(
            tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(
                loss, var_list=trainable))
    layer = Layer(graph, x, output, train_feed, infer_feed, update_fetch,
                  set_training)
    layer.init = tf.compat.v1.global_variables_initializer()
    layer.stats = {v.op.name.split('/')[-1]: v
                   for v in tf.compat.v1.global_variables()
                   if v.op.name.split('/')[-1] in _STAT_NAMES}
  return layer


def session(layer):
  config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=1,
                                    inter_op_parallelism_threads=1)
  return tf.compat.v1.Session(graph=layer.graph, config=config)


def train(layer, sess, data, steps):
  """Step-0 outputs, then the statistics after `steps` update steps."""
  feed = dict(layer.train_feed)
  feed[layer.x] = data
  outputs = sess.run(layer.output, feed)
  # With updates in place, fetching the outputs already was one step.
  done = 1 if layer.update_fetch == [layer.output] else 0
  for _ in range(steps - done):
    if layer.update_fetch:
      sess.run(layer.update_fetch, feed)
  return outputs, read_stats(layer, sess)


def read_stats(layer, sess):
  names = sorted(layer.stats)
  values = sess.run([layer.stats[n] for n in names])
  return dict(zip(names, (np.asarray(v) for v in values)))


def _examples(cfgs):
  """Applies `@example(cfg=...)` for each of `cfgs`."""
  def decorate(test):
    for cfg in reversed(cfgs):
      test = example(cfg=cfg)(test)
    return test
  return decorate


def stats_tolerance(cfg, name):
  rtol, atol = STATS_TOLERANCE[cfg.dtype]
  if (cfg.dtype == 'float16' and cfg.zero_debias and
      expected_path(cfg) == 'moments' and name == 'moving_mean'):
    rtol = FLOAT16_DEBIAS_ROUNDINGS * FLOAT16_ROUNDING / (
        1.0 - cfg.decay ** cfg.steps)
  return rtol, atol


def assert_close(actual, expected, tolerance, what):
  rtol, atol = tolerance
  np.testing.assert_allclose(
      np.asarray(actual, np.float64), np.asarray(expected, np.float64),
      rtol=rtol, atol=atol, err_msg=what)


@bounded(200)
@given(cfg=configs())
@_examples(EXPLICIT)
def test_training_matches_numpy_and_closed_form_statistics(cfg):
  """Builds or raises as TF 1.15; outputs and moving statistics match."""
  error = expected_error(cfg)
  event('path: %s%s' % (expected_path(cfg),
                        '+kernel' if uses_kernel(cfg) else ''))
  event('outcome: %s' % (error.__name__ if error else 'ok'))
  if cfg.renorm:
    event('renorm clipping: %s' % (cfg.clipping if isinstance(
        cfg.clipping, (str, type(None))) else 'range'))
  if error is not None:
    with pytest.raises(error):
      build(cfg, cfg.data_format)
    return
  layer = build(cfg, cfg.data_format)
  data = nhwc_to(cfg.data_format, make_data(cfg))
  with session(layer) as sess:
    sess.run(layer.init)
    outputs, stats = train(layer, sess, data, cfg.steps)
  assert outputs.dtype == np.dtype(cfg.dtype)
  assert_close(outputs, numpy_batch_norm(cfg, data, cfg.data_format),
               OUTPUT_TOLERANCE[cfg.dtype], 'training outputs')
  expected = expected_statistics(cfg, data, cfg.data_format)
  assert sorted(stats) == sorted(expected), (sorted(stats), sorted(expected))
  for name, value in expected.items():
    assert_close(stats[name], value, stats_tolerance(cfg, name), name)


@bounded(50)
@given(cfg=valid_configs())
@_examples([make_valid(c) for c in EXPLICIT])
def test_nhwc_equals_nchw_transposed(cfg):
  results = {}
  for data_format in ('NHWC', 'NCHW'):
    layer = build(cfg, data_format)
    with session(layer) as sess:
      sess.run(layer.init)
      outputs, stats = train(layer, sess, nhwc_to(data_format,
                                                  make_data(cfg)), cfg.steps)
    if data_format == 'NCHW':
      outputs = np.moveaxis(outputs, 1, -1)
    results[data_format] = outputs, stats
  (nhwc_out, nhwc_stats), (nchw_out, nchw_stats) = (results['NHWC'],
                                                    results['NCHW'])
  assert_close(nchw_out, nhwc_out, LAYOUT_TOLERANCE[cfg.dtype], 'outputs')
  assert sorted(nchw_stats) == sorted(nhwc_stats)
  for name in nhwc_stats:
    assert_close(nchw_stats[name], nhwc_stats[name],
                 LAYOUT_TOLERANCE[cfg.dtype], name)


@bounded(60)
@given(cfg=valid_configs(training=st.just(False)))
@_examples([make_valid(c.replace(training=False)) for c in EXPLICIT])
def test_not_training_changes_nothing(cfg):
  """Python False, a placeholder fed False, a variable set False."""
  layer = build(cfg, cfg.data_format, train_op=True)
  data = nhwc_to(cfg.data_format, make_data(cfg))
  feed = dict(layer.train_feed)
  feed[layer.x] = data
  with session(layer) as sess:
    sess.run(layer.init)
    before = read_stats(layer, sess)
    outputs = sess.run(layer.output, feed)
    for _ in range(2):
      if layer.update_fetch:
        sess.run(layer.update_fetch, feed)
    after = read_stats(layer, sess)
  for name in before:
    assert before[name].tobytes() == after[name].tobytes(), name
  # Inference normalizes with the moving statistics as initialized.
  axis = channel_axis(cfg, cfg.data_format)
  init = initial_values(cfg)
  bc = lambda v: _broadcast(v, data.ndim, axis)
  epsilon = max(cfg.epsilon, KERNEL_MIN_EPSILON) if uses_kernel(
      cfg) else cfg.epsilon
  expected = (data.astype(np.float64) - bc(init['moving_mean'])) / np.sqrt(
      bc(init['moving_variance']) + epsilon)
  if cfg.scale:
    expected = expected * bc(init['gamma'])
  if cfg.center:
    expected = expected + bc(init['beta'])
  assert_close(outputs, expected, OUTPUT_TOLERANCE[cfg.dtype],
               'inference outputs')


def test_variable_switched_to_false_stops_updates():
  """A bool variable set False after training freezes the statistics."""
  cfg = config(decay=0.5, training_kind='variable', steps=1, seed=7)
  layer = build(cfg, 'NHWC')
  data = make_data(cfg)
  with session(layer) as sess:
    sess.run(layer.init)
    _, trained = train(layer, sess, data, 1)
    layer.set_training(sess, False)
    sess.run(layer.update_fetch, {layer.x: data})
    frozen = read_stats(layer, sess)
  assert trained['moving_mean'].tobytes() != initial_values(cfg)[
      'moving_mean'].astype(np.float32).tobytes()
  for name in trained:
    assert trained[name].tobytes() == frozen[name].tobytes(), name


def test_renorm_with_identity_clipping_is_plain_batch_norm():
  """rmin = rmax = 1 and dmax = 0 make renorm's outputs plain BN's."""
  plain = config(channels=3, fused=False, steps=1, seed=11)
  renorm = plain.replace(renorm=True, clipping='identity')
  data = make_data(plain)
  results = []
  for cfg in (plain, renorm):
    layer = build(cfg, 'NHWC')
    with session(layer) as sess:
      sess.run(layer.init)
      results.append(train(layer, sess, data, 1)[0])
  assert_close(results[1], results[0], OUTPUT_TOLERANCE['float32'],
               'renorm with identity clipping')
