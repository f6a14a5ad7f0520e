"""Training-step benchmark graphs, shared by both TensorFlow releases.

`benchmarks/bench.py` imports this module under TensorFlow 2 to time
`contrib_bn.batch_norm` and `contrib_bn.layers.batch_normalization`; run as a
program under Python 3.7 with TensorFlow 1.15 it times the real
`tf.contrib.layers.batch_norm` and `tf.layers.batch_normalization` and serves
the results to `bench.py` over a pipe. Keeping one copy of the graph-building code makes
both sides build the same loss, optimizer and hand-written floor, so their
step times compare like for like. It uses only the `tf.compat.v1` API both
releases share, is written for Python 3.7 as well as current Python, and
never imports `contrib_bn` (which needs TensorFlow 2).

Run as a program:

  python3.7 benchmarks/_bench_tf1.py --mode=serve [--smoke] [--threads=N]
  python3.7 benchmarks/_bench_tf1.py --mode=memory --shape=nhwc --impl=core

`serve` answers one JSON request per stdin line with one JSON line on stdout:
  {"cmd": "setup", "shape": "nhwc", "impl": "core"}
      -> {"ok": true, "ops": 123} or {"ok": false, "error": "..."}
  {"cmd": "time", "shape": "nhwc", "impl": "core", "iters": 10}
      -> {"ok": true, "seconds": 0.0123}   (per step)
  {"cmd": "setup", "row": "rank3", "mode": "train", "impl": "layer",
   "xla": false}   (a configuration-table step; "time" and "close" take
   the same keys)
  {"cmd": "quit"}
`memory` builds one step graph, runs it and prints one JSON line with the
process's peak resident memory.
"""

import json
import os
import sys
import time

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


class StepGraph(object):
  """One training-step graph in its own `tf.Graph` and `Session`."""

  def __init__(self, tf, batch_norm, impl, shape, data_format, threads=0):
    """Builds the graph and initialises its variables.

    Args:
      tf: the TensorFlow module.
      batch_norm: the layer under test; unused for the floor.
      impl: `FLOOR` or one of `PATHS`.
      shape: the input shape.
      data_format: 'NHWC' or 'NCHW'.
      threads: intra- and inter-op threads of the session; 0 lets TF choose.
    """
    v1 = tf.compat.v1
    self.graph = tf.Graph()
    with self.graph.as_default():
      # A non-trainable variable holds the input: no feeding is timed, and
      # unlike a constant it cannot be folded away by the graph optimizer.
      x = v1.get_variable(
          'input', initializer=tf.constant(input_array(shape)),
          trainable=False)
      if impl == FLOOR:
        y = floor_batch_norm(tf, x, data_format)
      else:
        y = batch_norm(x, **path_kwargs(tf, impl, shape, data_format))
      loss = tf.reduce_mean(tf.square(y))
      updates = (v1.get_collection(v1.GraphKeys.UPDATE_OPS) +
                 v1.get_collection(BENCH_UPDATES))
      with tf.control_dependencies(updates):
        self.train_op = v1.train.GradientDescentOptimizer(
            LEARNING_RATE).minimize(loss)
      init = v1.global_variables_initializer()
      self.op_count = len(self.graph.get_operations())
    config = v1.ConfigProto(intra_op_parallelism_threads=threads,
                            inter_op_parallelism_threads=threads)
    self.session = v1.Session(graph=self.graph, config=config)
    self.session.run(init)

  def run(self, steps):
    """Runs `steps` training steps; returns the mean seconds per step."""
    run = self.session.run
    train_op = self.train_op
    start = time.perf_counter()
    for _ in range(steps):
      run(train_op)
    return (time.perf_counter() - start) / max(steps, 1)

  def close(self):
    self.session.close()


class TableStep(object):
  """One configuration-table step: training or inference, plain or XLA."""

  def __init__(self, tf, batch_norm, row, mode, impl, xla=False, threads=0,
               smoke=False, layers_batch_norm=None):
    """Builds the graph and initialises its variables.

    Args:
      tf: the TensorFlow module.
      batch_norm: the contrib layer under test; unused for the floor.
      row: a `TABLE_ROWS` name.
      mode: 'train' (forward, backward, updates, a gradient step) or 'infer'
        (the forward pass with `is_training=False`, and a sum of its output).
      impl: `FLOOR` or `LAYER`.
      xla: run the session with XLA auto-clustering (global_jit_level ON_1).
      threads: intra- and inter-op threads of the session; 0 lets TF choose.
      smoke: use the tiny shapes.
      layers_batch_norm: `tf.layers.batch_normalization` under test, for
        the `TF_LAYERS_ROWS`.
    """
    v1 = tf.compat.v1
    shape, data_format, dtype, kwargs = table_row(row, smoke)
    training = mode == 'train'
    self.graph = tf.Graph()
    with self.graph.as_default():
      x = v1.get_variable(
          'input', initializer=tf.cast(tf.constant(input_array(shape)),
                                       dtype),
          trainable=False)
      if impl == FLOOR:
        y = floor_batch_norm(tf, x, data_format, training)
      elif row in TF_LAYERS_ROWS:
        kwargs.update(tf_layers_kwargs(data_format))
        y = layers_batch_norm(x, training=training, **kwargs)
      else:
        if kwargs.get('batch_weights') == 'ones':
          kwargs['batch_weights'] = tf.ones([shape[0]], dtype)
        y = batch_norm(x, scale=True, data_format=data_format,
                       is_training=training, **kwargs)
      if training:
        loss = tf.reduce_mean(tf.square(tf.cast(y, tf.float32)))
        updates = v1.get_collection(v1.GraphKeys.UPDATE_OPS)
        with tf.control_dependencies(updates):
          self.train_op = v1.train.GradientDescentOptimizer(
              LEARNING_RATE).minimize(loss)
      else:
        # A fetched sum: grouping `y` alone lets Grappler prune the whole
        # stateless forward pass, leaving nothing to time. The sum adds the
        # same read of `y` to the layer and the floor.
        self.train_op = tf.reduce_sum(y)
      init = v1.global_variables_initializer()
      self.op_count = len(self.graph.get_operations())
    config = v1.ConfigProto(intra_op_parallelism_threads=threads,
                            inter_op_parallelism_threads=threads)
    if xla:
      config.graph_options.optimizer_options.global_jit_level = (
          v1.OptimizerOptions.ON_1)
    self.session = v1.Session(graph=self.graph, config=config)
    self.session.run(init)

  run = StepGraph.run
  close = StepGraph.close


def _proc_status_kib(field):
  """A `/proc/self/status` memory field in KiB, or None where unavailable."""
  try:
    with open('/proc/self/status') as status:
      for line in status:
        if line.startswith(field + ':'):
          return int(line.split()[1])
  except OSError:
    pass
  return None


def peak_rss_kib():
  """Peak resident set size of this process in KiB (VmHWM on Linux)."""
  peak = _proc_status_kib('VmHWM')
  if peak is not None:
    return peak
  import resource  # pylint: disable=g-import-not-at-top
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def current_rss_kib():
  """Current resident set size in KiB, or the peak where /proc is missing."""
  current = _proc_status_kib('VmRSS')
  return current if current is not None else peak_rss_kib()


def reset_peak_rss():
  """Restarts the peak-RSS count from the current RSS; False if unsupported."""
  try:
    with open('/proc/self/clear_refs', 'w') as clear_refs:
      clear_refs.write('5')
    return True
  except OSError:
    return False


def measure_memory(tf, batch_norm, impl, shape, data_format, steps,
                   baseline_kib, threads=0):
  """Builds and runs one step graph; returns the memory figures as a dict.

  Args:
    tf: the TensorFlow module.
    batch_norm: the layer under test; unused for the floor.
    impl: `FLOOR` or one of `PATHS`.
    shape: the input shape.
    data_format: 'NHWC' or 'NCHW'.
    steps: training steps to run before reading the peak.
    baseline_kib: resident memory after the imports, before any graph.
    threads: session threads; 0 lets TF choose.

  Returns:
    A dict with `peak_kib` (the whole process), `steps_peak_kib` (the
    training steps alone, None where the peak cannot be reset),
    `baseline_kib` and `op_count`.
  """
  step = StepGraph(tf, batch_norm, impl, shape, data_format, threads)
  # Building and initialising the graph has a peak of its own; the steps'
  # own peak shows the memory the layer's ops need while training.
  setup_peak = peak_rss_kib()
  can_reset = reset_peak_rss()
  step.run(steps)
  steps_peak = peak_rss_kib()
  result = {'peak_kib': max(setup_peak, steps_peak),
            'steps_peak_kib': steps_peak if can_reset else None,
            'baseline_kib': baseline_kib, 'op_count': step.op_count}
  step.close()
  return result


class Server(object):
  """Answers `setup` / `time` requests for one `batch_norm` implementation."""

  def __init__(self, tf, batch_norm, shapes, threads=0, smoke=False,
               layers_batch_norm=None):
    self.tf = tf
    self.batch_norm = batch_norm
    self.layers_batch_norm = layers_batch_norm
    self.shapes = shapes
    self.threads = threads
    self.smoke = smoke
    self.graphs = {}

  def handle(self, request):
    cmd = request['cmd']
    key = (request.get('shape'), request.get('impl'))
    if 'row' in request:
      key = (request['row'], request['mode'], request['impl'],
             request.get('xla', False))
    if cmd == 'setup' and 'row' in request:
      try:
        step = TableStep(self.tf, self.batch_norm, *key,
                         threads=self.threads, smoke=self.smoke,
                         layers_batch_norm=self.layers_batch_norm)
        step.run(1)
      except Exception as e:  # pylint: disable=broad-except
        return {'ok': False, 'error': '%s: %s' % (type(e).__name__,
                                                  str(e).splitlines()[0])}
      self.graphs[key] = step
      return {'ok': True, 'ops': step.op_count}
    if cmd == 'close':
      step = self.graphs.pop(key, None)
      if step is not None:
        step.close()
      return {'ok': True}
    if cmd == 'setup':
      shape, data_format = self.shapes[key[0]]
      try:
        step = StepGraph(self.tf, self.batch_norm, key[1], shape, data_format,
                         self.threads)
        # The first run also tells whether the kernels exist on this device
        # (TF 1.15 has no NCHW fused kernel on CPU).
        step.run(1)
      except Exception as e:  # pylint: disable=broad-except
        return {'ok': False, 'error': '%s: %s' % (type(e).__name__,
                                                  str(e).splitlines()[0])}
      self.graphs[key] = step
      return {'ok': True, 'ops': step.op_count}
    if cmd == 'time':
      return {'ok': True, 'seconds': self.graphs[key].run(request['iters'])}
    raise ValueError('unknown command %r' % (cmd,))

  def serve(self, requests, reply):
    for line in requests:
      request = json.loads(line)
      if request['cmd'] == 'quit':
        break
      reply(json.dumps(self.handle(request)))
    for step in self.graphs.values():
      step.close()


def _main(argv):
  del argv
  from absl import flags  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  options = flags.FLAGS
  # Resident memory once TensorFlow is loaded: the part of the peak that no
  # graph is responsible for.
  baseline = current_rss_kib()
  batch_norm = tf.contrib.layers.batch_norm
  shapes = SMOKE_SHAPES if options.smoke else SHAPES
  if options.mode == 'memory':
    shape, data_format = shapes[options.shape]
    result = measure_memory(tf, batch_norm, options.impl, shape, data_format,
                            options.steps, baseline, options.threads)
    result['tf_version'] = tf.__version__
    print(json.dumps(result))
    return
  # The protocol owns the real stdout; anything else printed goes to stderr.
  out = os.fdopen(os.dup(sys.stdout.fileno()), 'w')
  sys.stdout = sys.stderr

  def reply(text):
    out.write(text + '\n')
    out.flush()

  reply(json.dumps({'ok': True, 'tf_version': tf.__version__,
                    'python': sys.version.split()[0]}))
  Server(tf, batch_norm, shapes, options.threads, options.smoke,
         tf.layers.batch_normalization).serve(sys.stdin, reply)


if __name__ == '__main__':
  # Flags are defined only when run as a program: bench.py imports this
  # module and defines flags of the same names itself.
  from absl import app  # pylint: disable=g-import-not-at-top
  from absl import flags as absl_flags  # pylint: disable=g-import-not-at-top

  absl_flags.DEFINE_enum('mode', 'serve', ['serve', 'memory'],
                         'serve: answer timing requests on stdin; memory: '
                         'measure the peak memory of one step graph.')
  absl_flags.DEFINE_boolean('smoke', False, 'Use the tiny smoke-run shapes.')
  absl_flags.DEFINE_integer('threads', 0,
                            'Session intra/inter-op threads; 0: TF default.')
  absl_flags.DEFINE_enum('shape', 'nhwc', list(SHAPE_ORDER),
                         'memory mode: the input shape.')
  absl_flags.DEFINE_enum('impl', FLOOR, list(IMPLS),
                         'memory mode: the implementation.')
  absl_flags.DEFINE_integer('steps', 10, 'memory mode: training steps run.')
  app.run(_main)
