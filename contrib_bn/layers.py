"""`tf.compat.v1.layers.batch_normalization` and `BatchNormalization`, TF 1.15's.

On TF 2.16+ with Keras 3 both names raise "not available with Keras 3";
these are TF 1.15.5's, rebuilt on contrib_bn's core-layer path (the one
`tf.contrib.layers.batch_norm` delegated to in TF 1.15), so they create the
same variables (`batch_normalization/gamma`, `beta`, `moving_mean`,
`moving_variance`; with renorm also `moving_stddev`, `renorm_mean`,
`renorm_stddev`), in the same collections, with the same numerics; TF1
checkpoints restore unchanged. `contrib_bn.install()` serves them under
`tf.compat.v1.layers` (contrib_bn.compat.tf_layers).

What differs from `tf.contrib.layers.batch_norm` on that path, as in TF 1.15:
the defaults (`momentum=0.99`, `scale=True`), the channel `axis` instead of
`data_format`, the variable scope (a unique `batch_normalization`, or
`name`), no MODEL_VARIABLES, `beta_constraint` and `gamma_constraint`, and
the class API (`apply`, `updates`, `variables`, `losses`, ...).

An `axis` list of several axes and `virtual_batch_size` (ghost batch
normalization) give parameters shaped like the input, as in TF 1.15.
Inside `contrib_bn.inference_mode()`, `training` is checked as TF 1.15
checked it and then taken as False.

The neighbours legacy code calls on the same lines are served from here
too: `dense`, `conv1d/2d/3d`, `conv2d_transpose`, `conv3d_transpose`,
`separable_conv1d/2d`, the 1-D to 3-D max and average pooling, `dropout`
and `flatten`, and their classes (modules _tf_layers_core, _tf_layers_conv,
_tf_layers_transposed, _tf_layers_separable and _tf_layers_pooling, on the
shared _tf_layer_base). This module stays `contrib_bn.layers`, a module rather
than a package, so that `from contrib_bn import layers` and
`contrib_bn.layers.batch_normalization` are unchanged.

The module is over 400 lines because BatchNormalization's 24 arguments are
spelled out, as TF 1.15 did, in its class and again in its functional form.
"""

import tensorflow as tf

from contrib_bn import _core_path
from contrib_bn import _dispatch
from contrib_bn import _graph_utils
from contrib_bn import _inference_mode
from contrib_bn import _tf1_errors
from contrib_bn import _tf_layer_base
from contrib_bn import _tf_layers_conv
from contrib_bn import _tf_layers_core
from contrib_bn import _tf_layers_pooling
from contrib_bn import _tf_layers_separable
from contrib_bn import _tf_layers_transposed
from contrib_bn import constants
from contrib_bn import distribute
# The neighbours, served from here with batch normalization.
from contrib_bn._tf_layers_conv import *  # pylint: disable=wildcard-import
from contrib_bn._tf_layers_core import *  # pylint: disable=wildcard-import
from contrib_bn._tf_layers_pooling import *  # pylint: disable=wildcard-import
from contrib_bn._tf_layers_separable import *  # pylint: disable=wildcard-import
from contrib_bn._tf_layers_transposed import *  # pylint: disable=wildcard-import

__all__ = sorted(['BatchNormalization', 'batch_normalization'] +
                 _tf_layers_conv.__all__ + _tf_layers_core.__all__ +
                 _tf_layers_pooling.__all__ + _tf_layers_separable.__all__ +
                 _tf_layers_transposed.__all__)

_KEYS = tf.compat.v1.GraphKeys
BASE_NAME = 'batch_normalization'


def _unique_layer_name():
  return _tf_layer_base.unique_layer_name(BASE_NAME)


def _learning_phase():
  return _tf_layer_base.learning_phase()


def _added(key, before):
  """What joined collection `key` since it held `before` items."""
  return list(tf.compat.v1.get_collection(key)[before:])


class BatchNormalization(object):
  """Batch normalization layer with the API of TF 1.15's `tf.layers` class.

  Normalizes over every axis but `axis`. Training-mode calls create update
  ops for the moving statistics and add them to `UPDATE_OPS`; run them with
  the train op:

  ```python
    update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
    with tf.control_dependencies(update_ops):
      train_op = optimizer.minimize(loss)
  ```

  Rank-4 inputs with one `axis`, 1 or 3 (-3 or -1), use the fused kernel
  unless `fused=False`, renorm, `adjustment` or `virtual_batch_size`; the
  rest the moments formulas (`fused=True` falls back to them silently, as
  in TF 1.15).

  Args:
    axis: the channel axis, an int, or a list of axes normalized together;
      with several axes the parameters have the input's rank, with size 1
      on every other axis.
    momentum: decay of the moving averages.
    epsilon: small float added to the variance.
    center: whether to add the learned offset `beta`.
    scale: whether to multiply by the learned `gamma`.
    beta_initializer, gamma_initializer, moving_mean_initializer,
      moving_variance_initializer: the variables' initializers.
    beta_regularizer, gamma_regularizer: optional regularizers.
    beta_constraint, gamma_constraint: optional projections the TF1
      optimizers apply after each update.
    renorm: use batch renormalization (https://arxiv.org/abs/1702.03275).
    renorm_clipping: dict with optional keys `rmax`, `rmin`, `dmax`.
    renorm_momentum: decay of renorm's own moving averages.
    fused: None or True to use the fused kernel where possible, False never.
    trainable: whether `gamma` and `beta` are trainable; False also leaves
      the moving statistics frozen (the layer has no updates).
    virtual_batch_size: None, or a positive int dividing the batch: ghost
      batch normalization. The input is viewed as `[virtual_batch_size,
      batch / virtual_batch_size, ...]`, so example `i` joins ghost batch
      `i % (batch / virtual_batch_size)`; each ghost batch is normalized
      with its own statistics, the moving statistics take their average,
      and the parameters get an extra leading 1 (`[1, 1, ..., C]`).
    adjustment: optional function of the input's dynamic shape returning
      `(scale, bias)` applied to the normalized values in training; not
      with `virtual_batch_size`.
    name: the layer's name and variable scope; default a unique
      `batch_normalization`.
    **kwargs: `_reuse` and `_scope`, as the functional form passes them.

  Raises:
    TypeError: for an `axis` that is neither an int nor a list.
    ValueError: for unknown `renorm_clipping` keys; when called, for axes
      out of range or repeated, a `virtual_batch_size` that is not positive,
      with axis 0 or with `adjustment`, or that does not divide a static
      batch (TF 1.15's messages).
  """

  def __init__(self,
               axis=-1,
               momentum=0.99,
               epsilon=1e-3,
               center=True,
               scale=True,
               beta_initializer=tf.compat.v1.zeros_initializer(),
               gamma_initializer=tf.compat.v1.ones_initializer(),
               moving_mean_initializer=tf.compat.v1.zeros_initializer(),
               moving_variance_initializer=tf.compat.v1.ones_initializer(),
               beta_regularizer=None,
               gamma_regularizer=None,
               beta_constraint=None,
               gamma_constraint=None,
               renorm=False,
               renorm_clipping=None,
               renorm_momentum=0.99,
               fused=None,
               trainable=True,
               virtual_batch_size=None,
               adjustment=None,
               name=None,
               **kwargs):
    if isinstance(axis, list):
      axis = axis[:]
    elif not isinstance(axis, int):
      raise _tf1_errors.layer_axis_type(axis)
    if renorm and set(renorm_clipping or {}) - set(
        constants.RENORM_CLIPPING_KEYS):
      raise _tf1_errors.core_unknown_clipping_keys(renorm_clipping or {})
    self.axis = axis
    self.momentum = momentum
    self.epsilon = epsilon
    self.center = center
    self.scale = scale
    self.beta_initializer = beta_initializer
    self.gamma_initializer = gamma_initializer
    self.moving_mean_initializer = moving_mean_initializer
    self.moving_variance_initializer = moving_variance_initializer
    self.beta_regularizer = beta_regularizer
    self.gamma_regularizer = gamma_regularizer
    self.beta_constraint = beta_constraint
    self.gamma_constraint = gamma_constraint
    self.renorm = renorm
    self.renorm_clipping = renorm_clipping
    self.renorm_momentum = renorm_momentum
    self.fused = fused
    self.trainable = trainable
    self.virtual_batch_size = virtual_batch_size
    self.adjustment = adjustment
    self._reuse = kwargs.pop('_reuse', None)
    scope = kwargs.pop('_scope', None)
    if kwargs:
      raise TypeError('Keyword argument not understood: %s' % sorted(kwargs))
    self._base_name = name or BASE_NAME
    self.name = name or _unique_layer_name()
    self._scope = None
    if scope:
      with tf.compat.v1.variable_scope(scope) as captured:
        self._scope = captured
    self.built = False
    self._variables = {}
    self._created = {}
    self._updates = []
    self._losses = []

  @property
  def scope_name(self):
    if self._scope is None:
      raise ValueError('No name available for layer scope because the layer '
                       '"%s" has not been used yet.' % self.name)
    return self._scope.name

  def _get(self, name):
    return self._variables.get(name)

  gamma = property(lambda self: self._get(constants.GAMMA))
  beta = property(lambda self: self._get(constants.BETA))
  moving_mean = property(lambda self: self._get(constants.MOVING_MEAN))
  moving_variance = property(
      lambda self: self._get(constants.MOVING_VARIANCE))
  moving_stddev = property(lambda self: self._get(constants.MOVING_STDDEV))
  renorm_mean = property(lambda self: self._get(constants.RENORM_MEAN))
  renorm_stddev = property(lambda self: self._get(constants.RENORM_STDDEV))

  def _present(self, names):
    return [self._variables[n] for n in names if n in self._variables]

  @property
  def trainable_weights(self):
    if not self.trainable:
      return []
    return self._present((constants.GAMMA, constants.BETA))

  @property
  def non_trainable_weights(self):
    statistics = self._present(
        (constants.MOVING_MEAN, constants.MOVING_VARIANCE,
         constants.MOVING_STDDEV, constants.RENORM_MEAN,
         constants.RENORM_STDDEV))
    if self.trainable:
      return statistics
    return self._present((constants.GAMMA, constants.BETA)) + statistics

  @property
  def weights(self):
    return self.trainable_weights + self.non_trainable_weights

  trainable_variables = trainable_weights
  non_trainable_variables = non_trainable_weights
  variables = weights

  @property
  def updates(self):
    return list(self._updates) if self.trainable else []

  @property
  def losses(self):
    return list(self._losses)

  def apply(self, inputs, *args, **kwargs):
    """The same as calling the layer."""
    return self.__call__(inputs, *args, **kwargs)

  def __call__(self, inputs, training=False, scope=None):
    """Normalizes `inputs`; creates the variables on the first call.

    Args:
      inputs: a tensor of known rank.
      training: Python bool or bool tensor: normalize with the batch
        statistics and update the moving ones (True) or with the moving
        statistics (False). None reads the graph's `keras_learning_phase`,
        a placeholder defaulting to False, as TF 1.15 did.
      scope: optional variable scope for the first call.

    Returns:
      The normalized tensor, with the shape and dtype of `inputs`.
    """
    if training is None:
      training = _learning_phase()
    if _inference_mode.active():
      training = _for_inference(training)
    self._set_scope(scope)
    reuse = True if self.built else self._reuse
    with tf.compat.v1.variable_scope(
        self._scope, reuse=reuse, auxiliary_name_scope=False,
        custom_getter=self._variable_getter) as current:
      with tf.compat.v1.name_scope(current.original_name_scope):
        inputs = tf.convert_to_tensor(inputs)
        axes = self._axes(inputs.get_shape())
        updates = len(tf.compat.v1.get_collection(_KEYS.UPDATE_OPS))
        losses = len(tf.compat.v1.get_collection(
            _KEYS.REGULARIZATION_LOSSES))
        # Under a mirrored strategy: per-replica moving statistics, or
        # synchronized ones, as for the contrib layer.
        with distribute.building_tf_layer(training):
          outputs = _core_path.core_batch_norm(
              inputs, self._arguments(training), axis=axes,
              virtual_batch_size=self.virtual_batch_size)
        self._updates.extend(_added(_KEYS.UPDATE_OPS, updates))
        if not self.built:
          self._losses.extend(_added(_KEYS.REGULARIZATION_LOSSES, losses))
          self._variables = self._created
        self.built = True
    return outputs

  def _set_scope(self, scope):
    if self._scope is None:
      self._scope = _tf_layer_base.layer_scope(scope, self._base_name,
                                               self._reuse)

  def _axes(self, shape):
    """The non-negative channel axes, checked as TF 1.15 checked them."""
    if not shape.ndims:
      raise _tf1_errors.core_undefined_rank(shape)
    ndims = shape.ndims
    axes = self.axis if isinstance(self.axis, list) else [self.axis]
    axes = [a + ndims if a < 0 else a for a in axes]
    for a in axes:
      if a < 0 or a >= ndims:
        raise _tf1_errors.core_invalid_axis(a)
    if len(axes) != len(set(axes)):
      raise _tf1_errors.layer_duplicate_axis(axes)
    if self.virtual_batch_size is not None:
      # Compared as TF 1.15 compared it: a string fails on `<=`.
      if self.virtual_batch_size <= 0:
        raise _tf1_errors.layer_virtual_batch_size()
      if 0 in axes:
        raise _tf1_errors.layer_virtual_batch_axis()
      if self.adjustment is not None:
        raise _tf1_errors.layer_virtual_batch_adjustment()
    return axes

  def _arguments(self, training):
    # tf.layers' fused=None meant "where the kernel applies", which the core
    # path decides from the rank, axis, renorm and adjustment.
    return _dispatch.Arguments(
        decay=self.momentum, center=self.center, scale=self.scale,
        epsilon=self.epsilon,
        param_initializers={
            constants.GAMMA: self.gamma_initializer,
            constants.BETA: self.beta_initializer,
            constants.MOVING_MEAN: self.moving_mean_initializer,
            constants.MOVING_VARIANCE: self.moving_variance_initializer},
        param_regularizers={
            constants.GAMMA: self.gamma_regularizer,
            constants.BETA: self.beta_regularizer},
        is_training=training, trainable=self.trainable,
        fused=self.fused, renorm=self.renorm,
        renorm_clipping=self.renorm_clipping,
        renorm_decay=self.renorm_momentum, adjustment=self.adjustment)

  def _variable_getter(self, getter, name, *args, **kwargs):
    """The core path's variable, in tf.layers' collections, constrained.

    tf.layers' variables joined no MODEL_VARIABLES, unlike contrib's, and
    carried the constraints the TF1 optimizers apply.
    """
    collections = kwargs.get('collections')
    if collections:
      kwargs['collections'] = [c for c in collections
                               if c != _KEYS.MODEL_VARIABLES]
    short = name.rsplit('/', 1)[-1]
    constraint = {constants.GAMMA: self.gamma_constraint,
                  constants.BETA: self.beta_constraint}.get(short)
    if constraint is not None:
      kwargs['constraint'] = constraint
    variable = getter(name, *args, **kwargs)
    if not self.built:
      self._created[short] = variable
    return variable


def _for_inference(training):
  """False, for `inference_mode()`, once `training` passes TF 1.15's checks.

  TF 1.15's layer read a static value of `training` and otherwise built a
  conditional on it, whose Switch refused a tensor that is not a bool
  scalar; the same checks run here, on the value given.
  """
  if _graph_utils.layer_static_value(training) is None:
    _tf1_errors.check_predicate(training)
  return False


def batch_normalization(inputs,
                        axis=-1,
                        momentum=0.99,
                        epsilon=1e-3,
                        center=True,
                        scale=True,
                        beta_initializer=tf.compat.v1.zeros_initializer(),
                        gamma_initializer=tf.compat.v1.ones_initializer(),
                        moving_mean_initializer=(
                            tf.compat.v1.zeros_initializer()),
                        moving_variance_initializer=(
                            tf.compat.v1.ones_initializer()),
                        beta_regularizer=None,
                        gamma_regularizer=None,
                        beta_constraint=None,
                        gamma_constraint=None,
                        training=False,
                        trainable=True,
                        name=None,
                        reuse=None,
                        renorm=False,
                        renorm_clipping=None,
                        renorm_momentum=0.99,
                        fused=None,
                        virtual_batch_size=None,
                        adjustment=None):
  """The functional form of `BatchNormalization`, TF 1.15's `tf.layers` one.

  Applies a new `BatchNormalization` in the variable scope `name` (reused
  with `reuse=True`; default a unique `batch_normalization`). The other
  arguments are the class's and its call's. With `training=True` (or a
  bool tensor) the moving-statistics updates go to `UPDATE_OPS`, to be run
  with the train op (see `BatchNormalization`).

  Returns:
    The normalized tensor.

  Raises:
    TypeError, ValueError: as `BatchNormalization` and its call raise them.
  """
  layer = BatchNormalization(
      axis=axis, momentum=momentum, epsilon=epsilon, center=center,
      scale=scale, beta_initializer=beta_initializer,
      gamma_initializer=gamma_initializer,
      moving_mean_initializer=moving_mean_initializer,
      moving_variance_initializer=moving_variance_initializer,
      beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer,
      beta_constraint=beta_constraint, gamma_constraint=gamma_constraint,
      renorm=renorm, renorm_clipping=renorm_clipping,
      renorm_momentum=renorm_momentum, fused=fused, trainable=trainable,
      virtual_batch_size=virtual_batch_size, adjustment=adjustment,
      name=name, _reuse=reuse, _scope=name)
  return layer.apply(inputs, training=training)
