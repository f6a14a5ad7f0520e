"""Build-time checks for arguments TF 1.15 accepted but mishandled.

TF 1.15's `tf.contrib.layers.batch_norm` silently accepted some wrong
arguments and then ignored them (a misspelt `param_initializers` key), broke
at run time, or corrupted the model (a `decay` above 1, a string 'False' that
Python reads as true). `validate_arguments` refuses those while the graph is
built, with a `ValueError` or `TypeError` that names the argument and the
value. `contrib_bn/conformance/bad_inputs.py` records what TF 1.15 did with each of
them (`tests/data/tf1_bad_inputs.json`).

Each check only covers a value TF 1.15 accepted, so a single bad argument is
refused either by TF 1.15's own error or by one of these. When the arguments
would make TF 1.15 raise anyway (an undefined rank or channel count, a
non-float input, renorm off the core path, unknown `renorm_clipping` keys,
`reuse` without `scope`, ...), `validate_arguments` returns without a word and
lets the layer raise TF 1.15's exact error, even if another argument is also
bad. The errors TF 1.15 raised only while creating variables (reusing a scope
that does not exist, a mis-shaped initializer) are not foreseen: combined
with a second, harmful argument, our error comes first.
"""

import math
import numbers

import numpy as np
import tensorflow as tf

from contrib_bn import _dispatch
from contrib_bn import _identifiers
from contrib_bn import constants

_FLAGS = ('center', 'scale', 'trainable', 'renorm', 'zero_debias_moving_mean',
          'fused')
_STRINGS = (str, bytes)


def _fail(error_type, message, *args):
  raise error_type('batch_norm: ' + (message % args if args else message))


def real_number(value):
  """`value` as a float if it is a real Python or NumPy number, else None."""
  if isinstance(value, (bool, np.bool_)):
    return None
  if isinstance(value, numbers.Real):
    return float(value)
  return None


def _static_number(value):
  """Like `real_number`, also reading a scalar tensor with a static value."""
  number = real_number(value)
  if number is not None or not tf.is_tensor(value):
    return number
  static = tf.get_static_value(value)
  if static is None or np.ndim(static) != 0:
    return None
  return real_number(np.asarray(static).item())


def _unexpected_keys(argument, mapping, valid):
  unexpected = [k for k in mapping if k not in valid]
  if unexpected:
    _fail(ValueError, '%s has unexpected key %s; valid keys: %s', argument,
          ', '.join(repr(k) for k in unexpected), ', '.join(valid))


class _Facts(object):
  """What TF 1.15 knew about the inputs when it chose what to raise."""

  def __init__(self, inputs, data_format):
    shape = inputs.get_shape()
    self.shape = shape
    self.rank = shape.ndims
    self.dtype = inputs.dtype.base_dtype
    self.nchw = data_format == constants.DATA_FORMAT_NCHW
    self.channels = None
    if self.rank:
      axis = _dispatch.channel_axis(data_format, self.rank)
      if axis < self.rank:
        self.channels = tf.compat.dimension_value(shape[axis])


def _tf1_raises(path, facts, args):
  """Whether TF 1.15 raised its own build-time error for these arguments.

  Conservative: any condition here makes validation stand aside, so a known
  TF 1.15 error always wins over ours.
  """
  if args.data_format not in constants.DATA_FORMATS:
    return True
  if facts.rank is None or not facts.dtype.is_floating:
    return True
  if args.reuse and args.scope is None:
    return True
  renorm = bool(args.renorm)
  if facts.dtype == tf.float64 and (
      renorm or _dispatch.uses_fused_kernel(path, facts.rank, args.fused,
                                              renorm, args.adjustment)):
    return True
  if path == constants.PATH_CORE:
    if facts.rank == 0 or (facts.nchw and facts.rank < 2):
      return True
    clipping = args.renorm_clipping
    if renorm and clipping and (
        not isinstance(clipping, dict) or
        set(clipping) - set(constants.RENORM_CLIPPING_KEYS)):
      return True
  if path == constants.PATH_MOMENTS:
    if renorm or (facts.nchw and facts.rank < 2):
      return True
    weights = args.batch_weights
    if weights is not None and not _weights_shape_ok(facts, weights):
      return True
  if facts.rank >= 1 and facts.channels is None:
    return True
  return False


def _weights_shape(weights):
  if tf.is_tensor(weights) or isinstance(weights, tf.Variable):
    return weights.get_shape()
  return tf.TensorShape(np.shape(weights))


def _weights_shape_ok(facts, weights):
  return facts.shape[0:1].is_compatible_with(_weights_shape(weights))


def _check_inputs(facts):
  if facts.rank < 2:
    _fail(ValueError,
          'inputs must have rank 2 or more (a batch and a channel '
          'dimension); got rank %d with shape %s: TF 1.15 treated every '
          'example as its own channel', facts.rank, facts.shape)


def _check_flags(args):
  for name in _FLAGS:
    value = getattr(args, name)
    if isinstance(value, _STRINGS):
      _fail(TypeError, '%s must be a bool, got the string %r (a non-empty '
            'string is true)', name, value)


def _check_rates(args, path):
  decay = _static_number(args.decay)
  if decay is not None:
    if math.isnan(decay) or not 0.0 <= decay <= 1.0:
      _fail(ValueError, 'decay must be in [0, 1]; got %r', decay)
    if args.zero_debias_moving_mean and decay == 1.0:
      _fail(ValueError, 'decay %r with zero_debias_moving_mean=True divides '
            'the moving mean by 1 - decay**step = 0; use decay < 1', decay)
  epsilon = _static_number(args.epsilon)
  if epsilon is not None and (math.isnan(epsilon) or epsilon < 0.0):
    _fail(ValueError, 'epsilon must be >= 0; got %r', epsilon)
  if path == constants.PATH_CORE and args.renorm:
    renorm_decay = _static_number(args.renorm_decay)
    if renorm_decay is not None and (
        math.isnan(renorm_decay) or not 0.0 <= renorm_decay <= 1.0):
      _fail(ValueError, 'renorm_decay must be in [0, 1]; got %r',
            renorm_decay)


def _check_renorm_clipping(args, path):
  clipping = args.renorm_clipping
  if path != constants.PATH_CORE or not args.renorm or not clipping:
    return
  values = {key: _static_number(clipping[key]) for key in clipping}
  rmin, rmax, dmax = [values.get(k) for k in ('rmin', 'rmax', 'dmax')]
  for key, value in values.items():
    if value is not None and math.isnan(value):
      _fail(ValueError, 'renorm_clipping[%r] is nan', key)
  if rmax is not None and rmax <= 0.0:
    _fail(ValueError, 'renorm_clipping has rmax %r; it must be > 0 (r is a '
          'positive ratio of standard deviations)', rmax)
  if rmin is not None and rmax is not None and rmin > rmax:
    _fail(ValueError, 'renorm_clipping has rmin %r > rmax %r: an empty '
          'clipping range', rmin, rmax)
  if dmax is not None and dmax < 0.0:
    _fail(ValueError, 'renorm_clipping has dmax %r; it must be >= 0', dmax)


def _check_param_dicts(args, facts):
  initializers = args.param_initializers
  if isinstance(initializers, dict):
    _unexpected_keys('param_initializers', initializers, constants.PARAMETERS)
    for key in constants.PARAMETERS:
      size = _identifiers.constant_size(initializers.get(key))
      if size is not None and 1 < size < facts.channels:
        _fail(ValueError, 'param_initializers[%r] has %d values for %d '
              'channels; TF 1.15 silently repeated the last value', key,
              size, facts.channels)
  regularizers = args.param_regularizers
  if isinstance(regularizers, dict):
    _unexpected_keys('param_regularizers', regularizers, constants.REGULARIZED_PARAMETERS)
  collections = args.variables_collections
  if isinstance(collections, _STRINGS):
    _fail(TypeError, 'variables_collections must be a list of collection '
          'names or a dict of lists; got the string %r, which TF 1.15 split '
          'into one-letter collections', collections)
  if isinstance(collections, dict):
    _unexpected_keys('variables_collections', collections, constants.PARAMETERS)
    for key, value in collections.items():
      if isinstance(value, _STRINGS):
        _fail(TypeError, 'variables_collections[%r] must be a list of '
              'collection names; got the string %r, which TF 1.15 split '
              'into one-letter collections', key, value)


def _check_is_training(args, path):
  value = args.is_training
  if value is None:
    # The fused and moments paths raised TF 1.15's own ValueError.
    if path == constants.PATH_CORE:
      _fail(ValueError, 'is_training must be a bool, a bool tensor or a bool '
            'variable; got None, which TF 1.15 silently read as the Keras '
            'learning phase (inference mode)')
    return
  if isinstance(value, _STRINGS):
    # The core layer raised TF 1.15's own TypeError for strings.
    if path != constants.PATH_CORE:
      _fail(TypeError, 'is_training must be a bool, a bool tensor or a bool '
            'variable; got the string %r (a non-empty string is true)', value)
    return
  if tf.is_tensor(value) and not isinstance(value, tf.Variable):
    if value.dtype.base_dtype == tf.string:
      static = tf.get_static_value(value)
      # A non-constant string tensor made TF 1.15's cond raise on its own.
      if static is not None:
        static = np.asarray(static)
        shown = static.item() if static.size == 1 else static.tolist()
        _fail(TypeError, 'is_training must be a bool, a bool tensor or a '
              'bool variable; got a constant string tensor holding %r (any '
              'non-empty string is true)', shown)


def _check_batch_weights(args):
  weights = args.batch_weights
  if weights is None:
    return
  if tf.is_tensor(weights) and not isinstance(weights, tf.Variable):
    values = tf.get_static_value(weights)
  elif isinstance(weights, tf.Variable):
    values = None
  else:
    values = weights
  if values is None:
    return
  try:
    values = np.asarray(values, dtype=np.float64)
  except (TypeError, ValueError):
    return
  if not np.all(np.isfinite(values)) or np.any(values < 0):
    _fail(ValueError, 'batch_weights must be finite and non-negative; got '
          'negative or non-finite weights %s', values.tolist())
  if values.size and not np.any(values > 0):
    _fail(ValueError, 'batch_weights are all zero (%s): the weighted '
          'moments divide by their sum', values.tolist())


def validate_arguments(inputs, path=None, **arguments):
  """Refuses arguments TF 1.15 accepted and then mishandled.

  Takes `batch_norm`'s arguments by keyword, unchanged (the ones left out
  take `batch_norm`'s defaults), plus the internal path it selected. Adds
  nothing to the graph. `activation_fn`, `outputs_collections` and
  `adjustment` are not checked: TF 1.15 raised on bad ones itself, or
  handled them correctly.

  Args:
    inputs: the layer input.
    path: `constants.PATH_FUSED`, `PATH_CORE` or `PATH_MOMENTS`, as chosen
      by `select_path`; computed here when None.
    **arguments: `batch_norm`'s keyword arguments.

  Raises:
    ValueError: for a value out of its range, an unexpected dict key, a
      rank below 2 or unusable batch weights.
    TypeError: for a string where a bool or a list is expected, or an
      argument `batch_norm` does not have.
  """
  args = _dispatch.Arguments(**arguments)
  inputs = tf.convert_to_tensor(inputs)
  if path is None:
    path = _dispatch.path_for(inputs.get_shape().ndims, args)
  check(inputs, path, args)


def check(inputs, path, args):
  """`validate_arguments` for a tensor, its path and an `Arguments` record."""
  facts = _Facts(inputs, args.data_format)
  if _tf1_raises(path, facts, args):
    return
  _check_inputs(facts)
  _check_flags(args)
  _check_is_training(args, path)
  _check_rates(args, path)
  _check_renorm_clipping(args, path)
  _check_param_dicts(args, facts)
  _check_batch_weights(args)
