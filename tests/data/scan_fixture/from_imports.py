"""From-imports, including the long legacy module paths."""
from tensorflow.contrib import slim
from tensorflow.contrib.layers import batch_norm
from tensorflow.contrib.layers.python.layers import layers as layers_lib
from tensorflow.contrib.framework.python.ops import arg_scope
import tensorflow.contrib.rnn as rnn


def net(x):
  with arg_scope.arg_scope([batch_norm], fused=True, decay=0.95):
    y = batch_norm(x, updates_collections=None)
  z = layers_lib.batch_norm(y, batch_weights=None)
  cell = rnn.LSTMCell(4)
  return slim.fully_connected(z, 2), cell
