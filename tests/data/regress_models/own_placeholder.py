"""A model that keeps its is_training placeholder to itself, for regress.

The placeholder_with_default(True) is made two calls below `build` and not
returned; besides the batch norms it decides a conditional of the model's
own that adds 100 to the output in training mode only. The harness must
find it and feed it False for inference: run at its default instead, the
recorded inference outputs would be near 100.
"""

import tensorflow as tf

FEATURES = 5
BATCH = 8


def _mode():
  return tf.placeholder_with_default(True, [], name='is_training')


def _net(x):
  is_training = _mode()
  with tf.contrib.framework.arg_scope([tf.contrib.layers.batch_norm],
                                      is_training=is_training, decay=0.8):
    w = tf.get_variable('w', [FEATURES, 3],
                        initializer=tf.truncated_normal_initializer(
                            stddev=0.5, seed=2))
    h = tf.contrib.layers.batch_norm(tf.matmul(x, w) + 1.0, scale=True,
                                     scope='bn1')
    h = tf.contrib.layers.batch_norm(tf.nn.relu(h), fused=False,
                                     scope='bn2')
  return tf.cond(is_training, lambda: h + 100.0, lambda: h)


def build():
  x = tf.placeholder(tf.float32, [BATCH, FEATURES], name='x')
  y = _net(x)
  loss = tf.reduce_mean(tf.square(y))
  with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
    train_op = tf.train.GradientDescentOptimizer(0.05).minimize(loss)
  return {'inputs': {'x': x}, 'outputs': {'y': y}, 'loss': loss,
          'train_op': train_op}
