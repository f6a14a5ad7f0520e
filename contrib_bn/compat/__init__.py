"""TF1 compatibility surface: `tf.contrib` names, `arg_scope`, `install()`."""
