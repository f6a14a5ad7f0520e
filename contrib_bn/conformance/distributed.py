"""Distributed golden cases: batch norm under a mirrored strategy.

The recorder runs this module under TF 1.15.5 with `tf.contrib.layers.batch_norm`
and `tf.distribute.MirroredStrategy` on two virtual CPU devices; the verifier
runs it under TF 2.x with `contrib_bn.batch_norm` and
`tf.compat.v1.distribute.MirroredStrategy`, or with two
`MultiWorkerMirroredStrategy` workers (one replica each), which gives the same
numbers. Each replica normalizes its own, different batch. Written for
Python 3.7 as well as current Python; it never imports TensorFlow itself.

Recorded per case: every replica's outputs and gradients of the first
training step, every copy of every variable after `STEPS` training steps,
the per-replica inference outputs (with a placeholder `is_training`), the saved checkpoint's contents
and single-device inference from that checkpoint on the concatenated batch.
"""

import zlib

import numpy as np

REPLICAS = 2
PER_REPLICA = 4
STEPS = 2
DECAY = 0.9
LEARNING_RATE = 0.1
DEVICES = ['/cpu:0', '/cpu:1']
SCOPE = 'bn'


def _case(case_id, shape, placeholder=False, **kwargs):
  return {'id': case_id, 'shape': [PER_REPLICA] + list(shape),
          'placeholder': placeholder, 'kwargs': kwargs}


# The paths of TF 1.15's contrib batch_norm (fused kernel, core layer with and
# without its kernel and with renorm, moments with and without batch_weights)
# with zero-debias, forced updates and a placeholder `is_training`.
CASES = [
    _case('dist_fused_r2', [3], scale=True),
    _case('dist_fused_zd_r4', [2, 2, 3], zero_debias_moving_mean=True,
          scale=True),
    _case('dist_fused_none_r4', [2, 2, 3], updates_collections=None),
    _case('dist_core_kernel_r4', [2, 2, 3], scale=True),
    _case('dist_core_plain_r3', [2, 3], scale=True),
    _case('dist_core_renorm_r4', [2, 2, 3], renorm=True, scale=True),
    _case('dist_moments_zd_r3', [2, 3], zero_debias_moving_mean=True),
    _case('dist_moments_bw_r2', [3], batch_weights=True, scale=True),
    _case('dist_moments_none_r3', [2, 3], updates_collections=None,
          scale=True),
    _case('dist_fused_r2_ph', [3], placeholder=True, scale=True),
    _case('dist_fused_zd_r4_ph', [2, 2, 3], placeholder=True,
          zero_debias_moving_mean=True),
    _case('dist_core_kernel_r4_ph', [2, 2, 3], placeholder=True, scale=True),
    _case('dist_core_renorm_r3_ph', [2, 3], placeholder=True, renorm=True),
    _case('dist_moments_none_r3_ph', [2, 3], placeholder=True,
          updates_collections=None),
]


def case_ids():
  return [case['id'] for case in CASES]


def case_by_id(case_id):
  for case in CASES:
    if case['id'] == case_id:
      return case
  raise KeyError(case_id)


def case_data(case):
  """Input, loss target and batch weights, one slice per replica."""
  rng = np.random.RandomState(zlib.crc32(case['id'].encode('utf-8')))
  shape = [REPLICAS] + case['shape']
  channels = [1] * len(shape)
  channels[-1] = shape[-1]
  # Each replica gets its own offset, so per-replica statistics differ.
  offsets = rng.uniform(-1.0, 1.0, size=[REPLICAS] + [1] * (len(shape) - 1))
  data = rng.normal(0.3, 1.5, size=shape) + rng.uniform(
      -1.0, 1.0, size=channels) + 2.0 * offsets
  target = rng.normal(0.0, 1.0, size=shape)
  weights = rng.uniform(0.2, 1.0, size=[REPLICAS, PER_REPLICA])
  return (data.astype('float32'), target.astype('float32'),
          weights.astype('float32'))


class Built(object):
  """A built distributed case: graph, feeds and per-replica fetches."""

  def __init__(self, **kwargs):
    self.__dict__.update(kwargs)


def _local(strategy, value):
  return list(strategy.experimental_local_results(value))


def build(tf, batch_norm, case, strategy, replica_ids=None):
  """Builds the case's training graph in the current default graph.

  Args:
    tf: the TensorFlow module (`tf.compat.v1` symbols are used).
    batch_norm: the layer under test.
    case: one of `CASES`.
    strategy: the mirrored strategy to replicate on.
    replica_ids: for a multi-worker strategy, which global replica each local
      replica is (defaults to the replica's id in its sync group).

  Returns:
    A `Built`.
  """
  v1 = tf.compat.v1
  shape = [REPLICAS] + case['shape']
  x = v1.placeholder(tf.float32, shape, name='x')
  target = v1.placeholder(tf.float32, shape, name='target')
  weights = v1.placeholder(tf.float32, [REPLICAS, PER_REPLICA], name='w')
  if case['placeholder']:
    training = v1.placeholder(tf.bool, [], name='is_training')
  else:
    training = True

  def replica_fn():
    context = tf.distribute.get_replica_context()
    index = context.replica_id_in_sync_group
    if replica_ids is not None:
      index = replica_ids
    inputs = tf.identity(x[index])
    kwargs = dict(case['kwargs'])
    if kwargs.pop('batch_weights', False):
      kwargs['batch_weights'] = weights[index]
    outputs = batch_norm(inputs, decay=DECAY, is_training=training,
                         scope=SCOPE, **kwargs)
    loss = tf.reduce_sum(outputs * target[index])
    params = v1.trainable_variables()
    optimizer = v1.train.GradientDescentOptimizer(LEARNING_RATE)
    grads = optimizer.compute_gradients(loss, [inputs] + params)
    return [outputs] + [g for g, _ in grads]

  with strategy.scope():
    fetched = strategy.extended.call_for_each_replica(replica_fn)
    train_op = tf.group(*v1.get_collection(v1.GraphKeys.UPDATE_OPS))
    saver = v1.train.Saver()
  params = [v.name for v in v1.trainable_variables()]
  names = ['output', 'grad/input'] + ['grad/' + _short(n) for n in params]
  fetches = {}
  for name, value in zip(names, fetched):
    for replica, tensor in enumerate(_local(strategy, value)):
      fetches['%s/replica%d' % (name, replica)] = tensor
  copies = {}
  for variable in v1.global_variables():
    for replica, tensor in enumerate(_local(strategy, variable)):
      copies['var/%s/copy%d' % (_short(variable.name), replica)] = tensor
  return Built(x=x, target=target, weights=weights, training=training,
               fetches=fetches, copies=copies, train_op=train_op, saver=saver,
               strategy=strategy)


def _short(name):
  return name[:-2] if name.endswith(':0') else name


def structure(tf, built):
  """Names and kinds of the variables and the number of update ops."""
  v1 = tf.compat.v1
  kinds = {}
  for variable in v1.global_variables():
    kinds[_short(variable.name)] = type(variable).__name__
  return {
      'variables': kinds,
      'update_ops': len(v1.get_collection(v1.GraphKeys.UPDATE_OPS)),
      'model_variables': sorted(
          _short(v.name) for v in v1.get_collection(
              v1.GraphKeys.MODEL_VARIABLES)),
  }


def _feed(built, data, target, weights, training=True):
  feed = {built.x: data, built.target: target, built.weights: weights}
  if not isinstance(built.training, bool):
    feed[built.training] = training
  return feed


def _read_copies(sess, built):
  return {k: np.asarray(v) for k, v in sess.run(built.copies).items()}


def run(tf, sess, built, data, target, weights, checkpoint_prefix=None):
  """Trains `STEPS` steps and returns the recorded arrays.

  The variables must already be initialized. Outputs are fetched in a
  separate `Session.run` from the train op (TF1 reference variables race).
  """
  arrays = {}
  first = sess.run(built.fetches, _feed(built, data, target, weights))
  arrays.update({'train/' + k: v for k, v in first.items()})
  for _ in range(STEPS):
    sess.run(built.train_op, _feed(built, data, target, weights))
  arrays.update({'trained/' + k: v for k, v in
                 _read_copies(sess, built).items()})
  if not isinstance(built.training, bool):
    # Not recorded: the train op fed False. On the core path's kernel, TF
    # 1.15 then moved the moving variance by 0 * (an output the inference
    # kernel leaves unset), which turns it into NaN on some runs.
    infer = sess.run(built.fetches, _feed(built, data, target, weights,
                                          False))
    arrays.update({'infer/' + k: v for k, v in infer.items()
                   if k.startswith('output/')})
  if checkpoint_prefix is not None:
    built.saver.save(sess, checkpoint_prefix, write_meta_graph=False,
                     write_state=False)
  return arrays


def checkpoint_arrays(tf, checkpoint_prefix):
  """The checkpoint's tensors by saved name."""
  reader = tf.compat.v1.train.NewCheckpointReader(checkpoint_prefix)
  names = sorted(reader.get_variable_to_shape_map())
  return {'ckpt/' + name: reader.get_tensor(name) for name in names}


def single_device_inference(tf, batch_norm, case, checkpoint_prefix, data,
                            weights):
  """Restores the checkpoint into one device's graph; infers the whole batch."""
  v1 = tf.compat.v1
  graph = tf.Graph()
  with graph.as_default():
    inputs = v1.placeholder(tf.float32, [REPLICAS * PER_REPLICA] +
                            case['shape'][1:])
    kwargs = dict(case['kwargs'])
    if kwargs.pop('batch_weights', False):
      kwargs['batch_weights'] = tf.constant(weights.reshape([-1]))
    outputs = batch_norm(inputs, decay=DECAY, is_training=False, scope=SCOPE,
                         **kwargs)
    saver = v1.train.Saver()
    with v1.Session(graph=graph) as sess:
      saver.restore(sess, checkpoint_prefix)
      return sess.run(outputs, {inputs: data.reshape(
          [REPLICAS * PER_REPLICA] + case['shape'][1:])})


# Placement under `tf.compat.v1.train.replica_device_setter` with two ps tasks:
# which task holds each variable and where the ops that write it sit.
PS_TASKS = 2
WORKER_DEVICE = '/job:worker/task:0'
PLACEMENT_CASES = [
    _case('ps_core_kernel_r4', [2, 2, 3], scale=True),
    _case('ps_core_renorm_r3', [2, 3], renorm=True, scale=True),
    _case('ps_fused_zd_r4', [2, 2, 3], zero_debias_moving_mean=True),
    _case('ps_moments_zd_r3', [2, 3], zero_debias_moving_mean=True),
    _case('ps_moments_bw_none_r2', [3], batch_weights=True,
          updates_collections=None),
]
# Reference-variable writes (TF 1.x) and resource-variable writes (TF 2.x).
_WRITE_OPS = ('Assign', 'AssignSub', 'AssignAdd', 'AssignVariableOp',
              'AssignSubVariableOp', 'AssignAddVariableOp')


def _written_variable(op):
  source = op.inputs[0].op
  while source.type == 'Identity':
    source = source.inputs[0].op
  return source.name


def placement(tf, batch_norm, case):
  """`{variable: device}` and `{variable: sorted devices of its writes}`."""
  v1 = tf.compat.v1
  graph = tf.Graph()
  with graph.as_default():
    setter = v1.train.replica_device_setter(ps_tasks=PS_TASKS,
                                            worker_device=WORKER_DEVICE)
    with v1.device(setter):
      inputs = v1.placeholder(tf.float32, case['shape'])
      kwargs = dict(case['kwargs'])
      if kwargs.pop('batch_weights', False):
        kwargs['batch_weights'] = v1.placeholder(tf.float32,
                                                 [case['shape'][0]])
      batch_norm(inputs, decay=DECAY, is_training=True, scope=SCOPE,
                 **kwargs)
    variables = {v.op.name: v.device for v in v1.global_variables()}
    initializers = set(v.initializer.name for v in v1.global_variables())
    writes = {}
    for op in graph.get_operations():
      if op.type in _WRITE_OPS and op.name not in initializers:
        writes.setdefault(_written_variable(op), set()).add(op.device)
  return {'variables': variables,
          'writes': {k: sorted(v) for k, v in writes.items()}}
