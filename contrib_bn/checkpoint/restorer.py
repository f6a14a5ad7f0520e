"""Restoring a checkpoint of any TF1 layout, and checking one fits a graph.

`restore` carries out a `planner.plan`: a `tf.compat.v1.train.Saver` over the
paired variables, then assignments of the derived ones. `validate_checkpoint`
is the plain check for `Saver` users: it refuses a checkpoint whose
variables do not fit the graph, which `Saver` no longer does for a
mis-shaped resource variable.
"""

import logging

import numpy as np
import tensorflow as tf

from contrib_bn.checkpoint.layout import open_reader
from contrib_bn.checkpoint.planner import DEFAULT_EPSILON
from contrib_bn.checkpoint.planner import graph_variables
from contrib_bn.checkpoint.planner import plan
from contrib_bn.checkpoint.planner import raise_if_mismatched
from contrib_bn.checkpoint.planner import WARM_LOCAL_STEP

# The logger's name predates the package split; callers filter on it.
_LOG = logging.getLogger('contrib_bn.checkpoint')


def _load(sess, variable, value):
  # Feeding the initializer's value input assigns without adding ops, so
  # this also works on a finalized graph.
  value = np.asarray(value, dtype=variable.dtype.base_dtype.as_numpy_dtype)
  sess.run(variable.initializer, {variable.initializer.inputs[1]: value})


def _derive_value(derivation, reader, dtype):
  """Computes one derived value from checkpoint values, in `dtype`."""
  read = lambda name: np.asarray(reader.get_tensor(name)).astype(dtype)
  if derivation.kind == 'moving_stddev':
    return derived_moving_stddev(read(derivation.sources[0]),
                                 derivation.epsilon)
  if derivation.kind == 'renorm_unbiased':
    biased = read(derivation.sources[0])
    weight = read(derivation.sources[1])
    if np.all(weight > 0):
      return biased / weight
    # A weight of 0: the average was never updated and TF 1.14 had no value
    # for it yet. TF 1.15 starts from the moving statistics' initial values;
    # those (never updated either) are what the checkpoint holds.
    fallback = read(derivation.sources[2])
    if derivation.epsilon is None:
      return fallback
    return derived_moving_stddev(fallback, derivation.epsilon)
  if derivation.kind in ('renorm_from_moving', 'debias_warm'):
    if not derivation.sources:
      top = np.finfo(dtype).max
      return dtype(min(WARM_LOCAL_STEP, top))
    return read(derivation.sources[0])
  raise ValueError('unknown derivation %r' % derivation.kind)


def restore(sess, checkpoint, graph=None, layers_scope_map=None,
            layers_to_contrib=False, epsilon=None, allow_missing=False):
  """Restores a checkpoint of any TF1 layout into a contrib_bn graph.

  Runs a `tf.compat.v1.train.Saver` over `assignment_map`, then assigns
  every graph variable the checkpoint lacks but implies, and logs each one
  (logger `contrib_bn.checkpoint`, level INFO):

  * `moving_stddev` (TF 1.15 renorm) from `moving_variance`:
    `sqrt(moving_variance + epsilon)`, the inverse of TF 1.15's
    `moving_variance = relu(moving_stddev**2 - epsilon)`;
  * `renorm_mean` / `renorm_stddev` from a TF 1.2-1.14 checkpoint:
    `renorm_mean / renorm_mean_weight` (and likewise for stddev), the
    unbiased averages those releases computed from the pair;
  * `renorm_mean` / `renorm_stddev` from a checkpoint without renorm:
    `moving_mean` and `sqrt(moving_variance + epsilon)`, the values TF 1.15
    initializes them to, applied to the trained statistics;
  * zero-debias `biased` / `local_step` from a checkpoint without them:
    `biased = moving_mean` and a step count so large that the next debiased
    update equals a plain moving-average update of the restored mean.

  Inference reads only `beta`, `gamma`, `moving_mean` and `moving_variance`,
  which are always restored as stored; the derived variables matter only to
  further training.

  Args:
    sess: a `tf.compat.v1.Session` on the graph.
    checkpoint: a checkpoint prefix, or a directory with a `checkpoint` file.
    graph: the graph (default: `sess.graph`).
    layers_scope_map: see `plan`.
    layers_to_contrib: see `plan`.
    epsilon: see `plan`.
    allow_missing: leave graph variables that nothing restores or derives at
      their current value instead of raising.

  Returns:
    The `RestorePlan` that was carried out.

  Raises:
    ValueError: if variables differ in shape or dtype, or graph variables
      have no source and `allow_missing` is False.
  """
  graph = graph or sess.graph
  restore_plan = plan(checkpoint, graph, layers_scope_map, layers_to_contrib,
                      epsilon)
  raise_if_mismatched(restore_plan)
  if restore_plan.missing and not allow_missing:
    raise ValueError(
        'the checkpoint has no value for these graph variables (pass '
        'allow_missing=True to keep their current values): ' + ', '.join(
            '%s %s' % (v.name, v.shape) for v in restore_plan.missing))
  if restore_plan.saver_map:
    with graph.as_default():
      saver = tf.compat.v1.train.Saver(var_list=restore_plan.saver_map)
    saver.restore(sess, _prefix(checkpoint))
  reader = open_reader(checkpoint)
  variables = graph_variables(graph)
  for derivation in restore_plan.derived:
    variable = variables[derivation.target]
    dtype = variable.dtype.base_dtype.as_numpy_dtype
    _load(sess, variable, _derive_value(derivation, reader, dtype))
    _LOG.info('derived %s = %s', derivation.target, derivation.formula)
  for info in restore_plan.missing:
    _LOG.warning('not restored (no checkpoint value): %s', info.name)
  return restore_plan


def _prefix(checkpoint):
  """The checkpoint prefix `Saver.restore` needs, given a prefix or dir."""
  if tf.io.gfile.isdir(checkpoint):
    latest = tf.train.latest_checkpoint(checkpoint)
    if latest is None:
      raise ValueError('no checkpoint found in directory %r' % checkpoint)
    return latest
  return checkpoint


def derived_moving_stddev(moving_variance, epsilon=DEFAULT_EPSILON):
  """TF 1.15's `moving_stddev` implied by a `moving_variance`.

  TF 1.15 moves `moving_stddev` towards `sqrt(batch_variance + epsilon)` and
  then sets `moving_variance = relu(moving_stddev**2 - epsilon)`; this is the
  inverse, computed in the array's own dtype as TF computes it.

  Args:
    moving_variance: a numpy array.
    epsilon: the layer's epsilon.

  Returns:
    A numpy array of the same dtype.
  """
  variance = np.asarray(moving_variance)
  dtype = variance.dtype.type
  return np.sqrt(np.maximum(variance, dtype(0)) + dtype(epsilon))


def validate_checkpoint(checkpoint, var_list=None):
  """Refuses a checkpoint whose variables do not fit the graph's variables.

  `tf.compat.v1.train.Saver.restore` names a variable missing from the
  checkpoint, but with resource variables (TF 2.x's default) it silently
  restores a value of another shape: the variable takes the checkpoint's
  shape and the layer computes garbage, or fails later at an unrelated
  node. TF 1.15's reference variables refused it at restore time. Call this
  before restoring to get that refusal back, naming each variable.

  Args:
    checkpoint: a checkpoint prefix, or a directory holding a checkpoint.
    var_list: the variables to restore, as a list or a dict from checkpoint
      key to variable (as given to `Saver`); defaults to the global
      variables of the default graph.

  Raises:
    ValueError: listing every variable missing from the checkpoint or
      stored there with another shape or dtype.
  """
  reader = tf.train.load_checkpoint(checkpoint)
  shapes = reader.get_variable_to_shape_map()
  dtypes = reader.get_variable_to_dtype_map()
  if var_list is None:
    var_list = tf.compat.v1.global_variables()
  if isinstance(var_list, dict):
    items = sorted(var_list.items())
  else:
    items = [(v.op.name, v) for v in var_list]
  problems = []
  for key, variable in items:
    shape = variable.get_shape().as_list()
    dtype = variable.dtype.base_dtype
    if key not in shapes:
      problems.append('%s is missing from the checkpoint' % key)
    elif list(shapes[key]) != shape:
      problems.append('%s has shape %s in the checkpoint but %s in the graph'
                      % (key, list(shapes[key]), shape))
    elif dtypes[key] != dtype:
      problems.append('%s has dtype %s in the checkpoint but %s in the graph'
                      % (key, dtypes[key].name, dtype.name))
  if problems:
    raise ValueError('checkpoint %s does not fit the graph: %s' %
                     (checkpoint, '; '.join(problems)))
