"""The initializers and regularizers of TF 1.15's `tf.contrib.layers`.

These stand next to `batch_norm` in most TF1 model code
(`weights_initializer=tf.contrib.layers.xavier_initializer()`,
`weights_regularizer=tf.contrib.layers.l2_regularizer(4e-5)`), so a model
fails on them before it reaches batch_norm. They behave as TF 1.15.5's:

  * `variance_scaling_initializer` is contrib's own, not core TF's
    `VarianceScaling`: the truncated normal uses stddev sqrt(1.3 * factor / n)
    (contrib's correction for truncation at two standard deviations), the
    uniform one the limit sqrt(3 * factor / n); modes are the upper-case
    'FAN_IN', 'FAN_OUT' and 'FAN_AVG'; fans of a convolution kernel multiply
    all but the last two dimensions into both fans.
  * With the same explicit `seed` (and graph seed) the values equal TF 1.15's:
    the draws come from the same stateful random kernels that TF 1.15 used,
    which TF 2's `tf.compat.v1.random_uniform` / `truncated_normal` still run
    with the same (graph seed, op seed) pair. Without an op seed TF derives
    it from the graph's op count, which differs between any two programs.
  * Regularizers build the same ops under the same names
    ('l1_regularizer', 'l2_regularizer', 'sum_regularizer',
    'get_regularization_penalty'); a scale of exactly 0 returns a function
    that gives None; an integer (or bool) scale and a negative scale raise
    TF 1.15's ValueErrors with its messages.
"""

import math
import numbers

import tensorflow as tf

__all__ = [
    'apply_regularization',
    'l1_l2_regularizer',
    'l1_regularizer',
    'l2_regularizer',
    'sum_regularizer',
    'variance_scaling_initializer',
    'xavier_initializer',
    'xavier_initializer_conv2d',
]

_MODES = ('FAN_IN', 'FAN_OUT', 'FAN_AVG')

# contrib's truncated normal is cut at two standard deviations, which leaves
# a variance of ~0.774 of the untruncated one; contrib scales the variance by
# 1.3 to make up for it (core TF's VarianceScaling uses .87962566 on the
# standard deviation instead).
TRUNCATED_VARIANCE_CORRECTION = 1.3
# The variance of U(-limit, limit) is limit**2 / 3.
UNIFORM_VARIANCE_FACTOR = 3.0

_NOT_FLOAT = 'Cannot create initializer for non-floating point type.'


def _as_dtype(dtype, argument):
  try:
    return tf.as_dtype(dtype)
  except TypeError:
    raise TypeError('%s must be a TensorFlow floating point dtype, got %r' %
                    (argument, dtype)) from None


def _fans(shape):
  """Fan-in and fan-out as contrib computed them, as floats."""
  dims = [float(int(d)) for d in tf.TensorShape(shape).as_list()]
  if not dims:
    return 1.0, 1.0
  fan_in = dims[-2] if len(dims) > 1 else dims[-1]
  fan_out = dims[-1]
  for dim in dims[:-2]:
    fan_in *= dim
    fan_out *= dim
  return fan_in, fan_out


def variance_scaling_initializer(factor=2.0, mode='FAN_IN', uniform=False,
                                 seed=None, dtype=tf.float32):
  """Returns contrib's variance-scaling initializer.

  Values have variance `factor / n`, where n is the fan-in, the fan-out or
  their mean according to `mode`: uniform on [-sqrt(3 factor / n),
  +sqrt(3 factor / n)], or a normal with stddev sqrt(1.3 factor / n)
  truncated at two standard deviations.

  Args:
    factor: Multiplicative factor of the variance.
    mode: 'FAN_IN', 'FAN_OUT' or 'FAN_AVG'.
    uniform: Whether to draw from a uniform rather than a truncated normal
      distribution.
    seed: Python integer op seed, combined with the graph seed as
      `tf.compat.v1.set_random_seed` describes.
    dtype: Floating point dtype of the values; also the default of the
      returned function's `dtype` argument.

  Returns:
    A function `(shape, dtype=dtype, partition_info=None) -> Tensor` usable as
    a variable initializer.

  Raises:
    TypeError: If `dtype` is not a floating point type, or `mode` is not one
      of the three modes (TF 1.15's messages).
  """
  dtype = _as_dtype(dtype, 'dtype')
  if not dtype.is_floating:
    raise TypeError(_NOT_FLOAT)
  if mode not in _MODES:
    # TF 1.15 passed the mode as a second exception argument instead of
    # formatting it in, so its message is this tuple's str().
    raise TypeError('Unknown mode %s [FAN_IN, FAN_OUT, FAN_AVG]', mode)

  def initializer(shape, dtype=dtype, partition_info=None):
    del partition_info  # The full variable's shape is what TF 1.15 used.
    dtype = _as_dtype(dtype, 'dtype')
    if not dtype.is_floating:
      raise TypeError(_NOT_FLOAT)
    fan_in, fan_out = _fans(shape)
    n = {'FAN_IN': fan_in, 'FAN_OUT': fan_out,
         'FAN_AVG': (fan_in + fan_out) / 2.0}[mode]
    if uniform:
      limit = math.sqrt(UNIFORM_VARIANCE_FACTOR * factor / n)
      return tf.compat.v1.random_uniform(shape, -limit, limit, dtype,
                                         seed=seed)
    stddev = math.sqrt(TRUNCATED_VARIANCE_CORRECTION * factor / n)
    return tf.compat.v1.truncated_normal(shape, 0.0, stddev, dtype, seed=seed)

  return initializer


def xavier_initializer(uniform=True, seed=None, dtype=tf.float32):
  """Returns the Glorot ("Xavier") initializer of contrib.

  The same as `variance_scaling_initializer(1.0, 'FAN_AVG', uniform, seed,
  dtype)`: uniform on [-sqrt(6 / (fan_in + fan_out)), +...] by default.

  Args:
    uniform: Whether to draw uniform rather than truncated-normal values.
    seed: Python integer op seed.
    dtype: Floating point dtype.

  Returns:
    An initializer function.
  """
  return variance_scaling_initializer(factor=1.0, mode='FAN_AVG',
                                      uniform=uniform, seed=seed, dtype=dtype)


# As in TF 1.15, one function under two names.
xavier_initializer_conv2d = xavier_initializer


def _check_scale(scale, argument, negative_message):
  """Applies TF 1.15's checks to a Python scale; True means 'disabled'."""
  if isinstance(scale, numbers.Integral):
    raise ValueError('%s cannot be an integer: %s' % (argument, scale))
  if isinstance(scale, numbers.Real):
    if scale < 0.:
      raise ValueError(negative_message % scale)
    if scale == 0.:
      tf.compat.v1.logging.info('Scale of 0 disables regularizer.')
      return True
  return False


def l1_regularizer(scale, scope=None):
  """Returns a function computing `scale * sum(|weights|)`.

  Args:
    scale: A Python float or scalar tensor. 0.0 disables the regularizer.
    scope: Optional name scope; defaults to 'l1_regularizer'.

  Returns:
    A function `l1(weights, name=None)` returning a scalar tensor (the `name`
    argument is accepted and ignored, as in TF 1.15), or, for a scale of 0,
    a function returning None.

  Raises:
    ValueError: If `scale` is an integer or negative.
  """
  # TF 1.15's message for a negative L1 scale has no final period.
  if _check_scale(scale, 'scale',
                  'Setting a scale less than 0 on a regularizer: %g'):
    return lambda _: None

  def l1(weights, name=None):
    del name
    with tf.compat.v1.name_scope(scope, 'l1_regularizer', [weights]) as name:
      my_scale = tf.convert_to_tensor(scale, dtype=weights.dtype.base_dtype,
                                      name='scale')
      return tf.multiply(my_scale, tf.reduce_sum(tf.abs(weights)), name=name)

  return l1


def l2_regularizer(scale, scope=None):
  """Returns a function computing `scale * sum(weights**2) / 2`.

  Args:
    scale: A Python float or scalar tensor. 0.0 disables the regularizer.
    scope: Optional name scope; defaults to 'l2_regularizer'.

  Returns:
    A function `l2(weights)` returning a scalar tensor, or, for a scale of 0,
    a function returning None.

  Raises:
    ValueError: If `scale` is an integer or negative.
  """
  if _check_scale(scale, 'scale',
                  'Setting a scale less than 0 on a regularizer: %g.'):
    return lambda _: None

  def l2(weights):
    with tf.compat.v1.name_scope(scope, 'l2_regularizer', [weights]) as name:
      my_scale = tf.convert_to_tensor(scale, dtype=weights.dtype.base_dtype,
                                      name='scale')
      return tf.multiply(my_scale, tf.nn.l2_loss(weights), name=name)

  return l2


def l1_l2_regularizer(scale_l1=1.0, scale_l2=1.0, scope=None):
  """Returns a function computing the L1 plus the L2 penalty.

  Args:
    scale_l1: Scale of the L1 term.
    scale_l2: Scale of the L2 term.
    scope: Optional name scope; defaults to 'l1_l2_regularizer'.

  Returns:
    The sum of both regularizers under `scope`; when one scale is exactly 0,
    the other regularizer alone, under `scope`.

  Raises:
    ValueError: If a scale is an integer or negative.
  """
  if isinstance(scale_l1, numbers.Integral):
    raise ValueError('scale_l1 cannot be an integer: %s' % (scale_l1,))
  if isinstance(scale_l2, numbers.Integral):
    raise ValueError('scale_l2 cannot be an integer: %s' % (scale_l2,))
  scope = scope or 'l1_l2_regularizer'
  # Compared with `==` as TF 1.15 did, so a tensor scale goes on to the sum.
  if scale_l1 == 0.:
    return l2_regularizer(scale_l2, scope)
  if scale_l2 == 0.:
    return l1_regularizer(scale_l1, scope)
  return sum_regularizer([l1_regularizer(scale_l1),
                          l2_regularizer(scale_l2)], scope=scope)


def sum_regularizer(regularizer_list, scope=None):
  """Returns a function adding the penalties of several regularizers.

  Args:
    regularizer_list: Regularizers; None entries are dropped.
    scope: Optional name scope; defaults to 'sum_regularizer'.

  Returns:
    None if no regularizer remains, otherwise a function `sum_reg(weights)`
    returning the `add_n` of the non-None penalties, or None if all are None.
  """
  regularizer_list = [r for r in regularizer_list if r is not None]
  if not regularizer_list:
    return None

  def sum_reg(weights):
    with tf.compat.v1.name_scope(scope, 'sum_regularizer', [weights]) as name:
      penalties = [reg(weights) for reg in regularizer_list]
      penalties = [p for p in penalties if p is not None]
      if not penalties:
        return None
      return tf.add_n(penalties, name=name)

  return sum_reg


def apply_regularization(regularizer, weights_list=None):
  """Sums `regularizer` over weights and adds it to REGULARIZATION_LOSSES.

  Args:
    regularizer: A function from one tensor to a scalar tensor or None.
    weights_list: Tensors or variables; when empty or None, the graph's
      `GraphKeys.WEIGHTS` collection.

  Returns:
    The scalar sum, named 'get_regularization_penalty'.

  Raises:
    ValueError: If there are no weights, or a penalty is not a scalar.
  """
  v1 = tf.compat.v1
  if not weights_list:
    weights_list = v1.get_collection(v1.GraphKeys.WEIGHTS)
  if not weights_list:
    raise ValueError('No weights to regularize.')
  with v1.name_scope('get_regularization_penalty',
                     values=weights_list) as scope:
    penalties = [regularizer(w) for w in weights_list]
    penalties = [p if p is not None else tf.constant(0.0) for p in penalties]
    for penalty in penalties:
      rank = penalty.get_shape().ndims
      if rank != 0:
        if rank is None:
          # TF 1.15 formatted None with %d here and died with an unrelated
          # TypeError; the check it meant to make is kept, with the rank
          # stated.
          raise ValueError('regularizer must return a scalar Tensor instead '
                           'of a Tensor of unknown rank.')
        raise ValueError('regularizer must return a scalar Tensor instead of '
                         'a Tensor with rank %d.' % rank)
    summed = tf.add_n(penalties, name=scope)
    v1.add_to_collection(v1.GraphKeys.REGULARIZATION_LOSSES, summed)
    return summed
