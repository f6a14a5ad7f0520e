"""Which batch-norm layers a checkpoint holds, and in which TF1 layout.

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
"""

import collections
import re

import tensorflow as tf

from contrib_bn import constants

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
_RENORM_ROLES = (MOVING_STDDEV, RENORM_MEAN, RENORM_STDDEV,
                 RENORM_MEAN_WEIGHT, RENORM_STDDEV_WEIGHT)
WEIGHT_OF = {RENORM_MEAN: RENORM_MEAN_WEIGHT,
              RENORM_STDDEV: RENORM_STDDEV_WEIGHT}

LAYOUT_PLAIN = 'plain'
LAYOUT_RENORM_TF1_14 = 'renorm, TF 1.2-1.14 (renorm_*_weight)'
LAYOUT_RENORM_TF1_15 = 'renorm, TF 1.15 (moving_stddev)'
LAYOUT_RENORM_PARTIAL = 'renorm, incomplete'

TF_LAYERS_SCOPE = re.compile(r'^batch_normalization(_\d+)?$')
_CONTRIB_SCOPE = re.compile(r'^BatchNorm(_\d+)?$')

VariableInfo = collections.namedtuple('VariableInfo', ['name', 'shape',
                                                       'dtype'])


class StoredLayer(object):
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
    if TF_LAYERS_SCOPE.match(name):
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
    return 'StoredLayer(%r, %s)' % (self.scope, sorted(self.variables))


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
    A list of `StoredLayer`, sorted by scope.
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
    layers.append(StoredLayer(scope, found))
  return layers


def open_reader(checkpoint):
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
  reader = open_reader(checkpoint)
  shapes = reader.get_variable_to_shape_map()
  dtypes = reader.get_variable_to_dtype_map()
  return {name: (list(shapes[name]), dtypes[name].name)
          for name in shapes if name != '_CHECKPOINTABLE_OBJECT_GRAPH'}


def inspect(checkpoint):
  """The batch-norm layers of a checkpoint.

  Args:
    checkpoint: a checkpoint prefix, or a directory with a `checkpoint` file.

  Returns:
    A list of `StoredLayer` (see `StoredLayer.to_dict()` for a plain
    description: scope, the variables present by role with shapes and
    dtypes, the layout and the implied `batch_norm` arguments `center`,
    `scale`, `renorm`, `zero_debias_moving_mean`).
  """
  return find_layers(checkpoint_variables(checkpoint))
