"""Graph-mode helpers: static predicates, conditionals, output collections."""

import tensorflow as tf


def _is_variable(value):
  return isinstance(value, tf.Variable)


def static_value(pred):
  """The value of `pred` if known when the graph is built, else None.

  A bool variable is never folded, even when its initial value is known,
  because it may be assigned at run time (TF1's contrib utilities agreed).
  """
  if pred is None:
    raise ValueError('value_or_tensor_or_var cannot be None')
  if _is_variable(pred):
    return None
  if tf.is_tensor(pred):
    return tf.get_static_value(pred)
  return pred


def _tf1_shape_list(shape):
  if shape.ndims is None:
    return '?'
  return '[%s]' % ','.join('?' if d is None else str(d)
                           for d in shape.as_list())


def _check_predicate(pred):
  """Rejects a non-bool or non-scalar predicate as TF 1.15's cond did.

  TF 2.x builds such a conditional and fails only at run time, leaving the
  whole graph unusable; TF 1.15's `Switch` op refused it while building.
  """
  pred = tf.convert_to_tensor(pred)
  if pred.dtype.base_dtype != tf.bool:
    raise TypeError("Input 'pred' of 'Switch' Op has type %s that does not "
                    'match expected type of bool.' % pred.dtype.base_dtype.name)
  rank = pred.get_shape().ndims
  if rank is not None and rank != 0:
    name = tf.compat.v1.get_default_graph().unique_name(
        'cond', mark_as_used=False)
    shape = _tf1_shape_list(pred.get_shape())
    raise ValueError("Shape must be rank 0 but is rank %d for '%s/Switch' "
                     "(op: 'Switch') with input shapes: %s, %s." %
                     (rank, name, shape, shape))


def _cond(value, pred, true_fn, false_fn):
  """`true_fn()` or `false_fn()` for a static `value`, else `tf.cond`."""
  if value is not None:
    return true_fn() if value else false_fn()
  _check_predicate(pred)
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
  raise TypeError('`pred` must be a Tensor, or a Python bool, or 1 or 0. '
                  'Found instead: %s' % type(pred))


def layer_smart_cond(pred, true_fn, false_fn):
  """`smart_cond` under the core layer's rules for static values."""
  return _cond(layer_static_value(pred), pred, true_fn, false_fn)


def tf1_conversion_message(dtype_name, value):
  """TF 1.15's wording for a Python value that does not fit a dtype."""
  return "Expected %s, got %r of type '%s' instead." % (
      dtype_name, value, type(value).__name__)


def collect_named_outputs(collections, alias, outputs):
  """Adds `outputs` to `collections` and records `alias` in `.aliases`."""
  if collections:
    if alias.endswith('/'):
      alias = alias[:-1]
    if hasattr(outputs, 'aliases'):
      outputs.aliases.append(alias)
    else:
      outputs.aliases = [alias]
    tf.compat.v1.add_to_collections(collections, outputs)
  return outputs


def tf1_shape_repr(shape):
  """TF 1.x's `repr` of a TensorShape, as embedded in its error messages."""
  if shape.ndims is None:
    return 'TensorShape(None)'
  dims = ', '.join('Dimension(%s)' % d for d in shape.as_list())
  return 'TensorShape([%s])' % dims


def tf1_shape_str(shape):
  """TF 1.x's `str` of a TensorShape: unknown dimensions print as `?`."""
  if shape.ndims is None:
    return '<unknown>'
  dims = ['?' if d is None else str(d) for d in shape.as_list()]
  if len(dims) == 1:
    return '(%s,)' % dims[0]
  return '(%s)' % ', '.join(dims)


class _Tf1Repr(object):
  """Carries a preformatted TF 1.x repr inside a tuple-style error message."""

  def __init__(self, text):
    self._text = text

  def __repr__(self):
    return self._text


def tf1_shape_arg(shape):
  return _Tf1Repr(tf1_shape_repr(shape))
