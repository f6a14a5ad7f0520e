"""How each case of the `tf.layers` batch-normalization corpus is run.

The graph around a case of tf_layers_cases (input and target placeholders,
`training` of the case's kind, a loss with the regularization losses, its
gradients and an SGD train op grouped with UPDATE_OPS), the facts recorded
of it, the training steps and the inference graph. Shared by
scripts/record_tf_layers.py under TF 1.15.5 and the replay on TF 2
(contrib_bn.conformance.verify_tf_layers), so both releases build the very
same graph; the tf.layers neighbours corpus reuses its `Built`,
`attach_loss_and_train`, `structure`, `session_config` and `error_record`.

TF-free: every function takes `tf` (`tf.compat.v1` of the release). Each
step fetches outputs, loss and gradients in one `Session.run` and runs the
train op in another: TF1 reference variables race a combined fetch.
"""

import zlib

import numpy as np

from contrib_bn.conformance import harness

STEPS = 3
LEARNING_RATE = 0.1
GRAPH_SEED = 5


# The building blocks of the catalogues' cases.


def ramp(start, step, count):
  return [float(start + step * i) for i in range(count)]


def channels(x):
  return int(x.get_shape()[-1])


def l2(tf, weight):
  return lambda w: tf.multiply(weight, tf.nn.l2_loss(tf.cast(w, tf.float32)))


def fn(**kwargs):
  """A case calling the functional form once with `kwargs`."""
  def build_case(tf, api, x, training):
    return api.batch_normalization(x, training=training, **kwargs), {}
  return build_case


def names(variables):
  """The names of `variables`, as the class API's facts list them."""
  return [v.name for v in variables]


def describe_layer(layer):
  """The class API's facts of a `BatchNormalization` after its calls."""
  facts = {
      'name': layer.name,
      'scope_name': layer.scope_name,
      'variables': names(layer.variables),
      'trainable_variables': names(layer.trainable_variables),
      'trainable_weights': names(layer.trainable_weights),
      'non_trainable_variables': names(layer.non_trainable_variables),
      'updates': len(layer.updates),
      'losses': len(layer.losses),
  }
  for name in ('gamma', 'beta', 'moving_mean', 'moving_variance'):
    facts[name] = getattr(getattr(layer, name), 'name', None)
  return facts


def unknown_shape(shape, **kwargs):
  """A case normalizing a placeholder of `shape` instead of the input."""
  def build_case(tf, api, x, training):
    del x
    unknown = tf.placeholder(tf.float32, shape, name='unknown')
    return api.batch_normalization(unknown, training=training, **kwargs), {}
  return build_case


def case(case_id, build_case, shape, dtype='float32', training='true'):
  """A case record: `build_case(tf, api, x, training)` on an input of
  `shape` and `dtype`, with `training` of a kind `build` knows."""
  return {'id': case_id, 'build': build_case, 'shape': list(shape),
          'dtype': dtype, 'training': training}



# Running a case.


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
  attach_loss_and_train(tf, built, case['shape'], LEARNING_RATE)
  return built


def attach_loss_and_train(tf, built, target_shape, learning_rate):
  """Adds the target, the loss, its gradients and the train op to `built`.

  The loss is `sum(output * target) + 0.25 * sum(output ** 2)` in float32
  plus the graph's regularization losses, each cast to float32 (a float64
  layer's are float64; the cast of a float32 tensor adds no op, so the
  graph, and with it the values of unseeded initializers, stays as
  recorded). Gradients are taken for the input and every trainable
  variable, keeping those that exist; the train op groups UPDATE_OPS with
  an SGD step of `learning_rate`.

  Args:
    tf: `tf.compat.v1` of the release.
    built: a `Built` whose `x` and `output` are set.
    target_shape: the shape of the target placeholder.
    learning_rate: the SGD step's.
  """
  built.target = tf.placeholder(tf.float32, target_shape, name='target')
  out32 = tf.cast(built.output, tf.float32)
  loss = tf.reduce_sum(out32 * built.target) + 0.25 * tf.reduce_sum(
      tf.square(out32))
  regularization = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
  if regularization:
    loss += tf.add_n([tf.cast(r, tf.float32) for r in regularization])
  built.loss = loss
  trainable = tf.trainable_variables()
  grads = tf.gradients(loss, [built.x] + trainable)
  for name, grad in zip(['input'] + [v.op.name for v in trainable], grads):
    if grad is not None:
      built.grad_names.append(name)
      built.grads.append(grad)
  ops = list(tf.get_collection(tf.GraphKeys.UPDATE_OPS))
  if trainable:
    ops.append(tf.train.GradientDescentOptimizer(learning_rate).minimize(
        loss, var_list=trainable))
  built.train = tf.group(*ops)


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


session_config = harness.session_config


def train(tf, session, built, data, target, steps=STEPS):
  """`steps` steps from the variables' current values; the arrays to compare."""
  arrays = {}
  # Only a plain placeholder is fed: a placeholder_with_default is left to
  # its default, as code relying on it does.
  feed = {built.x: data, built.target: target}
  if built.kind == 'placeholder':
    feed[built.training] = True
  for step in range(steps):
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
