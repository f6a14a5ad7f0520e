"""Golden cases of TF 1.15's `tf.layers` batch normalization.

`tf.compat.v1.layers.batch_normalization` and `BatchNormalization` as TF 1.15.5
had them, recorded by scripts/record_tf_layers.py and replayed on TF 2
against contrib_bn.layers, through `install()`, by tests/test_tf_layers.py.

TF-free: the recorder imports this module under Python 3.7 and TF 1.15.5.
Every function takes `tf` (`tf.compat.v1` of the release) and `api`, an object
with `batch_normalization`, `BatchNormalization` and `batch_norm` (the
contrib layer), so both releases build the very same graph.

A case's `build(tf, api, x, training)` returns the output tensor and a dict
of JSON facts (the class API's lists and names); it may raise, and then the
record holds TF 1.15's exception type and message. Each step fetches
outputs, loss and gradients in one `Session.run` and runs the train op in
another: TF1 reference variables race a combined fetch.
"""

import zlib

import numpy as np

STEPS = 3
LEARNING_RATE = 0.1
GRAPH_SEED = 5


def _ramp(start, step, count):
  return [float(start + step * i) for i in range(count)]


def _channels(x):
  return int(x.get_shape()[-1])


def _l2(tf, weight):
  return lambda w: tf.multiply(weight, tf.nn.l2_loss(tf.cast(w, tf.float32)))


def _fn(**kwargs):
  """A case calling the functional form once with `kwargs`."""
  def build(tf, api, x, training):
    return api.batch_normalization(x, training=training, **kwargs), {}
  return build


def _initializers(tf, api, x, training):
  c = _channels(x)
  return api.batch_normalization(
      x, training=training, momentum=0.9, epsilon=1e-2,
      gamma_initializer=tf.constant_initializer(_ramp(0.5, 0.25, c)),
      beta_initializer=tf.constant_initializer(_ramp(-0.2, 0.1, c)),
      moving_mean_initializer=tf.constant_initializer(_ramp(0.1, 0.05, c)),
      moving_variance_initializer=tf.constant_initializer(
          _ramp(1.5, 0.5, c))), {}


def _regularizers(tf, api, x, training):
  return api.batch_normalization(
      x, training=training, gamma_regularizer=_l2(tf, 0.05),
      beta_regularizer=_l2(tf, 0.02), name='regularized'), {}


def _constraints(tf, api, x, training):
  return api.batch_normalization(
      x, training=training,
      gamma_constraint=lambda w: tf.clip_by_value(w, 0.9, 1.02),
      beta_constraint=lambda w: tf.clip_by_value(w, -0.05, 0.05)), {}


def _renorm_clipped(tf, api, x, training):
  return api.batch_normalization(
      x, training=training, renorm=True, renorm_momentum=0.9,
      renorm_clipping={'rmax': 1.5, 'rmin': 0.7, 'dmax': 0.3}), {}


def _adjustment(tf, api, x, training):
  c = _channels(x)

  def adjustment(unused_shape):
    return (tf.constant(_ramp(0.9, 0.1, c), tf.float32),
            tf.constant(_ramp(-0.1, 0.05, c), tf.float32))
  return api.batch_normalization(x, training=training,
                                 adjustment=adjustment), {}


def _names(variables):
  return [v.name for v in variables]


def _describe_layer(layer):
  facts = {
      'name': layer.name,
      'scope_name': layer.scope_name,
      'variables': _names(layer.variables),
      'trainable_variables': _names(layer.trainable_variables),
      'trainable_weights': _names(layer.trainable_weights),
      'non_trainable_variables': _names(layer.non_trainable_variables),
      'updates': len(layer.updates),
      'losses': len(layer.losses),
  }
  for name in ('gamma', 'beta', 'moving_mean', 'moving_variance'):
    facts[name] = getattr(getattr(layer, name), 'name', None)
  return facts


def _class_api(tf, api, x, training):
  layer = api.BatchNormalization(momentum=0.9, gamma_regularizer=_l2(tf, 0.1),
                                 name='bn')
  first = layer.apply(x, training=training)
  # The second call reuses the variables. Its output stays out of the loss:
  # the train op updates the moving statistics it reads, in an order TF1
  # reference variables leave undefined.
  layer(x * 2.0 + 1.0, training=False)
  return first, _describe_layer(layer)


def _class_api_defaults(tf, api, x, training):
  del training  # the call's own default is what is recorded
  layer = api.BatchNormalization(axis=1, center=False)
  out = layer.apply(x)
  return out, _describe_layer(layer)


def _class_api_frozen(tf, api, x, training):
  layer = api.BatchNormalization(trainable=False, beta_regularizer=_l2(
      tf, 0.1))
  out = layer.apply(x, training=training)
  return out, _describe_layer(layer)


def _reuse(tf, api, x, training):
  first = api.batch_normalization(x, training=training, name='shared')
  second = api.batch_normalization(x * 0.5 - 1.0, training=training,
                                    name='shared', reuse=True)
  return first + second, {}


def _unique_names(tf, api, x, training):
  net = api.batch_normalization(x, training=training)
  net = api.batch_normalization(net * 2.0, training=training)
  with tf.variable_scope('block'):
    net = api.batch_normalization(net, training=training)
  net = api.batch_normalization(net, training=training)
  return net, {}


def _mixed_contrib(tf, api, x, training):
  net = api.batch_norm(x, is_training=training, scale=True, decay=0.9)
  net = api.batch_normalization(tf.nn.relu(net), training=training,
                                momentum=0.9)
  net = api.batch_norm(net, is_training=training, scope='after')
  return net, {}


def _unknown_shape(shape):
  def build(tf, api, x, training):
    del x
    unknown = tf.placeholder(tf.float32, shape, name='unknown')
    return api.batch_normalization(unknown, training=training), {}
  return build


def _case(case_id, build, shape, dtype='float32', training='true'):
  return {'id': case_id, 'build': build, 'shape': list(shape),
          'dtype': dtype, 'training': training}


CASES = [
    _case('rank2_train', _fn(), (8, 3)),
    _case('rank3_train', _fn(), (4, 3, 5)),
    _case('rank4_train', _fn(), (4, 3, 3, 2)),
    _case('rank5_train', _fn(), (2, 3, 2, 2, 3)),
    _case('rank4_placeholder', _fn(), (4, 3, 3, 2), training='placeholder'),
    _case('rank3_placeholder', _fn(), (4, 3, 5), training='placeholder'),
    _case('rank4_default', _fn(), (4, 3, 3, 2), training='default'),
    _case('rank2_default', _fn(), (8, 3), training='default'),
    _case('rank4_eval', _fn(), (4, 3, 3, 2), training='false'),
    _case('rank3_eval', _fn(), (4, 3, 5), training='false'),
    # Channels first at rank 4 picks TF 1.15's fused kernel, which refused
    # NCHW on CPU when run; fused=False takes the formulas.
    _case('rank4_axis1_unfused', _fn(axis=1, fused=False), (4, 3, 3, 2)),
    _case('rank4_axis_list3', _fn(axis=[3]), (4, 3, 3, 2)),
    _case('rank4_axis2', _fn(axis=2), (4, 3, 3, 2)),
    _case('rank4_axis_minus3_placeholder', _fn(axis=-3, fused=False),
          (4, 3, 2, 2),
          training='placeholder'),
    _case('rank3_axis1', _fn(axis=1), (4, 3, 5)),
    _case('rank2_axis0', _fn(axis=0), (3, 5)),
    _case('rank4_float16', _fn(), (4, 3, 3, 2), dtype='float16'),
    _case('rank2_float16', _fn(), (8, 3), dtype='float16'),
    _case('rank3_float16_placeholder', _fn(), (4, 3, 5), dtype='float16',
          training='placeholder'),
    _case('rank2_float64', _fn(), (8, 3), dtype='float64'),
    _case('rank4_float64_unfused', _fn(fused=False), (4, 3, 3, 2),
          dtype='float64'),
    _case('rank4_float64_default_fused', _fn(), (4, 3, 3, 2),
          dtype='float64'),
    _case('rank4_fused_true', _fn(fused=True), (4, 3, 3, 2)),
    _case('rank4_fused_false', _fn(fused=False), (4, 3, 3, 2)),
    _case('rank3_fused_true', _fn(fused=True), (4, 3, 5)),
    _case('rank4_fused_false_placeholder', _fn(fused=False), (4, 3, 3, 2),
          training='placeholder'),
    _case('no_center', _fn(center=False), (4, 3, 3, 2)),
    _case('no_scale_rank3', _fn(scale=False), (4, 3, 5)),
    _case('no_center_no_scale_rank2', _fn(center=False, scale=False), (8, 3)),
    _case('initializers_rank4', _initializers, (4, 3, 3, 2)),
    _case('initializers_rank2_placeholder', _initializers, (8, 3),
          training='placeholder'),
    _case('regularizers', _regularizers, (4, 3, 3, 2)),
    _case('constraints', _constraints, (8, 3)),
    _case('renorm_clipping_rank4', _renorm_clipped, (4, 3, 3, 2)),
    _case('renorm_rank2_placeholder', _fn(renorm=True), (8, 3),
          training='placeholder'),
    _case('renorm_fused_true', _fn(renorm=True, fused=True), (4, 3, 3, 2)),
    _case('adjustment_rank2', _adjustment, (8, 3)),
    _case('trainable_false', _fn(trainable=False), (4, 3, 3, 2)),
    _case('class_api', _class_api, (4, 3, 3, 2)),
    _case('class_api_placeholder', _class_api, (8, 3),
          training='placeholder'),
    _case('class_api_call_defaults', _class_api_defaults, (4, 3, 5)),
    _case('class_api_frozen', _class_api_frozen, (4, 3, 3, 2)),
    # Inference calls: two training calls would update the same moving
    # statistics twice in one step, in an order neither release defines.
    _case('reuse_by_name', _reuse, (4, 3, 3, 2), training='false'),
    _case('unique_names', _unique_names, (4, 3, 3, 2)),
    _case('mixed_with_contrib_batch_norm', _mixed_contrib, (4, 3, 3, 2)),
    _case('mixed_with_contrib_batch_norm_placeholder', _mixed_contrib,
          (8, 3), training='placeholder'),
    # TF 1.15's errors for bad arguments.
    _case('error_axis_type', _fn(axis='channels'), (4, 3)),
    _case('error_axis_tuple', _fn(axis=(1,)), (4, 3)),
    _case('error_invalid_axis', _fn(axis=4), (4, 3, 3, 2)),
    _case('error_invalid_negative_axis', _fn(axis=-5), (4, 3, 3, 2)),
    _case('error_duplicate_axis', _fn(axis=[1, -3]), (4, 3, 3, 2)),
    _case('error_renorm_clipping_key', _fn(
        renorm=True, renorm_clipping={'rmax': 2.0, 'r_max': 3.0}), (4, 3)),
    _case('error_unknown_rank', _unknown_shape(None), (4, 3)),
    _case('error_undefined_channels', _unknown_shape([None, 3, None]),
          (4, 3)),
]


def case_ids():
  return [case['id'] for case in CASES]


def case_by_id(case_id):
  for case in CASES:
    if case['id'] == case_id:
      return case
  raise KeyError('no tf.layers case %r' % case_id)


def case_data(case):
  """Deterministic (input, target) arrays of a case."""
  rng = np.random.RandomState(zlib.crc32(case['id'].encode('utf-8')))
  shape = case['shape']
  offsets = rng.uniform(-1.0, 1.0, size=shape[-1:])
  data = rng.normal(0.3, 1.5, size=shape) + offsets
  target = rng.normal(0.0, 1.0, size=shape)
  return data.astype(case['dtype']), target.astype('float32')


def error_record(error):
  """What legacy code sees of an exception: its type and message."""
  message = str(error)
  # TF 1.15 wraps errors raised in AutoGraph-converted layer code in a trace
  # naming local files; the last line holds `Type: message`.
  if message.startswith('in converted code:'):
    message = [line.strip() for line in message.splitlines()
               if line.strip()][-1]
    prefix = type(error).__name__ + ': '
    if message.startswith(prefix):
      message = message[len(prefix):]
  return {'type': type(error).__name__, 'message': message}


def _training_value(tf, kind):
  """`training` of a kind: 'true' or 'false' (Python bools), 'placeholder'
  (fed True in training) or 'default' (placeholder_with_default(True), left
  unfed)."""
  if kind == 'placeholder':
    return tf.placeholder(tf.bool, [], name='training')
  if kind == 'default':
    return tf.placeholder_with_default(True, [], name='training')
  return kind == 'true'


class Built(object):
  """The tensors and ops of one case's graph."""

  def __init__(self):
    self.kind = None
    self.x = self.target = self.training = None
    self.output = self.loss = self.train = None
    self.info = {}
    self.grad_names = []
    self.grads = []


def build(tf, api, case, training_kind=None):
  """Builds a case in the current graph; may raise TF's error for it.

  Args:
    tf: `tf.compat.v1` of the release.
    api: the layer functions (see the module docstring).
    case: one of CASES.
    training_kind: overrides the case's training kind ('false' for the
      inference graph a TF1 checkpoint is restored into).

  Returns:
    A `Built`.
  """
  tf.set_random_seed(GRAPH_SEED)
  built = Built()
  kind = training_kind or case['training']
  built.kind = kind
  built.x = tf.placeholder(tf.as_dtype(case['dtype']), case['shape'],
                           name='input')
  built.training = _training_value(tf, kind)
  built.output, built.info = case['build'](tf, api, built.x, built.training)
  built.target = tf.placeholder(tf.float32, case['shape'], name='target')
  out32 = tf.cast(built.output, tf.float32)
  loss = tf.reduce_sum(out32 * built.target) + 0.25 * tf.reduce_sum(
      tf.square(out32))
  regularization = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
  if regularization:
    loss += tf.add_n(regularization)
  built.loss = loss
  trainable = tf.trainable_variables()
  grads = tf.gradients(loss, [built.x] + trainable)
  for name, grad in zip(['input'] + [v.op.name for v in trainable], grads):
    if grad is not None:
      built.grad_names.append(name)
      built.grads.append(grad)
  ops = list(tf.get_collection(tf.GraphKeys.UPDATE_OPS))
  if trainable:
    ops.append(tf.train.GradientDescentOptimizer(LEARNING_RATE).minimize(
        loss, var_list=trainable))
  built.train = tf.group(*ops)
  return built


def _shape(tensor):
  shape = tensor.get_shape()
  return None if shape.ndims is None else [
      d if d is None else int(d) for d in shape.as_list()]


def structure(tf, built):
  """The graph facts TF1 code and checkpoints depend on."""
  def names(key):
    return [v.op.name for v in tf.get_collection(key)]

  return {
      'global_variables': [[v.op.name, _shape(v), v.dtype.base_dtype.name]
                           for v in tf.global_variables()],
      'trainable_variables': names(tf.GraphKeys.TRAINABLE_VARIABLES),
      'model_variables': names(tf.GraphKeys.MODEL_VARIABLES),
      'update_ops': len(tf.get_collection(tf.GraphKeys.UPDATE_OPS)),
      'regularization_losses': len(
          tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)),
      'output': {'shape': _shape(built.output),
                 'dtype': built.output.dtype.name},
      'grads': list(built.grad_names),
      'info': built.info,
  }


def session_config(tf):
  return tf.ConfigProto(intra_op_parallelism_threads=1,
                        inter_op_parallelism_threads=1)


def train(tf, session, built, data, target):
  """`STEPS` steps from the initial values; the arrays to compare."""
  arrays = {}
  # Only a plain placeholder is fed: a placeholder_with_default is left to
  # its default, as code relying on it does.
  feed = {built.x: data, built.target: target}
  if built.kind == 'placeholder':
    feed[built.training] = True
  for step in range(STEPS):
    fetched = session.run({'output': built.output, 'loss': built.loss,
                           'grads': built.grads}, feed)
    arrays['step%d/output' % step] = fetched['output']
    arrays['step%d/loss' % step] = np.asarray(fetched['loss'])
    for name, value in zip(built.grad_names, fetched['grads']):
      arrays['step%d/grad/%s' % (step, name)] = np.asarray(value)
    session.run(built.train, feed)
  variables = tf.global_variables()
  for variable, value in zip(variables, session.run(variables)):
    arrays['var/%s' % variable.op.name] = np.asarray(value)
  return arrays


def infer(session, built, data):
  """The output of an inference graph (`training_kind='false'`)."""
  return session.run(built.output, {built.x: data})
