"""tf.contrib.layers by from-import: batch_norm with its neighbours."""
import numpy as np
import tensorflow.compat.v1 as tf
from tensorflow.contrib.layers import batch_norm, flatten, fully_connected


def net(images, is_training):
  x = flatten(images)
  x = fully_connected(x, 32, normalizer_fn=batch_norm,
                      normalizer_params={'is_training': is_training,
                                         'decay': 0.9})
  return fully_connected(x, 4, activation_fn=None)


def main():
  images = tf.placeholder(tf.float32, [4, 8, 8, 3])
  labels = tf.placeholder(tf.int64, [4])
  logits = net(images, is_training=True)
  loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
  with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
  with tf.Session() as session:
    session.run(tf.global_variables_initializer())
    session.run(train, {images: np.random.rand(4, 8, 8, 3),
                        labels: [0, 1, 2, 3]})


if __name__ == '__main__':
  main()
