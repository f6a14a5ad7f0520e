"""Reading and restoring batch-norm checkpoints of every TF 1.x release.

TF 1.x releases wrote batch-norm variables in two layouts, which differ only
for batch renormalization (`renorm=True`):

* TF 1.2 to 1.14 (the `tf.layers` layer under both `tf.contrib.layers.
  batch_norm` and `tf.layers.batch_normalization`): `renorm_mean`,
  `renorm_mean_weight`, `renorm_stddev`, `renorm_stddev_weight`. The renorm
  averages start at zero and are never debiased in place: their value is
  `renorm_mean / renorm_mean_weight`. There is no `moving_stddev`.
* TF 1.15: `moving_stddev`, `renorm_mean`, `renorm_stddev`, all holding
  unbiased values; no `*_weight` variables. `moving_variance` is kept equal
  to `relu(moving_stddev**2 - epsilon)` and `moving_stddev` moves towards
  `sqrt(batch_variance + epsilon)`.

Every release names the zero-debias state of a moving mean
`<scope>/<scope>/moving_mean/biased` and `.../local_step` (the scope repeated,
since TF1 opened a variable scope named after the full variable name inside
the layer's scope); `<scope>/moving_mean/biased` is accepted as well.
`tf.layers.batch_normalization` layers are scoped `batch_normalization`,
`batch_normalization_1`, ... where `tf.contrib.layers.batch_norm` used
`BatchNorm`, `BatchNorm_1`, ...

`inspect` lists the batch-norm layers of a checkpoint; `assignment_map` pairs
checkpoint names with the variables of a graph built with
`contrib_bn.batch_norm`, for `tf.compat.v1.train.Saver(var_list=...)`;
`restore` runs that Saver and then assigns the graph variables that have no
checkpoint counterpart but can be derived exactly from ones that do.
"""

import collections
import logging
import re

import numpy as np
import tensorflow as tf

from contrib_bn import constants

_LOG = logging.getLogger(__name__)

# Roles a variable plays in one batch-norm layer.
BETA = constants.BETA
GAMMA = constants.GAMMA
MOVING_MEAN = constants.MOVING_MEAN
MOVING_VARIANCE = constants.MOVING_VARIANCE
MOVING_STDDEV = constants.MOVING_STDDEV
RENORM_MEAN = constants.RENORM_MEAN
RENORM_STDDEV = constants.RENORM_STDDEV
RENORM_MEAN_WEIGHT = 'renorm_mean_weight'
RENORM_STDDEV_WEIGHT = 'renorm_stddev_weight'
DEBIAS_BIASED = 'zero_debias/' + constants.DEBIAS_BIASED
DEBIAS_LOCAL_STEP = 'zero_debias/' + constants.DEBIAS_LOCAL_STEP

# Roles found as `<scope>/<role>`, in the order they are listed.
_DIRECT_ROLES = (BETA, GAMMA, MOVING_MEAN, MOVING_VARIANCE, MOVING_STDDEV,
                 RENORM_MEAN, RENORM_STDDEV, RENORM_MEAN_WEIGHT,
                 RENORM_STDDEV_WEIGHT)
_DEBIAS_ROLES = (DEBIAS_BIASED, DEBIAS_LOCAL_STEP)
ROLES = _DIRECT_ROLES + _DEBIAS_ROLES
_RENORM_ROLES = (MOVING_STDDEV, RENORM_MEAN, RENORM_STDDEV,
                 RENORM_MEAN_WEIGHT, RENORM_STDDEV_WEIGHT)
_WEIGHT_OF = {RENORM_MEAN: RENORM_MEAN_WEIGHT,
              RENORM_STDDEV: RENORM_STDDEV_WEIGHT}

LAYOUT_PLAIN = 'plain'
LAYOUT_RENORM_TF1_14 = 'renorm, TF 1.2-1.14 (renorm_*_weight)'
LAYOUT_RENORM_TF1_15 = 'renorm, TF 1.15 (moving_stddev)'
LAYOUT_RENORM_PARTIAL = 'renorm, incomplete'

# `batch_norm`'s default epsilon, used to derive `moving_stddev` when the
# caller does not say which epsilon the graph was built with.
DEFAULT_EPSILON = 0.001

# A zero-debias counter this large makes `1 - decay**local_step` round to
# exactly 1 (in float32 and float64) for every decay up to 0.99999, so the
# next debiased update equals a plain moving-average update from the restored
# moving mean. float16 cannot hold it; its largest finite value, 65504, does
# the same for decays up to 0.999.
_WARM_LOCAL_STEP = float(2 ** 24)

_TF_LAYERS_SCOPE = re.compile(r'^batch_normalization(_\d+)?$')
_CONTRIB_SCOPE = re.compile(r'^BatchNorm(_\d+)?$')

VariableInfo = collections.namedtuple('VariableInfo', ['name', 'shape',
                                                       'dtype'])


class Layer(object):
  """One batch-norm layer found in a checkpoint or a graph.

  Attributes:
    scope: the layer's variable scope, e.g. `BatchNorm` or `net/bn1`.
    variables: dict role -> `VariableInfo` of the variables present.
  """

  def __init__(self, scope, variables):
    self.scope = scope
    self.variables = variables

  def has(self, role):
    return role in self.variables

  @property
  def channels(self):
    shape = self.variables[MOVING_MEAN].shape
    return shape[0] if len(shape) == 1 else None

  @property
  def dtype(self):
    return self.variables[MOVING_MEAN].dtype

  @property
  def kind(self):
    """Which TF1 API's default scope name the layer has, if either."""
    name = self.scope.rsplit('/', 1)[-1]
    if _TF_LAYERS_SCOPE.match(name):
      return 'tf.layers.batch_normalization'
    if _CONTRIB_SCOPE.match(name):
      return 'tf.contrib.layers.batch_norm'
    return 'custom scope'

  @property
  def layout(self):
    """`LAYOUT_PLAIN` or the renorm layout the variables follow."""
    renorm = [r for r in _RENORM_ROLES if self.has(r)]
    if not renorm:
      return LAYOUT_PLAIN
    if set(renorm) == {RENORM_MEAN, RENORM_STDDEV, RENORM_MEAN_WEIGHT,
                       RENORM_STDDEV_WEIGHT}:
      return LAYOUT_RENORM_TF1_14
    if set(renorm) == {MOVING_STDDEV, RENORM_MEAN, RENORM_STDDEV}:
      return LAYOUT_RENORM_TF1_15
    return LAYOUT_RENORM_PARTIAL

  def implied_arguments(self):
    """The `batch_norm` arguments that the variables present imply."""
    return {
        'center': self.has(BETA),
        'scale': self.has(GAMMA),
        'renorm': any(self.has(r) for r in _RENORM_ROLES),
        'zero_debias_moving_mean': self.has(DEBIAS_BIASED),
    }

  def to_dict(self):
    return {
        'scope': self.scope,
        'kind': self.kind,
        'layout': self.layout,
        'channels': self.channels,
        'dtype': self.dtype,
        'variables': {role: {'name': info.name, 'shape': list(info.shape),
                             'dtype': info.dtype}
                      for role, info in self.variables.items()},
        'implied_arguments': self.implied_arguments(),
    }

  def __repr__(self):
    return 'Layer(%r, %s)' % (self.scope, sorted(self.variables))


def _debias_prefixes(scope):
  # TF1's naming first (the scope repeated), then the flat variant.
  mean = scope + '/' + MOVING_MEAN
  return [scope + '/' + mean + '/', mean + '/']


def find_layers(variables):
  """Groups variable names into batch-norm layers.

  A layer is a scope holding both `moving_mean` and `moving_variance`.

  Args:
    variables: dict name -> (shape, dtype name).

  Returns:
    A list of `Layer`, sorted by scope.
  """
  layers = []
  suffix = '/' + MOVING_MEAN
  for name in sorted(variables):
    if not name.endswith(suffix):
      continue
    scope = name[:-len(suffix)]
    if scope + '/' + MOVING_VARIANCE not in variables:
      continue
    found = {}
    for role in _DIRECT_ROLES:
      full = scope + '/' + role
      if full in variables:
        found[role] = VariableInfo(full, *variables[full])
    for prefix in _debias_prefixes(scope):
      biased = prefix + constants.DEBIAS_BIASED
      step = prefix + constants.DEBIAS_LOCAL_STEP
      if biased in variables:
        found[DEBIAS_BIASED] = VariableInfo(biased, *variables[biased])
        if step in variables:
          found[DEBIAS_LOCAL_STEP] = VariableInfo(step, *variables[step])
        break
    layers.append(Layer(scope, found))
  return layers


def _reader(checkpoint):
  try:
    return tf.train.load_checkpoint(checkpoint)
  except (ValueError, tf.errors.OpError) as e:
    raise ValueError('cannot read checkpoint %r: %s' % (checkpoint, e))


def checkpoint_variables(checkpoint):
  """Every variable of a checkpoint: dict name -> (shape list, dtype name).

  Args:
    checkpoint: a checkpoint prefix, or a directory with a `checkpoint` file.

  Returns:
    The dict, with TF1's bookkeeping entries left out.
  """
  reader = _reader(checkpoint)
  shapes = reader.get_variable_to_shape_map()
  dtypes = reader.get_variable_to_dtype_map()
  return {name: (list(shapes[name]), dtypes[name].name)
          for name in shapes if name != '_CHECKPOINTABLE_OBJECT_GRAPH'}


def inspect(checkpoint):
  """The batch-norm layers of a checkpoint.

  Args:
    checkpoint: a checkpoint prefix, or a directory with a `checkpoint` file.

  Returns:
    A list of `Layer` (see `Layer.to_dict()` for a plain description: scope,
    the variables present by role with shapes and dtypes, the layout and the
    implied `batch_norm` arguments `center`, `scale`, `renorm`,
    `zero_debias_moving_mean`).
  """
  return find_layers(checkpoint_variables(checkpoint))


def _graph_variables(graph):
  result = collections.OrderedDict()
  for var in graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES):
    result[var.op.name] = var
  return result


def _describe_variable(var):
  shape = var.shape
  dims = None if shape.rank is None else [
      d if d is None else int(d) for d in shape.as_list()]
  return dims, var.dtype.base_dtype.name


def _tf_layers_to_contrib(scope):
  parent, _, name = scope.rpartition('/')
  match = _TF_LAYERS_SCOPE.match(name)
  if not match:
    return None
  renamed = constants.DEFAULT_SCOPE + (match.group(1) or '')
  return parent + '/' + renamed if parent else renamed


class Derivation(object):
  """A graph variable assigned after restore from checkpoint values.

  Attributes:
    target: the graph variable's name.
    kind: one of 'moving_stddev', 'renorm_unbiased', 'renorm_from_moving',
      'debias_warm'.
    sources: the checkpoint names it is computed from.
    formula: a human-readable formula.
  """

  def __init__(self, target, kind, sources, formula, epsilon=None):
    self.target = target
    self.kind = kind
    self.sources = list(sources)
    self.formula = formula
    self.epsilon = epsilon

  def to_dict(self):
    return {'target': self.target, 'kind': self.kind,
            'sources': list(self.sources), 'formula': self.formula}

  def __repr__(self):
    return 'Derivation(%s = %s)' % (self.target, self.formula)


class RestorePlan(object):
  """How a checkpoint restores into a graph.

  Attributes:
    saver_map: dict checkpoint name -> graph variable, for
      `tf.compat.v1.train.Saver(var_list=...)`.
    derived: list of `Derivation`, graph variables assigned after restore.
    missing: list of `VariableInfo`, graph variables nothing restores.
    unused: list of `VariableInfo`, checkpoint variables nothing reads.
    mismatched: list of (checkpoint `VariableInfo`, graph `VariableInfo`)
      paired by name or role but of a different shape or dtype.
    scope_map: dict checkpoint layer scope -> graph layer scope, for the
      layers whose scope changed.
  """

  def __init__(self):
    self.saver_map = collections.OrderedDict()
    self.derived = []
    self.missing = []
    self.unused = []
    self.mismatched = []
    self.scope_map = collections.OrderedDict()
    self._consumed = set()
    self._targets = set()

  @property
  def complete(self):
    """Whether every graph variable is restored or derived, consistently."""
    return not self.missing and not self.mismatched

  def to_dict(self):
    return {
        'saver_map': {k: v.op.name for k, v in self.saver_map.items()},
        'derived': [d.to_dict() for d in self.derived],
        'missing': [list(v) for v in self.missing],
        'unused': [list(v) for v in self.unused],
        'mismatched': [[list(c), list(g)] for c, g in self.mismatched],
        'scope_map': dict(self.scope_map),
    }


def _epsilon_for(epsilon, scope):
  if isinstance(epsilon, dict):
    return float(epsilon.get(scope, DEFAULT_EPSILON))
  return float(DEFAULT_EPSILON if epsilon is None else epsilon)


class _Planner(object):
  """Builds a `RestorePlan` (see `plan`)."""

  def __init__(self, checkpoint_vars, graph_vars, scope_map,
               layers_to_contrib, epsilon):
    self.ckpt = checkpoint_vars
    self.graph = graph_vars
    self.graph_info = {n: VariableInfo(n, *_describe_variable(v))
                       for n, v in graph_vars.items()}
    self.explicit = dict(scope_map or {})
    self.layers_to_contrib = layers_to_contrib
    self.epsilon = epsilon
    self.plan = RestorePlan()

  def map_scope(self, scope):
    """The graph scope a checkpoint layer scope restores into."""
    for key in sorted(self.explicit, key=len, reverse=True):
      if scope == key or scope.startswith(key + '/'):
        return self.explicit[key] + scope[len(key):]
    if self.layers_to_contrib:
      renamed = _tf_layers_to_contrib(scope)
      if renamed is not None:
        return renamed
    return scope

  def pair(self, ckpt_name, graph_name):
    """Adds a Saver entry after checking shape and dtype."""
    ckpt = VariableInfo(ckpt_name, *self.ckpt[ckpt_name])
    graph = self.graph_info[graph_name]
    self.plan._consumed.add(ckpt_name)
    self.plan._targets.add(graph_name)
    shape_differs = (graph.shape is not None and
                     list(graph.shape) != list(ckpt.shape))
    if shape_differs or graph.dtype != ckpt.dtype:
      self.plan.mismatched.append((ckpt, graph))
      return
    self.plan.saver_map[ckpt_name] = self.graph[graph_name]

  def derive(self, graph_name, kind, sources, formula, epsilon=None):
    self.plan._targets.add(graph_name)
    self.plan._consumed.update(sources)
    self.plan.derived.append(
        Derivation(graph_name, kind, sources, formula, epsilon))

  def layer(self, ckpt_layer, graph_layer):
    """Pairs the roles of one checkpoint layer with one graph layer."""
    source = ckpt_layer.variables
    eps = _epsilon_for(self.epsilon, graph_layer.scope)
    legacy = ckpt_layer.layout == LAYOUT_RENORM_TF1_14
    for role, target in graph_layer.variables.items():
      name = target.name
      if role in (RENORM_MEAN, RENORM_STDDEV) and legacy:
        weight = source[_WEIGHT_OF[role]].name
        # The third source is the fallback for a never-updated average.
        fallback = source[MOVING_MEAN if role == RENORM_MEAN else
                          MOVING_VARIANCE].name
        self.derive(name, 'renorm_unbiased',
                    [source[role].name, weight, fallback],
                    '%s / %s' % (source[role].name, weight),
                    eps if role == RENORM_STDDEV else None)
      elif role in source:
        self.pair(source[role].name, name)
      elif role == MOVING_STDDEV:
        variance = source[MOVING_VARIANCE].name
        self.derive(name, 'moving_stddev', [variance],
                    'sqrt(%s + %r)' % (variance, eps), eps)
      elif role == RENORM_MEAN:
        mean = source[MOVING_MEAN].name
        self.derive(name, 'renorm_from_moving', [mean], mean)
      elif role == RENORM_STDDEV:
        variance = source[MOVING_VARIANCE].name
        self.derive(name, 'moving_stddev', [variance],
                    'sqrt(%s + %r)' % (variance, eps), eps)
      elif role == DEBIAS_BIASED:
        mean = source[MOVING_MEAN].name
        self.derive(name, 'debias_warm', [mean], mean)
      elif role == DEBIAS_LOCAL_STEP:
        self.derive(name, 'debias_warm', [],
                    'a fully warmed-up step count (%d)' % _WARM_LOCAL_STEP)
      # Anything else (beta or gamma absent from the checkpoint) stays
      # missing: no checkpoint value implies it.

  def build(self):
    ckpt_layers = find_layers(self.ckpt)
    graph_layers = {layer.scope: layer for layer in find_layers(
        {n: (i.shape, i.dtype) for n, i in self.graph_info.items()})}
    renamed_prefixes = []
    for layer in ckpt_layers:
      target_scope = self.map_scope(layer.scope)
      if target_scope != layer.scope:
        self.plan.scope_map[layer.scope] = target_scope
        renamed_prefixes.append((layer.scope + '/', target_scope + '/'))
      if target_scope in graph_layers:
        self.layer(layer, graph_layers[target_scope])
      # Roles the graph layer lacks (renorm or zero-debias state of a layer
      # built without them) are left unused.
    # Variables outside batch-norm layers restore under their own name, or
    # under a renamed layer scope (e.g. optimizer slots of `gamma`).
    for name in self.ckpt:
      if name in self.plan._consumed or self._in_layer(name, ckpt_layers):
        continue
      target = name
      for old, new in sorted(renamed_prefixes, key=lambda p: -len(p[0])):
        if name.startswith(old):
          target = new + name[len(old):]
          break
      if target in self.graph and target not in self.plan._targets:
        self.pair(name, target)
    plan = self.plan
    plan.unused = [VariableInfo(n, *self.ckpt[n]) for n in sorted(self.ckpt)
                   if n not in plan._consumed]
    plan.missing = [self.graph_info[n] for n in self.graph
                    if n not in plan._targets]
    return plan

  @staticmethod
  def _in_layer(name, layers):
    return any(name == info.name for layer in layers
               for info in layer.variables.values())


def plan(checkpoint, graph=None, layers_scope_map=None,
         layers_to_contrib=False, epsilon=None):
  """Works out how a checkpoint restores into a graph.

  Args:
    checkpoint: a checkpoint prefix, or a directory with a `checkpoint` file.
    graph: the graph to restore into (default: the default graph).
    layers_scope_map: optional dict checkpoint scope -> graph scope; a key
      also maps the scopes nested in it (`{'tower': 'net'}` maps
      `tower/batch_normalization`), e.g.
      `{'batch_normalization': 'BatchNorm'}`.
    layers_to_contrib: map every `tf.layers` default scope
      (`batch_normalization`, `batch_normalization_<n>`, also nested) to the
      contrib default (`BatchNorm`, `BatchNorm_<n>`) unless
      `layers_scope_map` maps it.
    epsilon: the `epsilon` the graph's layers were built with, used to derive
      `moving_stddev`: a float, or a dict graph scope -> float (default
      `DEFAULT_EPSILON`, `batch_norm`'s default).

  Returns:
    A `RestorePlan`.
  """
  graph = graph or tf.compat.v1.get_default_graph()
  planner = _Planner(checkpoint_variables(checkpoint), _graph_variables(graph),
                     layers_scope_map, layers_to_contrib, epsilon)
  return planner.build()


def _raise_if_mismatched(restore_plan):
  if restore_plan.mismatched:
    lines = ['%s %s %s -> %s %s %s' % (c.name, c.shape, c.dtype, g.name,
                                       g.shape, g.dtype)
             for c, g in restore_plan.mismatched]
    raise ValueError('checkpoint and graph variables differ in shape or '
                     'dtype:\n  ' + '\n  '.join(lines))


def assignment_map(checkpoint, graph=None, layers_scope_map=None,
                   layers_to_contrib=False):
  """A `var_list` for `tf.compat.v1.train.Saver` across TF1 layouts.

  Pairs each checkpoint variable with the graph variable it restores: same
  name, or same role in a layer whose scope `layers_scope_map` /
  `layers_to_contrib` renames, zero-debias state under either naming. Graph
  variables that have no stored counterpart (`moving_stddev` of a TF 1.14
  renorm checkpoint, the unbiased `renorm_mean` / `renorm_stddev` that TF 1.14
  kept as a ratio of two variables) are not in the map: `restore` derives
  them; so is anything `plan(...).missing` lists.

  Args:
    checkpoint: a checkpoint prefix, or a directory with a `checkpoint` file.
    graph: the graph to restore into (default: the default graph).
    layers_scope_map: see `plan`.
    layers_to_contrib: see `plan`.

  Returns:
    dict checkpoint name -> graph variable.

  Raises:
    ValueError: if paired variables differ in shape or dtype.
  """
  restore_plan = plan(checkpoint, graph, layers_scope_map, layers_to_contrib)
  _raise_if_mismatched(restore_plan)
  return dict(restore_plan.saver_map)


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
      return dtype(min(_WARM_LOCAL_STEP, top))
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
  _raise_if_mismatched(restore_plan)
  if restore_plan.missing and not allow_missing:
    raise ValueError(
        'the checkpoint has no value for these graph variables (pass '
        'allow_missing=True to keep their current values): ' + ', '.join(
            '%s %s' % (v.name, v.shape) for v in restore_plan.missing))
  if restore_plan.saver_map:
    with graph.as_default():
      saver = tf.compat.v1.train.Saver(var_list=restore_plan.saver_map)
    saver.restore(sess, _prefix(checkpoint))
  reader = _reader(checkpoint)
  variables = _graph_variables(graph)
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
