"""Model files in each form the export accepts, for tests/test_export_forms.py.

Original TF1 style (`import tensorflow as tf`, `tf.contrib...`), as the
model-file loader runs it. None of these functions takes a parameter; each
makes its mode as legacy code did, so the export has to find it:

  build_deep        a `tf.placeholder(tf.bool, [])` made two calls below,
                    not returned; all three batch-norm paths
  build_returned    a placeholder_with_default, returned; tf.contrib.slim
                    conv2d + batch_norm under slim's arg_scope
  build_dropout     a placeholder_with_default, not returned, that also
                    gates dropout and two conditionals of the model's own
                    (one nested in the other)
  build_towers      one batch norm shared through `reuse` by a training
                    tower and an inference tower
  build_inference   inference only, is_training=False written in the code
                    (build_train is the same network for training)

Every mode placeholder is named 'is_training' (MODE), so the tests can feed
it without the export's discovery. The `build_bad_*` functions cannot be
exported; the line each test expects in the error carries a `# leftover`
comment.
"""

import tensorflow as tf

slim = tf.contrib.slim

HEIGHT = WIDTH = 6
CHANNELS = 3
MODE = 'is_training'


def _images(name='images'):
  tf.set_random_seed(5)
  return tf.placeholder(tf.float32, [None, HEIGHT, WIDTH, CHANNELS],
                        name=name)


def _conv(net, filters, scope):
  with tf.variable_scope(scope, reuse=tf.AUTO_REUSE):
    kernel = tf.get_variable(
        'weights', [3, 3, net.get_shape().as_list()[-1], filters],
        initializer=tf.truncated_normal_initializer(stddev=0.3, seed=1))
    return tf.nn.conv2d(net, kernel, [1, 1, 1, 1], 'SAME')


def _finish(images, outputs, extra=None):
  """The model dict, with a loss and a train op that runs the updates."""
  loss = tf.add_n([tf.reduce_mean(tf.square(o - 1.0))
                   for o in outputs.values()])
  with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
  model = {'inputs': {'images': images}, 'outputs': outputs, 'loss': loss,
           'train_op': train_op}
  model.update(extra or {})
  return model


def _mode():
  return tf.placeholder(tf.bool, [], name=MODE)


def _trunk(images):
  is_training = _mode()
  bn = tf.contrib.layers.batch_norm
  with tf.contrib.framework.arg_scope([bn], is_training=is_training,
                                      decay=0.5, scale=True):
    net = tf.nn.relu(bn(_conv(images, 4, 'conv1'), scope='core'))
    net = bn(_conv(net, 4, 'conv2'), zero_debias_moving_mean=True,
             scope='fused')
    net = bn(_conv(net, 4, 'conv3'), fused=False, updates_collections=None,
             scope='moments')
  return net


def build_deep():
  images = _images()
  net = _trunk(images)
  return _finish(images, {'features': tf.reduce_mean(net, [1, 2])})


def build_returned():
  images = _images()
  is_training = tf.placeholder_with_default(True, [], name=MODE)
  with slim.arg_scope([slim.batch_norm], is_training=is_training, decay=0.5,
                      scale=True):
    net = slim.conv2d(images, 4, [3, 3], normalizer_fn=slim.batch_norm,
                      scope='conv1')
    net = slim.conv2d(net, 4, [3, 3], normalizer_fn=slim.batch_norm,
                      scope='conv2')
  return _finish(images, {'features': tf.reduce_mean(net, [1, 2])},
                 {'is_training': is_training})


def build_dropout():
  images = _images()
  is_training = tf.placeholder_with_default(True, [], name=MODE)
  bn = tf.contrib.layers.batch_norm
  net = bn(_conv(images, 4, 'conv1'), is_training=is_training, decay=0.5,
           scale=True, scope='bn1')
  net = tf.cond(is_training, lambda: tf.nn.dropout(net, rate=0.5),
                lambda: net)
  # The model's own conditionals: a train-time noise term, and inside the
  # inference branch another on the negated mode.
  net = tf.cond(
      is_training,
      lambda: net + tf.random.normal(tf.shape(net), stddev=0.1),
      lambda: tf.cond(tf.logical_not(is_training), lambda: net * 0.5,
                      lambda: net))
  net = bn(_conv(net, 4, 'conv2'), is_training=is_training, fused=False,
           decay=0.5, scope='bn2')
  return _finish(images, {'features': tf.reduce_mean(net, [1, 2])})


def _tower(images, is_training, reuse):
  bn = tf.contrib.layers.batch_norm
  net = bn(_conv(images, 4, 'conv1'), is_training=is_training, reuse=reuse,
           decay=0.5, scale=True, scope='shared')
  return tf.reduce_mean(tf.nn.relu(net), [1, 2])


def build_towers():
  images = _images()
  train_images = _images('train_images')
  train = _tower(train_images, True, None)
  infer = _tower(images, False, True)
  model = _finish(train_images, {'train': train})
  model['inputs'] = {'images': images, 'train_images': train_images}
  model['outputs'] = {'features': infer}
  return model


def _classifier(images, is_training):
  with slim.arg_scope([slim.batch_norm], is_training=is_training,
                      decay=0.5):
    net = slim.conv2d(images, 4, [3, 3], normalizer_fn=slim.batch_norm,
                      scope='conv1')
    net = tf.contrib.layers.batch_norm(_conv(net, 4, 'conv2'),
                                       is_training=is_training, renorm=True,
                                       decay=0.5, scope='renorm')
  return tf.reduce_mean(net, [1, 2])


def build_train():
  images = _images()
  is_training = tf.placeholder_with_default(True, [], name=MODE)
  return _finish(images, {'features': _classifier(images, is_training)},
                 {'is_training': is_training})


def build_inference():
  images = _images()
  return {'inputs': {'images': images},
          'outputs': {'features': _classifier(images, False)}}


# ---- models the export must refuse, naming the op and this file's line


def build_bad_raw_kernel():
  """A batch norm contrib_bn does not build: a training-mode kernel."""
  images = _images()
  net = _conv(images, 4, 'conv1')
  scale = tf.get_variable('scale', [4], initializer=tf.ones_initializer())
  offset = tf.get_variable('offset', [4], initializer=tf.zeros_initializer())
  normalize = tf.nn.fused_batch_norm
  net = normalize(net, scale, offset, is_training=True)[0]  # leftover
  return _finish(images, {'features': tf.reduce_mean(net, [1, 2])})


def build_bad_data_conditional():
  """A conditional on the mode and on the data, which cannot be folded."""
  images = _images()
  is_training = tf.placeholder_with_default(True, [], name=MODE)
  net = tf.contrib.layers.batch_norm(_conv(images, 4, 'conv1'),
                                     is_training=is_training, scope='bn')
  busy = tf.logical_and(is_training, tf.reduce_mean(images) > 0.0)
  net = tf.cond(busy, lambda: net * 2.0, lambda: net)  # leftover
  return _finish(images, {'features': tf.reduce_mean(net, [1, 2])})


def build_bad_unreturned_flag():
  """A bool placeholder that decides nothing a Switch decides."""
  images = _images()
  flag = tf.placeholder_with_default(True, [], name='use_offset')
  net = tf.contrib.layers.batch_norm(_conv(images, 4, 'conv1'),
                                     is_training=False, scope='bn')
  net = net + tf.cast(flag, tf.float32)
  return _finish(images, {'features': tf.reduce_mean(net, [1, 2])})
