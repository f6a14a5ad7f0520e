"""Model functions that break the contract, for the harness's error tests."""

import tensorflow.compat.v1 as tf


def without_inputs():
  x = tf.placeholder(tf.float32, [2, 3])
  return {'outputs': {'y': x * 2.0}}


def unknown_dimensions():
  x = tf.placeholder(tf.float32, [None, 3], name='x')
  return {'inputs': {'x': x}, 'outputs': {'y': x * 2.0}}


def fails_while_building():
  x = tf.placeholder(tf.float32, [2, 3], name='x')
  y = tf.contrib.layers.batch_norm(x, scale=True)
  return {'inputs': {'x': x}, 'outputs': {'y': tf.matmul(y, y)}}
