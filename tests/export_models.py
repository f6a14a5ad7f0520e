"""Small legacy models in the model-file form, for the export tests.

Each public `build_*` function builds into the default graph and returns the
model-file dict (`contrib_bn/tools/model_file.py`). With `is_training=None`
the layers switch on an `is_training` placeholder (default True) and the
dict has a train op, so the tests can train a few steps and save a
checkpoint with moving statistics, gamma and beta away from their initial
values; with a Python bool the mode is static, as the export builds it.

Written in the style `tf_upgrade_v2` leaves: `tf.contrib` on
`tensorflow.compat.v1`, which the model-file loader provides.
"""

import tensorflow.compat.v1 as tf

HEIGHT = WIDTH = 6
CHANNELS = 3
GRAPH_SEED = 3


def _start(is_training, channels=CHANNELS):
  tf.set_random_seed(GRAPH_SEED)
  images = tf.placeholder(tf.float32, [None, HEIGHT, WIDTH, channels],
                          name='images')
  switch = tf.placeholder_with_default(True, [], name='is_training')
  mode = switch if is_training is None else is_training
  return images, switch, mode


def _conv(net, filters, scope, bias=False):
  with tf.variable_scope(scope):
    kernel = tf.get_variable(
        'weights', [3, 3, net.get_shape().as_list()[-1], filters],
        initializer=tf.truncated_normal_initializer(stddev=0.3))
    net = tf.nn.conv2d(net, kernel, [1, 1, 1, 1], 'SAME')
    if bias:
      biases = tf.get_variable('biases', [filters],
                               initializer=tf.constant_initializer(0.1))
      net = tf.nn.bias_add(net, biases)
    return net


def _dense(net, units, scope):
  with tf.variable_scope(scope):
    weights = tf.get_variable(
        'weights', [net.get_shape().as_list()[-1], units],
        initializer=tf.truncated_normal_initializer(stddev=0.3))
    biases = tf.get_variable('biases', [units],
                             initializer=tf.constant_initializer(0.2))
    return tf.matmul(net, weights) + biases


def _finish(images, outputs, switch, is_training):
  """Adds a loss and a train op that also runs the moving-average updates."""
  loss = tf.add_n([tf.reduce_mean(tf.square(o - 1.0))
                   for o in outputs.values()])
  update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
  with tf.control_dependencies(update_ops):
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
  model = {'inputs': {'images': images}, 'outputs': outputs, 'loss': loss,
           'train_op': train_op}
  if is_training is None:
    model['is_training'] = switch
  return model


def build_nchw(is_training=None):
  """Batch norms on NCHW tensors: fused kernel, and non-fused (reshaped
  parameters); CPU convolutions are NHWC, so transposes surround them."""
  images, switch, mode = _start(is_training)
  bn = tf.contrib.layers.batch_norm
  net = _conv(images, 4, 'conv1')
  net = tf.transpose(net, [0, 3, 1, 2])
  net = bn(net, is_training=mode, data_format='NCHW', scale=True, decay=0.5,
           scope='bn_fused')
  net = tf.nn.relu(net)
  net = bn(net, is_training=mode, data_format='NCHW', scale=True, decay=0.5,
           fused=False, scope='bn_plain')
  net = tf.transpose(net, [0, 2, 3, 1])
  return _finish(images, {'features': tf.reduce_mean(net, [1, 2])}, switch,
                 is_training)


def build_zero_debias(is_training=None):
  """A zero-debiased layer (fused path, epsilon below the kernel's floor)
  after a conv with a bias add, and a plain moments-path layer."""
  images, switch, mode = _start(is_training)
  bn = tf.contrib.layers.batch_norm
  net = _conv(images, 4, 'conv1', bias=True)
  net = bn(net, is_training=mode, zero_debias_moving_mean=True, scale=True,
           decay=0.5, epsilon=1e-7, scope='debiased')
  net = tf.nn.relu(net)
  net = _conv(net, 4, 'conv2')
  net = bn(net, is_training=mode, fused=False, decay=0.5,
           updates_collections=None, center=False, scope='moments')
  return _finish(images, {'features': tf.reduce_mean(net, [1, 2])}, switch,
                 is_training)


def build_renorm(is_training=None):
  """A batch-renormalization layer (core path, non-fused)."""
  images, switch, mode = _start(is_training)
  net = _conv(images, 4, 'conv1')
  net = tf.contrib.layers.batch_norm(
      net, is_training=mode, renorm=True, scale=True, decay=0.5,
      renorm_clipping={'rmax': 3.0, 'rmin': 0.3, 'dmax': 5.0},
      renorm_decay=0.5, scope='renorm')
  return _finish(images, {'features': tf.reduce_mean(net, [1, 2])}, switch,
                 is_training)


def build_activation(is_training=None):
  """`activation_fn`, an activation between conv and batch norm, a conv
  output with a second consumer, and rank-2 layers after a matmul + bias."""
  images, switch, mode = _start(is_training)
  bn = tf.contrib.layers.batch_norm
  net = _conv(images, 4, 'conv1')
  net = bn(net, is_training=mode, activation_fn=tf.nn.relu, scale=True,
           decay=0.5, scope='bn_act')
  net = tf.nn.relu(_conv(net, 4, 'conv2'))
  net = bn(net, is_training=mode, scale=True, decay=0.5, scope='after_relu')
  conv3 = _conv(net, 4, 'conv3')
  net = bn(conv3, is_training=mode, decay=0.5, scope='shared_input') + conv3
  features = tf.reduce_mean(net, [1, 2])
  dense = _dense(features, 3, 'dense')
  plain = bn(dense, is_training=mode, fused=False, scale=True, decay=0.5,
             scope='dense_bn')
  fused = bn(_dense(features, 3, 'dense2'), is_training=mode, scale=True,
             decay=0.5, scope='dense_fused')
  return _finish(images, {'plain': plain, 'fused': fused}, switch,
                 is_training)


def build_shared(is_training=None):
  """One batch norm applied to two conv outputs through `reuse`."""
  images, switch, mode = _start(is_training)
  bn = tf.contrib.layers.batch_norm
  left = bn(_conv(images, 4, 'left'), is_training=mode, scale=True,
            decay=0.5, scope='shared')
  right = bn(_conv(images, 4, 'right'), is_training=mode, scale=True,
             decay=0.5, scope='shared', reuse=True)
  return _finish(images, {'left': tf.reduce_mean(left, [1, 2]),
                          'right': tf.reduce_mean(right, [1, 2])}, switch,
                 is_training)


# ---- variants for the bad-input tests


def build_wider(is_training=None):
  """build_renorm's variables with a different shape (8 filters, not 4)."""
  images, switch, mode = _start(is_training)
  net = _conv(images, 8, 'conv1')
  net = tf.contrib.layers.batch_norm(net, is_training=mode, renorm=True,
                                     scale=True, scope='renorm')
  return _finish(images, {'features': tf.reduce_mean(net, [1, 2])}, switch,
                 is_training)


def build_extra_layer(is_training=None):
  """build_renorm plus a layer its checkpoint lacks."""
  model = build_renorm(is_training)
  mode = model.get('is_training', is_training)
  net = tf.contrib.layers.batch_norm(model['outputs']['features'],
                                     is_training=mode, scope='extra')
  model['outputs'] = {'features': net}
  return model


def build_hidden_placeholder(is_training=None):
  """An output reads a placeholder missing from `inputs`."""
  model = build_renorm(is_training)
  offset = tf.placeholder(tf.float32, [], name='offset')
  model['outputs'] = {'features': model['outputs']['features'] + offset}
  return model


def build_without_mode():
  """A function that cannot be told the mode."""
  return build_renorm(None)
