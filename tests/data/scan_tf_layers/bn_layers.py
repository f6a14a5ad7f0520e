"""tf.layers batch normalization, called every way TF1 code calls it."""
import functools

import tensorflow as tf
import tensorflow.compat.v1 as v1
from tensorflow.compat.v1.layers import batch_normalization as bn
import tf_slim as slim


def model(x, is_training, params, use_renorm):
  x = tf.layers.batch_normalization(x, training=is_training)
  x = v1.layers.batch_normalization(x, axis=1, momentum=0.9, training=True)
  x = bn(x, fused=False)
  x = tf.layers.batch_normalization(x, -1, 0.95)
  layer = tf.layers.BatchNormalization(momentum=0.9, renorm=True)
  x = layer.apply(x, training=is_training)
  norm = functools.partial(tf.layers.batch_normalization, training=True)
  x = norm(x)
  x = slim.conv2d(x, 8, 3, normalizer_fn=tf.layers.batch_normalization,
                  normalizer_params={'training': True, 'axis': [1, 2]})
  with tf.contrib.framework.arg_scope([tf.contrib.layers.batch_norm],
                                      decay=0.9):
    x = tf.layers.batch_normalization(x, virtual_batch_size=2)
    x = tf.contrib.layers.batch_norm(x)
  x = tf.layers.batch_normalization(x, **params)
  return tf.layers.batch_normalization(x, renorm=use_renorm)
