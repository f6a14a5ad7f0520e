"""Golden cases of TF 1.15's `tf.layers` neighbours of batch normalization.

`dense`, `conv1d/2d/3d`, `conv2d_transpose`, the max and average pooling
layers, `dropout` and `flatten` (functions and classes) as TF 1.15.5 had
them, alone and in small networks with `batch_normalization`; recorded by
scripts/record_tf_layers_neighbours.py and replayed on TF 2 through
`install()` by tests/test_tf_layers_neighbours.py.

TF-free: the recorder imports this module under Python 3.7 and TF 1.15.5.
`api` is an object holding the `tf.layers` names of `NAMES`, so both
releases build the very same graph.

Random initial values come from op seeds (the graph seed is set), except in
cases marked `seeded=False`, which keep the default initializer without a
seed: its values depend on how many ops the graph holds, so the replay
loads TF 1.15's initial values before training and checks the default
initializer's distribution instead. Each step fetches outputs, loss and
gradients in one `Session.run` and runs the train op in another.

The module is over 400 lines because the case table is data, one entry
per case, beside the few builders the cases share.
"""

import zlib

import numpy as np

from contrib_bn.conformance import tf_layers_cases as _bn_cases

STEPS = 2
LEARNING_RATE = 0.05
GRAPH_SEED = 7
NAMES = ('AveragePooling1D', 'AveragePooling2D', 'AveragePooling3D',
         'BatchNormalization', 'Conv1D', 'Conv2D', 'Conv2DTranspose',
         'Conv3D', 'Dense', 'Dropout', 'Flatten', 'MaxPooling1D',
         'MaxPooling2D', 'MaxPooling3D', 'average_pooling1d',
         'average_pooling2d', 'average_pooling3d', 'batch_normalization',
         'conv1d', 'conv2d', 'conv2d_transpose', 'conv3d', 'dense',
         'dropout', 'flatten', 'max_pooling1d', 'max_pooling2d',
         'max_pooling3d')

error_record = _bn_cases.error_record
session_config = _bn_cases.session_config


def _glorot(tf, seed):
  return tf.glorot_uniform_initializer(seed=seed)


def _l2(tf, weight):
  return lambda w: tf.multiply(weight, tf.nn.l2_loss(w))


def _names(variables):
  return [v.name for v in variables]


def _describe(layer):
  facts = {'name': layer.name, 'scope_name': layer.scope_name,
           'variables': _names(layer.variables),
           'trainable_variables': _names(layer.trainable_variables),
           'non_trainable_variables': _names(layer.non_trainable_variables),
           'losses': len(layer.losses)}
  for name in ('kernel', 'bias'):
    if hasattr(layer, name):
      facts[name] = getattr(getattr(layer, name), 'name', None)
  return facts


def _network(tf, api, x, training):
  net = api.conv2d(x, 4, 3, padding='same', kernel_initializer=_glorot(tf, 1),
                   name='conv')
  net = api.batch_normalization(net, training=training, momentum=0.9)
  net = tf.nn.relu(net)
  net = api.max_pooling2d(net, 2, 2)
  net = api.conv2d_transpose(net, 3, 3, strides=2, padding='SAME',
                             activation=tf.nn.relu,
                             kernel_initializer=_glorot(tf, 2))
  net = api.flatten(net)
  net = api.dropout(net, 0.25, seed=3, training=training)
  return api.dense(net, 5, kernel_initializer=_glorot(tf, 4)), {}


def _network_eval_dropout(tf, api, x, training):
  net = api.conv2d(x, 3, (2, 3), strides=(1, 2), activation=tf.nn.relu,
                   kernel_initializer=_glorot(tf, 5),
                   bias_initializer=tf.constant_initializer(0.1))
  net = api.average_pooling2d(net, (2, 1), (1, 1), padding='same')
  net = api.batch_normalization(net, training=training)
  net = api.flatten(net)
  net = api.dropout(net, 0.5, training=False)
  return api.dense(net, 4, activation=tf.nn.tanh,
                   kernel_initializer=_glorot(tf, 6)), {}


def _one(function, **kwargs):
  """A case applying `api.<function>` once, seeding `kernel_initializer`."""
  def build(tf, api, x, training):
    del training
    arguments = dict(kwargs)
    if arguments.pop('seed_kernel', True) and function not in _NO_KERNEL:
      arguments.setdefault('kernel_initializer', _glorot(tf, 11))
    for key in ('kernel_regularizer', 'bias_regularizer',
                'activity_regularizer'):
      if arguments.get(key) == 'l2':
        arguments[key] = _l2(tf, 0.03)
    if arguments.get('activation') == 'relu':
      arguments['activation'] = tf.nn.relu
    for key in ('kernel_constraint', 'bias_constraint'):
      if arguments.get(key) == 'clip':
        arguments[key] = lambda w: tf.clip_by_value(w, -0.2, 0.2)
    return getattr(api, function)(x, **arguments), {}
  return build


_NO_KERNEL = ('max_pooling1d', 'max_pooling2d', 'max_pooling3d',
              'average_pooling1d', 'average_pooling2d', 'average_pooling3d',
              'flatten', 'dropout')


def _dropout(rate, seed, noise_shape=None):
  def build(tf, api, x, training):
    del tf
    return api.dropout(x, rate, noise_shape=noise_shape, seed=seed,
                       training=training), {}
  return build


def _dense_class(tf, api, x, training):
  del training
  layer = api.Dense(3, kernel_initializer=_glorot(tf, 21),
                    kernel_regularizer=_l2(tf, 0.1), name='head')
  first = layer.apply(x)
  # A second call reuses the variables; its loss is not added twice.
  second = layer(x * 0.5)
  return first + second, _describe(layer)


def _conv_class(tf, api, x, training):
  del training
  layer = api.Conv2D(2, 2, use_bias=False, kernel_initializer=_glorot(tf, 22),
                     activity_regularizer=_l2(tf, 0.01))
  out = layer.apply(x)
  return out, _describe(layer)


def _frozen(tf, api, x, training):
  del training
  layer = api.Dense(3, trainable=False, kernel_initializer=_glorot(tf, 23))
  frozen = layer.apply(x)
  return api.dense(frozen, 2, kernel_initializer=_glorot(tf, 24)), _describe(
      layer)


def _reuse(tf, api, x, training):
  del training
  first = api.dense(x, 3, kernel_initializer=_glorot(tf, 25),
                    kernel_regularizer=_l2(tf, 0.1), name='shared')
  second = api.dense(x * 2.0, 3, kernel_regularizer=_l2(tf, 0.1),
                     name='shared', reuse=True)
  conv = api.conv1d(tf.expand_dims(x, 2), 2, 1, name='c',
                    kernel_initializer=_glorot(tf, 26))
  again = api.conv1d(tf.expand_dims(x, 2) - 1.0, 2, 1, name='c', reuse=True)
  return tf.concat([first + second, tf.reduce_sum(conv + again, 1)], 1), {}


def _unique_names(tf, api, x, training):
  del training
  layers = [api.Dense(4, kernel_initializer=_glorot(tf, 31)),
            api.Dense(4, kernel_initializer=_glorot(tf, 32))]
  net = layers[0].apply(x)
  net = api.dense(net, 4, kernel_initializer=_glorot(tf, 33))
  with tf.variable_scope('block'):
    net = api.dense(net, 4, kernel_initializer=_glorot(tf, 34))
    net = layers[1].apply(net)
  net = api.dense(net, 3, kernel_initializer=_glorot(tf, 35), name='dense_9')
  net = api.dense(net, 3, kernel_initializer=_glorot(tf, 36))
  pooled = api.max_pooling1d(tf.expand_dims(net, 2), 1, 1)
  pooled = api.max_pooling1d(pooled, 1, 1)
  return tf.squeeze(pooled, 2), {
      'names': [layer.name for layer in layers],
      'scopes': [layer.scope_name for layer in layers]}


def _scope_initializer(tf, api, x, training):
  del training
  with tf.variable_scope('init', initializer=tf.constant_initializer(0.05)):
    net = api.conv2d(x, 2, 2)
    net = api.dense(api.flatten(net), 2, bias_initializer=None)
  return net, {}


def _unknown_input(function, shape, **kwargs):
  def build(tf, api, x, training):
    del x, training
    unknown = tf.placeholder(tf.float32, shape, name='unknown')
    return getattr(api, function)(unknown, **kwargs), {}
  return build


def _case(case_id, build, shape, dtype='float32', training='true',
          seeded=True):
  return {'id': case_id, 'build': build, 'shape': list(shape),
          'dtype': dtype, 'training': training, 'seeded': seeded}


CASES = [
    _case('network', _network, (2, 8, 8, 3)),
    _case('network_placeholder', _network, (2, 6, 6, 2),
          training='placeholder'),
    _case('network_eval_dropout', _network_eval_dropout, (3, 5, 7, 2)),
    _case('dense_default_initializer', _one('dense', units=4,
                                             seed_kernel=False), (5, 6),
          seeded=False),
    _case('conv2d_default_initializer', _one('conv2d', filters=3,
                                              kernel_size=2,
                                              seed_kernel=False),
          (2, 4, 4, 3), seeded=False),
    _case('dense_rank3_relu', _one('dense', units=3, activation='relu'),
          (2, 3, 4)),
    _case('dense_regularizers', _one(
        'dense', units=3, kernel_regularizer='l2', bias_regularizer='l2',
        activity_regularizer='l2'), (4, 5)),
    _case('dense_no_bias_constraint', _one(
        'dense', units=3, use_bias=False, kernel_constraint='clip'), (4, 5)),
    _case('dense_float64', _one('dense', units=2), (4, 3), dtype='float64'),
    _case('dense_class_api', _dense_class, (4, 5)),
    _case('dense_trainable_false', _frozen, (4, 5)),
    _case('reuse_by_name', _reuse, (4, 5)),
    _case('unique_names', _unique_names, (4, 5)),
    _case('scope_initializer', _scope_initializer, (2, 3, 3, 2)),
    _case('conv2d_same_strides_upper', _one(
        'conv2d', filters=3, kernel_size=3, strides=2, padding='SAME',
        activation='relu'), (2, 7, 6, 2)),
    _case('conv2d_dilation', _one('conv2d', filters=2, kernel_size=(2, 3),
                                  dilation_rate=2), (2, 7, 8, 3)),
    _case('conv2d_regularizers_constraints', _one(
        'conv2d', filters=2, kernel_size=2, kernel_regularizer='l2',
        bias_regularizer='l2', bias_constraint='clip'), (2, 4, 4, 2)),
    _case('conv2d_class_api', _conv_class, (2, 4, 4, 2)),
    _case('conv1d_causal_dilated', _one(
        'conv1d', filters=2, kernel_size=3, padding='causal',
        dilation_rate=2), (2, 9, 3)),
    _case('conv1d_valid_strides', _one('conv1d', filters=3, kernel_size=2,
                                       strides=2), (2, 9, 2)),
    _case('conv3d_same', _one('conv3d', filters=2, kernel_size=2,
                              padding='same'), (2, 3, 4, 3, 2)),
    _case('conv2d_transpose_valid', _one(
        'conv2d_transpose', filters=2, kernel_size=3, strides=2), (2, 3, 4, 3)),
    _case('conv2d_transpose_same_rect', _one(
        'conv2d_transpose', filters=3, kernel_size=(2, 3), strides=(2, 1),
        padding='same', activation='relu'), (2, 3, 3, 2)),
    _case('conv2d_transpose_channels_first', _one(
        'conv2d_transpose', filters=2, kernel_size=2, strides=2,
        data_format='channels_first'), (2, 3, 3, 4)),
    _case('max_pooling2d_same', _one('max_pooling2d', pool_size=3, strides=2,
                                     padding='same'), (2, 5, 6, 3)),
    _case('average_pooling2d_valid', _one(
        'average_pooling2d', pool_size=(2, 3), strides=(1, 2)), (2, 5, 7, 2)),
    _case('average_pooling2d_same_upper', _one(
        'average_pooling2d', pool_size=2, strides=2, padding='SAME'),
          (2, 5, 5, 2)),
    _case('max_pooling1d', _one('max_pooling1d', pool_size=2, strides=2),
          (2, 7, 3)),
    _case('average_pooling1d_channels_first', _one(
        'average_pooling1d', pool_size=3, strides=1, padding='same',
        data_format='channels_first'), (2, 3, 6)),
    _case('max_pooling3d_channels_first', _one(
        'max_pooling3d', pool_size=2, strides=2, data_format='channels_first'),
          (2, 2, 4, 4, 4)),
    _case('average_pooling3d_same', _one(
        'average_pooling3d', pool_size=(1, 2, 2), strides=(1, 2, 1),
        padding='same'), (2, 2, 3, 4, 2)),
    _case('flatten_rank3', _one('flatten'), (3, 2, 4)),
    _case('flatten_channels_first', _one('flatten',
                                         data_format='channels_first'),
          (2, 3, 2, 4)),
    _case('dropout_training_seeded', _dropout(0.4, 9), (6, 5)),
    _case('dropout_placeholder', _dropout(0.3, 10), (4, 3, 5),
          training='placeholder'),
    _case('dropout_noise_shape', _dropout(0.5, 12, noise_shape=[None, 1, 5]),
          (4, 3, 5)),
    _case('dropout_inference', _dropout(0.5, 13), (4, 5), training='false'),
    # TF 1.15's errors for bad arguments and inputs.
    _case('error_dense_rank1', _one('dense', units=2), (4,)),
    _case('error_dense_undefined_last', _unknown_input(
        'dense', [None, None], units=2), (4, 3)),
    _case('error_conv2d_rank3', _one('conv2d', filters=2, kernel_size=2),
          (2, 4, 4)),
    _case('error_conv2d_undefined_channels', _unknown_input(
        'conv2d', [2, 4, 4, None], filters=2, kernel_size=2), (4, 3)),
    _case('error_conv2d_padding', _one('conv2d', filters=2, kernel_size=2,
                                       padding='full'), (2, 4, 4, 2)),
    _case('error_conv2d_causal', _one('conv2d', filters=2, kernel_size=2,
                                      padding='causal'), (2, 4, 4, 2)),
    _case('error_conv2d_data_format', _one(
        'conv2d', filters=2, kernel_size=2, data_format='NHWC'),
          (2, 4, 4, 2)),
    _case('error_conv2d_kernel_size', _one('conv2d', filters=2,
                                           kernel_size=(2, 2, 2)),
          (2, 4, 4, 2)),
    _case('error_pool_size_element', _one('max_pooling2d', pool_size='ab',
                                          strides=1), (2, 4, 4, 2)),
    _case('error_dropout_rate', _dropout(1.0, 1), (4, 3)),
    _case('error_flatten_unknown_rank', _unknown_input('flatten', None),
          (4, 3)),
]


def case_ids():
  return [case['id'] for case in CASES]


def case_by_id(case_id):
  for case in CASES:
    if case['id'] == case_id:
      return case
  raise KeyError('no tf.layers neighbours case %r' % case_id)


def case_data(case):
  """The deterministic input array of a case."""
  rng = np.random.RandomState(zlib.crc32(case['id'].encode('utf-8')))
  return rng.normal(0.2, 1.2, size=case['shape']).astype(case['dtype'])


def target_data(case, shape):
  """The deterministic target for an output of static `shape`."""
  rng = np.random.RandomState(zlib.crc32(case['id'].encode('utf-8')) + 1)
  return rng.normal(0.0, 1.0, size=shape).astype('float32')


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
  """Builds a case in the current graph; may raise TF's error for it."""
  tf.set_random_seed(GRAPH_SEED)
  built = Built()
  kind = training_kind or case['training']
  built.kind = kind
  built.x = tf.placeholder(tf.as_dtype(case['dtype']), case['shape'],
                           name='input')
  if kind == 'placeholder':
    built.training = tf.placeholder(tf.bool, [], name='training')
  else:
    built.training = kind == 'true'
  built.output, built.info = case['build'](tf, api, built.x, built.training)
  built.target = tf.placeholder(tf.float32, built.output.get_shape(),
                                name='target')
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
    ops.append(tf.train.GradientDescentOptimizer(LEARNING_RATE).minimize(
        loss, var_list=trainable))
  built.train = tf.group(*ops)
  return built


structure = _bn_cases.structure


def initial_values(tf, session):
  """`init/var/<name>` arrays of the freshly initialized variables."""
  variables = tf.global_variables()
  return {'init/var/%s' % v.op.name: np.asarray(value)
          for v, value in zip(variables, session.run(variables))}


def train(tf, session, built, data, target):
  """`STEPS` steps from the current values; the arrays to compare."""
  arrays = {}
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
