"""Uses only what contrib_bn.install() provides."""
import tensorflow.compat.v1 as tf
from tensorflow.contrib.framework import arg_scope


def net(x, is_training):
  with arg_scope([tf.contrib.layers.batch_norm], is_training=is_training):
    return tf.contrib.layers.batch_norm(x, scale=True)
