"""TF1 compatibility surfaces: `tf.contrib` names, `arg_scope`, `install()`, tf_slim repair."""
