"""The runner of the bad-input catalogue: builds, runs and judges one probe.

`run_case(tf, batch_norm, case)` builds a graph around the layer under test
with a probe's arguments (`contrib_bn.conformance.bad_inputs`), runs one
training step and one inference, and returns the record that
`scripts/probe_bad_inputs.py` writes under TF 1.15.5 and
`tests/test_bad_inputs.py` compares under TF 2.x: a `build_error` or
`run_error` with its type, message and stage, or `accepted` with the harms
found and the observations they were judged on.

Like the catalogue, it imports nothing but the standard library, NumPy and
the conformance modules, and takes the TensorFlow module and the layer as
arguments, so that it runs under Python 3.7 and TF 1.15 too.
"""

import zlib

import numpy as np

from contrib_bn.conformance import bad_inputs
from contrib_bn.conformance import harness

LEARNING_RATE = 0.1
_STAT_SUFFIXES = ('moving_mean', 'moving_variance', 'moving_stddev',
                  'renorm_mean', 'renorm_stddev', 'biased', 'local_step')


def case_data(case, shape, dtype):
  """Deterministic input data for a case."""
  rng = np.random.RandomState(zlib.crc32(case.id.encode('utf-8')))
  data = rng.normal(0.3, 1.5, size=shape) + rng.uniform(
      -1.0, 1.0, size=shape[-1:] if shape else [])
  if dtype == 'bool':
    return data > 0
  if dtype.startswith('int'):
    return np.round(data * 3).astype(dtype)
  if dtype == 'string':
    return np.vectorize(str)(data).astype(object)
  return data.astype(dtype)


def _round(values):
  out = []
  for v in np.asarray(values, dtype=np.float64).ravel():
    out.append(float(round(v, 6)) if np.isfinite(v) else str(v))
  return out


def _finite(value):
  value = np.asarray(value)
  if value.dtype.kind not in 'fc':
    return True
  return bool(np.all(np.isfinite(value)))


def _changed(before, after):
  # Byte comparison: NaN-safe on the NumPy of Python 3.7 as well.
  return any(before[k].tobytes() != after[k].tobytes() for k in before)


def _snapshot(tf, sess, names):
  variables = [v for v in tf.compat.v1.global_variables()
               if v.op.name.split('/')[-1] in names]
  values = sess.run(variables)
  return {v.op.name: np.asarray(value) for v, value in zip(variables, values)}


def _update_ops(tf, kwargs):
  ops = list(tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS))
  custom = kwargs.get('updates_collections')
  if isinstance(custom, str):
    custom = [custom]
  if isinstance(custom, (list, tuple)):
    for name in custom:
      if name != tf.compat.v1.GraphKeys.UPDATE_OPS:
        ops.extend(tf.compat.v1.get_collection(name))
  return [op for op in ops if op is not None]


def _batch_mean(data):
  data = np.asarray(data, dtype=np.float64)
  return data.reshape(-1, data.shape[-1]).mean(axis=0)


def prepare(tf, batch_norm, case):
  """Builds a case's input and keyword arguments in the default graph.

  Args:
    tf: the TensorFlow module.
    batch_norm: the layer under test (a probe may call it beforehand, e.g.
      to create the scope it then reuses).
    case: a `bad_inputs.ProbeCase`.

  Returns:
    `(ctx, kwargs)`: the `bad_inputs.Context` (input, feeds) and the keyword
    arguments of the call under test.
  """
  probe, path = case.probe, case.path
  shape = probe.data_shape(list(bad_inputs.PATHS[path]['shape']))
  ctx = bad_inputs.Context(tf, shape if shape else [1])
  ctx.shape = shape
  ctx.x = tf.compat.v1.placeholder(
      tf.as_dtype(probe.dtype), probe.input_shape(list(shape)), name='x')
  ctx.layer = batch_norm
  kwargs = {'scope': bad_inputs.DEFAULT_SCOPE}
  kwargs.update(bad_inputs.PATHS[path]['kwargs'])
  if path == 'moments_bw':
    kwargs['batch_weights'] = tf.constant(
        np.linspace(0.5, 1.0, shape[0]).astype('float32'))
  kwargs.update(probe.make(ctx))
  return ctx, kwargs


def run_case(tf, batch_norm, case):
  """Builds and runs one probe case; returns its JSON-ready record.

  Args:
    tf: the TensorFlow module (TF 1.15 or TF 2.x; only `tf.compat.v1`
      graph-mode APIs are used).
    batch_norm: the layer under test.
    case: a `ProbeCase`.

  Returns:
    A dict with `id`, `argument`, `value`, `path`, `outcome` and either
    `error` or `harm` and `observations`.
  """
  probe, path = case.probe, case.path
  record = {'id': case.id, 'argument': probe.argument, 'value': probe.value,
            'path': path}
  graph = tf.Graph()
  with graph.as_default():
    tf.compat.v1.set_random_seed(1)
    ctx, kwargs = prepare(tf, batch_norm, case)
    shape = ctx.shape
    stage = 'build'
    try:
      out = batch_norm(ctx.x, **kwargs)
      stage = 'build_inference'
      if probe.infer == 'reuse':
        infer_kwargs = dict(kwargs)
        infer_kwargs.update(
            is_training=False, reuse=True,
            scope=kwargs.get('scope') or bad_inputs.DEFAULT_SCOPE)
        infer_out = batch_norm(ctx.x, **infer_kwargs)
      else:
        infer_out = out
      stage = 'build_train'
      loss = tf.reduce_sum(tf.square(tf.cast(out, tf.float32)))
      trainable = tf.compat.v1.trainable_variables()
      train = _update_ops(tf, kwargs)
      if trainable:
        optimizer = tf.compat.v1.train.GradientDescentOptimizer(LEARNING_RATE)
        train.append(optimizer.minimize(loss, var_list=trainable))
      train_op = tf.group(*train) if train else tf.no_op()
      init = tf.compat.v1.global_variables_initializer()
    except Exception as e:  # pylint: disable=broad-except
      record['outcome'] = 'build_error'
      record['error'] = {'type': type(e).__name__,
                         'message': harness.tf1_error_message(e),
                         'stage': stage}
      return record
    data = case_data(case, shape, probe.dtype)
    train_feed = dict(ctx.train_feed)
    infer_feed = dict(ctx.infer_feed)
    if ctx.x.op.type == 'Placeholder':
      train_feed[ctx.x] = data
      infer_feed[ctx.x] = data
    config = harness.session_config(tf)
    obs = {}
    with tf.compat.v1.Session(graph=graph, config=config) as sess:
      stage = 'init'
      try:
        sess.run(init)
        initial = _snapshot(tf, sess, _STAT_SUFFIXES + ('beta', 'gamma'))
        stats_before = _snapshot(tf, sess, _STAT_SUFFIXES)
        stage = 'train'
        train_out = sess.run(out, train_feed)
        # With updates forced into the output (updates_collections=None)
        # the train op would update a second time: judge the first update.
        stats_mid = _snapshot(tf, sess, _STAT_SUFFIXES)
        sess.run(train_op, train_feed)
        stats_after = _snapshot(tf, sess, _STAT_SUFFIXES)
        trained = _snapshot(tf, sess, ('beta', 'gamma'))
        trained.update(stats_mid if _changed(stats_before, stats_mid) else
                       stats_after)
        stage = 'inference'
        for fn in ctx.before_infer:
          fn(sess)
        infer_result = sess.run(infer_out, infer_feed)
      except Exception as e:  # pylint: disable=broad-except
        record['outcome'] = 'run_error'
        record['error'] = {
            'type': type(e).__name__,
            'message': (getattr(e, 'message', None) or str(e)).splitlines()[0],
            'stage': stage}
        return record
    obs['initial'] = {k: _round(v) for k, v in sorted(initial.items())}
    obs['trained'] = {k: _round(v) for k, v in sorted(trained.items())}
    obs['stats_changed'] = (_changed(stats_before, stats_mid) or
                            _changed(stats_before, stats_after))
    obs['trainable_variables'] = sorted(
        v.op.name for v in tf.compat.v1.trainable_variables())
    obs['outputs_finite'] = _finite(train_out)
    obs['inference_finite'] = _finite(infer_result)
    obs['stats_finite'] = all(_finite(v) for v in stats_after.values())
    obs['collections'] = sorted(
        k for k in graph.get_all_collection_keys() if isinstance(k, str))
    with graph.as_default():
      obs['regularization_losses'] = len(tf.compat.v1.get_collection(
          tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES))
    obs['uses_fused_kernel'] = any(
        op.type.startswith('FusedBatchNorm') for op in graph.get_operations())
    obs['batch_mean'] = None
    obs['train_output_std'] = None
    obs['train_output_range'] = None
    obs['input_output_correlation'] = None
    obs['output_channel_means'] = None
    train_arr = np.asarray(train_out)
    if (probe.dtype.startswith('float') and train_arr.dtype.kind == 'f' and
        _finite(train_arr)):
      train_arr = train_arr.astype(np.float64)
      obs['train_output_std'] = float(np.std(train_arr))
      obs['train_output_range'] = float(np.ptp(train_arr))
      if data.ndim >= 2:
        obs['batch_mean'] = _batch_mean(data)
        obs['output_channel_means'] = _round(_batch_mean(train_arr))
        if np.std(train_arr) > 0:
          obs['input_output_correlation'] = float(np.corrcoef(
              np.asarray(data, np.float64).ravel(), train_arr.ravel())[0, 1])
  harm = []
  if not obs['outputs_finite']:
    harm.append('non-finite training outputs')
  if not obs['inference_finite']:
    harm.append('non-finite inference outputs')
  if not obs['stats_finite']:
    harm.append('non-finite moving statistics')
  harm.extend(probe.harm(obs))
  obs['batch_mean'] = (None if obs['batch_mean'] is None else
                       _round(obs['batch_mean']))
  record['outcome'] = 'accepted'
  record['harm'] = harm
  record['observations'] = obs
  return record
