"""Graph-mode helpers: static predicates and conditionals, as TF 1.15 had them."""

import tensorflow as tf

from contrib_bn import _tf1_errors


def _is_variable(value):
  return isinstance(value, tf.Variable)


def static_value(pred):
  """The value of `pred` if known when the graph is built, else None.

  A bool variable is never folded, even when its initial value is known,
  because it may be assigned at run time (TF1's contrib utilities agreed).
  """
  if pred is None:
    raise _tf1_errors.none_predicate()
  if _is_variable(pred):
    return None
  if tf.is_tensor(pred):
    return tf.get_static_value(pred)
  return pred


def _cond(value, pred, true_fn, false_fn):
  """`true_fn()` or `false_fn()` for a static `value`, else `tf.cond`."""
  if value is not None:
    return true_fn() if value else false_fn()
  _tf1_errors.check_predicate(pred)
  return tf.compat.v1.cond(pred, true_fn, false_fn)


def smart_cond(pred, true_fn, false_fn):
  """`true_fn()` or `false_fn()` when `pred` is static, else `tf.cond`."""
  return _cond(static_value(pred), pred, true_fn, false_fn)


def layer_static_value(pred):
  """Static value of a `training` argument under the core layer's rules.

  The core-layer path accepts only tensors, variables, bools and 0/1, and
  rejects anything else with TF 1.15's TypeError.
  """
  if _is_variable(pred):
    return None
  if tf.is_tensor(pred):
    return tf.get_static_value(pred)
  if pred in (0, 1):  # also 0.0, 1.0 and NumPy bools, as TF 1.15 accepted
    return bool(pred)
  raise _tf1_errors.layer_predicate_type(pred)


def layer_smart_cond(pred, true_fn, false_fn):
  """`smart_cond` under the core layer's rules for static values."""
  return _cond(layer_static_value(pred), pred, true_fn, false_fn)


def register_gradient(op_type, function):
  """`tf.RegisterGradient(op_type)(function)`, once however often imported."""
  try:
    tf.RegisterGradient(op_type)(function)
  except KeyError:
    # Registered already: the registering module was loaded twice (a reload).
    pass
