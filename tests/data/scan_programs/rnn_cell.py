"""A sequence model on tf.nn.rnn_cell, which Keras 3 took away."""
import numpy as np
import tensorflow.compat.v1 as tf
from tensorflow.compat.v1.nn import rnn_cell


def main():
  inputs = tf.placeholder(tf.float32, [2, 5, 3])
  cell = rnn_cell.LSTMCell(8)
  outputs, _ = tf.nn.dynamic_rnn(cell, inputs, dtype=tf.float32)
  loss = tf.reduce_mean(outputs)
  train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
  with tf.Session() as session:
    session.run(tf.global_variables_initializer())
    session.run(train, {inputs: np.random.rand(2, 5, 3)})


if __name__ == '__main__':
  main()
