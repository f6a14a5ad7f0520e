"""Graph-construction time per layer, and how it grows with the stack.

Stacks of layers (each layer's output, through a ReLU, feeds the next) are
built for each implementation side by side, one layer of each in turn.
Python's cyclic garbage collector is timed apart: one full collection walks
every stack and lands on whichever layer happens to cross its threshold, a
pause of up to a second that would decide the ratio by chance. Its share is
bounded instead by the objects each layer keeps alive (counted after a full
collection), which is what a collection walks.
"""

import cProfile
import gc
import io
import pstats
import time

import _bench_cases as catalogue
import _bench_stats as stats


class _CollectorClock(object):
  """Total time spent in Python's cyclic garbage collector, from its hooks."""

  def __init__(self):
    self.seconds = 0.0
    self._start = None
    gc.callbacks.append(self._hook)

  def _hook(self, phase, unused_info):
    if phase == 'start':
      self._start = time.perf_counter()
    elif self._start is not None:
      self.seconds += time.perf_counter() - self._start
      self._start = None


_COLLECTOR = _CollectorClock()


class _Stack(object):
  """A growing stack of one implementation's layers, in its own graph."""

  def __init__(self, tf, impl):
    import contrib_bn  # pylint: disable=g-import-not-at-top
    shape, data_format = catalogue.SHAPES['nhwc']
    self.tf = tf
    self.graph = tf.Graph()
    self.seconds = 0.0
    self.collector_seconds = 0.0
    with self.graph.as_default():
      self.top = tf.compat.v1.placeholder(tf.float32, shape)
      if impl == catalogue.FLOOR:
        self.layer = lambda x: catalogue.floor_batch_norm(tf, x, data_format)
      elif impl == catalogue.TF_LAYERS:
        kwargs = catalogue.tf_layers_kwargs(data_format)
        self.layer = lambda x: contrib_bn.layers.batch_normalization(
            x, training=True, **kwargs)
      else:
        kwargs = catalogue.path_kwargs(tf, impl, shape, data_format)
        self.layer = lambda x: contrib_bn.batch_norm(x, **kwargs)

  def grow(self):
    """Adds one layer and a cheap op after it, as an activation would be."""
    with self.graph.as_default():
      paused = _COLLECTOR.seconds
      start = time.perf_counter()
      self.top = self.tf.nn.relu(self.layer(self.top))
      elapsed = time.perf_counter() - start
      collector = _COLLECTOR.seconds - paused
      self.seconds += elapsed - collector
      self.collector_seconds += collector

  def op_count(self):
    return len(self.graph.get_operations())


def _stacks(tf, impls, count, rep):
  """Builds `count` layers of each implementation, one layer of each in turn.

  Interleaving layer by layer exposes every implementation to the same
  moments of machine load, which a build of several seconds would not.

  Args:
    tf: the TensorFlow module.
    impls: implementations to build.
    count: layers per stack.
    rep: repetition number; rotates which implementation goes first.

  Returns:
    {impl: (seconds outside the garbage collector, op count, seconds in it)}.
  """
  stacks = {impl: _Stack(tf, impl) for impl in impls}
  gc.collect()
  for i in range(count):
    for impl in stats.rotated(impls, i + rep):
      stacks[impl].grow()
  result = {impl: (s.seconds, s.op_count(), s.collector_seconds)
            for impl, s in stacks.items()}
  del stacks
  gc.collect()
  return result


def bench_graph(graph_paths, options):
  """Graph-construction rows, growth rows and the optional profile text."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  counts = [int(n) for n in options.layers]
  impls = [catalogue.FLOOR] + list(graph_paths)
  # One untimed small build first loads every code path.
  _stacks(tf, impls, 2, 0)
  times = {}
  ops = {}
  collector = {}
  for rep in range(options.graph_repeats):
    for count in counts:
      for impl, (seconds, op_count, in_collector) in _stacks(
          tf, impls, count, rep).items():
        times.setdefault((impl, count), []).append(seconds)
        collector.setdefault((impl, count), []).append(in_collector)
        ops[(impl, count)] = op_count
        stats.log('  graph %s x%d: %.2f s (+%.2f s garbage collector)' % (
            impl, count, seconds, in_collector))
  objects = {impl: _live_objects_per_layer(tf, impl, counts[0])
             for impl in impls}
  rows = []
  for impl in impls:
    for count in counts:
      total = stats.median(times[(impl, count)])
      floor_total = stats.median(times[(catalogue.FLOOR, count)])
      rows.append({
          'impl': impl, 'layers': count, 'total_s': total,
          'per_layer_ms': total / count * 1000.0,
          'ops': ops[(impl, count)],
          'ops_per_layer': ops[(impl, count)] / float(count),
          'collector_s': stats.median(collector[(impl, count)]),
          'objects_per_layer': objects[impl],
          'objects_ratio': objects[impl] / objects[catalogue.FLOOR],
          'ratio': total / floor_total,
          'paired_ratio': stats.paired_ratio(times[(impl, count)],
                                        times[(catalogue.FLOOR, count)]),
      })
  small, middle, large = counts[0], counts[1], counts[-1]
  growth = []
  for impl in impls:
    per = {r['layers']: r for r in rows if r['impl'] == impl}
    growth.append({
        'impl': impl, 'small': small, 'middle': middle, 'large': large,
        'per_layer_growth': (per[large]['per_layer_ms'] /
                             per[small]['per_layer_ms']),
        'total_growth': per[large]['total_s'] / per[middle]['total_s'],
        'linear_total_growth': large / float(middle),
    })
  profile_text = None
  if options.profile_graph:
    profile_text = _profile_stack(tf, graph_paths[0], large)
  return rows, growth, profile_text


def _live_objects_per_layer(tf, impl, count):
  """Objects the collector tracks per layer, after a full collection.

  Counted over `count` layers after one, so that first-use caches are not
  charged to the layers. Deterministic, unlike the collector's pauses.
  """
  stack = _Stack(tf, impl)
  stack.grow()
  gc.collect()
  before = len(gc.get_objects())
  for _ in range(count):
    stack.grow()
  gc.collect()
  return (len(gc.get_objects()) - before) / float(count)


def _profile_stack(tf, impl, count):
  profiler = cProfile.Profile()
  profiler.enable()
  _stacks(tf, [impl], count, 0)
  profiler.disable()
  text = io.StringIO()
  stats = pstats.Stats(profiler, stream=text)
  stats.sort_stats('tottime').print_stats(40)
  stats.sort_stats('cumulative').print_stats(60)
  return text.getvalue()
