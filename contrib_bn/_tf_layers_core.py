"""TF 1.15's `tf.layers` `dense`, `dropout` and `flatten`, and their classes.

Served by contrib_bn.layers (and, after `install()`, `tf.compat.v1.layers`).
Same arguments, defaults, variable names (`dense/kernel`, `dense/bias`),
shapes, collections and numerics as TF 1.15.5's; built on
`tf.compat.v1.get_variable` and `tf.nn` (contrib_bn._tf_layer_base).
"""

import numbers

import tensorflow as tf

from contrib_bn import _graph_utils
from contrib_bn import _tf1_errors
from contrib_bn import _tf_layer_base

__all__ = ['Dense', 'Dropout', 'Flatten', 'dense', 'dropout', 'flatten']

_ZEROS = tf.compat.v1.zeros_initializer()


class Dense(_tf_layer_base.Layer):
  """`outputs = activation(inputs . kernel + bias)`, TF 1.15's `tf.layers`.

  Inputs of rank above 2 are contracted over their last axis. Creates
  `kernel` `[input_dim, units]` (default initializer: the variable scope's,
  else Glorot uniform) and, with `use_bias`, `bias` `[units]` (zeros).

  Args:
    units: the output dimension.
    activation: optional function applied to the output.
    use_bias: whether to add `bias`.
    kernel_initializer, bias_initializer: the variables' initializers.
    kernel_regularizer, bias_regularizer: optional functions of the variable
      whose losses go to REGULARIZATION_LOSSES.
    activity_regularizer: optional function of the output (see
      `_tf_layer_base.Layer`).
    kernel_constraint, bias_constraint: projections the TF1 optimizers apply
      after each update.
    trainable: whether the variables are trainable.
    name: the layer's name and variable scope.
    **kwargs: `_scope`, `_reuse`, `dtype`.
  """

  BASE_NAME = 'dense'
  MIN_NDIM = 2

  def __init__(self, units, activation=None, use_bias=True,
               kernel_initializer=None, bias_initializer=_ZEROS,
               kernel_regularizer=None, bias_regularizer=None,
               activity_regularizer=None, kernel_constraint=None,
               bias_constraint=None, trainable=True, name=None, **kwargs):
    super(Dense, self).__init__(trainable=trainable, name=name,
                                activity_regularizer=activity_regularizer,
                                **kwargs)
    self.units = int(units)
    self.activation = activation
    self.use_bias = use_bias
    self.kernel_initializer = kernel_initializer
    self.bias_initializer = bias_initializer
    self.kernel_regularizer = kernel_regularizer
    self.bias_regularizer = bias_regularizer
    self.kernel_constraint = kernel_constraint
    self.bias_constraint = bias_constraint
    self.kernel = self.bias = None

  def build(self, input_shape):
    dtype = tf.as_dtype(self.dtype or tf.float32)
    if not (dtype.is_floating or dtype.is_complex):
      raise _tf1_errors.dense_not_floating(dtype)
    last = tf.compat.dimension_value(input_shape[-1])
    if last is None:
      raise _tf1_errors.dense_undefined_last_dimension()
    self._axes = {-1: last}
    self.kernel = self.add_weight(
        'kernel', [last, self.units], self.kernel_initializer,
        self.kernel_regularizer, self.kernel_constraint)
    if self.use_bias:
      self.bias = self.add_weight(
          'bias', [self.units], self.bias_initializer, self.bias_regularizer,
          self.bias_constraint)

  def call(self, inputs):
    rank = inputs.get_shape().ndims
    if rank > 2:
      outputs = tf.tensordot(inputs, self.kernel, [[rank - 1], [0]])
      outputs.set_shape(inputs.get_shape()[:-1].concatenate([self.units]))
    else:
      outputs = tf.matmul(tf.cast(inputs, self.dtype), self.kernel)
    if self.use_bias:
      outputs = tf.nn.bias_add(outputs, self.bias)
    if self.activation is not None:
      return self.activation(outputs)
    return outputs


def dense(inputs, units, activation=None, use_bias=True,
          kernel_initializer=None, bias_initializer=_ZEROS,
          kernel_regularizer=None, bias_regularizer=None,
          activity_regularizer=None, kernel_constraint=None,
          bias_constraint=None, trainable=True, name=None, reuse=None):
  """Applies a new `Dense` in scope `name` (reused with `reuse=True`)."""
  layer = Dense(units, activation=activation, use_bias=use_bias,
                kernel_initializer=kernel_initializer,
                bias_initializer=bias_initializer,
                kernel_regularizer=kernel_regularizer,
                bias_regularizer=bias_regularizer,
                activity_regularizer=activity_regularizer,
                kernel_constraint=kernel_constraint,
                bias_constraint=bias_constraint, trainable=trainable,
                name=name, _scope=name, _reuse=reuse)
  return layer.apply(inputs)


class Dropout(_tf_layer_base.Layer):
  """Zeroes a `rate` fraction of the inputs in training, scales the rest.

  Args:
    rate: the fraction dropped, in [0, 1).
    noise_shape: optional shape of the mask, None entries taking the
      input's dimension.
    seed: the op seed of the mask (with the graph seed, reproducible).
    name: the layer's name.
    **kwargs: as `_tf_layer_base.Layer`.
  """

  BASE_NAME = 'dropout'

  def __init__(self, rate=0.5, noise_shape=None, seed=None, name=None,
               **kwargs):
    super(Dropout, self).__init__(name=name, **kwargs)
    self.rate = rate
    self.noise_shape = noise_shape
    self.seed = seed

  def _noise_shape(self, inputs):
    if self.noise_shape is None:
      return None
    dynamic = tf.shape(inputs)
    return tf.convert_to_tensor(
        [dynamic[i] if value is None else value
         for i, value in enumerate(self.noise_shape)])

  def call(self, inputs, training=False):
    """`inputs` with dropout when `training` (bool or bool tensor) holds.

    None reads the graph's `keras_learning_phase` (default False).
    """
    if training is None:
      training = _tf_layer_base.learning_phase()

    def dropped():
      if isinstance(self.rate, numbers.Real) and not 0 <= self.rate < 1:
        raise _tf1_errors.dropout_rate(self.rate)
      if isinstance(self.rate, numbers.Real) and self.rate == 0:
        return inputs
      return tf.nn.dropout(inputs, noise_shape=self._noise_shape(inputs),
                           seed=self.seed, rate=self.rate)

    return _graph_utils.layer_smart_cond(
        training, dropped, lambda: tf.identity(inputs))


def dropout(inputs, rate=0.5, noise_shape=None, seed=None, training=False,
            name=None):
  """Applies a new `Dropout`; `training` as `Dropout.call` takes it."""
  layer = Dropout(rate, noise_shape=noise_shape, seed=seed, name=name)
  return layer.apply(inputs, training=training)


class Flatten(_tf_layer_base.Layer):
  """Reshapes to `[batch, -1]`; channels-first inputs go channels-last first.

  Args:
    data_format: 'channels_last' or 'channels_first'.
    name: the layer's name.
    **kwargs: as `_tf_layer_base.Layer`.
  """

  BASE_NAME = 'flatten'
  MIN_NDIM = 1

  def __init__(self, data_format='channels_last', name=None, **kwargs):
    super(Flatten, self).__init__(name=name, **kwargs)
    self.data_format = _tf_layer_base.normalize_data_format(data_format)

  def call(self, inputs):
    ndims = inputs.get_shape().ndims
    if self.data_format == 'channels_first' and ndims > 1:
      inputs = tf.transpose(inputs, [0] + list(range(2, ndims)) + [1])
    shape = inputs.get_shape()
    batch = tf.compat.dimension_value(shape[0])
    outputs = tf.reshape(inputs, (batch or tf.shape(inputs)[0], -1))
    known = shape[1:]
    flat = known.num_elements() if known.is_fully_defined() else None
    outputs.set_shape([batch, flat])
    return outputs


def flatten(inputs, name=None, data_format='channels_last'):
  """Applies a new `Flatten`."""
  return Flatten(name=name, data_format=data_format).apply(inputs)
