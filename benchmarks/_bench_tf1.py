"""Training-step benchmark graphs, shared by both TensorFlow releases.

`benchmarks/bench.py` imports this module under TensorFlow 2 to time
`contrib_bn.batch_norm` and `contrib_bn.layers.batch_normalization`; run as a
program under Python 3.7 with TensorFlow 1.15 it times the real
`tf.contrib.layers.batch_norm` and `tf.layers.batch_normalization` and serves
the results to `bench.py` over a pipe. Both sides build the cases of
`_bench_cases.py` with the same loss and optimizer, so their step times
compare like for like. It uses only the `tf.compat.v1` API both releases
share, is written for Python 3.7 as well as current Python, and never imports
`contrib_bn` (which needs TensorFlow 2).

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

import _bench_cases as catalogue


class StepGraph(object):
  """One training-step graph in its own `tf.Graph` and `Session`."""

  def __init__(self, tf, batch_norm, impl, shape, data_format, threads=0):
    """Builds the graph and initialises its variables.

    Args:
      tf: the TensorFlow module.
      batch_norm: the layer under test; unused for the floor.
      impl: `catalogue.FLOOR` or one of `catalogue.PATHS`.
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
          'input', initializer=tf.constant(catalogue.input_array(shape)),
          trainable=False)
      if impl == catalogue.FLOOR:
        y = catalogue.floor_batch_norm(tf, x, data_format)
      else:
        y = batch_norm(x, **catalogue.path_kwargs(tf, impl, shape, data_format))
      loss = tf.reduce_mean(tf.square(y))
      updates = (v1.get_collection(v1.GraphKeys.UPDATE_OPS) +
                 v1.get_collection(catalogue.BENCH_UPDATES))
      with tf.control_dependencies(updates):
        self.train_op = v1.train.GradientDescentOptimizer(
            catalogue.LEARNING_RATE).minimize(loss)
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
      row: a `catalogue.TABLE_ROWS` name.
      mode: 'train' (forward, backward, updates, a gradient step) or 'infer'
        (the forward pass with `is_training=False`, and a sum of its output).
      impl: `catalogue.FLOOR` or `catalogue.LAYER`.
      xla: run the session with XLA auto-clustering (global_jit_level ON_1).
      threads: intra- and inter-op threads of the session; 0 lets TF choose.
      smoke: use the tiny shapes.
      layers_batch_norm: `tf.layers.batch_normalization` under test, for
        the `catalogue.TF_LAYERS_ROWS`.
    """
    v1 = tf.compat.v1
    shape, data_format, dtype, kwargs = catalogue.table_row(row, smoke)
    training = mode == 'train'
    self.graph = tf.Graph()
    with self.graph.as_default():
      x = v1.get_variable(
          'input',
          initializer=tf.cast(tf.constant(catalogue.input_array(shape)),
                              dtype),
          trainable=False)
      if impl == catalogue.FLOOR:
        y = catalogue.floor_batch_norm(tf, x, data_format, training)
      elif row in catalogue.TF_LAYERS_ROWS:
        kwargs.update(catalogue.tf_layers_kwargs(data_format))
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
              catalogue.LEARNING_RATE).minimize(loss)
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
    impl: `catalogue.FLOOR` or one of `catalogue.PATHS`.
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
  shapes = catalogue.SMOKE_SHAPES if options.smoke else catalogue.SHAPES
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
  absl_flags.DEFINE_enum('shape', 'nhwc', list(catalogue.SHAPE_ORDER),
                         'memory mode: the input shape.')
  absl_flags.DEFINE_enum('impl', catalogue.FLOOR, list(catalogue.IMPLS),
                         'memory mode: the implementation.')
  absl_flags.DEFINE_integer('steps', 10, 'memory mode: training steps run.')
  app.run(_main)
