"""A slim classifier: batch_norm bound with functools.partial as normalizer_fn."""
import functools

import numpy as np
import tensorflow.compat.v1 as tf
import tensorflow.contrib.slim as slim


def net(images, is_training):
  batch_norm = functools.partial(slim.batch_norm, scale=True, decay=0.9,
                                 is_training=is_training)
  with slim.arg_scope([slim.conv2d, slim.fully_connected],
                      normalizer_fn=batch_norm,
                      weights_regularizer=slim.l2_regularizer(1e-4)):
    x = slim.conv2d(images, 8, [3, 3], scope='conv1')
    x = slim.max_pool2d(x, [2, 2], scope='pool1')
    x = slim.conv2d(x, 16, [3, 3], stride=2, scope='conv2')
    x = slim.flatten(x)
    return slim.fully_connected(x, 4, activation_fn=None, normalizer_fn=None,
                                scope='logits')


def main():
  images = tf.placeholder(tf.float32, [4, 16, 16, 3])
  labels = tf.placeholder(tf.int64, [4])
  logits = net(images, is_training=True)
  slim.losses.sparse_softmax_cross_entropy(logits, labels)
  loss = slim.losses.get_total_loss()
  train = slim.learning.create_train_op(loss, tf.train.MomentumOptimizer(0.1, 0.9))
  with tf.Session() as session:
    session.run(tf.global_variables_initializer())
    session.run(train, {images: np.random.rand(4, 16, 16, 3),
                        labels: [0, 1, 2, 3]})


if __name__ == '__main__':
  main()
