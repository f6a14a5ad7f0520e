"""From a TF1 batch-norm checkpoint to a native Keras 3 `BatchNormalization`.

Keras 3 is imported inside the functions only, so that `contrib_bn` itself
never needs it.

What carries over: `beta` and `gamma` (present or not: `center` / `scale`),
the moving mean and variance, `epsilon`, and `decay` as `momentum`; the
channel axis follows `data_format`. In inference mode the Keras layer then
computes what `batch_norm(..., is_training=False)` computed.

What does not: batch renormalization (Keras 3 has no `renorm` arguments), so
a renorm layer exports only with `inference_only=True`; zero-debiasing
(Keras continues the restored moving mean with a plain moving average, the
same as a fully warmed-up debiased average); `batch_weights`, `adjustment`
and `activation_fn`, which are not layer state and must be re-created around
the Keras layer.

`python -m contrib_bn export-keras` (`register`, `run`) writes one layer of a
checkpoint as a `.keras` file:

  python -m contrib_bn export-keras CHECKPOINT --scope SCOPE --output F.keras
      [--data-format NHWC|NCHW] [--rank R] [--epsilon E] [--decay D]
      [--inference-only]
"""

import sys

import numpy as np
import tensorflow as tf

from contrib_bn import checkpoint as checkpoint_lib
from contrib_bn import constants

_RENORM_MESSAGE = (
    'layer %r of %s was trained with batch renormalization (renorm=True). '
    'Keras 3 dropped batch renormalization: its BatchNormalization has no '
    'renorm, renorm_clipping or renorm_momentum arguments, so renorm\'s '
    'training behaviour cannot be exported. Its inference behaviour can '
    '(it uses only moving_mean and moving_variance): pass '
    'inference_only=True (command line: --inference-only) to export that, '
    'or keep training the layer with contrib_bn.batch_norm(renorm=True).')


def _find_layer(checkpoint, scope):
  layers = checkpoint_lib.inspect(checkpoint)
  for layer in layers:
    if layer.scope == scope:
      return layer
  raise ValueError('no batch-norm layer with scope %r in %s; it has: %s' % (
      scope, checkpoint, ', '.join(repr(l.scope) for l in layers) or 'none'))


def _axis(data_format, rank):
  if data_format not in constants.DATA_FORMATS:
    raise ValueError('data_format has to be either NCHW or NHWC, not %r' %
                     (data_format,))
  if rank is None or rank < 2:
    raise ValueError('rank must be 2 or more, not %r' % (rank,))
  # TF1 normalized over every axis but the channel axis, which NCHW puts
  # second; at rank 2 both formats put the channels last.
  return 1 if data_format == constants.DATA_FORMAT_NCHW and rank > 2 else -1


def _build_shape(axis, rank, channels):
  shape = [None] * rank
  shape[axis] = channels
  return tuple(shape)


def to_keras(checkpoint, scope, data_format=constants.DATA_FORMAT_NHWC,
             epsilon=0.001, decay=0.999, rank=4, name=None,
             inference_only=False):
  """A built Keras 3 `BatchNormalization` holding a TF1 layer's state.

  Args:
    checkpoint: a TF1 checkpoint prefix, or a directory with a `checkpoint`
      file, of any TF 1.x release.
    scope: the layer's scope in the checkpoint, e.g. `BatchNorm` or
      `batch_normalization_1`.
    data_format: 'NHWC' (channels last, Keras `axis=-1`) or 'NCHW'
      (channels second, `axis=1`).
    epsilon: the epsilon the layer normalized with. TF 1.x's fused kernel
      raised epsilons below 1.001e-5 to that value
      (`contrib_bn.constants.FUSED_MIN_EPSILON`); pass the raised value for
      a layer that ran it.
    decay: the layer's `decay`, which becomes Keras' `momentum`.
    rank: the rank of the layer's inputs.
    name: the Keras layer name (default: the scope with '/' as '_').
    inference_only: export a renorm layer for inference; otherwise renorm
      raises, since Keras 3 cannot train it the same way.

  Returns:
    A built `keras.layers.BatchNormalization`.

  Raises:
    ValueError: for a scope the checkpoint lacks, an unknown data format or
      rank, or a renorm layer without `inference_only`.
  """
  import keras  # pylint: disable=g-import-not-at-top
  layer = _find_layer(checkpoint, scope)
  args = layer.implied_arguments()
  if args['renorm'] and not inference_only:
    raise ValueError(_RENORM_MESSAGE % (scope, checkpoint))
  axis = _axis(data_format, rank)
  channels = layer.channels
  keras_layer = keras.layers.BatchNormalization(
      axis=axis, momentum=decay, epsilon=epsilon, center=args['center'],
      scale=args['scale'], name=name or scope.replace('/', '_'))
  keras_layer.build(_build_shape(axis, rank, channels))
  reader = tf.train.load_checkpoint(checkpoint)
  pairs = [(keras_layer.moving_mean, checkpoint_lib.MOVING_MEAN),
           (keras_layer.moving_variance, checkpoint_lib.MOVING_VARIANCE)]
  if args['center']:
    pairs.append((keras_layer.beta, checkpoint_lib.BETA))
  if args['scale']:
    pairs.append((keras_layer.gamma, checkpoint_lib.GAMMA))
  for variable, role in pairs:
    value = reader.get_tensor(layer.variables[role].name)
    variable.assign(np.asarray(value, dtype=variable.dtype))
  return keras_layer


def save(keras_layer, path):
  """Writes a Keras layer to a `.keras` file."""
  import keras  # pylint: disable=g-import-not-at-top
  if not str(path).endswith('.keras'):
    raise ValueError('the Keras 3 file format needs a .keras path, not %r' %
                     (path,))
  keras.saving.save_model(keras_layer, path)


def load(path):
  """Reads back a layer written by `save`."""
  import keras  # pylint: disable=g-import-not-at-top
  return keras.saving.load_model(path)


def infer(keras_layer, inputs):
  """The layer's inference-mode output for `inputs`, as a numpy array."""
  import keras  # pylint: disable=g-import-not-at-top
  return keras.ops.convert_to_numpy(keras_layer(inputs, training=False))


def is_keras_batch_norm(obj):
  """Whether `obj` is a Keras 3 `BatchNormalization` layer."""
  import keras  # pylint: disable=g-import-not-at-top
  return isinstance(obj, keras.layers.BatchNormalization)


EXIT_OK = constants.EXIT_OK
EXIT_USAGE = constants.EXIT_USAGE


def register(subparsers):
  """Adds `export-keras` to an argparse subparsers object; sets `func=run`."""
  export = subparsers.add_parser(
      'export-keras', help='write one layer as a Keras 3 .keras file',
      description='Write one batch-norm layer of a TF1 checkpoint as a '
      'native Keras 3 BatchNormalization layer (.keras file). Exit code 0 '
      'on success, 2 when the layer cannot be exported.')
  export.add_argument('checkpoint', help='checkpoint prefix, or a directory')
  export.add_argument('--scope', required=True,
                      help='the layer scope in the checkpoint, e.g. BatchNorm')
  export.add_argument('--output', required=True, help='the .keras file')
  export.add_argument('--data-format', default='NHWC',
                      choices=['NHWC', 'NCHW'])
  export.add_argument('--rank', type=int, default=4,
                      help='rank of the layer inputs (default 4)')
  export.add_argument('--epsilon', type=float, default=0.001)
  export.add_argument('--decay', type=float, default=0.999)
  export.add_argument('--inference-only', action='store_true',
                      help='export a renorm layer for inference')
  export.set_defaults(func=run)


def run(args, out=print, err=None):
  """Carries out a parsed `export-keras` command; returns the exit code."""
  err = err or (lambda line: print(line, file=sys.stderr))
  try:
    layer = to_keras(
        args.checkpoint, args.scope, data_format=args.data_format,
        epsilon=args.epsilon, decay=args.decay, rank=args.rank,
        inference_only=args.inference_only)
    save(layer, args.output)
  except (ValueError, ImportError, AttributeError) as e:
    err('error: %s' % e)
    return EXIT_USAGE
  out('wrote %s: keras.layers.BatchNormalization(axis=%s, momentum=%s, '
      'epsilon=%s, center=%s, scale=%s) from %s' % (
          args.output, layer.axis, layer.momentum, layer.epsilon,
          layer.center, layer.scale, args.scope))
  return EXIT_OK
