"""Who provides each public name of TF 1.15's `tf.contrib.layers` after install().

TF1 code imports batch_norm's neighbours in the same line as batch_norm
(`from tensorflow.contrib.layers import batch_norm, flatten`), so providing
batch_norm alone still leaves the line failing. Every name in
`contrib_layers_names.PUBLIC_NAMES` has exactly one entry here, and
`install()`, its error messages and `python -m contrib_bn scan` all read this
table, so they cannot disagree:

  * contrib_bn: `batch_norm` (contrib_bn.compat.scoped_layer) and the
    initializers and regularizers (contrib_bn.compat.contrib_layers).
  * tf_slim: every other name the PyPI package tf_slim 1.1.0 still has
    (tf_slim is where `tf.contrib.layers` moved, and on TF 2.21 with Keras 3
    they build and run in `tf.compat.v1` graph mode;
    tests/test_contrib_layers_names.py runs each one, and
    tests/test_contrib_neighbours.py compares the common ones with TF 1.15.5).
    Constants, classes and undecorated functions are tf_slim's own objects;
    `summaries` is the module `tf_slim.layers.summaries`, TF 1.15's
    `contrib.layers.python.layers.summaries`. Without tf_slim these names
    raise an ImportError saying `pip install tf-slim`.

    One wrapper, where tf_slim's version differs from TF 1.15's: in TF 1.15
    `tf.contrib.framework.arg_scope` and `tf.contrib.layers.conv2d` shared one
    scope stack, but after install() the former is contrib_bn's and tf_slim's
    layers read only tf_slim's stack, so `arg_scope([layers.conv2d],
    normalizer_fn=layers.batch_norm)` would be refused. Each tf_slim function
    decorated with tf_slim's `add_arg_scope` is therefore served decorated
    with contrib_bn's as well: one wrapper per function (aliases such as
    conv2d / convolution2d stay one object), keyed as tf_slim keys it, so
    both `tf.contrib.framework.arg_scope` and `slim.arg_scope` apply to it.
    Defaults from contrib_bn's scopes are passed as arguments, so where both
    stacks set one, contrib_bn's wins; the call's own arguments win over
    both. tf_slim's repairs for TF 2.21 (contrib_bn.compat.slim) apply too.
  * none: the feature columns, encoders, embedding helpers and target columns
    of `tf.contrib.learn`, which tf_slim dropped. Their error names the TF 2
    replacement from contrib_bn.compat.replacements, the one table of them.
"""

import importlib

from contrib_bn.compat import contrib_layers_names
from contrib_bn.compat import replacements

__all__ = ['CONTRIB_BN', 'TF_SLIM', 'PUBLIC_NAMES', 'UNPROVIDED',
           'provider', 'provided_names', 'resolve', 'unavailable_error']

CONTRIB_BN = 'contrib_bn'
TF_SLIM = 'tf_slim'
PUBLIC_NAMES = contrib_layers_names.PUBLIC_NAMES
_DOTTED_PREFIX = 'tf.contrib.layers.'

# Name -> the contrib_bn module that defines it.
_CONTRIB_BN_MODULES = dict(
    {'batch_norm': 'contrib_bn.compat.scoped_layer'},
    **{name: 'contrib_bn.compat.contrib_layers' for name in (
        'xavier_initializer', 'xavier_initializer_conv2d',
        'variance_scaling_initializer', 'l1_regularizer', 'l2_regularizer',
        'l1_l2_regularizer', 'sum_regularizer', 'apply_regularization')})

# Names neither contrib_bn nor tf_slim 1.1.0 has: the tf.contrib.learn side of
# tf.contrib.layers. Each has an entry in replacements.REPLACEMENTS.
UNPROVIDED = (
    'SPARSE_FEATURE_CROSS_DEFAULT_HASH_KEY', 'bow_encoder',
    'bucketized_column', 'check_feature_columns',
    'create_feature_spec_for_parsing', 'crossed_column', 'embed_sequence',
    'embedding_column', 'embedding_lookup_unique', 'feature_column',
    'infer_real_valued_columns', 'input_from_feature_columns',
    'joint_weighted_sum_from_feature_columns',
    'make_place_holder_tensors_for_base_features', 'multi_class_target',
    'one_hot_column', 'parse_feature_columns_from_examples',
    'parse_feature_columns_from_sequence_examples', 'real_valued_column',
    'regression_target', 'safe_embedding_lookup_sparse',
    'scattered_embedding_column', 'sequence_input_from_feature_columns',
    'shared_embedding_columns', 'sparse_column_with_hash_bucket',
    'sparse_column_with_integerized_feature', 'sparse_column_with_keys',
    'sparse_column_with_vocabulary_file', 'transform_features',
    'weighted_sparse_column', 'weighted_sum_from_feature_columns',
)

# tf_slim names that are modules rather than attributes of tf_slim.layers
# (tf_slim.summaries is a different module, slim's own summaries).
_SLIM_MODULES = {'summaries': 'tf_slim.layers.summaries'}
_SLIM_LAYERS = 'tf_slim.layers'

# id(tf_slim function) -> (the function, its contrib_bn-scoped wrapper).
_SCOPED = {}


def provider(name):
  """'contrib_bn', 'tf_slim' or None for a public name.

  Raises:
    KeyError: `name` is not a public name of TF 1.15's tf.contrib.layers.
  """
  if name not in PUBLIC_NAMES:
    raise KeyError('%r is not a public name of TF 1.15\'s tf.contrib.layers'
                   % (name,))
  if name in _CONTRIB_BN_MODULES:
    return CONTRIB_BN
  if name in UNPROVIDED:
    return None
  return TF_SLIM


def provided_names(which=None):
  """Public names with a provider (only `which`'s, when given), in order."""
  return tuple(n for n in PUBLIC_NAMES
               if provider(n) is not None and which in (None, provider(n)))


def unavailable_error(dotted_name, name):
  """The error for a public name that cannot be served, or None if it can.

  Args:
    dotted_name: How the user spelled it, e.g. 'tf.contrib.layers.flatten'
      or 'tf.contrib.layers.python.layers.layers.flatten'.
    name: The public name itself, e.g. 'flatten'.

  Returns:
    An ImportError saying `pip install tf-slim` for a tf_slim name when
    tf_slim does not import; an AttributeError naming the TF 2 replacement
    for a name without a provider; None otherwise.
  """
  which = provider(name)
  if which is None:
    replacement = replacements.replacement_for(_DOTTED_PREFIX + name)
    return AttributeError(
        '%s is not available: TF 1.15 had it, but neither contrib_bn nor '
        'tf_slim provides it. On TF 2.x use %s.' % (dotted_name, replacement))
  if which == TF_SLIM:
    try:
      importlib.import_module(_SLIM_MODULES.get(name, _SLIM_LAYERS))
    except ImportError as error:
      from contrib_bn.compat import slim as slim_support  # pylint: disable=g-import-not-at-top
      if not slim_support.is_available():
        failure = ImportError(slim_support.MISSING_MESSAGE % dotted_name,
                              name='tf_slim')
      else:
        failure = ImportError(
            '%s comes from tf_slim, which is installed but does not import: '
            '%s: %s' % (dotted_name, type(error).__name__, error),
            name='tf_slim')
      failure.__cause__ = error
      return failure
  return None


def resolve(name):
  """The object install() serves as `tf.contrib.layers.<name>`.

  Raises:
    KeyError: `name` is not a public name of TF 1.15's tf.contrib.layers.
    ImportError: A tf_slim name and tf_slim is missing (`pip install
      tf-slim`) or does not import.
    AttributeError: No provider; the message names the TF 2 replacement.
  """
  error = unavailable_error(_DOTTED_PREFIX + name, name)
  if error is not None:
    raise error
  if provider(name) == CONTRIB_BN:
    return getattr(importlib.import_module(_CONTRIB_BN_MODULES[name]), name)
  if name in _SLIM_MODULES:
    return importlib.import_module(_SLIM_MODULES[name])
  return _scoped(getattr(importlib.import_module(_SLIM_LAYERS), name))


def _scoped(value):
  """`value`, or for a tf_slim arg-scoped function, the shared wrapper."""
  slim_scopes = importlib.import_module('tf_slim.ops.arg_scope')
  if not callable(value) or isinstance(value, type) or not (
      slim_scopes.has_arg_scope(value)):
    return value
  known = _SCOPED.get(id(value))
  if known is None or known[0] is not value:
    # By module name: the package re-exports the function `add_arg_scope`.
    scoping = importlib.import_module('contrib_bn.compat.arg_scope')
    known = _SCOPED[id(value)] = (value, scoping.add_arg_scope(value))
  return known[1]
