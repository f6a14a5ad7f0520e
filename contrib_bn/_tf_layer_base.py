"""What every `tf.layers` layer of TF 1.15 shares, on the public TF 2 API.

TF 1.15's `tf.layers` classes were Keras 2 layers in a variable scope. The
parts contrib_bn.layers reproduces:

  * names: an unnamed layer is `dense_1`, `dense_2`, ... (per graph and per
    base name, counted from one), its variable scope `dense`, `dense_1`, ...
    (`variable_scope(default_name=...)`, counted from none); a named layer's
    scope is its name, reused with `reuse=True`;
  * variables from `tf.compat.v1.get_variable` in the layer's scope, with the
    scope's initializer, else Glorot uniform for floating dtypes, as the
    default; regularizer losses in REGULARIZATION_LOSSES when the variable
    is new (not when a reusing layer gets it again);
  * the activity regularizer's loss divided by the batch size, per call;
  * the class API: `apply`, `__call__`, `variables`, `trainable_variables`,
    `non_trainable_variables`, `weights`, `losses`, `updates`, `scope_name`.
"""

import weakref

import tensorflow as tf

from contrib_bn import _tf1_errors

_KEYS = tf.compat.v1.GraphKeys
# Per graph, how many unnamed layers of each base name were made.
_UNNAMED_LAYERS = weakref.WeakKeyDictionary()
# Per graph, the `keras_learning_phase` tensor that `training=None` reads,
# as TF 1.15's Keras backend kept one per graph.
_LEARNING_PHASES = weakref.WeakKeyDictionary()


def unique_layer_name(base_name):
  """`<base_name>_N`, N counting from one per graph and base name."""
  graph = tf.compat.v1.get_default_graph()
  counts = _UNNAMED_LAYERS.setdefault(graph, {})
  counts[base_name] = counts.get(base_name, 0) + 1
  return '%s_%d' % (base_name, counts[base_name])


def layer_scope(scope, base_name, reuse):
  """The variable scope a TF 1.15 layer builds in, captured once.

  With `reuse`, the scope named `scope` (else `base_name`) as it is; without,
  `scope`, or a new unique one made from `base_name`.
  """
  if reuse:
    with tf.compat.v1.variable_scope(
        scope if scope is not None else base_name) as captured:
      return captured
  with tf.compat.v1.variable_scope(scope, default_name=base_name) as captured:
    return captured


def learning_phase():
  """The graph's `keras_learning_phase`, a bool defaulting to False."""
  graph = tf.compat.v1.get_default_graph()
  if graph not in _LEARNING_PHASES:
    with graph.name_scope(None):
      _LEARNING_PHASES[graph] = tf.compat.v1.placeholder_with_default(
          False, shape=(), name='keras_learning_phase')
  return _LEARNING_PHASES[graph]


def normalize_tuple(value, n, name):
  """`value` as a tuple of `n` ints, checked with TF 1.15's errors."""
  if isinstance(value, int):
    return (value,) * n
  try:
    values = tuple(value)
  except TypeError:
    raise _tf1_errors.argument_tuple(name, n, value)
  if len(values) != n:
    raise _tf1_errors.argument_tuple(name, n, value)
  for element in values:
    try:
      int(element)
    except (ValueError, TypeError):
      raise _tf1_errors.argument_tuple(name, n, value, element)
  return values


def normalize_padding(value):
  padding = value.lower()
  if padding not in ('valid', 'same', 'causal'):
    raise _tf1_errors.argument_padding(padding)
  return padding


def normalize_data_format(value):
  data_format = value.lower()
  if data_format not in ('channels_first', 'channels_last'):
    raise _tf1_errors.argument_data_format(value)
  return data_format


def output_length(length, size, padding, stride, dilation=1):
  """A convolution's or pooling's output length; None for None."""
  if length is None:
    return None
  dilated = size + (size - 1) * (dilation - 1)
  if padding == 'valid':
    length = length - dilated + 1
  return (length + stride - 1) // stride


class Layer(object):
  """A TF 1.15 `tf.layers` layer: names, scope, variables, losses.

  Subclasses set `BASE_NAME`, may set `MIN_NDIM` or `NDIM` (checked on
  every call, with TF 1.15's messages), and define `build(input_shape)`
  (creating variables with `add_weight`) and `call(inputs, ...)`.

  Args:
    trainable: whether the variables join TRAINABLE_VARIABLES.
    name: the layer's name and variable scope; default a unique name.
    activity_regularizer: optional function of the output whose value,
      divided by the batch size, is added to the losses on every call.
    **kwargs: `_scope` and `_reuse`, as the functional forms pass them.
  """

  BASE_NAME = None
  MIN_NDIM = None
  NDIM = None

  def __init__(self, trainable=True, name=None, activity_regularizer=None,
               **kwargs):
    self._reuse = kwargs.pop('_reuse', None)
    scope = kwargs.pop('_scope', None)
    self.dtype = kwargs.pop('dtype', None)
    if kwargs:
      raise TypeError('Keyword argument not understood: %s' % sorted(kwargs))
    self.trainable = trainable
    self.activity_regularizer = activity_regularizer
    self._base_name = name or self.BASE_NAME
    self.name = name or unique_layer_name(self.BASE_NAME)
    self._scope = None
    if scope:
      with tf.compat.v1.variable_scope(scope) as captured:
        self._scope = captured
    self.built = False
    self._trainable = []
    self._non_trainable = []
    self._losses = []
    self._axes = {}

  @property
  def scope_name(self):
    if self._scope is None:
      raise ValueError('No name available for layer scope because the layer '
                       '"%s" has not been used yet.' % self.name)
    return self._scope.name

  @property
  def trainable_weights(self):
    return list(self._trainable) if self.trainable else []

  @property
  def non_trainable_weights(self):
    if self.trainable:
      return list(self._non_trainable)
    return self._trainable + self._non_trainable

  @property
  def weights(self):
    return self.trainable_weights + self.non_trainable_weights

  trainable_variables = trainable_weights
  non_trainable_variables = non_trainable_weights
  variables = weights

  @property
  def updates(self):
    return []

  @property
  def losses(self):
    return list(self._losses)

  def add_weight(self, name, shape, initializer=None, regularizer=None,
                 constraint=None, dtype=None):
    """A variable of the layer's scope (see the module docstring)."""
    dtype = tf.as_dtype(dtype or self.dtype or tf.float32)
    existing = {id(v) for v in tf.compat.v1.global_variables()}
    if initializer is None:
      initializer = tf.compat.v1.get_variable_scope().initializer
    if initializer is None and dtype.is_floating:
      initializer = tf.compat.v1.glorot_uniform_initializer()
    elif initializer is None:
      initializer = tf.compat.v1.zeros_initializer()
    variable = tf.compat.v1.get_variable(
        name, shape=shape, dtype=dtype, initializer=initializer,
        trainable=self.trainable, constraint=constraint)
    if regularizer is not None and id(variable) not in existing:
      with tf.compat.v1.name_scope(name + '/Regularizer'):
        loss = regularizer(variable)
      if loss is not None:
        self._add_losses([loss])
    trainable_now = {id(v) for v in tf.compat.v1.trainable_variables()}
    if self.trainable and id(variable) in trainable_now:
      self._trainable.append(variable)
    else:
      self._non_trainable.append(variable)
    return variable

  def _add_losses(self, losses):
    self._losses.extend(losses)
    collection = tf.compat.v1.get_collection_ref(_KEYS.REGULARIZATION_LOSSES)
    for loss in losses:
      if all(loss is not present for present in collection):
        collection.append(loss)

  def apply(self, inputs, *args, **kwargs):
    """The same as calling the layer."""
    return self.__call__(inputs, *args, **kwargs)

  def __call__(self, inputs, *args, **kwargs):
    scope = kwargs.pop('scope', None)
    self._set_scope(scope)
    reuse = True if self.built else self._reuse
    with tf.compat.v1.variable_scope(
        self._scope, reuse=reuse, auxiliary_name_scope=False) as current:
      with tf.compat.v1.name_scope(current.original_name_scope):
        inputs = tf.convert_to_tensor(inputs)
        self._check_input(inputs.get_shape())
        if not self.built:
          if self.dtype is None:
            self.dtype = inputs.dtype.base_dtype.name
          self.build(inputs.get_shape())
          self.built = True
        outputs = self.call(inputs, *args, **kwargs)
        if self.activity_regularizer is not None:
          with tf.compat.v1.name_scope('ActivityRegularizer'):
            loss = self.activity_regularizer(outputs)
            batch = tf.cast(tf.shape(outputs)[0], loss.dtype)
            self._add_losses([loss / batch])
    return outputs

  def _set_scope(self, scope):
    if self._scope is None:
      self._scope = layer_scope(scope, self._base_name, self._reuse)

  def _check_input(self, shape):
    """TF 1.15's input-spec checks of the rank and the built axes."""
    if self.NDIM is None and self.MIN_NDIM is None:
      return
    if shape.ndims is None:
      raise _tf1_errors.input_undefined_rank(self.name)
    if self.NDIM is not None and shape.ndims != self.NDIM:
      raise _tf1_errors.input_ndim(self.name, self.NDIM, shape)
    if self.MIN_NDIM is not None and shape.ndims < self.MIN_NDIM:
      raise _tf1_errors.input_min_ndim(self.name, self.MIN_NDIM, shape)
    for axis, value in self._axes.items():
      found = tf.compat.dimension_value(shape[axis])
      if found is not None and found != value:
        raise _tf1_errors.input_axis_value(self.name, axis, value, shape)

  def build(self, input_shape):
    del input_shape  # layers without variables need nothing

  def call(self, inputs):
    raise NotImplementedError
