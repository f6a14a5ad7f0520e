"""A small TF1-style network using `tf.contrib.layers.batch_norm`.

This is legacy TF1 code in the form `tf_upgrade_v2 --mode SAFETY` leaves it:
the import switched to `tensorflow.compat.v1`, every other line untouched,
including the `tf.contrib` calls the upgrader reports as unconvertible. The
prologue below the import is the only addition, and the text of this file runs
unchanged on TensorFlow 1.15 (with the real contrib layer) and on TensorFlow
2.x (with contrib_bn):

  python examples/legacy_net.py

On TF 2.x, contrib_bn must be importable (installed, or the repository root
on PYTHONPATH).

The network: three convolution + batch-norm + ReLU blocks (plain, batch
renormalization, zero-debiased moving mean), global average pooling, a dense
head and a softmax cross-entropy loss, trained with momentum on a tiny
deterministic synthetic data set. Importing the module builds nothing; `main`
trains.
"""

import numpy as np
import tensorflow.compat.v1 as tf

# Migration prologue: makes `tf.contrib.layers.batch_norm` and
# `tf.contrib.framework.arg_scope` resolve below, on both releases.
#
# Keyed on the release rather than on `try: import contrib_bn / except
# ImportError: pass`, which would turn a missing contrib_bn on TF 2.x into a
# puzzling `AttributeError: ... no attribute 'contrib'` further down; here the
# ImportError names what is missing. Nor is it `if not hasattr(tf, 'contrib')`
# alone: TF 1.15 keeps contrib on the top-level `tensorflow` module only, so
# `tensorflow.compat.v1` lacks it there too, and contrib_bn (TF 2.x only)
# cannot be the answer on TF 1.15.
if tf.__version__.startswith('1.'):
  import tensorflow as _tf_v1_root  # pylint: disable=g-import-not-at-top
  tf.contrib = _tf_v1_root.contrib
else:
  import contrib_bn  # pylint: disable=g-import-not-at-top
  contrib_bn.install()

NUM_CLASSES = 4
IMAGE_SHAPE = (8, 8, 3)
NUM_IMAGES = 16
BATCH_SIZE = 8
DATA_SEED = 0
GRAPH_SEED = 1
LEARNING_RATE = 0.05
MOMENTUM = 0.9
TRAIN_STEPS = 40

# Batch renormalization's bounds on its corrections r and d.
RENORM_CLIPPING = {'rmin': 1.0 / 3.0, 'rmax': 3.0, 'dmax': 5.0}


def make_dataset(seed=DATA_SEED):
  """The synthetic data set: NUM_IMAGES images in NUM_CLASSES classes.

  Each class has its own mean image, so the task is learnable in a few dozen
  steps; Gaussian noise on top keeps batch statistics non-trivial. Uses
  `np.random.RandomState`, whose stream numpy keeps stable across releases.

  Args:
    seed: seed of the random stream.

  Returns:
    (images, labels): float32 array [NUM_IMAGES, 8, 8, 3] and int32 array
    [NUM_IMAGES]. Labels cycle 0, 1, 2, 3, ... so that every batch of
    BATCH_SIZE consecutive images holds every class.
  """
  rng = np.random.RandomState(seed)
  class_means = rng.normal(0.0, 1.0, (NUM_CLASSES,) + IMAGE_SHAPE)
  labels = np.arange(NUM_IMAGES) % NUM_CLASSES
  noise = rng.normal(0.0, 0.5, (NUM_IMAGES,) + IMAGE_SHAPE)
  # An offset and scale far from 0 and 1 make the moving statistics travel a
  # visible distance from their initial values.
  images = 2.0 + 3.0 * (class_means[labels] + noise)
  return images.astype(np.float32), labels.astype(np.int32)


def batch_slice(step):
  """The examples trained on at `step`: the batches take turns."""
  num_batches = NUM_IMAGES // BATCH_SIZE
  start = (step % num_batches) * BATCH_SIZE
  return slice(start, start + BATCH_SIZE)


def build_inputs():
  """Placeholders for a batch and the training-mode switch.

  Returns:
    (images, labels, is_training); `is_training` defaults to True, and
    evaluation feeds False.
  """
  images = tf.placeholder(tf.float32, (None,) + IMAGE_SHAPE, name='images')
  labels = tf.placeholder(tf.int32, [None], name='labels')
  is_training = tf.placeholder_with_default(True, [], name='is_training')
  return images, labels, is_training


def conv_bn_relu(inputs, filters, scope, stride=1, **batch_norm_args):
  """3x3 convolution without bias, batch norm, ReLU.

  The convolution has no bias: batch norm's `beta` takes that role.

  Args:
    inputs: NHWC tensor.
    filters: number of output channels.
    scope: variable scope of the block.
    stride: spatial stride of the convolution.
    **batch_norm_args: extra `tf.contrib.layers.batch_norm` arguments.

  Returns:
    The block's output tensor.
  """
  with tf.variable_scope(scope):
    in_channels = inputs.get_shape().as_list()[-1]
    kernel = tf.get_variable(
        'weights', [3, 3, in_channels, filters],
        initializer=tf.truncated_normal_initializer(stddev=0.2))
    net = tf.nn.conv2d(inputs, kernel, strides=[1, stride, stride, 1],
                       padding='SAME')
    net = tf.contrib.layers.batch_norm(net, **batch_norm_args)
    return tf.nn.relu(net)


def build_model(images, labels, is_training):
  """Builds the network, its loss and its train op.

  Args:
    images: float32 tensor [batch, 8, 8, 3].
    labels: int32 tensor [batch] of class ids.
    is_training: bool scalar tensor (or Python bool) for batch norm.

  Returns:
    (loss, train_op, logits).
  """
  with tf.contrib.framework.arg_scope([tf.contrib.layers.batch_norm],
                                      is_training=is_training, scale=True,
                                      decay=0.9):
    net = conv_bn_relu(images, 8, 'conv1')
    net = conv_bn_relu(net, 8, 'conv2', renorm=True,
                       renorm_clipping=RENORM_CLIPPING, renorm_decay=0.9)
    net = conv_bn_relu(net, 16, 'conv3', stride=2,
                       zero_debias_moving_mean=True)
  features = tf.reduce_mean(net, [1, 2])
  with tf.variable_scope('logits'):
    weights = tf.get_variable(
        'weights', [16, NUM_CLASSES],
        initializer=tf.truncated_normal_initializer(stddev=0.2))
    biases = tf.get_variable('biases', [NUM_CLASSES],
                             initializer=tf.zeros_initializer())
    logits = tf.matmul(features, weights) + biases
  loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(
      labels=tf.one_hot(labels, NUM_CLASSES), logits=logits))

  global_step = tf.train.get_or_create_global_step()
  optimizer = tf.train.MomentumOptimizer(LEARNING_RATE, MOMENTUM)
  # batch_norm only puts its moving-average updates into UPDATE_OPS; nothing
  # runs them unless the train op depends on them. Without this the moving
  # mean and variance keep their initial 0 and 1, and evaluation
  # (is_training=False) normalizes with those.
  update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
  with tf.control_dependencies(update_ops):
    train_op = optimizer.minimize(loss, global_step=global_step)
  return loss, train_op, logits


def build_graph(is_training=None):
  """The network in the model-file form contrib_bn's tools take.

  `python -m contrib_bn regress ... examples/legacy_net.py:build_graph` and
  `python -m contrib_bn export ...` call this inside a fresh default graph.

  Args:
    is_training: None for an `is_training` placeholder (default True); a
      Python bool to build that mode statically.

  Returns:
    Dict with `inputs` (images, labels), `outputs` (logits, probabilities),
    `loss`, `train_op` and, when built with a placeholder, `is_training`.
  """
  tf.set_random_seed(GRAPH_SEED)
  images, labels, is_training_input = build_inputs()
  mode = is_training_input if is_training is None else is_training
  loss, train_op, logits = build_model(images, labels, mode)
  model = {
      'inputs': {'images': images, 'labels': labels},
      'outputs': {'logits': logits,
                  'probabilities': tf.nn.softmax(logits)},
      'loss': loss,
      'train_op': train_op,
  }
  if is_training is None:
    model['is_training'] = is_training_input
  return model


def train_step(sess, loss, train_op, feed_dict):
  """Runs one training step; returns the loss before the update.

  The loss is fetched in its own `Session.run`: with TF1 reference variables,
  fetching it in the same run as the train op can read variables the update
  ops are already writing, and the value would vary from run to run.

  Args:
    sess: the session.
    loss: the loss tensor.
    train_op: the train op.
    feed_dict: the batch to train on.

  Returns:
    The loss as a numpy float32 scalar.
  """
  value = sess.run(loss, feed_dict)
  sess.run(train_op, feed_dict)
  return value


def main():
  """Trains on the synthetic data set and reports train and eval accuracy."""
  # Legacy scripts build one graph in TF1 mode; this is their first line. It
  # is here rather than at import so that importing the module (tests, other
  # programs) does not switch a TF 2.x process out of eager mode.
  tf.disable_v2_behavior()
  tf.set_random_seed(GRAPH_SEED)
  data, targets = make_dataset()
  images, labels, is_training = build_inputs()
  loss, train_op, logits = build_model(images, labels, is_training)
  correct = tf.equal(tf.argmax(logits, 1, output_type=tf.int32), labels)
  accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))
  with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for step in range(TRAIN_STEPS):
      batch = batch_slice(step)
      value = train_step(sess, loss, train_op,
                         {images: data[batch], labels: targets[batch]})
      if step % 10 == 0 or step == TRAIN_STEPS - 1:
        print('step %3d  loss %.4f' % (step, value))
    all_data = {images: data, labels: targets}
    train_accuracy = sess.run(accuracy, all_data)
    eval_feed = dict(all_data)
    eval_feed[is_training] = False
    eval_loss, eval_accuracy = sess.run([loss, accuracy], eval_feed)
  print('batch statistics (is_training=True):   accuracy %.3f' % train_accuracy)
  print('moving statistics (is_training=False): accuracy %.3f, loss %.4f' %
        (eval_accuracy, eval_loss))


if __name__ == '__main__':
  main()
