"""A 1-D convolutional network written with `tf.layers`, TF1 style.

conv1d -> batch_normalization(training=is_training) -> relu twice (the
first conv with a bias, the second without one and `fused=False`), then a
global average over time and dense, with the UPDATE_OPS block around the
train op. It follows the model-file contract
(contrib_bn/tools/model_file.py): called with `is_training=False` it builds
for inference, with None it makes its own `is_training` placeholder.
Channels last: TensorFlow's CPU kernels without oneDNN run no channels-first
conv1d, and the export runs what it exports.
"""

import tensorflow as tf

STEPS = 10
CHANNELS = 3
CLASSES = 3
GRAPH_SEED = 4


def build(is_training=None):
  tf.set_random_seed(GRAPH_SEED)
  sequences = tf.placeholder(tf.float32, [None, STEPS, CHANNELS],
                             name='sequences')
  mode = is_training
  if is_training is None:
    mode = tf.placeholder_with_default(True, [], name='is_training')
  net = tf.layers.conv1d(sequences, 6, 3, padding='same', name='conv1')
  net = tf.nn.relu(tf.layers.batch_normalization(net, training=mode,
                                                 momentum=0.5))
  net = tf.layers.conv1d(net, 4, 3, use_bias=False, name='conv2')
  net = tf.nn.relu(tf.layers.batch_normalization(
      net, training=mode, momentum=0.5, fused=False))
  logits = tf.layers.dense(tf.reduce_mean(net, axis=1), CLASSES,
                           name='logits')
  loss = tf.reduce_mean(tf.square(logits - 1.0))
  with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
  model = {'inputs': {'sequences': sequences},
           'outputs': {'logits': logits}, 'loss': loss,
           'train_op': train_op}
  if is_training is None:
    model['is_training'] = mode
  return model
