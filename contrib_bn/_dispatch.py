"""Choosing TF 1.15's internal path, and what every path shares.

`batch_norm` (in `layer`) records its arguments once in an `Arguments`,
picks the path with `select_path` and builds it with `build`, which opens
the layer's variable scope around the path and applies the epilogue all
paths share: the activation, then the outputs collections. The paths and
`validation` ask `uses_fused_kernel` and `channel_axis` here, so no module
above the paths needs to import `layer`.
"""

import dataclasses
from typing import Any

import tensorflow as tf

from contrib_bn import constants

UPDATE_OPS = tf.compat.v1.GraphKeys.UPDATE_OPS


@dataclasses.dataclass(frozen=True)
class Arguments(object):
  """`batch_norm`'s arguments but `inputs`, as the caller passed them.

  The defaults are `batch_norm`'s (a test holds the two to each other).
  Values are kept unnormalised: validation and TF 1.15's error order need
  to see what the caller wrote; `initializers` and `regularizers` give the
  dict views the paths use.
  """
  decay: Any = 0.999
  center: Any = True
  scale: Any = False
  epsilon: Any = 0.001
  activation_fn: Any = None
  param_initializers: Any = None
  param_regularizers: Any = None
  updates_collections: Any = UPDATE_OPS
  is_training: Any = True
  reuse: Any = None
  variables_collections: Any = None
  outputs_collections: Any = None
  trainable: Any = True
  batch_weights: Any = None
  fused: Any = None
  data_format: Any = constants.DATA_FORMAT_NHWC
  zero_debias_moving_mean: Any = False
  scope: Any = None
  renorm: Any = False
  renorm_clipping: Any = None
  renorm_decay: Any = 0.99
  adjustment: Any = None

  @property
  def initializers(self):
    """`param_initializers`, or an empty dict when it is empty or None."""
    return self.param_initializers or {}

  @property
  def regularizers(self):
    """`param_regularizers`, or an empty dict when it is empty or None."""
    return self.param_regularizers or {}

  @property
  def nchw(self):
    return self.data_format == constants.DATA_FORMAT_NCHW


def select_path(rank, fused=None, batch_weights=None, renorm=False,
                adjustment=None, zero_debias_moving_mean=False,
                updates_collections=UPDATE_OPS):
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
  default_updates = updates_collections is UPDATE_OPS
  possible_to_fuse = (batch_weights is None and not renorm and
                      rank in (2, 4) and adjustment is None)
  if fused and possible_to_fuse and (
      zero_debias_moving_mean or rank == 2 or not default_updates):
    return constants.PATH_FUSED
  if (batch_weights is None and default_updates and
      not zero_debias_moving_mean):
    return constants.PATH_CORE
  return constants.PATH_MOMENTS


def path_for(rank, args):
  """`select_path` for the arguments of an `Arguments` record."""
  return select_path(rank, args.fused, args.batch_weights, args.renorm,
                     args.adjustment, args.zero_debias_moving_mean,
                     args.updates_collections)


def uses_fused_kernel(path, rank, fused=None, renorm=False, adjustment=None):
  """Whether the selected path runs `nn.fused_batch_norm`.

  The fused path always does; the core-layer path does at rank 4 unless
  `fused` is false or renorm or an adjustment needs the moments variant.
  """
  if path == constants.PATH_FUSED:
    return True
  return (path == constants.PATH_CORE and rank == 4 and
          (fused is None or bool(fused)) and not renorm and adjustment is None)


def channel_axis(data_format, rank):
  """The non-negative index of the channel dimension of a `rank` input."""
  if data_format == constants.DATA_FORMAT_NCHW:
    return 1
  return rank - 1


def build(builder, inputs, args):
  """Runs one path's `builder(inputs, args)` inside the layer's scope.

  Every path of TF 1.15 opened the same variable scope, and ended the same
  way inside it: the activation, then the outputs collections under the
  scope's name.

  Args:
    builder: the path, returning the normalized tensor.
    inputs: the layer input, a tensor.
    args: the `Arguments`.

  Returns:
    The layer output.
  """
  with tf.compat.v1.variable_scope(args.scope, constants.DEFAULT_SCOPE,
                                   [inputs], reuse=args.reuse) as sc:
    outputs = builder(inputs, args)
    if args.activation_fn is not None:
      outputs = args.activation_fn(outputs)
    return collect_named_outputs(args.outputs_collections, sc.name,
                                 outputs)


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
