"""A two-layer model in the original TF1 import style, for the regression tests.

`import tensorflow as tf` and `tf.contrib...` exactly as TF1 code wrote them;
the harness makes this file run unchanged on TF 1.15 and on TF 2 with
contrib_bn. `build_divergent` is the same model with one planted difference:
on TensorFlow 2 its second batch-norm layer uses another epsilon, the kind of
silent change a hand migration makes. On TensorFlow 2 only, the environment
variable REGRESS_TEST_VARIANT plants other mistakes into `build` without
changing this file (so a recording of `build` stays valid): 'unwired' drops
the UPDATE_OPS block, 'static_training' wires a constant is_training=True
into the layers instead of the placeholder.
"""

import os

import tensorflow as tf

FEATURES = 6
BATCH = 8
EPSILON = 0.001


def _model(second_epsilon, variant=None):
  x = tf.placeholder(tf.float32, [BATCH, FEATURES], name='x')
  target = tf.placeholder(tf.float32, [BATCH, 1], name='target')
  is_training = tf.placeholder_with_default(True, [], name='is_training')
  mode = True if variant == 'static_training' else is_training
  with tf.contrib.framework.arg_scope([tf.contrib.layers.batch_norm],
                                      is_training=mode, decay=0.8):
    with tf.variable_scope('dense1'):
      w1 = tf.get_variable('w', [FEATURES, 5],
                           initializer=tf.truncated_normal_initializer(
                               stddev=0.5, seed=3))
      h = tf.contrib.layers.batch_norm(tf.matmul(x, w1) + 1.5, scale=True,
                                       epsilon=EPSILON)
      h = tf.nn.relu(h)
    with tf.variable_scope('dense2'):
      w2 = tf.get_variable('w', [5, 4],
                           initializer=tf.truncated_normal_initializer(
                               stddev=0.5, seed=4))
      h = tf.contrib.layers.batch_norm(tf.matmul(h, w2), center=True,
                                       epsilon=second_epsilon)
  with tf.variable_scope('head'):
    w3 = tf.get_variable('w', [4, 1])
    y = tf.matmul(h, w3)
  loss = tf.reduce_mean(tf.square(y - target))
  updates = [] if variant == 'unwired' else tf.get_collection(
      tf.GraphKeys.UPDATE_OPS)
  with tf.control_dependencies(updates):
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
  return {'inputs': {'x': x, 'target': target}, 'outputs': {'y': y},
          'loss': loss, 'train_op': train_op, 'is_training': is_training}


def build():
  variant = None
  if not tf.__version__.startswith('1.'):
    variant = os.environ.get('REGRESS_TEST_VARIANT')
  return _model(EPSILON, variant)


def build_divergent():
  second = EPSILON if tf.__version__.startswith('1.') else 0.01
  return _model(second)
