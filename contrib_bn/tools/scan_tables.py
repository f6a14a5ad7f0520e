"""What `scan` knows of TF1: the names it follows and the paths TF 1.15 took.

The batch-norm names whose call sites `scan` describes, `arg_scope`'s names,
`batch_norm`'s parameters in TF 1.15's order, the long module paths that
hold the same names (`tf.contrib.layers.python.layers.layers.`), the roots
of the dotted names followed, and `tf1_path`, which tells from a call
site's arguments which internal path TF 1.15 took. Whether a name is
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
PARTIAL = 'functools.partial'

# `tf.contrib.layers.batch_norm`'s parameters in TF 1.15's order.
BATCH_NORM_PARAMETERS = (
    'inputs', 'decay', 'center', 'scale', 'epsilon', 'activation_fn',
    'param_initializers', 'param_regularizers', 'updates_collections',
    'is_training', 'reuse', 'variables_collections', 'outputs_collections',
    'trainable', 'batch_weights', 'fused', 'data_format',
    'zero_debias_moving_mean', 'scope', 'renorm', 'renorm_clipping',
    'renorm_decay', 'adjustment')
# The arguments that choose TF 1.15's internal path, with their defaults.
_PATH_DEFAULTS = collections.OrderedDict([
    ('fused', None), ('batch_weights', None), ('renorm', False),
    ('adjustment', None), ('zero_debias_moving_mean', False),
    ('updates_collections', 'UPDATE_OPS')])

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


def tf1_path(arguments):
  """The internal path TF 1.15 took for these batch_norm arguments."""
  decisive = collections.OrderedDict()
  unknown = []
  for name, default in _PATH_DEFAULTS.items():
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
  if [n for n in unknown if n in arguments and arguments[n] == DYNAMIC]:
    return 'depends on %s (dynamic)' % ', '.join(
        n for n in unknown if arguments.get(n) == DYNAMIC)
  from contrib_bn._dispatch import select_path  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top

  def value(name):
    text = decisive[name]
    if name == 'updates_collections':
      return (tf.compat.v1.GraphKeys.UPDATE_OPS if text == 'UPDATE_OPS' else
              text)
    if text in (None, 'None'):
      return None
    if isinstance(text, str):
      try:
        return ast.literal_eval(text)
      except (ValueError, SyntaxError):
        return text  # a name: not None
    return text
  kwargs = {n: value(n) for n in decisive}
  by_rank = collections.OrderedDict()
  for rank, label in ((4, 'rank 4'), (2, 'rank 2'), (3, 'other ranks')):
    by_rank.setdefault(select_path(rank, **kwargs), []).append(label)
  if len(by_rank) == 1:
    path = _PATH_LABELS.get(next(iter(by_rank)), next(iter(by_rank)))
  else:
    path = '; '.join('%s for %s' % (_PATH_LABELS.get(p, p), ', '.join(r))
                     for p, r in by_rank.items())
  if unknown:
    path += ' (unless %s set elsewhere)' % ', '.join(unknown)
  return path
