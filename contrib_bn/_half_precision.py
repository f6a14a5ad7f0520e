"""TF 1.15's half-precision normalization formulas, kept exact under XLA.

For float16 and bfloat16 inputs TF 1.15 normalized with `x * inv + offset`
in the half type, so the gradients of `beta` and `gamma` are sums over the
batch taken in that type by TensorFlow's own reduction kernel. XLA's
auto-clustering compiles the same sums but accumulates them in float32:
more exact, yet a half-precision ulp or two away from TF 1.15 (beta's
gradient of `float16_moments_bw` by 2.2e-2 on a scale of 4.25, against 4e-3
allowed; TF 1.15 under its own XLA moved by as much). Here the gradients of
the formulas' `Mul` and `AddV2` ops are built by functions of this module
that reduce exactly as TensorFlow's own do, but inside an XLA scope that
refuses compilation, so those sums stay TensorFlow kernels whether or not
XLA clusters the rest of the graph. Without XLA nothing changes: the same
kernels reduce over the same axes.
"""

import contextlib

import tensorflow as tf

from contrib_bn import _outside_xla

_HALF_DTYPES = (tf.float16, tf.bfloat16)
_ADD_GRADIENT = 'ContribBnHalfPrecisionAddV2'
_MUL_GRADIENT = 'ContribBnHalfPrecisionMul'


def _reduce_to(grad, like):
  """`grad` summed over the axes along which `like` was broadcast."""
  grad_shape, like_shape = grad.get_shape(), like.get_shape()
  if (grad_shape.is_fully_defined() and like_shape.is_fully_defined() and
      grad_shape.as_list() == like_shape.as_list()):
    return grad
  _, axes = tf.raw_ops.BroadcastGradientArgs(s0=tf.shape(grad),
                                             s1=tf.shape(like))
  return tf.reshape(tf.reduce_sum(grad, axes), tf.shape(like))


def _add_gradient(op, grad):
  x, y = op.inputs
  with _outside_xla.scope():
    return _reduce_to(grad, x), _reduce_to(grad, y)


def _mul_gradient(op, grad):
  x, y = op.inputs
  with _outside_xla.scope():
    return _reduce_to(grad * y, x), _reduce_to(x * grad, y)


def _register():
  for name, function in ((_ADD_GRADIENT, _add_gradient),
                         (_MUL_GRADIENT, _mul_gradient)):
    try:
      tf.RegisterGradient(name)(function)
    except KeyError:
      # Registered already: this module was loaded twice (a reload).
      pass


_register()


def batch_normalization(inputs, mean, variance, offset, scale, epsilon):
  """`tf.nn.batch_normalization`, its half-precision sums kept off XLA."""
  if inputs.dtype.base_dtype not in _HALF_DTYPES:
    scope = contextlib.nullcontext()
  else:
    scope = tf.compat.v1.get_default_graph().gradient_override_map(
        {'AddV2': _ADD_GRADIENT, 'Mul': _MUL_GRADIENT})
  with scope:
    return tf.nn.batch_normalization(inputs, mean, variance, offset, scale,
                                     epsilon)
