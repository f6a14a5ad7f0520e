"""Original TF1 style: attribute chains through `tf`."""
import tensorflow as tf


def net(x, is_training):
  x = tf.contrib.layers.batch_norm(x, decay=0.9, is_training=is_training,
                                   scale=True)
  x = tf.contrib.layers.batch_norm(x, 0.99, True, False, 1e-3,
                                   zero_debias_moving_mean=True)
  step = tf.contrib.framework.get_or_create_global_step()
  return tf.contrib.layers.flatten(x), step
