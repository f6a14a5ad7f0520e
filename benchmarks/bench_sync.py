"""Step time of batch norm on 2 replicas: synchronized statistics against not.

  PYTHONPATH=. python benchmarks/bench_sync.py [--steps N] [--repeats R] [--json]

Builds one training step (forward, gradients, moving-statistics updates) of
`--layers` stacked `contrib_bn.batch_norm` layers under
`tf.compat.v1.distribute.MirroredStrategy` on two virtual CPU devices, each
replica with its own batch of shape `--shape`, for each path (core layer with
the kernel, fused, moments) with TF 1.15's per-replica statistics and with
`contrib_bn.synchronized_statistics()`. Reports the median step time of
`--repeats` timed runs of `--steps` steps, the two modes timed in turns, and
the median of the paired synchronized / per-replica ratios. On CPU devices of one process the cross-replica sums are memory copies;
across GPUs or machines they cost more. Exit code 0 when every mode ran.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
import tensorflow as tf  # pylint: disable=g-import-not-at-top

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import contrib_bn  # pylint: disable=g-import-not-at-top

REPLICAS = 2
# Layer arguments that select each of TF 1.15's internal paths.
PATHS = {
    'core+kernel': {},
    'fused': {'updates_collections': None},
    'moments': {'updates_collections': None, 'fused': False},
}


def _step(path_kwargs, synchronized, shape, layers):
  graph = tf.Graph()
  with graph.as_default():
    strategy = tf.compat.v1.distribute.MirroredStrategy(
        devices=['/cpu:%d' % i for i in range(REPLICAS)])
    data = tf.compat.v1.placeholder(tf.float32, [REPLICAS] + shape)

    def replica_fn():
      index = tf.distribute.get_replica_context().replica_id_in_sync_group
      net = data[index]
      for layer in range(layers):
        net = contrib_bn.batch_norm(net, scale=True, scope='bn%d' % layer,
                                    **path_kwargs)
      loss = tf.reduce_mean(tf.square(net))
      updates = tf.compat.v1.get_collection(
          tf.compat.v1.GraphKeys.UPDATE_OPS)
      with tf.control_dependencies(updates):
        return tf.compat.v1.train.GradientDescentOptimizer(0.01).minimize(
            loss)

    with strategy.scope():
      with contrib_bn.synchronized_statistics(synchronized):
        train = strategy.group(
            strategy.extended.call_for_each_replica(replica_fn))
    init = tf.compat.v1.global_variables_initializer()
  return graph, data, train, init


def _timed(sess, train, feed, steps):
  start = time.perf_counter()
  for _ in range(steps):
    sess.run(train, feed)
  return (time.perf_counter() - start) / steps


def measure(path, args):
  """Median step times of both modes, timed alternately, and their ratio.

  The two modes run in turns, so load from other processes on a shared
  machine hits both alike; the ratio is the median of the paired ratios.
  """
  config = tf.compat.v1.ConfigProto(device_count={'CPU': REPLICAS})
  sessions = []
  batch = np.random.RandomState(0).normal(
      size=[REPLICAS] + args.shape).astype(np.float32)
  for synchronized in (False, True):
    graph, data, train, init = _step(PATHS[path], synchronized, args.shape,
                                     args.layers)
    sess = tf.compat.v1.Session(graph=graph, config=config)
    sess.run(init)
    feed = {data: batch}
    _timed(sess, train, feed, 3)
    sessions.append((sess, train, feed))
  times = [[], []]
  for _ in range(args.repeats):
    for mode, (sess, train, feed) in enumerate(sessions):
      times[mode].append(_timed(sess, train, feed, args.steps))
  for sess, _, _ in sessions:
    sess.close()
  ratios = [b / a for a, b in zip(*times)]
  return (float(np.median(times[0])), float(np.median(times[1])),
          float(np.median(ratios)))


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--shape', type=lambda s: [int(d) for d in s.split(',')],
                      default=[32, 16, 16, 32],
                      help='per-replica batch shape, comma separated '
                           '(default 32,16,16,32)')
  parser.add_argument('--layers', type=int, default=4,
                      help='stacked batch-norm layers (default 4)')
  parser.add_argument('--steps', type=int, default=10,
                      help='steps per timed run (default 10)')
  parser.add_argument('--repeats', type=int, default=5,
                      help='timed runs; the median is reported (default 5)')
  parser.add_argument('--paths', default=','.join(PATHS),
                      help='comma-separated paths (default: all)')
  parser.add_argument('--json', action='store_true',
                      help='print the results as JSON')
  args = parser.parse_args(argv)
  rows = []
  for path in args.paths.split(','):
    own, synced, ratio = measure(path, args)
    rows.append({'path': path, 'per_replica_ms': own * 1e3,
                 'synchronized_ms': synced * 1e3, 'ratio': ratio})
    if not args.json:
      print('%-12s per-replica %8.2f ms  synchronized %8.2f ms  x%.2f' % (
          path, own * 1e3, synced * 1e3, ratio), flush=True)
  if args.json:
    print(json.dumps({'replicas': REPLICAS, 'shape': args.shape,
                      'layers': args.layers, 'rows': rows}, indent=1))
  return 0


if __name__ == '__main__':
  sys.exit(main())
