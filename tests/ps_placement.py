"""Where batch norm's variables and ops go under replica_device_setter.

TF1 between-graph training wrapped model code in
`tf.compat.v1.device(tf.compat.v1.train.replica_device_setter(...))`: the
setter hands each new variable to the next ps task in turn, and every other
op to the worker. The devices are fixed when the graph is built, so no
cluster is needed to read them.

The same tests run against contrib_bn on TF 2.x
(`tests/test_ps_placement.py`) and against TF 1.15.5's own layers
(`compat_tests/test_ps_placement_tf1.py`), which is where every expected
device below comes from. A subclass of `PsPlacementContract` provides three
fixtures: `tf`, the TensorFlow module; `layers`, a module with
`batch_normalization` and `BatchNormalization` (`tf.compat.v1.layers` of
TF 1.15, `contrib_bn.layers`); and `contrib_batch_norm`
(`tf.contrib.layers.batch_norm`, `contrib_bn.batch_norm`). Only the
`tf.compat.v1` API both releases share, and Python 3.7 syntax.

What TF 1.15 did, case by case below:
  * each variable on a ps task, in the order of creation (gamma, beta,
    moving_mean, moving_variance) modulo the number of tasks, except that a
    variable colocated with another does not take a turn: renorm's
    `moving_stddev` sits with `moving_variance`, `renorm_mean` with
    `moving_mean`, `renorm_stddev` with `moving_stddev`, and the contrib
    layer's zero-debias `biased` and `local_step` with `moving_mean`;
  * every write of a variable, and every op in `UPDATE_OPS`, on the task of
    the variable it updates; with a tensor `training`, `UPDATE_OPS` holds
    the conditionals' results instead, on the worker (the fused kernel's
    updates excepted: they are not conditional);
  * the normalization (everything the output is computed from, other than
    the variables and what only reads them) on the worker;
  * a `BatchNormalization` called twice reuses its variables where they are,
    and its second call's updates go beside them too.
"""

import pytest

WORKER = '/job:worker/task:0'
PS0, PS1, PS2 = ['/job:ps/task:%d' % task for task in range(3)]
SHAPE = [4, 2, 2, 3]

# Writes of reference variables (TF 1.15) and of resource variables (TF 2.x).
WRITE_OPS = ('Assign', 'AssignSub', 'AssignAdd', 'AssignVariableOp',
             'AssignSubVariableOp', 'AssignAddVariableOp')
# Where a chain of inputs reaches a variable.
VARIABLE_OPS = ('VariableV2', 'VarHandleOp')

_BN = 'batch_normalization/'
_CONTRIB = 'BatchNorm/'


def _names(prefix, devices):
  return {prefix + name: device for name, device in devices.items()}


def _case(form, ps_tasks, variables, updates, kwargs=None, rank=4,
          training=True):
  """A build and what TF 1.15.5 placed.

  Args:
    form: 'function', 'class_twice' (one `BatchNormalization` called on two
      inputs) or 'contrib'.
    ps_tasks: the number of ps tasks given to the setter.
    variables: `{variable: device}` of every global variable.
    updates: `[(variable, device)]`, `UPDATE_OPS` in order: the variable each
      op updates and the op's device.
    kwargs: further arguments of the layer.
    rank: the input's rank.
    training: the layer's `training` (`is_training` of the contrib layer).

  Returns:
    The case as a dict.
  """
  prefix = _CONTRIB if form == 'contrib' else _BN
  return dict(form=form, ps_tasks=ps_tasks, kwargs=kwargs or {}, rank=rank,
              training=training, variables=_names(prefix, variables),
              updates=[(prefix + name, device) for name, device in updates])


_PS2 = {'gamma': PS0, 'beta': PS1, 'moving_mean': PS0,
        'moving_variance': PS1}
_PS3 = {'gamma': PS0, 'beta': PS1, 'moving_mean': PS2,
        'moving_variance': PS0}
_RENORM_PS2 = dict(_PS2, moving_stddev=PS1, renorm_mean=PS0,
                   renorm_stddev=PS1)
_RENORM_PS3 = dict(_PS3, moving_stddev=PS0, renorm_mean=PS2,
                   renorm_stddev=PS0)
_STATISTICS = ('moving_mean', 'moving_variance')


def _updates(devices, names=_STATISTICS, calls=1):
  return [(name, devices[name]) for name in names] * calls


CASES = {
    'fused_default_ps2': _case('function', 2, _PS2, _updates(_PS2)),
    'fused_default_ps3': _case('function', 3, _PS3, _updates(_PS3)),
    'fused_false_ps2': _case('function', 2, _PS2, _updates(_PS2),
                             kwargs={'fused': False}),
    'fused_false_ps3': _case('function', 3, _PS3, _updates(_PS3),
                             kwargs={'fused': False}),
    'renorm_ps2': _case('function', 2, _RENORM_PS2, _updates(_RENORM_PS2),
                        kwargs={'renorm': True}),
    'renorm_ps3': _case('function', 3, _RENORM_PS3, _updates(_RENORM_PS3),
                        kwargs={'renorm': True}),
    'class_twice_ps2': _case('class_twice', 2, _PS2,
                             _updates(_PS2, calls=2)),
    'class_twice_ps3': _case('class_twice', 3, _PS3,
                             _updates(_PS3, calls=2)),
    'class_twice_fused_false_ps3': _case('class_twice', 3, _PS3,
                                         _updates(_PS3, calls=2),
                                         kwargs={'fused': False}),
    'inference_ps3': _case('function', 3, _PS3, [], training=False),
    # The contrib layer's paths whose updates read their variable afterwards.
    'contrib_moments_r3_ps2': _case('contrib', 2, {
        'beta': PS0, 'moving_mean': PS1, 'moving_variance': PS0},
        [('moving_mean', PS1), ('moving_variance', PS0)], rank=3),
    'contrib_moments_zd_r3_ps3': _case('contrib', 3, {
        'beta': PS0, 'moving_mean': PS1, 'moving_variance': PS2,
        'BatchNorm/moving_mean/biased': PS1,
        'BatchNorm/moving_mean/local_step': PS1},
        [('moving_mean', PS1), ('moving_variance', PS2)], rank=3,
        kwargs={'zero_debias_moving_mean': True}),
    'contrib_fused_zd_ps2': _case('contrib', 2, {
        'beta': PS0, 'moving_mean': PS1, 'moving_variance': PS0,
        'BatchNorm/moving_mean/biased': PS1,
        'BatchNorm/moving_mean/local_step': PS1},
        [('moving_mean', PS1), ('moving_variance', PS0)],
        kwargs={'zero_debias_moving_mean': True}),
    'contrib_core_renorm_r3_ps3': _case('contrib', 3, {
        'beta': PS0, 'moving_mean': PS1, 'moving_variance': PS2,
        'moving_stddev': PS2, 'renorm_mean': PS1, 'renorm_stddev': PS2},
        [('moving_mean', PS1), ('moving_variance', PS2)], rank=3,
        kwargs={'renorm': True}),
}


# `training` a bool tensor: the same variables, and `UPDATE_OPS` (devices in
# order) holds what the conditionals return, on the worker, except for the
# fused kernel, whose updates stay unconditional.
TENSOR_TRAINING_CASES = {
    'tensor_fused_default_ps3': (
        _case('function', 3, _PS3, [], training='tensor'), [PS2, PS0]),
    'tensor_fused_false_ps3': (
        _case('function', 3, _PS3, [], kwargs={'fused': False},
              training='tensor'), [WORKER, WORKER]),
    'tensor_renorm_ps2': (
        _case('function', 2, _RENORM_PS2, [], kwargs={'renorm': True},
              training='tensor'), [WORKER, WORKER]),
    'tensor_class_twice_ps2': (
        _case('class_twice', 2, _PS2, [], training='tensor'),
        [PS0, PS1, PS0, PS1]),
    'tensor_contrib_moments_r3_ps3': (
        _case('contrib', 3, {'beta': PS0, 'moving_mean': PS1,
                             'moving_variance': PS2}, [], rank=3,
              training='tensor'), [WORKER, WORKER]),
}


def _variable_behind(tensor):
  """The variable op a tensor (a variable, its reads or its ref) comes from."""
  op = tensor.op
  while op.type not in VARIABLE_OPS and op.inputs:
    op = op.inputs[0].op
  return op.name


def build(tf, layers, contrib_batch_norm, case):
  """The case's graph under the setter, and the layer's outputs."""
  v1 = tf.compat.v1
  graph = tf.Graph()
  with graph.as_default():
    setter = v1.train.replica_device_setter(ps_tasks=case['ps_tasks'],
                                            worker_device=WORKER)
    with v1.device(setter):
      inputs = v1.placeholder(tf.float32, SHAPE[:case['rank'] - 1] + [3])
      training = case['training']
      if training == 'tensor':
        training = v1.placeholder_with_default(True, [])
      if case['form'] == 'function':
        outputs = [layers.batch_normalization(inputs, training=training,
                                              **case['kwargs'])]
      elif case['form'] == 'class_twice':
        layer = layers.BatchNormalization(**case['kwargs'])
        outputs = [layer(inputs, training=training),
                   layer(inputs * 2.0, training=training)]
      else:
        outputs = [contrib_batch_norm(inputs, is_training=training,
                                      **case['kwargs'])]
  return graph, outputs


def variables(tf, graph):
  """`{variable: device}`."""
  return {v.op.name: v.device for v in
          graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)}


def update_ops(tf, graph):
  """`[(variable, device)]` of `UPDATE_OPS`, in order."""
  found = []
  for update in graph.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS):
    op = getattr(update, 'op', update)
    found.append((_variable_behind(op.inputs[0]), op.device))
  return found


def writes(tf, graph):
  """`{variable: sorted devices}` of the writes other than initializers."""
  initializers = set(
      v.initializer.name for v in
      graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES))
  found = {}
  for op in graph.get_operations():
    if op.type in WRITE_OPS and op.name not in initializers:
      found.setdefault(_variable_behind(op.inputs[0]), set()).add(op.device)
  return {name: sorted(devices) for name, devices in found.items()}


# Ops that pass a variable's value on unchanged.
_FORWARDING_OPS = ('ReadVariableOp', 'Identity', 'Switch', 'RefSwitch')


def _reads_variable(op):
  """A variable, or its read, or (TF1 control flow) its switch into a branch.

  TF 1.15 placed these with the variable.
  """
  while op.type in _FORWARDING_OPS:
    op = op.inputs[0].op
  return op.type in VARIABLE_OPS


def normalization_devices(outputs):
  """`{op: device}` of what the outputs are computed from.

  Data inputs only (control dependencies lead to the updates); the walk
  stops at the variables and at what only reads them.
  """
  found = {}
  pending = [t.op for t in outputs]
  while pending:
    op = pending.pop()
    if op.name in found or _reads_variable(op):
      continue
    found[op.name] = op.device
    pending.extend(t.op for t in op.inputs)
  return found


class PsPlacementContract(object):
  """TF 1.15.5's placement under replica_device_setter, as tests.

  A subclass named `Test...` runs them and provides the fixtures `tf`,
  `layers` and `contrib_batch_norm`.
  """

  @pytest.fixture(params=sorted(CASES))
  def built(self, request, tf, layers, contrib_batch_norm):
    case = CASES[request.param]
    graph, outputs = build(tf, layers, contrib_batch_norm, case)
    return case, graph, outputs

  def test_variables_on_their_ps_task(self, tf, built):
    case, graph, _ = built
    assert variables(tf, graph) == case['variables']

  def test_update_ops_beside_their_variable(self, tf, built):
    case, graph, _ = built
    assert update_ops(tf, graph) == case['updates']

  def test_every_write_beside_its_variable(self, tf, built):
    case, graph, _ = built
    found = writes(tf, graph)
    if not case['training']:
      assert found == {}
      return
    # Every statistic the layer moves (renorm's and zero-debias state too)
    # is written only on its own task.
    moving = {name: [device] for name, device in case['variables'].items()
              if not name.endswith(('/gamma', '/beta'))}
    assert found == moving

  def test_normalization_on_the_worker(self, built):
    _, _, outputs = built
    self._check_normalization(outputs)

  @pytest.mark.parametrize('case_id', sorted(TENSOR_TRAINING_CASES))
  def test_tensor_training(self, tf, layers, contrib_batch_norm, case_id):
    case, expected_updates = TENSOR_TRAINING_CASES[case_id]
    graph, outputs = build(tf, layers, contrib_batch_norm, case)
    assert variables(tf, graph) == case['variables']
    found = [getattr(update, 'op', update).device for update in
             graph.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)]
    assert found == expected_updates
    self._check_normalization(outputs)

  def _check_normalization(self, outputs):
    devices = normalization_devices(outputs)
    for output in outputs:
      assert output.op.name in devices
    elsewhere = {name: device for name, device in devices.items()
                 if device != WORKER}
    assert elsewhere == {}
