"""arg_scope and normalizer_fn, literal and dynamic."""
import tensorflow as tf

slim = tf.contrib.slim

BN_PARAMS = {'decay': 0.997, 'epsilon': 1e-5, 'is_training': True}


def resnet_scope():
  return {}


def net(x, params):
  with slim.arg_scope([slim.conv2d], normalizer_fn=slim.batch_norm,
                      normalizer_params=BN_PARAMS):
    x = slim.conv2d(x, 16, 3)
  with slim.arg_scope([slim.batch_norm], renorm=True, decay=0.9):
    x = slim.batch_norm(x, epsilon=0.01)
  with slim.arg_scope(resnet_scope()):
    x = slim.batch_norm(x)
  x = tf.contrib.layers.conv2d(x, 4, 3, normalizer_fn=tf.contrib.layers.batch_norm,
                               normalizer_params=params)
  return tf.contrib.layers.batch_norm(x, **params)
