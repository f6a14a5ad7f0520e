"""Initializer and regularizer identifiers, as TF 1.15's core layer read them.

On the core-layer path TF 1.15 passed `param_initializers` and
`param_regularizers` through Keras' `get` functions, so names such as 'ones'
or 'l2' were accepted there (and only there), and other non-callables failed
with Keras' messages. This module reproduces that without importing Keras,
and tells how many values a constant initializer holds.
"""

import numpy as np
import tensorflow as tf

# Keras' default weight of its named regularizers.
_REGULARIZER_WEIGHT = 0.01

_INITIALIZERS = {
    'zeros': tf.compat.v1.zeros_initializer,
    'ones': tf.compat.v1.ones_initializer,
    'glorot_uniform': tf.compat.v1.glorot_uniform_initializer,
    'glorot_normal': tf.compat.v1.glorot_normal_initializer,
    'he_normal': tf.compat.v1.initializers.he_normal,
    'he_uniform': tf.compat.v1.initializers.he_uniform,
    'lecun_normal': tf.compat.v1.initializers.lecun_normal,
    'lecun_uniform': tf.compat.v1.initializers.lecun_uniform,
}
# Keras also accepted the class names.
_INITIALIZER_ALIASES = {
    'Zeros': 'zeros', 'Ones': 'ones', 'GlorotUniform': 'glorot_uniform',
    'GlorotNormal': 'glorot_normal',
}
_REGULARIZERS = {'l1': (1, 0), 'l2': (0, 1), 'l1_l2': (1, 1)}


def constant_size(initializer):
  """How many values a constant initializer holds; None for any other.

  `constant_initializer` keeps its value; other initializers fill any shape.
  """
  value = getattr(initializer, 'value', None)
  if value is None or callable(value) or tf.is_tensor(value):
    return None
  return int(np.size(value))


def initializer(identifier):
  """A callable initializer for a core-layer `param_initializers` value."""
  if identifier is None or callable(identifier):
    return identifier
  if isinstance(identifier, str):
    name = _INITIALIZER_ALIASES.get(identifier, identifier)
    if name not in _INITIALIZERS:
      raise ValueError('Unknown initializer: ' + identifier)
    return _INITIALIZERS[name]()
  raise ValueError('Could not interpret initializer identifier: ' +
                   str(identifier))


def regularizer(identifier):
  """A callable regularizer for a core-layer `param_regularizers` value."""
  if identifier is None or callable(identifier):
    return identifier
  if isinstance(identifier, str):
    if identifier not in _REGULARIZERS:
      raise ValueError('Unknown regularizer: ' + identifier)
    use_l1, use_l2 = _REGULARIZERS[identifier]

    def penalty(weights):
      loss = tf.constant(0.0, weights.dtype.base_dtype)
      if use_l1:
        loss += _REGULARIZER_WEIGHT * tf.reduce_sum(tf.abs(weights))
      if use_l2:
        loss += _REGULARIZER_WEIGHT * tf.reduce_sum(tf.square(weights))
      return loss

    return penalty
  raise ValueError('Could not interpret regularizer identifier:', identifier)
