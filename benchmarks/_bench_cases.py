"""What the benchmark measures: paths, shapes, table rows and the floor.

Shared by `bench.py` under TensorFlow 2 and `_bench_tf1.py` under TensorFlow
1.15 (Python 3.7), so both releases build the same cases and the same
hand-written floor. It uses only the `tf.compat.v1` API both releases share,
takes the TensorFlow module as an argument, and never imports `contrib_bn`.
"""

import numpy as np

FLOOR = 'floor'
# The paths of `batch_norm`, named as in the results.
FUSED = 'fused'
FUSED_DEBIAS = 'fused_debias'
CORE = 'core'
RENORM = 'renorm'
MOMENTS = 'moments'
PATHS = (FUSED, FUSED_DEBIAS, CORE, RENORM, MOMENTS)
IMPLS = (FLOOR,) + PATHS
# `tf.layers.batch_normalization` with its defaults (the fused kernel at rank
# 4), whose graph construction is measured beside the contrib layer's.
TF_LAYERS = 'tf_layers'
GRAPH_IMPLS = PATHS + (TF_LAYERS,)

# Which contrib_bn internal path each benchmark path is meant to exercise;
# bench.py checks it with `contrib_bn.select_path`.
INTERNAL_PATH = {
    FUSED: 'fused',
    FUSED_DEBIAS: 'fused',
    CORE: 'core',
    RENORM: 'core',
    MOMENTS: 'moments',
}

# A custom update collection sends rank-4 input down the fused-kernel path
# without zero-debiasing, the closest match to the hand-written floor.
BENCH_UPDATES = 'bench_updates'

DECAY = 0.999
EPSILON = 0.001
LEARNING_RATE = 0.01

# name -> (shape, data_format). The rank-2 and rank-5 shapes are channels-last.
SHAPES = {
    'nhwc': ([32, 28, 28, 128], 'NHWC'),
    'nchw': ([32, 128, 28, 28], 'NCHW'),
    'rank2': ([256, 1024], 'NHWC'),
    'rank5': ([8, 16, 16, 16, 32], 'NHWC'),
}
# Tiny stand-ins of the same ranks and layouts, for the smoke run.
SMOKE_SHAPES = {
    'nhwc': ([2, 4, 4, 8], 'NHWC'),
    'nchw': ([2, 8, 4, 4], 'NCHW'),
    'rank2': ([8, 16], 'NHWC'),
    'rank5': ([2, 2, 4, 4, 8], 'NHWC'),
}
SHAPE_ORDER = ('nhwc', 'nchw', 'rank2', 'rank5')

# Which paths each shape can take. At rank 2 the default arguments already
# choose the fused kernel, so there is no core-layer default there; at rank 5
# the fused-kernel path does not exist.
SHAPE_PATHS = {
    'nhwc': (FUSED, FUSED_DEBIAS, CORE, RENORM, MOMENTS),
    'nchw': (FUSED, FUSED_DEBIAS, CORE, RENORM, MOMENTS),
    'rank2': (FUSED, FUSED_DEBIAS, RENORM, MOMENTS),
    'rank5': (CORE, RENORM, MOMENTS),
}


# The configuration table: every row times `batch_norm` with these arguments
# against the floor of the same shape and dtype, in training and in inference,
# plain and under XLA auto-clustering. name -> (shape, data_format, dtype,
# kwargs); 'ones' for batch_weights stands for a ones vector of the batch.
TABLE_ROWS = (
    ('core_nhwc', [32, 28, 28, 128], 'NHWC', 'float32', {}),
    ('fused_false', [32, 28, 28, 128], 'NHWC', 'float32', {'fused': False}),
    ('renorm', [32, 28, 28, 128], 'NHWC', 'float32', {'renorm': True}),
    ('batch_weights', [32, 28, 28, 128], 'NHWC', 'float32',
     {'batch_weights': 'ones'}),
    ('rank5', [8, 16, 16, 16, 32], 'NHWC', 'float32', {}),
    ('rank3', [32, 784, 128], 'NHWC', 'float32', {}),
    ('nchw', [32, 128, 28, 28], 'NCHW', 'float32', {}),
    ('float16', [32, 28, 28, 128], 'NHWC', 'float16', {}),
    ('bfloat16', [32, 28, 28, 128], 'NHWC', 'bfloat16', {}),
    # tf.layers.batch_normalization: the fused kernel by default, the
    # moments formulas with fused=False. Its renorm runs the contrib layer's
    # core path, timed in the renorm row.
    ('tf_layers', [32, 28, 28, 128], 'NHWC', 'float32', {}),
    ('tf_layers_fused_false', [32, 28, 28, 128], 'NHWC', 'float32',
     {'fused': False}),
)
TABLE_ROW_NAMES = tuple(row[0] for row in TABLE_ROWS)
# Rows that time tf.layers.batch_normalization rather than the contrib layer.
TF_LAYERS_ROWS = ('tf_layers', 'tf_layers_fused_false')
# Smoke-run stand-ins of the same ranks and layouts.
SMOKE_TABLE_SHAPES = {3: [2, 8, 8], 4: [2, 4, 4, 8], 5: [2, 2, 4, 4, 8]}
MODES = ('train', 'infer')
LAYER = 'layer'


def table_row(name, smoke=False):
  """`(shape, data_format, dtype, kwargs)` of a configuration-table row."""
  for row in TABLE_ROWS:
    if row[0] == name:
      shape, data_format, dtype, kwargs = row[1:]
      if smoke:
        shape = list(SMOKE_TABLE_SHAPES[len(shape)])
        if data_format == 'NCHW':
          shape = [shape[0], shape[-1]] + shape[1:-1]
      return list(shape), data_format, dtype, dict(kwargs)
  raise ValueError('unknown table row %r' % (name,))


def cases(paths=PATHS):
  """(shape name, path) pairs of the step benchmark, in report order."""
  return [(shape, path) for shape in SHAPE_ORDER for path in SHAPE_PATHS[shape]
          if path in paths]


def path_kwargs(tf, path, shape, data_format):
  """`batch_norm` arguments that select `path` for input of `shape`."""
  kwargs = {'scale': True, 'data_format': data_format}
  rank = len(shape)
  if path == FUSED:
    if rank == 4:
      kwargs['updates_collections'] = [BENCH_UPDATES]
  elif path == FUSED_DEBIAS:
    kwargs['zero_debias_moving_mean'] = True
  elif path == RENORM:
    kwargs['renorm'] = True
  elif path == MOMENTS:
    kwargs['batch_weights'] = tf.ones([shape[0]], tf.float32)
  elif path != CORE:
    raise ValueError('unknown path %r' % (path,))
  return kwargs


def tf_layers_kwargs(data_format):
  """`tf.layers.batch_normalization` arguments matching the floor's."""
  return {'axis': 1 if data_format == 'NCHW' else -1, 'momentum': DECAY,
          'epsilon': EPSILON}


def floor_batch_norm(tf, inputs, data_format, training=True):
  """The floor: the fused kernel, four variables and two moving averages.

  Builds by hand the least a training batch-norm layer needs: `gamma`,
  `beta`, `moving_mean` and `moving_variance` under a unique `BatchNorm`
  variable scope (so the variable names match the layer's), one
  `fused_batch_norm` op and one `assign_sub` per moving statistic, added to
  UPDATE_OPS. Rank-2 and rank-5 input is reshaped to rank 4 around the
  kernel, which normalises over every axis but the channels either way.

  Args:
    tf: the TensorFlow module.
    inputs: a float tensor of rank 2 or more.
    data_format: 'NHWC' or 'NCHW' (the latter at rank 4 only).
    training: False normalizes by the moving statistics and updates nothing.

  Returns:
    The normalised tensor, shaped like `inputs`.
  """
  v1 = tf.compat.v1
  shape = inputs.get_shape().as_list()
  nchw = data_format == 'NCHW'
  channels = shape[1] if nchw else shape[-1]
  with v1.variable_scope(None, default_name='BatchNorm'):
    gamma = v1.get_variable('gamma', [channels], tf.float32,
                            v1.ones_initializer())
    beta = v1.get_variable('beta', [channels], tf.float32,
                           v1.zeros_initializer())
    moving_mean = v1.get_variable('moving_mean', [channels], tf.float32,
                                  v1.zeros_initializer(), trainable=False)
    moving_variance = v1.get_variable('moving_variance', [channels],
                                      tf.float32, v1.ones_initializer(),
                                      trainable=False)
    x = inputs
    if len(shape) == 2:
      x = tf.reshape(x, [-1, channels, 1, 1] if nchw else [-1, 1, 1, channels])
    elif len(shape) == 5:
      x = tf.reshape(x, [shape[0], shape[1] * shape[2], shape[3], channels])
    elif len(shape) != 4:
      x = tf.reshape(x, [-1, 1, 1, channels])
    if not training:
      y, _, _ = v1.nn.fused_batch_norm(
          x, gamma, beta, mean=moving_mean, variance=moving_variance,
          epsilon=EPSILON, is_training=False, data_format=data_format)
      return tf.reshape(y, shape) if len(shape) != 4 else y
    y, mean, variance = v1.nn.fused_batch_norm(
        x, gamma, beta, epsilon=EPSILON, data_format=data_format)
    if len(shape) != 4:
      y = tf.reshape(y, shape)
    rate = 1.0 - DECAY
    update_mean = v1.assign_sub(moving_mean, (moving_mean - mean) * rate)
    update_variance = v1.assign_sub(moving_variance,
                                    (moving_variance - variance) * rate)
    v1.add_to_collection(v1.GraphKeys.UPDATE_OPS, update_mean)
    v1.add_to_collection(v1.GraphKeys.UPDATE_OPS, update_variance)
  return y


def input_array(shape):
  # A fixed seed, so every implementation and both TF releases normalise the
  # same data; a non-zero mean and non-unit spread keep the moving averages
  # and the gradients non-trivial.
  rng = np.random.RandomState(0)
  return rng.normal(0.3, 1.5, size=shape).astype(np.float32)
