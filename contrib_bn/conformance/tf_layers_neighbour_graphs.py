"""What each golden case of TF 1.15's `tf.layers` neighbours builds.

The graph builders of contrib_bn/conformance/tf_layers_neighbours.py's
cases: `build(tf, api, x, training)` returns the case's output and the
class-API facts it records. `tf` is `tf.compat.v1` of TF 1.15.5 or TF 2,
`api` an object holding the `tf.layers` names, so that both releases build
the very same graph. Initializers carry op seeds, except where a case keeps
the default initializer on purpose.

TF-free: the recorder imports this module under Python 3.7 and TF 1.15.5.
"""


def glorot(tf, seed):
  return tf.glorot_uniform_initializer(seed=seed)


def l2(tf, weight):
  return lambda w: tf.multiply(weight, tf.nn.l2_loss(w))


def _names(variables):
  return [v.name for v in variables]


def describe(layer, attributes=('kernel', 'bias')):
  """The class API's facts of a layer, with its `attributes`' names."""
  facts = {'name': layer.name, 'scope_name': layer.scope_name,
           'variables': _names(layer.variables),
           'trainable_variables': _names(layer.trainable_variables),
           'non_trainable_variables': _names(layer.non_trainable_variables),
           'losses': len(layer.losses)}
  for name in attributes:
    if hasattr(layer, name):
      facts[name] = getattr(getattr(layer, name), 'name', None)
  return facts


def network(tf, api, x, training):
  net = api.conv2d(x, 4, 3, padding='same', kernel_initializer=glorot(tf, 1),
                   name='conv')
  net = api.batch_normalization(net, training=training, momentum=0.9)
  net = tf.nn.relu(net)
  net = api.max_pooling2d(net, 2, 2)
  net = api.conv2d_transpose(net, 3, 3, strides=2, padding='SAME',
                             activation=tf.nn.relu,
                             kernel_initializer=glorot(tf, 2))
  net = api.flatten(net)
  net = api.dropout(net, 0.25, seed=3, training=training)
  return api.dense(net, 5, kernel_initializer=glorot(tf, 4)), {}


def network_eval_dropout(tf, api, x, training):
  net = api.conv2d(x, 3, (2, 3), strides=(1, 2), activation=tf.nn.relu,
                   kernel_initializer=glorot(tf, 5),
                   bias_initializer=tf.constant_initializer(0.1))
  net = api.average_pooling2d(net, (2, 1), (1, 1), padding='same')
  net = api.batch_normalization(net, training=training)
  net = api.flatten(net)
  net = api.dropout(net, 0.5, training=False)
  return api.dense(net, 4, activation=tf.nn.tanh,
                   kernel_initializer=glorot(tf, 6)), {}


def one(function, **kwargs):
  """A case applying `api.<function>` once, seeding its kernels."""
  def build(tf, api, x, training):
    del training
    arguments = dict(kwargs)
    seed_kernel = arguments.pop('seed_kernel', True)
    if seed_kernel and function in _SEPARABLE:
      arguments.setdefault('depthwise_initializer', glorot(tf, 11))
      arguments.setdefault('pointwise_initializer', glorot(tf, 12))
    elif seed_kernel and function not in _NO_KERNEL:
      arguments.setdefault('kernel_initializer', glorot(tf, 11))
    for key in ('kernel_regularizer', 'bias_regularizer',
                'activity_regularizer', 'depthwise_regularizer',
                'pointwise_regularizer'):
      if arguments.get(key) == 'l2':
        arguments[key] = l2(tf, 0.03)
    if arguments.get('activation') == 'relu':
      arguments['activation'] = tf.nn.relu
    for key in ('kernel_constraint', 'bias_constraint',
                'depthwise_constraint', 'pointwise_constraint'):
      if arguments.get(key) == 'clip':
        arguments[key] = lambda w: tf.clip_by_value(w, -0.2, 0.2)
    return getattr(api, function)(x, **arguments), {}
  return build


_SEPARABLE = ('separable_conv1d', 'separable_conv2d')
_NO_KERNEL = ('max_pooling1d', 'max_pooling2d', 'max_pooling3d',
              'average_pooling1d', 'average_pooling2d', 'average_pooling3d',
              'flatten', 'dropout')


def dropout(rate, seed, noise_shape=None):
  def build(tf, api, x, training):
    del tf
    return api.dropout(x, rate, noise_shape=noise_shape, seed=seed,
                       training=training), {}
  return build


def dense_class(tf, api, x, training):
  del training
  layer = api.Dense(3, kernel_initializer=glorot(tf, 21),
                    kernel_regularizer=l2(tf, 0.1), name='head')
  first = layer.apply(x)
  # A second call reuses the variables; its loss is not added twice.
  second = layer(x * 0.5)
  return first + second, describe(layer)


def conv_class(tf, api, x, training):
  del training
  layer = api.Conv2D(2, 2, use_bias=False, kernel_initializer=glorot(tf, 22),
                     activity_regularizer=l2(tf, 0.01))
  out = layer.apply(x)
  return out, describe(layer)


def frozen(tf, api, x, training):
  del training
  layer = api.Dense(3, trainable=False, kernel_initializer=glorot(tf, 23))
  frozen = layer.apply(x)
  return api.dense(frozen, 2, kernel_initializer=glorot(tf, 24)), describe(
      layer)


def reuse(tf, api, x, training):
  del training
  first = api.dense(x, 3, kernel_initializer=glorot(tf, 25),
                    kernel_regularizer=l2(tf, 0.1), name='shared')
  second = api.dense(x * 2.0, 3, kernel_regularizer=l2(tf, 0.1),
                     name='shared', reuse=True)
  conv = api.conv1d(tf.expand_dims(x, 2), 2, 1, name='c',
                    kernel_initializer=glorot(tf, 26))
  again = api.conv1d(tf.expand_dims(x, 2) - 1.0, 2, 1, name='c', reuse=True)
  return tf.concat([first + second, tf.reduce_sum(conv + again, 1)], 1), {}


def unique_names(tf, api, x, training):
  del training
  layers = [api.Dense(4, kernel_initializer=glorot(tf, 31)),
            api.Dense(4, kernel_initializer=glorot(tf, 32))]
  net = layers[0].apply(x)
  net = api.dense(net, 4, kernel_initializer=glorot(tf, 33))
  with tf.variable_scope('block'):
    net = api.dense(net, 4, kernel_initializer=glorot(tf, 34))
    net = layers[1].apply(net)
  net = api.dense(net, 3, kernel_initializer=glorot(tf, 35), name='dense_9')
  net = api.dense(net, 3, kernel_initializer=glorot(tf, 36))
  pooled = api.max_pooling1d(tf.expand_dims(net, 2), 1, 1)
  pooled = api.max_pooling1d(pooled, 1, 1)
  return tf.squeeze(pooled, 2), {
      'names': [layer.name for layer in layers],
      'scopes': [layer.scope_name for layer in layers]}


def scope_initializer(tf, api, x, training):
  del training
  with tf.variable_scope('init', initializer=tf.constant_initializer(0.05)):
    net = api.conv2d(x, 2, 2)
    net = api.dense(api.flatten(net), 2, bias_initializer=None)
  return net, {}


def unknown_input(function, shape, **kwargs):
  def build(tf, api, x, training):
    del x, training
    unknown = tf.placeholder(tf.float32, shape, name='unknown')
    return getattr(api, function)(unknown, **kwargs), {}
  return build


# Separable and transposed 3-D convolutions.

_SEPARABLE_FACTS = ('kernel', 'depthwise_kernel', 'pointwise_kernel', 'bias')


def separable_network(tf, api, x, training):
  """separable_conv2d -> batch_normalization -> ... -> separable_conv1d."""
  net = api.separable_conv2d(x, 6, 3, padding='same', depth_multiplier=2,
                             depthwise_initializer=glorot(tf, 41),
                             pointwise_initializer=glorot(tf, 42),
                             name='sep')
  net = api.batch_normalization(net, training=training, momentum=0.9)
  net = tf.nn.relu(net)
  net = api.max_pooling2d(net, 2, 2)
  net = api.separable_conv2d(net, 4, (2, 3), strides=2, use_bias=False,
                             depthwise_initializer=glorot(tf, 43),
                             pointwise_initializer=glorot(tf, 44))
  net = api.batch_normalization(net, training=training)
  shape = net.get_shape().as_list()
  net = tf.reshape(tf.nn.relu(net), [shape[0], shape[1] * shape[2], shape[3]])
  net = api.separable_conv1d(net, 3, 2, padding='causal', dilation_rate=2,
                             activation=tf.nn.relu,
                             depthwise_initializer=glorot(tf, 45),
                             pointwise_initializer=glorot(tf, 46))
  net = api.flatten(net)
  return api.dense(net, 3, kernel_initializer=glorot(tf, 47)), {}


def transposed_network(tf, api, x, training):
  """conv3d -> batch_normalization -> conv3d_transpose, twice upsampled."""
  net = api.conv3d(x, 4, 2, strides=2, kernel_initializer=glorot(tf, 51))
  net = api.batch_normalization(net, training=training, axis=-1)
  net = tf.nn.relu(net)
  net = api.conv3d_transpose(net, 3, 3, strides=2, padding='same',
                             kernel_initializer=glorot(tf, 52),
                             bias_initializer=tf.constant_initializer(0.2))
  net = api.conv3d_transpose(net, 2, (1, 2, 2), strides=(1, 2, 1),
                             activation=tf.nn.tanh,
                             kernel_initializer=glorot(tf, 53))
  return net, {}


def separable_class(tf, api, x, training):
  del training
  layer = api.SeparableConv2D(
      3, 2, depth_multiplier=2, depthwise_initializer=glorot(tf, 61),
      pointwise_initializer=glorot(tf, 62),
      pointwise_regularizer=l2(tf, 0.1), name='sepc')
  first = layer.apply(x)
  # A second call reuses the variables; its loss is not added twice.
  second = layer(x * 0.5)
  one_d = api.SeparableConv1D(3, 3, use_bias=False,
                              depthwise_initializer=glorot(tf, 63),
                              pointwise_initializer=glorot(tf, 64),
                              activity_regularizer=l2(tf, 0.01))
  shape = x.get_shape().as_list()
  out = one_d.apply(tf.reshape(x, [shape[0], shape[1] * shape[2], shape[3]]))
  return tf.reduce_mean(first + second, [1, 2]) + tf.reduce_mean(out, 1), {
      'separable_conv2d': describe(layer, _SEPARABLE_FACTS),
      'separable_conv1d': describe(one_d, _SEPARABLE_FACTS)}


def conv3d_transpose_class(tf, api, x, training):
  del training
  layer = api.Conv3DTranspose(2, (2, 1, 2), strides=(2, 1, 1),
                              kernel_initializer=glorot(tf, 65),
                              kernel_regularizer=l2(tf, 0.1),
                              bias_regularizer=l2(tf, 0.2))
  out = layer.apply(x) + layer(x - 1.0)
  return 0.2 * out, describe(layer)


def separable_frozen(tf, api, x, training):
  del training
  layer = api.SeparableConv2D(2, 2, trainable=False,
                              depthwise_initializer=glorot(tf, 66),
                              pointwise_initializer=glorot(tf, 67))
  frozen = layer.apply(x)
  return api.separable_conv2d(
      frozen, 2, 1, depthwise_initializer=glorot(tf, 68),
      pointwise_initializer=glorot(tf, 69)), describe(layer, _SEPARABLE_FACTS)


def separable_reuse(tf, api, x, training):
  del training
  first = api.separable_conv2d(x, 2, 2, name='shared',
                               depthwise_initializer=glorot(tf, 71),
                               pointwise_initializer=glorot(tf, 72),
                               depthwise_regularizer=l2(tf, 0.1))
  second = api.separable_conv2d(x * 0.5, 2, 2, name='shared', reuse=True,
                                depthwise_regularizer=l2(tf, 0.1))
  volume = tf.expand_dims(x, 1)
  up = api.conv3d_transpose(volume, 2, 2, name='up',
                            kernel_initializer=glorot(tf, 73))
  again = api.conv3d_transpose(volume + 1.0, 2, 2, name='up', reuse=True)
  return tf.concat([tf.reduce_mean(first + second, [1, 2]),
                    tf.reduce_mean(up - again, [1, 2, 3])], 1), {}


def separable_unique_names(tf, api, x, training):
  del training
  layers = [api.SeparableConv2D(2, 1, depthwise_initializer=glorot(tf, 74),
                                pointwise_initializer=glorot(tf, 75)),
            api.Conv3DTranspose(2, 1, kernel_initializer=glorot(tf, 76))]
  net = api.separable_conv2d(x, 2, 1, depthwise_initializer=glorot(tf, 77),
                             pointwise_initializer=glorot(tf, 78))
  with tf.variable_scope('block'):
    net = layers[0].apply(net)
    net = api.separable_conv2d(net, 2, 1,
                               depthwise_initializer=glorot(tf, 79),
                               pointwise_initializer=glorot(tf, 80))
  volume = layers[1].apply(tf.expand_dims(net, 1))
  volume = api.conv3d_transpose(volume, 2, 1,
                                kernel_initializer=glorot(tf, 81))
  return tf.squeeze(volume, 1), {
      'names': [layer.name for layer in layers],
      'scopes': [layer.scope_name for layer in layers]}


def separable_scope_initializer(tf, api, x, training):
  del training
  with tf.variable_scope('init', initializer=tf.constant_initializer(0.05)):
    net = api.separable_conv2d(x, 2, 2, depth_multiplier=2)
    net = api.conv3d_transpose(tf.expand_dims(net, 1), 2, 2,
                               bias_initializer=None)
  return net, {}
