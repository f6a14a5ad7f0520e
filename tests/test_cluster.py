"""contrib_bn on real loopback clusters of `tf.distribute.Server`s.

Servers listen on 127.0.0.1 only, on ports chosen free by the OS, and every
session and thread has a deadline, so a hung collective fails the test in
bounded time instead of stalling CI.

* two `MultiWorkerMirroredStrategy` workers (one replica each) reproduce the
  distributed golden corpus TF 1.15.5 recorded with MirroredStrategy, and
  with synchronized statistics equal single-device batch norm on the global
  batch; `tf.layers.batch_normalization` (contrib_bn.layers) as well;
* one parameter server and two workers under
  `tf.compat.v1.train.replica_device_setter` share the moving statistics,
  which move with each worker's batch in turn.
"""

import socket
import threading

import numpy as np
import pytest
import tensorflow as tf

import contrib_bn
from contrib_bn.conformance import matching
from contrib_bn.conformance import distributed
from contrib_bn.conformance import verify_distributed
import distributed_checks

# Any single step takes well under a second here; a collective that never
# completes is cut off after this long.
OPERATION_TIMEOUT_MS = 60000
THREAD_TIMEOUT_S = 240
_LEADER = '/job:worker/replica:0/task:0'


def _free_port():
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def _addresses(count):
  return ['127.0.0.1:%d' % _free_port() for _ in range(count)]


def _config(strategy=None):
  config = tf.compat.v1.ConfigProto()
  # In-process servers on TF 2.x wait for a group leader forever otherwise.
  config.experimental.collective_group_leader = _LEADER
  if strategy is not None:
    config = strategy.update_config_proto(config)
  config.operation_timeout_in_ms = OPERATION_TIMEOUT_MS
  return config


@pytest.fixture
def worker_cluster():
  # Fresh servers per test: collective instance keys restart with every
  # strategy, and a server remembers the instances it has run.
  cluster = tf.train.ClusterSpec({'worker': _addresses(2)})
  servers = [tf.distribute.Server(cluster, 'worker', i, config=_config(),
                                  start=True) for i in range(2)]
  return cluster, servers


def _on_both_workers(work):
  """Runs `work(task_id)` in one thread per worker; returns both results."""
  results = [None, None]

  def run(task_id):
    try:
      results[task_id] = work(task_id)
    except Exception as e:  # pylint: disable=broad-except
      results[task_id] = e

  threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
  for thread in threads:
    thread.start()
  for thread in threads:
    thread.join(THREAD_TIMEOUT_S)
    assert not thread.is_alive(), 'a worker did not finish in time'
  for result in results:
    if isinstance(result, Exception):
      raise result
  return results


def _multi_worker_run(worker_cluster, case, synchronized=False,
                      batch_norm=contrib_bn.batch_norm):
  cluster, servers = worker_cluster
  data, target, weights = distributed.case_data(case)

  def work(task_id):
    graph = tf.Graph()
    with graph.as_default():
      resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
          cluster, task_type='worker', task_id=task_id, rpc_layer='grpc')
      strategy = (tf.compat.v1.distribute.experimental
                  .MultiWorkerMirroredStrategy(cluster_resolver=resolver))
      with contrib_bn.synchronized_statistics(synchronized):
        built = distributed.build(tf, batch_norm, case, strategy,
                                  replica_ids=task_id)
      with tf.compat.v1.Session(servers[task_id].target, graph=graph,
                                config=_config(strategy)) as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        return distributed.run(tf, sess, built, data, target, weights)

  # Each worker holds one replica; name its arrays by global replica.
  merged = {}
  for task_id, arrays in enumerate(_on_both_workers(work)):
    for key, value in arrays.items():
      key = key.replace('replica0', 'replica%d' % task_id)
      merged[key.replace('copy0', 'copy%d' % task_id)] = value
  return merged


@pytest.mark.parametrize('case_id', ['dist_fused_zd_r4', 'dist_core_renorm_r4',
                                     'dist_moments_bw_r2'])
def test_multi_worker_matches_tf1_mirrored_goldens(worker_cluster, case_id):
  golden = verify_distributed.Golden(verify_distributed.DEFAULT_DIR, case_id)
  ours = _multi_worker_run(worker_cluster, golden.case)
  comparison = matching.Comparison(matching.FLOAT32_RTOL)
  keys = [k for k in golden.arrays
          if k.startswith('train/') or k.startswith('trained/')]
  assert keys
  comparison.arrays(golden.arrays, ours, keys)
  assert not comparison.problems, comparison.problems


def test_multi_worker_synchronized_equals_global_batch(worker_cluster):
  case = distributed.case_by_id('dist_core_kernel_r4')
  data, target, weights = distributed.case_data(case)
  single, variables = distributed_checks.single_device(
      case, data, target, weights)
  ours = _multi_worker_run(worker_cluster, case, synchronized=True)
  distributed_checks.check_against_single_device(ours, single, variables)


def test_multi_worker_tf_layers_matches_tf1_mirrored_goldens(worker_cluster):
  # tf.layers.batch_normalization took the contrib layer's core path in
  # TF 1.15: the same recorded arrays hold for it.
  golden = verify_distributed.Golden(verify_distributed.DEFAULT_DIR,
                                     'dist_core_renorm_r4')
  ours = _multi_worker_run(worker_cluster, golden.case,
                           batch_norm=distributed_checks.tf_layers_batch_norm)
  comparison = matching.Comparison(matching.FLOAT32_RTOL)
  keys = [k for k in golden.arrays
          if k.startswith('train/') or k.startswith('trained/')]
  assert keys
  comparison.arrays(golden.arrays, ours, keys)
  assert not comparison.problems, comparison.problems


def test_multi_worker_tf_layers_synchronized_equals_global_batch(
    worker_cluster):
  case = distributed.case_by_id('dist_core_plain_r3')
  data, target, weights = distributed.case_data(case)
  single, variables = distributed_checks.single_device(
      case, data, target, weights)
  ours = _multi_worker_run(worker_cluster, case, synchronized=True,
                           batch_norm=distributed_checks.tf_layers_batch_norm)
  distributed_checks.check_against_single_device(ours, single, variables)


@pytest.fixture(scope='module')
def ps_cluster():
  cluster = tf.train.ClusterSpec({'ps': _addresses(1),
                                  'worker': _addresses(2)})
  servers = [tf.distribute.Server(cluster, 'ps', 0, start=True)]
  servers += [tf.distribute.Server(cluster, 'worker', i, start=True)
              for i in range(2)]
  return cluster, servers


def _ps_graph(cluster, task_id, case):
  graph = tf.Graph()
  with graph.as_default():
    setter = tf.compat.v1.train.replica_device_setter(
        cluster=cluster, worker_device='/job:worker/task:%d' % task_id)
    with tf.compat.v1.device(setter):
      inputs = tf.compat.v1.placeholder(tf.float32, case['shape'])
      contrib_bn.batch_norm(inputs, decay=distributed.DECAY, scope='bn',
                            **case['kwargs'])
      train_op = tf.group(*tf.compat.v1.get_collection(
          tf.compat.v1.GraphKeys.UPDATE_OPS))
    variables = {v.op.name: v for v in tf.compat.v1.global_variables()}
  return graph, inputs, train_op, variables


def _single_device_sequence(case, batches):
  graph = tf.Graph()
  with graph.as_default():
    inputs = tf.compat.v1.placeholder(tf.float32, case['shape'])
    contrib_bn.batch_norm(inputs, decay=distributed.DECAY, scope='bn',
                          **case['kwargs'])
    train_op = tf.group(*tf.compat.v1.get_collection(
        tf.compat.v1.GraphKeys.UPDATE_OPS))
    with tf.compat.v1.Session(graph=graph) as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      for batch in batches:
        sess.run(train_op, {inputs: batch})
      return {v.op.name: sess.run(v)
              for v in tf.compat.v1.global_variables()}


@pytest.mark.parametrize('case_id', ['dist_core_kernel_r4', 'dist_fused_zd_r4',
                                     'dist_core_renorm_r4'])
def test_ps_workers_share_statistics(ps_cluster, case_id):
  cluster, servers = ps_cluster
  case = distributed.case_by_id(case_id)
  data, _, _ = distributed.case_data(case)
  config = tf.compat.v1.ConfigProto(
      operation_timeout_in_ms=OPERATION_TIMEOUT_MS)
  graphs = [_ps_graph(cluster, i, case) for i in range(2)]
  for _, _, _, variables in graphs:
    for name, variable in variables.items():
      assert variable.device == '/job:ps/task:0', name
  for task_id in range(2):
    graph, inputs, train_op, variables = graphs[task_id]
    with tf.compat.v1.Session(servers[1 + task_id].target, graph=graph,
                              config=config) as sess:
      if task_id == 0:
        sess.run(tf.compat.v1.variables_initializer(
            list(variables.values())))
      sess.run(train_op, {inputs: data[task_id]})
      values = sess.run(variables)
  # Worker 1 ran after worker 0, on the same ps variables.
  expected = _single_device_sequence(case, [data[0], data[1]])
  assert sorted(values) == sorted(expected)
  for name, value in expected.items():
    scale = max(1.0, float(np.max(np.abs(value))))
    np.testing.assert_allclose(values[name], value, rtol=0,
                               atol=matching.FLOAT32_RTOL * scale,
                               err_msg=name)
