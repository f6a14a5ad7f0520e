"""What `scan` knows of TF1: the names it follows and the paths TF 1.15 took.

The batch-norm names whose call sites `scan` describes (the contrib layer
under its spellings, and `tf.layers.batch_normalization` and its class
`BatchNormalization`), `arg_scope`'s names, the layers' parameters in TF
1.15's order, the long module paths that
hold the same names (`tf.contrib.layers.python.layers.layers.`), the roots
of the dotted names followed, and `tf1_path`, which tells from a call
site's arguments which internal path TF 1.15 took (`layer_path` for either
layer). Whether a name is
provided after install() is not here: `contrib_bn.compat.verdicts` answers
that by looking the name up.
"""

import ast
import collections

from contrib_bn.compat import verdicts

BATCH_NORM_NAMES = ('tf.contrib.layers.batch_norm', 'tf.contrib.slim.batch_norm',
                    'tf_slim.batch_norm', 'tf_slim.layers.batch_norm',
                    'tf_slim.layers.layers.batch_norm')
ARG_SCOPE_NAMES = ('tf.contrib.framework.arg_scope', 'tf.contrib.slim.arg_scope',
                   'tf_slim.arg_scope', 'tf_slim.ops.arg_scope.arg_scope')
# `tf.layers` batch normalization, as `scan_tables.normalize` spells it
# (`tf.compat.v1.layers.` is `tf.layers.`). The function is also a
# `normalizer_fn`; the class is only constructed.
TF_LAYERS_FUNCTION = 'tf.layers.batch_normalization'
TF_LAYERS_CLASS = 'tf.layers.BatchNormalization'
TF_LAYERS_NAMES = (TF_LAYERS_FUNCTION, TF_LAYERS_CLASS)
# Every batch-norm layer whose call sites are described.
LAYER_NAMES = BATCH_NORM_NAMES + TF_LAYERS_NAMES
PARTIAL = 'functools.partial'

# `tf.contrib.layers.batch_norm`'s parameters in TF 1.15's order.
BATCH_NORM_PARAMETERS = (
    'inputs', 'decay', 'center', 'scale', 'epsilon', 'activation_fn',
    'param_initializers', 'param_regularizers', 'updates_collections',
    'is_training', 'reuse', 'variables_collections', 'outputs_collections',
    'trainable', 'batch_weights', 'fused', 'data_format',
    'zero_debias_moving_mean', 'scope', 'renorm', 'renorm_clipping',
    'renorm_decay', 'adjustment')
# TF 1.15's `tf.layers.batch_normalization` parameters, in order.
TF_LAYERS_FUNCTION_PARAMETERS = (
    'inputs', 'axis', 'momentum', 'epsilon', 'center', 'scale',
    'beta_initializer', 'gamma_initializer', 'moving_mean_initializer',
    'moving_variance_initializer', 'beta_regularizer', 'gamma_regularizer',
    'beta_constraint', 'gamma_constraint', 'training', 'trainable', 'name',
    'reuse', 'renorm', 'renorm_clipping', 'renorm_momentum', 'fused',
    'virtual_batch_size', 'adjustment')
# TF 1.15's `tf.layers.BatchNormalization` constructor parameters, in order.
TF_LAYERS_CLASS_PARAMETERS = (
    'axis', 'momentum', 'epsilon', 'center', 'scale', 'beta_initializer',
    'gamma_initializer', 'moving_mean_initializer',
    'moving_variance_initializer', 'beta_regularizer', 'gamma_regularizer',
    'beta_constraint', 'gamma_constraint', 'renorm', 'renorm_clipping',
    'renorm_momentum', 'fused', 'trainable', 'virtual_batch_size',
    'adjustment', 'name')
# The arguments that choose TF 1.15's internal path, with their defaults.
_PATH_DEFAULTS = collections.OrderedDict([
    ('fused', None), ('batch_weights', None), ('renorm', False),
    ('adjustment', None), ('zero_debias_moving_mean', False),
    ('updates_collections', 'UPDATE_OPS')])
# The same for tf.layers, whose layer always took the core-layer path and
# ran the fused kernel or the moments formulas inside it.
_TF_LAYERS_PATH_DEFAULTS = collections.OrderedDict([
    ('axis', '-1'), ('fused', None), ('renorm', False), ('adjustment', None),
    ('virtual_batch_size', None)])

# Module paths that hold the same names under a longer spelling.
LEGACY_PREFIXES = (
    ('tf.contrib.layers.python.layers.layers.', 'tf.contrib.layers.'),
    ('tf.contrib.layers.python.layers.initializers.', 'tf.contrib.layers.'),
    ('tf.contrib.layers.python.layers.regularizers.', 'tf.contrib.layers.'),
    ('tf.contrib.layers.python.layers.', 'tf.contrib.layers.'),
    ('tf.contrib.framework.python.ops.arg_scope.', 'tf.contrib.framework.'),
    ('tf.contrib.framework.python.ops.variables.', 'tf.contrib.framework.'),
    ('tf.contrib.framework.python.ops.', 'tf.contrib.framework.'),
)

# Roots of the dotted names the scanner follows.
ROOTS = ('tensorflow', 'tf_slim', 'functools')

DYNAMIC = '<dynamic>'

# contrib_bn.constants path ids -> the words the docs use.
_PATH_LABELS = {'fused': 'fused kernel', 'core': 'core layer',
                'moments': 'moments'}


def normalize(name, legacy=True):
  """'tensorflow.contrib.layers.python.layers.layers.x' -> 'tf.contrib.layers.x'.

  `tensorflow.compat.v1.` is `tf.`; tf_slim names stay as written. With
  `legacy=False` the long module paths are kept: an import statement needs
  that exact module to be importable.
  """
  name = verdicts.spelling(name)
  if not legacy:
    return name
  for old, new in LEGACY_PREFIXES:
    if name == old[:-1]:
      return new[:-1]
    if name.startswith(old):
      return new + name[len(old):]
  return name


def parameters(layer):
  """The positional parameters of a batch-norm layer of `LAYER_NAMES`."""
  if layer == TF_LAYERS_FUNCTION:
    return TF_LAYERS_FUNCTION_PARAMETERS
  if layer == TF_LAYERS_CLASS:
    return TF_LAYERS_CLASS_PARAMETERS
  return BATCH_NORM_PARAMETERS


def layer_path(layer, arguments):
  """The internal path TF 1.15 took for a call site of `layer`."""
  if layer in TF_LAYERS_NAMES:
    return tf_layers_path(arguments)
  return tf1_path(arguments)


def _decisive(arguments, defaults):
  """({name: value given or default}, [names that may be set unseen])."""
  decisive = collections.OrderedDict()
  unknown = []
  for name, default in defaults.items():
    value = arguments.get(name)
    if value is None:
      if '**kwargs' in arguments or '**' in arguments or (
          arguments.get('arg_scope') == DYNAMIC):
        unknown.append(name)
      decisive[name] = default
    elif value == DYNAMIC:
      unknown.append(name)
    else:
      decisive[name] = value
  return decisive, unknown


def _dynamic(arguments, unknown):
  """'depends on ... (dynamic)' when a decisive argument is dynamic."""
  dynamic = [n for n in unknown if arguments.get(n) == DYNAMIC]
  if dynamic:
    return 'depends on %s (dynamic)' % ', '.join(dynamic)
  return None


def _python_value(text):
  """A literal's text as the value TF 1.15 saw; a name stays its text."""
  if text in (None, 'None'):
    return None
  if isinstance(text, str):
    try:
      return ast.literal_eval(text)
    except (ValueError, SyntaxError):
      return text  # a name: not None
  return text


def _by_rank(path_of_rank, labels, unknown):
  """Joins the path of each rank into the text the report prints."""
  by_rank = collections.OrderedDict()
  for rank, label in ((4, 'rank 4'), (2, 'rank 2'), (3, 'other ranks')):
    by_rank.setdefault(path_of_rank(rank), []).append(label)
  if len(by_rank) == 1:
    path = labels.get(next(iter(by_rank)), next(iter(by_rank)))
  else:
    path = '; '.join('%s for %s' % (labels.get(p, p), ', '.join(r))
                     for p, r in by_rank.items())
  if unknown:
    path += ' (unless %s set elsewhere)' % ', '.join(unknown)
  return path


_TF_LAYERS_LABELS = {True: 'core layer, fused kernel',
                     False: 'core layer, moments'}


def tf_layers_path(arguments):
  """What TF 1.15's `tf.layers` batch normalization ran for these arguments.

  Always the core-layer path; inside it the fused kernel at rank 4 when the
  one channel axis is 1 or 3 (-3 or -1), `fused` is not False, and neither
  renorm, `adjustment` nor `virtual_batch_size` is given; the moments
  formulas otherwise (`fused=True` fell back to them silently).
  """
  decisive, unknown = _decisive(arguments, _TF_LAYERS_PATH_DEFAULTS)
  dynamic = _dynamic(arguments, unknown)
  if dynamic:
    return dynamic
  values = {n: _python_value(v) for n, v in decisive.items()}
  axis = values['axis']
  axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
  possible = (len(axes) == 1 and axes[0] in (-3, -1, 1, 3) and
              values['fused'] is not False and not values['renorm'] and
              values['adjustment'] is None and
              values['virtual_batch_size'] is None)
  return _by_rank(lambda rank: possible and rank == 4, _TF_LAYERS_LABELS,
                  unknown)


def tf1_path(arguments):
  """The internal path TF 1.15 took for these batch_norm arguments."""
  decisive, unknown = _decisive(arguments, _PATH_DEFAULTS)
  dynamic = _dynamic(arguments, unknown)
  if dynamic:
    return dynamic
  from contrib_bn._dispatch import select_path  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top

  def value(name):
    text = decisive[name]
    if name == 'updates_collections':
      return (tf.compat.v1.GraphKeys.UPDATE_OPS if text == 'UPDATE_OPS' else
              text)
    return _python_value(text)
  kwargs = {n: value(n) for n in decisive}
  return _by_rank(lambda rank: select_path(rank, **kwargs), _PATH_LABELS,
                  unknown)
