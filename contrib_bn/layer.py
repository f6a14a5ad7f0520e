"""`batch_norm`: TF 1.15's `tf.contrib.layers.batch_norm` on TF 2.x graphs."""

import tensorflow as tf

from contrib_bn import _core_path
from contrib_bn import _fused_path
from contrib_bn import _moments_path
from contrib_bn import constants
from contrib_bn import distribute
from contrib_bn import tf1_errors
from contrib_bn import validation
from contrib_bn.arg_scope import add_arg_scope

_UPDATE_OPS = tf.compat.v1.GraphKeys.UPDATE_OPS

uses_fused_kernel = _core_path.uses_fused_kernel


def select_path(rank, fused=None, batch_weights=None, renorm=False,
                adjustment=None, zero_debias_moving_mean=False,
                updates_collections=_UPDATE_OPS):
  """Which of TF 1.15's internal paths `batch_norm` takes for these arguments.

  Args:
    rank: the input rank, or None when unknown.
    fused: the `fused` argument.
    batch_weights: the `batch_weights` argument (only None-ness matters).
    renorm: the `renorm` argument.
    adjustment: the `adjustment` argument (only None-ness matters).
    zero_debias_moving_mean: the `zero_debias_moving_mean` argument.
    updates_collections: the `updates_collections` argument.

  Returns:
    `constants.PATH_FUSED`, `PATH_CORE` or `PATH_MOMENTS`.
  """
  if fused is None:
    fused = True
  # TF 1.15 compared `updates_collections` to the UPDATE_OPS key by identity.
  default_updates = updates_collections is _UPDATE_OPS
  possible_to_fuse = (batch_weights is None and not renorm and
                      rank in (2, 4) and adjustment is None)
  if fused and possible_to_fuse and (
      zero_debias_moving_mean or rank == 2 or not default_updates):
    return constants.PATH_FUSED
  if (batch_weights is None and default_updates and
      not zero_debias_moving_mean):
    return constants.PATH_CORE
  return constants.PATH_MOMENTS


def _check_tf1_wording(inputs, path, fused, renorm, adjustment,
                       param_initializers, data_format):
  """Raises TF 1.15's message where TF 2.x words the same error otherwise."""
  shape = inputs.get_shape()
  if shape.ndims is None or shape.ndims < 2:
    return
  channel_axis = 1 if data_format == constants.DATA_FORMAT_NCHW else -1
  channels = tf.compat.dimension_value(shape[channel_axis])
  if channels is None:
    return
  tf1_errors.check_input_dtype(
      inputs.dtype,
      uses_fused_kernel(path, shape.ndims, fused, renorm, adjustment))
  tf1_errors.check_initializer_sizes(param_initializers, channels)


class _Arguments(object):
  """`batch_norm`'s arguments, normalised, handed to the path builders."""

  def __init__(self, **kwargs):
    self.__dict__.update(kwargs)


_BUILDERS = {
    constants.PATH_FUSED: _fused_path.fused_batch_norm,
    constants.PATH_CORE: _core_path.core_batch_norm,
    constants.PATH_MOMENTS: _moments_path.moments_batch_norm,
}


@add_arg_scope
def batch_norm(inputs,
               decay=0.999,
               center=True,
               scale=False,
               epsilon=0.001,
               activation_fn=None,
               param_initializers=None,
               param_regularizers=None,
               updates_collections=_UPDATE_OPS,
               is_training=True,
               reuse=None,
               variables_collections=None,
               outputs_collections=None,
               trainable=True,
               batch_weights=None,
               fused=None,
               data_format=constants.DATA_FORMAT_NHWC,
               zero_debias_moving_mean=False,
               scope=None,
               renorm=False,
               renorm_clipping=None,
               renorm_decay=0.99,
               adjustment=None):
  """Batch normalization with the behaviour of TF 1.15's contrib layer.

  Normalizes `inputs` over every axis but the channel axis, then applies the
  optional learned offset `beta` (`center`) and scale `gamma` (`scale`). Works
  in `tf.compat.v1` graph mode and creates the variables, collections and
  update ops that `tf.contrib.layers.batch_norm` created, under the same names,
  so TF1 code and checkpoints keep working.

  During training the moving mean and variance are updated by ops that, by
  default, are placed in `tf.compat.v1.GraphKeys.UPDATE_OPS`; they must be
  run with the train op, for example:

  ```python
    update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
    with tf.control_dependencies(update_ops):
      train_op = optimizer.minimize(loss)
  ```

  With `updates_collections=None` the updates run in place, as a control
  dependency of the output.

  Internal paths, chosen as TF 1.15 chose them:
    * fused kernel (`tf.compat.v1.nn.fused_batch_norm`): `fused` not False,
      rank 2 or 4, no `batch_weights`, `renorm` or `adjustment`, and either
      `zero_debias_moving_mean`, rank 2 or non-default `updates_collections`;
    * core layer (`tf.layers.BatchNormalization` semantics, with the fused
      kernel at rank 4 when possible): no `batch_weights`, default
      `updates_collections` and no zero-debiasing; handles `renorm` and
      `adjustment`;
    * moments (`tf.nn.moments` / `tf.nn.weighted_moments`): all the rest.

  Args:
    inputs: a tensor of rank 2 or more; the first dimension is the batch.
    decay: decay of the moving averages (e.g. 0.999, 0.99 or 0.9).
    center: whether to add the learned offset `beta`.
    scale: whether to multiply by the learned `gamma`; not needed when the
      next layer is linear (or ReLU followed by a linear layer).
    epsilon: small float added to the variance; the fused kernel raises it
      to at least 1.001e-5, as TF 1.15 did.
    activation_fn: optional activation applied to the result.
    param_initializers: optional initializers by name: `beta`, `gamma`,
      `moving_mean`, `moving_variance`.
    param_regularizers: optional regularizers for `beta` and `gamma`
      (honoured on the fused and core-layer paths, ignored on the moments
      path, as in TF 1.15).
    updates_collections: collections for the update ops, or None to force the
      updates in place.
    is_training: Python bool, bool tensor or bool variable; when False the
      moving statistics normalize and are never updated.
    reuse: whether to reuse the layer's variables; needs `scope`.
    variables_collections: optional list of collections for all variables,
      or a dict of lists by variable name.
    outputs_collections: collections the output is added to, with the
      scope name appended to its `aliases`.
    trainable: whether `beta` and `gamma` are trainable; on the core-layer
      path, False also leaves the moving statistics frozen (TF 1.15 did).
    batch_weights: optional 1-D tensor of per-example weights, of the batch
      size.
    fused: None or True to use the fused kernel where possible, False never.
    data_format: 'NHWC' (channels last) or 'NCHW' (channels second).
    zero_debias_moving_mean: zero-debias the moving mean; adds `biased` and
      `local_step` variables.
    scope: optional variable scope; defaults to a unique `BatchNorm`.
    renorm: use batch renormalization (https://arxiv.org/abs/1702.03275).
    renorm_clipping: dict with optional keys `rmax`, `rmin`, `dmax` bounding
      the renorm corrections.
    renorm_decay: decay of renorm's own moving averages.
    adjustment: optional function of the input's dynamic shape returning
      `(scale, bias)` applied to the normalized values during training.

  Returns:
    The normalized tensor, with the shape and dtype of `inputs`.

  Raises:
    ValueError: for an unsupported `data_format`, an undefined rank or
      channel dimension, renorm combined with `batch_weights`,
      `zero_debias_moving_mean` or custom `updates_collections`, unknown
      `renorm_clipping` keys, or `batch_weights` of the wrong shape; each
      with TF 1.15's message.
    TypeError: for input dtypes the chosen path cannot normalize.
  """
  inputs = tf.convert_to_tensor(inputs)
  rank = inputs.get_shape().ndims
  path = select_path(rank, fused, batch_weights, renorm, adjustment,
                     zero_debias_moving_mean, updates_collections)
  if data_format not in constants.DATA_FORMATS:
    raise ValueError('data_format has to be either NCHW or NHWC.')
  _check_tf1_wording(inputs, path, fused, renorm, adjustment,
                     param_initializers, data_format)
  validation.validate_arguments(
      inputs, path=path, decay=decay, center=center, scale=scale,
      epsilon=epsilon, activation_fn=activation_fn,
      param_initializers=param_initializers,
      param_regularizers=param_regularizers,
      updates_collections=updates_collections, is_training=is_training,
      reuse=reuse, variables_collections=variables_collections,
      outputs_collections=outputs_collections, trainable=trainable,
      batch_weights=batch_weights, fused=fused, data_format=data_format,
      zero_debias_moving_mean=zero_debias_moving_mean, scope=scope,
      renorm=renorm, renorm_clipping=renorm_clipping,
      renorm_decay=renorm_decay, adjustment=adjustment)
  args = _Arguments(
      decay=decay, center=center, scale=scale, epsilon=epsilon,
      activation_fn=activation_fn,
      param_initializers=param_initializers or {},
      param_regularizers=param_regularizers or {},
      updates_collections=updates_collections, is_training=is_training,
      reuse=reuse, variables_collections=variables_collections,
      outputs_collections=outputs_collections, trainable=trainable,
      batch_weights=batch_weights, fused=True if fused is None else fused,
      data_format=data_format,
      zero_debias_moving_mean=zero_debias_moving_mean, scope=scope,
      renorm=renorm, renorm_clipping=renorm_clipping,
      renorm_decay=renorm_decay, adjustment=adjustment)
  context = distribute.layer_context(path, is_training)
  with distribute.building(context):
    return _BUILDERS[path](inputs, args)
