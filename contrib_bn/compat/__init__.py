"""TF1 compatibility surfaces built on contrib_bn: tf.contrib names and tf_slim."""
