"""`batch_norm` as `tf.contrib.layers` exposed it: registered with `arg_scope`.

The layer itself (`contrib_bn.layer.batch_norm`) knows nothing of scoped
defaults; this module decorates it once, and every public route to the layer
(`contrib_bn.batch_norm`, `tf.contrib.layers.batch_norm` after `install()`)
is this decorated function.
"""

from contrib_bn import layer
from contrib_bn.compat.arg_scope import add_arg_scope

batch_norm = add_arg_scope(layer.batch_norm)
