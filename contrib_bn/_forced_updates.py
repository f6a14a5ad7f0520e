"""Forced updates tied to the batch statistics, as TF 1.15's moments path had.

With `updates_collections=None`, TF 1.15's moments path (`fused=False`, ranks
3 and 5, rank 2 unfused, per-channel adjustment) made the batch mean and
variance wait for the moving-average updates, and normalized with them. Every
fetch that evaluated the layer's statistics ran the updates, and so did every
gradient of the layer: the gradients of the moments formulas read the
variance. A gradient fetched alone (gradient accumulation, meta-learning, GANs
that compute gradients in one run and apply them in another) moved the moving
statistics.

contrib_bn computes those formulas with the fused kernel, whose gradient reads
its own saved statistics, not the forced ones. `tie` restores the dependency
with control edges, which Grappler keeps (it drops data inputs whose values go
unused, such as the extra inputs of an `IdentityN`): the output is an
`Identity` that waits for the forced statistics, and its registered gradient
is an `Identity` of the incoming gradient that waits for them as well. Values
pass through unchanged, bit for bit.
"""

import tensorflow as tf

from contrib_bn import _graph_utils

_GRADIENT = 'ContribBnForcedStatistics'


def _gradient(op, grad):
  # The forced statistics are read again here, as data, before the gradient
  # waits for them: inside a control-flow-v2 branch the gradient is built in
  # a graph of its own, which can capture a forward tensor but drops a
  # control edge to one.
  # Control inputs without outputs come from a caller's own
  # `control_dependencies` around the layer and are waited for as they are.
  waits = [tf.identity(control.outputs[0]) if control.outputs else control
           for control in op.control_inputs]
  with tf.control_dependencies(waits):
    return tf.identity(grad)


_graph_utils.register_gradient(_GRADIENT, _gradient)


def tie(outputs, statistics):
  """`outputs`, computed and differentiated only after `statistics`.

  Args:
    outputs: the layer output.
    statistics: the forced batch mean and variance (tensors that carry the
      updates as control dependencies).

  Returns:
    A tensor equal to `outputs`, named `Identity` in the current scope.
  """
  graph = tf.compat.v1.get_default_graph()
  with tf.control_dependencies(statistics):
    with graph.gradient_override_map({'Identity': _GRADIENT}):
      return tf.identity(outputs)
