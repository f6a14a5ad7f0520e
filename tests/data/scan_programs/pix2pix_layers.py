"""pix2pix-style encoder-decoder built with tf.layers, as tf_upgrade_v2 leaves it.

TensorFlow 2.21 with Keras 3 refuses every tf.compat.v1.layers function;
contrib_bn.install() serves each one it calls (conv2d, conv2d_transpose,
separable_conv2d, batch_normalization): it builds, and `scan` must say so.
"""
import numpy as np
import tensorflow.compat.v1 as tf

layers = tf.layers


def encoder_block(x, filters, training, name):
  with tf.variable_scope(name):
    x = layers.conv2d(x, filters, 4, strides=2, padding='same')
    x = tf.layers.batch_normalization(x, training=training)
    return tf.nn.leaky_relu(x, 0.2)


def generator(images, training):
  deconv = tf.compat.v1.layers.conv2d_transpose
  e1 = encoder_block(images, 8, training, 'e1')
  e2 = encoder_block(e1, 16, training, 'e2')
  d1 = tf.nn.relu(deconv(e2, 8, 4, strides=2, padding='same'))
  d1 = tf.layers.separable_conv2d(tf.concat([d1, e1], 3), 8, 3, padding='same')
  return tf.tanh(deconv(d1, 3, 4, strides=2, padding='same'))


def main():
  images = tf.placeholder(tf.float32, [2, 16, 16, 3])
  fake = generator(images, training=True)
  loss = tf.reduce_mean(tf.abs(fake - images))
  with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
    train = tf.train.AdamOptimizer(2e-4, 0.5).minimize(loss)
  with tf.Session() as session:
    session.run(tf.global_variables_initializer())
    session.run(train, {images: np.random.rand(2, 16, 16, 3)})


if __name__ == '__main__':
  main()
