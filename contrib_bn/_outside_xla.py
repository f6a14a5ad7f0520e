"""A layer computation, forward and backward, kept out of XLA's clusters.

Batch renormalization's gradient is a difference of nearly equal batch sums
scaled by `r`, so it magnifies the order in which a reduction adds. XLA's
auto-clustering compiles the layer's moments and the reductions of its
gradient with another order than TensorFlow's kernels, and the step-2 input
gradient of three corpus cases moved past their tolerance (renorm_r4_nchw by
3.7e-3 against 1.4e-3 allowed; TF 1.15.5 under its own XLA moved by 4.5e-3).

`outside_xla(fn, sources)` builds `fn` inside an XLA scope that refuses
compilation, then ties its output to its sources through an `IdentityN`
whose registered gradient differentiates `fn`'s ops inside the same scope.
The gradients are TensorFlow's own, so without XLA nothing changes; under
XLA the rest of the model still clusters around the layer.

`tf.xla.experimental.jit_scope` marks the ops it encloses, but TensorFlow
only extends the mark to their gradients when compilation is requested, not
when it is refused; hence the gradient of our own.
"""

import tensorflow as tf

from contrib_bn import _graph_utils

_GRADIENT = 'ContribBnOutsideXla'


def scope():
  """An XLA scope that refuses compilation of the ops built inside it."""
  return tf.xla.experimental.jit_scope(compile_ops=False)


def _gradient(op, *grads):
  # Input 0 is `fn`'s output, the others its sources; only output 0 is used,
  # so only its gradient counts.
  output, sources = op.inputs[0], list(op.inputs[1:])
  with scope():
    source_grads = tf.compat.v1.gradients(output, sources, grad_ys=grads[0])
  return [None] + source_grads


_graph_utils.register_gradient(_GRADIENT, _gradient)


def outside_xla(fn, sources):
  """`fn(*sources)`, its ops and their gradients out of XLA clusters.

  Args:
    fn: builds the computation from `sources`; returns `(output, extra)`,
      where `output` is the one differentiable result and `extra` anything
      else built alongside it (update ops), returned as is.
    sources: the tensors gradients flow to; every differentiable input of
      `fn` must be among them, or its gradient would be lost.

  Returns:
    `(output, extra)`, with `output` carrying `fn`'s gradients.
  """
  sources = [tf.convert_to_tensor(source) for source in sources]
  with scope():
    output, extra = fn(*sources)
    graph = tf.compat.v1.get_default_graph()
    with graph.gradient_override_map({'IdentityN': _GRADIENT}):
      tied = tf.identity_n([output] + sources)
  return tied[0], extra
