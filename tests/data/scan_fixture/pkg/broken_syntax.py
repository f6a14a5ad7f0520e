"""Does not parse: Python 2 print statement."""
import tensorflow as tf

print "batch norm", tf.contrib.layers.batch_norm
