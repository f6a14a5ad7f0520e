"""slim as the PyPI package: `import tf_slim as slim`, layers bound to local names."""
import numpy as np
import tensorflow.compat.v1 as tf
import tf_slim as slim

conv = slim.conv2d
bn = slim.batch_norm


def net(images, is_training):
  with slim.arg_scope([conv], normalizer_fn=bn,
                      normalizer_params={'is_training': is_training}):
    x = conv(images, 8, [3, 3], scope='conv1')
    x = conv(x, 8, [3, 3], stride=2, scope='conv2')
  x = bn(x, is_training=is_training, scope='final_bn')
  return slim.fully_connected(slim.flatten(x), 4, activation_fn=None)


def main():
  images = tf.placeholder(tf.float32, [4, 8, 8, 3])
  labels = tf.placeholder(tf.int64, [4])
  logits = net(images, is_training=True)
  loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
  with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
    train = tf.train.AdamOptimizer(1e-3).minimize(loss)
  with tf.Session() as session:
    session.run(tf.global_variables_initializer())
    session.run(train, {images: np.random.rand(4, 8, 8, 3),
                        labels: [0, 1, 2, 3]})


if __name__ == '__main__':
  main()
