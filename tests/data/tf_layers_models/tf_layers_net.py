"""A small network written with `tf.layers`, in the original TF1 import style.

conv2d -> batch_normalization(training=is_training) -> relu twice (the
fused kernel, then `fused=False`), flatten, dropout, dense ->
batch_normalization -> relu, dense, with the UPDATE_OPS block around the
train op as TF1 code wrote it. The file runs unchanged on TensorFlow 1.15
and, through the model-file loader and `contrib_bn.install()`, on TF 2.
It follows the model-file contract (contrib_bn/tools/model_file.py): called
with `is_training=False` it builds for inference, with None it makes its own
`is_training` placeholder.

`build_renorm` is the same network with batch renormalization in its first
layer; `build_ghost_batches` gives its first layer ghost batches of 4
(`virtual_batch_size`, on a batch of 8) and normalizes its second per
height and channel (`axis=[1, 3]`); `build_unwired` leaves out the
UPDATE_OPS block; `build_divergent` is
`build` on TensorFlow 1.15, and on TensorFlow 2 its second batch norm uses
another epsilon, the kind of silent change a hand migration makes.
"""

import tensorflow as tf

HEIGHT = WIDTH = 6
CHANNELS = 3
CLASSES = 3
GRAPH_SEED = 3
DROPOUT_SEED = 5
EPSILON = 1e-3
GHOST_BATCH = 8
VIRTUAL_BATCH_SIZE = 4


def _network(is_training, renorm=False, wired=True, second_epsilon=EPSILON,
             ghost=False):
  tf.set_random_seed(GRAPH_SEED)
  images = tf.placeholder(tf.float32, [GHOST_BATCH if ghost else None,
                                       HEIGHT, WIDTH, CHANNELS],
                          name='images')
  mode = is_training
  if is_training is None:
    mode = tf.placeholder_with_default(True, [], name='is_training')
  net = tf.layers.conv2d(images, 4, 3, padding='same', name='conv1')
  net = tf.layers.batch_normalization(
      net, training=mode, momentum=0.5, renorm=renorm,
      renorm_clipping={'rmax': 3.0, 'rmin': 0.3, 'dmax': 5.0} if renorm
      else None, renorm_momentum=0.5,
      virtual_batch_size=VIRTUAL_BATCH_SIZE if ghost else None)
  net = tf.nn.relu(net)
  net = tf.layers.conv2d(net, 4, 3, padding='same', use_bias=False,
                         name='conv2')
  net = tf.layers.batch_normalization(net, training=mode, momentum=0.5,
                                      epsilon=second_epsilon, fused=False,
                                      axis=[1, 3] if ghost else -1)
  net = tf.nn.relu(net)
  net = tf.layers.flatten(net)
  net = tf.layers.dropout(net, 0.25, training=mode, seed=DROPOUT_SEED)
  net = tf.layers.dense(net, 5, name='fc')
  net = tf.layers.batch_normalization(net, training=mode, momentum=0.5)
  logits = tf.layers.dense(tf.nn.relu(net), CLASSES, name='logits')
  loss = tf.reduce_mean(tf.square(logits - 1.0))
  updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS) if wired else []
  with tf.control_dependencies(updates):
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
  model = {'inputs': {'images': images}, 'outputs': {'logits': logits},
           'loss': loss, 'train_op': train_op}
  if is_training is None:
    model['is_training'] = mode
  return model


def build(is_training=None):
  return _network(is_training)


def build_renorm(is_training=None):
  return _network(is_training, renorm=True)


def build_ghost_batches(is_training=None):
  return _network(is_training, ghost=True)


def build_unwired(is_training=None):
  return _network(is_training, wired=False)


def build_divergent(is_training=None):
  second = EPSILON if tf.__version__.startswith('1.') else 1e-2
  return _network(is_training, second_epsilon=second)
