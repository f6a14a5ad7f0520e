"""Creation of batch-norm variables and their collection membership."""

import contextlib

import tensorflow as tf

from contrib_bn import constants
from contrib_bn import distribute

_KEYS = tf.compat.v1.GraphKeys


def collections_for(variables_collections, name):
  """Collections a variable called `name` joins (a list, a dict or None)."""
  if isinstance(variables_collections, dict):
    return variables_collections.get(name, None)
  return variables_collections


def _unique_list(items):
  return list(dict.fromkeys(items))


def model_variable(name, shape, dtype, initializer, collections=None,
                   trainable=True, regularizer=None, sync_on_read=False):
  """`tf.compat.v1.get_variable` that also joins MODEL_VARIABLES.

  Args:
    name: short variable name, created in the current variable scope.
    shape: the variable shape.
    dtype: the variable dtype.
    initializer: a `tf.compat.v1` initializer.
    collections: extra collections, besides GLOBAL_VARIABLES.
    trainable: whether it joins TRAINABLE_VARIABLES.
    regularizer: optional callable; its loss joins REGULARIZATION_LOSSES.
    sync_on_read: under a mirrored strategy, make it a sync-on-read
      variable aggregated by MEAN (the core layer's moving statistics).

  Returns:
    The variable (an existing one when the scope reuses variables).
  """
  if isinstance(collections, str):
    collections = [collections]
  names = list(collections or []) + [_KEYS.GLOBAL_VARIABLES,
                                      _KEYS.MODEL_VARIABLES]
  return tf.compat.v1.get_variable(
      name, shape=shape, dtype=dtype, initializer=initializer,
      regularizer=regularizer, trainable=trainable,
      collections=_unique_list(names),
      **distribute.variable_kwargs(sync_on_read))


def add_to_collections(variable, collections, only_if_absent=True):
  """Adds `variable` to each named collection (that lacks it)."""
  if isinstance(collections, str):
    collections = [collections]
  for name in collections or []:
    if only_if_absent and any(
        v is variable for v in tf.compat.v1.get_collection(name)):
      continue
    tf.compat.v1.add_to_collection(name, variable)


@contextlib.contextmanager
def partitioner_disabled():
  """Re-enters the current variable scope with no partitioner.

  Moving statistics are updated in place, which partitioned variables cannot
  do; TF1 created them unpartitioned, and checkpoints depend on that.
  """
  with tf.compat.v1.variable_scope(
      tf.compat.v1.get_variable_scope()) as scope:
    scope.set_partitioner(None)
    yield


def _sqrt_initializer(initializer):
  def initialize(*args, **kwargs):
    return tf.sqrt(initializer(*args, **kwargs))
  return initialize


class BatchNormVariables(object):
  """The variables of one batch-norm layer; absent ones are None."""

  def __init__(self):
    self.beta = None
    self.gamma = None
    self.moving_mean = None
    self.moving_variance = None
    self.moving_stddev = None
    self.renorm_mean = None
    self.renorm_stddev = None


def create(params_shape, dtype, center, scale, initializers, regularizers,
           variables_collections, trainable, gamma_first=False, renorm=False,
           collections_at_creation=True, sync_on_read=False):
  """Creates a layer's variables in the current variable scope.

  Args:
    params_shape: shape of every parameter, `[channels]`.
    dtype: parameter dtype.
    center: whether to create `beta`.
    scale: whether to create `gamma`.
    initializers: dict of initializers by variable name (may be empty).
    regularizers: dict of regularizers for `beta` / `gamma`.
    variables_collections: the layer's `variables_collections` argument.
    trainable: whether `beta` and `gamma` are trainable.
    gamma_first: create `gamma` before `beta` (the core-layer order).
    renorm: also create `moving_stddev`, `renorm_mean` and `renorm_stddev`.
    collections_at_creation: join `variables_collections` while creating;
      otherwise the caller adds them afterwards (the core-layer order).
    sync_on_read: moving statistics are sync-on-read under a mirrored
      strategy (the core layer's).

  Returns:
    A `BatchNormVariables`.
  """
  result = BatchNormVariables()
  zeros = tf.compat.v1.zeros_initializer()
  ones = tf.compat.v1.ones_initializer()

  def extra(name):
    if not collections_at_creation:
      return None
    return collections_for(variables_collections, name)

  def make_beta():
    if center:
      result.beta = model_variable(
          constants.BETA, params_shape, dtype,
          initializers.get(constants.BETA, zeros), extra(constants.BETA),
          trainable, regularizers.get(constants.BETA))

  def make_gamma():
    if scale:
      result.gamma = model_variable(
          constants.GAMMA, params_shape, dtype,
          initializers.get(constants.GAMMA, ones), extra(constants.GAMMA),
          trainable, regularizers.get(constants.GAMMA))

  for make in ((make_gamma, make_beta) if gamma_first else
               (make_beta, make_gamma)):
    make()
  mean_init = initializers.get(constants.MOVING_MEAN, zeros)
  variance_init = initializers.get(constants.MOVING_VARIANCE, ones)
  with partitioner_disabled():
    result.moving_mean = model_variable(
        constants.MOVING_MEAN, params_shape, dtype, mean_init,
        extra(constants.MOVING_MEAN), trainable=False,
        sync_on_read=sync_on_read)
    result.moving_variance = model_variable(
        constants.MOVING_VARIANCE, params_shape, dtype, variance_init,
        extra(constants.MOVING_VARIANCE), trainable=False,
        sync_on_read=sync_on_read)
    if renorm:
      stddev_init = _sqrt_initializer(variance_init)
      # TF 1.15 colocated renorm's state with the moving statistics, so a
      # parameter server keeps each update next to what it reads.
      with distribute.colocated_with(result.moving_variance):
        result.moving_stddev = model_variable(
            constants.MOVING_STDDEV, params_shape, dtype, stddev_init,
            trainable=False, sync_on_read=sync_on_read)
      with distribute.colocated_with(result.moving_mean):
        result.renorm_mean = model_variable(
            constants.RENORM_MEAN, params_shape, dtype, mean_init,
            trainable=False, sync_on_read=sync_on_read)
      with distribute.colocated_with(result.moving_stddev):
        result.renorm_stddev = model_variable(
            constants.RENORM_STDDEV, params_shape, dtype, stddev_init,
            trainable=False, sync_on_read=sync_on_read)
  return result
