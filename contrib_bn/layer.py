"""`batch_norm`: TF 1.15's `tf.contrib.layers.batch_norm` on TF 2.x graphs.

Thin on purpose: it records the arguments once, raises TF 1.15's own errors
first, then contrib_bn's stricter checks (`validation`), and hands the
record to the path TF 1.15 would have taken (`_dispatch`).
"""

import dataclasses

import tensorflow as tf

from contrib_bn import _core_path
from contrib_bn import _dispatch
from contrib_bn import _fused_path
from contrib_bn import _graph_utils
from contrib_bn import _inference_mode
from contrib_bn import _moments_path
from contrib_bn import _tf1_errors
from contrib_bn import _validation
from contrib_bn import constants
from contrib_bn import distribute

_BUILDERS = {
    constants.PATH_FUSED: _fused_path.fused_batch_norm,
    constants.PATH_CORE: _core_path.core_batch_norm,
    constants.PATH_MOMENTS: _moments_path.moments_batch_norm,
}

# The names `batch_norm` records: its parameters but `inputs`.
_ARGUMENT_NAMES = frozenset(
    field.name for field in dataclasses.fields(_dispatch.Arguments))


def batch_norm(inputs,
               decay=0.999,
               center=True,
               scale=False,
               epsilon=0.001,
               activation_fn=None,
               param_initializers=None,
               param_regularizers=None,
               updates_collections=_dispatch.UPDATE_OPS,
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
      moving statistics normalize and are never updated. Inside
      `contrib_bn.inference_mode()` it is checked as TF 1.15 checked it and
      then taken as a static False, whatever it is.
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
  # The parameters are the local names here, but when autograph converts
  # this function (`tf.map_fn` converts what it calls) it adds locals of its
  # own, such as `fscope`: only the record's fields are taken.
  args = _dispatch.Arguments(**{
      name: value for name, value in locals().items()
      if name in _ARGUMENT_NAMES})
  inputs = tf.convert_to_tensor(inputs)
  path = _dispatch.path_for(inputs.get_shape().ndims, args)
  _tf1_errors.check_data_format(data_format)
  _tf1_errors.check_wording(inputs, path, args)
  _validation.check(inputs, path, args)
  if _inference_mode.active():
    args = _for_inference(path, args)
  context = distribute.layer_context(path, args.is_training)
  with distribute.building(context):
    return _dispatch.build(_BUILDERS[path], inputs, args)


def _for_inference(path, args):
  """`args` with a static `is_training=False`, for `inference_mode()`.

  TF 1.15 checked `is_training` only when its path read it: a None or a
  non-bool value failed on the path's static-value look-up, a tensor that is
  not a bool scalar failed on the conditional's Switch. Those checks run
  here on the value the caller gave, so inference mode refuses what TF 1.15
  refused, with the same exception types and messages (the rank error names
  the Switch from the caller's name scope, since the layer's conditional is
  never built); a valid value, static or not, is replaced. A bool variable
  is read once for the check, outside the layer's scope.
  """
  value = args.is_training
  if path == constants.PATH_CORE:
    static = _graph_utils.layer_static_value(value)
  else:
    static = _graph_utils.static_value(value)
  if static is None:
    _tf1_errors.check_predicate(value)
  return dataclasses.replace(args, is_training=False)
