"""Builds and runs one golden case with a given `batch_norm` implementation.

The recorder runs this module under TF 1.15.5 with `tf.contrib.layers.batch_norm`;
the verifier runs it under TF 2.x with `contrib_bn.batch_norm`. Both therefore
build the same graph, feed the same data and fetch the same tensors; only the
layer differs. It uses the `tf.compat.v1` API both releases share, in Python 3.7.

Each training step fetches the layer outputs, loss and gradients in one
`Session.run` and runs the train op in a separate one: TF1 reference variables
make a combined fetch race the in-place updates.
"""

import contextlib
import zlib

import numpy as np

STEPS = 3
LEARNING_RATE = 0.1
UPDATE_OPS_MARKER = '__UPDATE_OPS__'
_NCHW_TO_NHWC = {4: [0, 2, 3, 1]}
_NHWC_TO_NCHW = {4: [0, 3, 1, 2]}


def tf1_error_message(error):
  """The message legacy code sees, without AutoGraph's source trace.

  TF 1.15 wraps errors raised inside converted layer code in a trace that names
  files of the local installation; recordings keep only the final message.
  """
  message = str(error)
  if message.startswith('in converted code:'):
    last = [line.strip() for line in message.splitlines() if line.strip()][-1]
    prefix = type(error).__name__ + ': '
    message = last[len(prefix):] if last.startswith(prefix) else last
  return message


def case_data(case):
  """Deterministic input and loss-target arrays of a case."""
  rng = np.random.RandomState(zlib.crc32(case['id'].encode('utf-8')))
  shape = case['shape']
  dtype = case['dtype']
  channel_axis = 1 if case['kwargs'].get('data_format') in ('NCHW', 'nchw') else -1
  channel_shape = [1] * len(shape)
  channel_shape[channel_axis] = shape[channel_axis]
  offsets = rng.uniform(-1.0, 1.0, size=channel_shape)
  data = rng.normal(0.3, 1.5, size=shape) + offsets
  if dtype == 'bool':
    data = data > 0
  elif dtype.startswith('int'):
    data = np.round(data * 3)
  target = rng.normal(0.0, 1.0, size=shape)
  return data.astype(dtype), target.astype('float32')


def channels_of(case):
  shape = case['shape']
  if case['kwargs'].get('data_format') in ('NCHW', 'nchw'):
    return shape[1]
  return shape[-1]


def _ramp(start, step, count):
  return [float(start + step * i) for i in range(count)]


def _initializer(tf, spec, channels):
  kind = spec[0]
  if kind == 'ramp':
    return tf.compat.v1.constant_initializer(_ramp(spec[1], spec[2], channels))
  raise ValueError('unknown initializer spec %r' % (spec,))


def _regularizer(tf, spec):
  kind, weight = spec
  if kind == 'l2':
    return lambda w: tf.multiply(weight, tf.nn.l2_loss(tf.cast(w, tf.float32)))
  if kind == 'l1':
    return lambda w: tf.multiply(
        weight, tf.reduce_sum(tf.abs(tf.cast(w, tf.float32))))
  raise ValueError('unknown regularizer spec %r' % (spec,))


def _adjustment(tf, spec, case):
  _, s0, ss, b0, bs = spec
  channels = channels_of(case)
  rank = len(case['shape'])
  if case['kwargs'].get('data_format') == 'NCHW':
    shape = [1, channels] + [1] * (rank - 2)
  else:
    shape = [channels]

  def adjustment(unused_shape):
    scale = tf.reshape(tf.constant(_ramp(s0, ss, channels), tf.float32), shape)
    bias = tf.reshape(tf.constant(_ramp(b0, bs, channels), tf.float32), shape)
    return scale, bias

  return adjustment


def _batch_weights(tf, spec, case):
  kind = spec[0]
  dtype = case['dtype'] if case['dtype'].startswith('float') else 'float32'
  if kind == 'ramp':
    values = _ramp(spec[1], spec[2], case['shape'][0])
  elif kind == 'ramp_len':
    values = _ramp(spec[2], spec[3], spec[1])
  elif kind == 'column':
    values = [[1.0 + 0.1 * i] for i in range(spec[1])]
  else:
    raise ValueError('unknown batch_weights spec %r' % (spec,))
  return tf.constant(np.array(values, dtype=dtype))


def layer_kwargs(tf, case, data_format_override=None):
  """Turns a case's encoded kwargs into real `batch_norm` keyword arguments."""
  channels = channels_of(case)
  kwargs = {}
  for key, value in case['kwargs'].items():
    if key == 'param_initializers':
      value = {k: _initializer(tf, v, channels) for k, v in value.items()}
    elif key == 'param_regularizers':
      value = {k: _regularizer(tf, v) for k, v in value.items()}
    elif key == 'activation_fn':
      value = {'relu': tf.nn.relu, 'tanh': tf.nn.tanh}[value]
    elif key == 'adjustment':
      value = _adjustment(tf, value, case)
    elif key == 'batch_weights':
      value = _batch_weights(tf, value, case)
    elif key == 'updates_collections' and value == UPDATE_OPS_MARKER:
      value = tf.compat.v1.GraphKeys.UPDATE_OPS
    kwargs[key] = value
  if data_format_override is not None:
    kwargs['data_format'] = data_format_override
  return kwargs


class Built(object):
  """Handles to the tensors and ops of one built case."""

  def __init__(self):
    self.graph = None
    self.x = None
    self.feed_training = None
    self.set_training = None
    self.outputs = []
    self.raw_outputs = []
    self.inference_outputs = []
    self.loss = None
    self.grad_names = []
    self.grads = []
    self.none_grads = []
    self.train_op = None


def _collection_names(case):
  kwargs = case['kwargs']
  names = set()
  collections = kwargs.get('variables_collections')
  if isinstance(collections, dict):
    for value in collections.values():
      names.update(value if isinstance(value, list) else [value])
  elif collections:
    names.update(collections)
  for key in ('outputs_collections', 'updates_collections'):
    value = kwargs.get(key)
    if isinstance(value, list):
      names.update(value)
  return sorted(names)


def build(tf, batch_norm, case, derive_nhwc=False, loss_scope=None):
  """Builds a case's graph, its loss inside `loss_scope()`; may raise."""
  built = Built()
  graph = tf.Graph()
  built.graph = graph
  rank = len(case['shape'])
  with graph.as_default():
    tf.compat.v1.set_random_seed(1)
    input_shape = case['input_shape']
    if input_shape == 'unknown_rank':
      input_shape = None
    x = tf.compat.v1.placeholder(tf.as_dtype(case['dtype']), input_shape,
                                 name='x')
    built.x = x
    override = 'NHWC' if derive_nhwc else None
    kwargs = layer_kwargs(tf, case, override)
    training = case['training']
    if training == 'placeholder':
      is_training = tf.compat.v1.placeholder(tf.bool, [], name='is_training')
      built.feed_training = is_training
    elif training == 'variable':
      is_training = tf.compat.v1.Variable(True, trainable=False,
                                          name='is_training')
      flag = tf.compat.v1.placeholder(tf.bool, [], name='training_value')
      assign = tf.compat.v1.assign(is_training, flag)
      built.set_training = lambda sess, value: sess.run(
          assign, {flag: value})
    else:
      is_training = training == 'true'

    def call(**overrides):
      args = dict(kwargs)
      args.update(overrides)
      layer_input = x
      if derive_nhwc and rank in _NCHW_TO_NHWC:
        layer_input = tf.transpose(x, _NCHW_TO_NHWC[rank])
      raw = batch_norm(layer_input, **args)
      out = raw
      if derive_nhwc and rank in _NHWC_TO_NCHW:
        out = tf.transpose(raw, _NHWC_TO_NCHW[rank])
      return raw, out

    def in_outer_scope(fn, scope_holder):
      if case['outer_scope'] is None:
        return fn()
      target = scope_holder[0] if scope_holder else case['outer_scope']
      with tf.compat.v1.variable_scope(target) as outer:
        if not scope_holder:
          scope_holder.append(outer)
        return fn()

    outer_holder = []

    def training_calls():
      results = []
      for _ in range(case['calls']):
        results.append(call(is_training=is_training))
      return results

    for raw, out in in_outer_scope(training_calls, outer_holder):
      built.raw_outputs.append(raw)
      built.outputs.append(out)

    if training == 'true':
      scope = case['kwargs'].get('scope') or 'BatchNorm'
      _, inference = in_outer_scope(
          lambda: call(is_training=False, reuse=True, scope=scope),
          outer_holder)
      built.inference_outputs = [inference]
    else:
      built.inference_outputs = list(built.outputs)

    targets = tf.compat.v1.placeholder(tf.float32, case['shape'],
                                       name='target')
    built.target = targets
    with (loss_scope or contextlib.nullcontext)():
      loss = 0.0
      for out in built.outputs:
        out32 = tf.cast(out, tf.float32)
        loss += tf.reduce_sum(out32 * targets) + 0.25 * tf.reduce_sum(
            tf.square(out32))
    built.loss = loss
    trainable = tf.compat.v1.trainable_variables()
    sources = [x] + trainable
    names = ['x'] + [v.op.name for v in trainable]
    if not x.dtype.is_floating:
      sources, names = trainable, names[1:]
    grads = tf.compat.v1.gradients(loss, sources)
    for name, grad in zip(names, grads):
      if grad is None:
        built.none_grads.append(name)
      else:
        built.grad_names.append(name)
        built.grads.append(grad)
    ops = []
    if trainable:
      optimizer = tf.compat.v1.train.GradientDescentOptimizer(LEARNING_RATE)
      ops.append(optimizer.minimize(loss, var_list=trainable))
    ops.extend(tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS))
    custom = case['kwargs'].get('updates_collections')
    if isinstance(custom, list):
      for name in custom:
        ops.extend(tf.compat.v1.get_collection(name))
    built.train_op = tf.group(*ops)
    built.saver = tf.compat.v1.train.Saver(
        tf.compat.v1.global_variables(), max_to_keep=None)
    built.init = tf.compat.v1.global_variables_initializer()
  return built


def _describe(tf, value, global_variables):
  """A release-independent description of one collection element."""
  if hasattr(value, 'aliases'):
    return {'aliases': list(value.aliases)}
  if any(value is v for v in global_variables):
    return value.op.name
  if isinstance(value, tf.Operation):
    return 'Operation'
  if isinstance(value, tf.Tensor):
    return 'Tensor'
  return type(value).__name__


def structure(tf, built, case):
  """The graph facts legacy code and checkpoints depend on."""
  with built.graph.as_default():
    keys = tf.compat.v1.GraphKeys

    def names(key):
      return [v.op.name for v in tf.compat.v1.get_collection(key)]

    described = {}
    global_variables = tf.compat.v1.global_variables()
    for name in _collection_names(case):
      described[name] = [_describe(tf, v, global_variables)
                         for v in tf.compat.v1.get_collection(name)]
    outputs = []
    for raw, out in zip(built.raw_outputs, built.outputs):
      outputs.append({
          'shape': _shape_list(out),
          'dtype': out.dtype.name,
          'aliases': list(getattr(raw, 'aliases', [])),
      })
    return {
        'global_variables': [
            [v.op.name, _shape_list(v), v.dtype.base_dtype.name]
            for v in tf.compat.v1.global_variables()],
        'trainable_variables': names(keys.TRAINABLE_VARIABLES),
        'model_variables': names(keys.MODEL_VARIABLES),
        'update_ops': len(tf.compat.v1.get_collection(keys.UPDATE_OPS)),
        'regularization_losses': len(
            tf.compat.v1.get_collection(keys.REGULARIZATION_LOSSES)),
        'collections': described,
        'outputs': outputs,
        'none_grads': list(built.none_grads),
    }


def _shape_list(tensor):
  shape = tensor.get_shape()
  if shape.ndims is None:
    return None
  return [d if d is None else int(d) for d in shape.as_list()]


def _feed(built, data, target, training):
  feed = {built.x: data, built.target: target}
  if built.feed_training is not None:
    feed[built.feed_training] = training
  return feed


def session_config(tf, xla=False):
  """One thread each, as recorded; `tf` is TF 1.15's, TF 2's or its v1."""
  v1 = tf if hasattr(tf, 'ConfigProto') else tf.compat.v1
  config = v1.ConfigProto(
      intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
  if xla:
    config.graph_options.optimizer_options.global_jit_level = (
        v1.OptimizerOptions.ON_1)
  return config


def run(tf, built, data, target, checkpoint_prefix=None, xla=False):
  """Trains a built case for `STEPS` steps; returns the arrays to compare."""
  arrays = {}
  with built.graph.as_default():
    config = session_config(tf, xla)
    with tf.compat.v1.Session(graph=built.graph, config=config) as sess:
      sess.run(built.init)
      feed = _feed(built, data, target, True)
      for step in range(STEPS):
        fetched = sess.run(
            {'outputs': built.outputs, 'loss': built.loss,
             'grads': built.grads}, feed)
        for i, value in enumerate(fetched['outputs']):
          arrays['step%d/output%d' % (step, i)] = value
        arrays['step%d/loss' % step] = np.asarray(fetched['loss'])
        for name, value in zip(built.grad_names, fetched['grads']):
          arrays['step%d/grad/%s' % (step, name)] = _dense(value)
        sess.run(built.train_op, feed)
      if checkpoint_prefix is not None:
        built.saver.save(sess, checkpoint_prefix, write_meta_graph=False,
                         write_state=False)
      inference = infer(built, sess, data, target)
      for i, value in enumerate(inference):
        arrays['inference/output%d' % i] = value
      variables = tf.compat.v1.global_variables()
      for var, value in zip(variables, sess.run(variables)):
        arrays['var/%s' % var.op.name] = np.asarray(value)
      losses = tf.compat.v1.get_collection(
          tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)
      for i, value in enumerate(sess.run(losses)):
        arrays['reg_loss/%d' % i] = np.asarray(value)
  return arrays


def infer(built, sess, data, target):
  """Inference outputs with the current variable values."""
  if built.set_training is not None:
    built.set_training(sess, False)
  return sess.run(built.inference_outputs, _feed(built, data, target, False))


def _dense(value):
  if hasattr(value, 'values') and hasattr(value, 'indices'):
    raise TypeError('sparse gradients are not expected here')
  return np.asarray(value)
