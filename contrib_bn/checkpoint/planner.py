"""Planning a restore: which checkpoint value feeds which graph variable.

`plan` pairs the variables of a checkpoint (any TF1 layout, see `layout`)
with those of a graph built with `contrib_bn.batch_norm`, renaming layer
scopes on request, and lists the graph variables that have no stored value
but can be derived exactly from ones that do; `assignment_map` is the part
`tf.compat.v1.train.Saver(var_list=...)` takes.
"""

import collections

import tensorflow as tf

from contrib_bn import constants
from contrib_bn.checkpoint.layout import checkpoint_variables
from contrib_bn.checkpoint.layout import DEBIAS_BIASED
from contrib_bn.checkpoint.layout import DEBIAS_LOCAL_STEP
from contrib_bn.checkpoint.layout import find_layers
from contrib_bn.checkpoint.layout import LAYOUT_RENORM_TF1_14
from contrib_bn.checkpoint.layout import MOVING_MEAN
from contrib_bn.checkpoint.layout import MOVING_STDDEV
from contrib_bn.checkpoint.layout import MOVING_VARIANCE
from contrib_bn.checkpoint.layout import RENORM_MEAN
from contrib_bn.checkpoint.layout import RENORM_STDDEV
from contrib_bn.checkpoint.layout import TF_LAYERS_SCOPE
from contrib_bn.checkpoint.layout import VariableInfo
from contrib_bn.checkpoint.layout import WEIGHT_OF

# `batch_norm`'s default epsilon, used to derive `moving_stddev` when the
# caller does not say which epsilon the graph was built with.
DEFAULT_EPSILON = 0.001

# A zero-debias counter this large makes `1 - decay**local_step` round to
# exactly 1 (in float32 and float64) for every decay up to 0.99999, so the
# next debiased update equals a plain moving-average update from the restored
# moving mean. float16 cannot hold it; its largest finite value, 65504, does
# the same for decays up to 0.999.
WARM_LOCAL_STEP = float(2 ** 24)


def graph_variables(graph):
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
  match = TF_LAYERS_SCOPE.match(name)
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
        weight = source[WEIGHT_OF[role]].name
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
                    'a fully warmed-up step count (%d)' % WARM_LOCAL_STEP)
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
  planner = _Planner(checkpoint_variables(checkpoint), graph_variables(graph),
                     layers_scope_map, layers_to_contrib, epsilon)
  return planner.build()


def raise_if_mismatched(restore_plan):
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
  raise_if_mismatched(restore_plan)
  return dict(restore_plan.saver_map)
