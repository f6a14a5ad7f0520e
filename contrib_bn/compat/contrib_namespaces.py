"""What the `tf.contrib` namespaces of `install()` hold, and their errors.

`build_namespace()` makes the `tensorflow.contrib` module object and the
modules under it: `tf.contrib.layers` with every name
`contrib_bn.compat.layers_registry` provides, `tf.contrib.framework` with
`arg_scope`, the legacy module paths
(`tensorflow.contrib.layers.python.layers`, ...) and `tf.contrib.slim`
(tf_slim, repaired by `contrib_bn.compat.slim`). A name a namespace does not
hold raises an error that names it, says what is provided and, where one is
known, its TF 2 replacement (`contrib_bn.compat.replacements`).

Putting the namespaces in place, registering their import paths, and taking
them away again is `contrib_bn.compat.install`'s part.
"""

import importlib
import types

from contrib_bn.compat.arg_scope import add_arg_scope
from contrib_bn.compat.arg_scope import arg_scope
from contrib_bn.compat.arg_scope import current_arg_scope

# The modules of tensorflow.contrib.layers.python.layers served, each with
# the provided names TF 1.15 defined there; the others (feature_column,
# encoders, ...) hold only names without a provider.
_LEGACY_HOMES = ('layers', 'initializers', 'regularizers', 'normalization',
                 'optimizers', 'rev_block_lib', 'summaries')

# Legacy module paths whose names are looked up as their public module's.
LEGACY_SEGMENTS = tuple('.python.layers.' + home for home in _LEGACY_HOMES
                        ) + ('.python.layers', '.python.ops.arg_scope',
                             '.python.ops')


def _replacement_hint(dotted_name):
  from contrib_bn.compat import replacements  # pylint: disable=g-import-not-at-top
  public_name = dotted_name
  for segment in LEGACY_SEGMENTS:
    public_name = public_name.replace(segment, '')
  replacement = replacements.replacement_for(public_name)
  if replacement is not None:
    return ' On TF 2.x use %s.' % replacement
  # A whole module (tf.contrib.metrics): where its common names went.
  inside = replacements.replacements_under(public_name)
  if not inside:
    return ''
  return ' On TF 2.x: %s.' % '; '.join('%s -> %s' % item for item in inside)


# Every dotted `tf.contrib` name install() provides; the one public table of
# it (tools such as the scanner read it). The last entry and the tf_slim
# names of tf.contrib.layers after it need tf_slim.
_CORE_PROVIDED = (
    'tf.contrib.layers.batch_norm',
    'tf.contrib.framework.arg_scope',
    'tf.contrib.framework.add_arg_scope',
    'tf.contrib.framework.current_arg_scope',
    # contrib_bn.compat.contrib_layers
    'tf.contrib.layers.xavier_initializer',
    'tf.contrib.layers.xavier_initializer_conv2d',
    'tf.contrib.layers.variance_scaling_initializer',
    'tf.contrib.layers.l1_regularizer',
    'tf.contrib.layers.l2_regularizer',
    'tf.contrib.layers.l1_l2_regularizer',
    'tf.contrib.layers.sum_regularizer',
    'tf.contrib.layers.apply_regularization',
    # contrib_bn.compat.slim
    'tf.contrib.slim',
)


def _layers_provided():
  from contrib_bn.compat import layers_registry as registry  # pylint: disable=g-import-not-at-top
  return tuple('tf.contrib.layers.' + name
               for name in registry.provided_names(registry.TF_SLIM))


PROVIDED = _CORE_PROVIDED + _layers_provided()


def missing_message(dotted_name):
  return ('%s is not available: contrib_bn provides only %s and, with '
          'tf_slim installed, %s and the rest of TF 1.15\'s '
          'tf.contrib.layers that tf_slim has; the rest of tf.contrib is not '
          'part of contrib_bn.%s' %
          (dotted_name, ', '.join(_CORE_PROVIDED[:-1]), _CORE_PROVIDED[-1],
           _replacement_hint(dotted_name)))


def _public_layers_name(module_name, name):
  """`name` if `module_name.name` spells a public tf.contrib.layers name."""
  from contrib_bn.compat import layers_registry as registry  # pylint: disable=g-import-not-at-top
  if module_name != 'tensorflow.contrib.layers' and not (
      module_name.startswith('tensorflow.contrib.layers.python.layers')):
    return None
  return name if name in registry.PUBLIC_NAMES else None


def layers_name_error(module_name, name):
  """The registry's error for a public tf.contrib.layers name, or None."""
  from contrib_bn.compat import layers_registry as registry  # pylint: disable=g-import-not-at-top
  if _public_layers_name(module_name, name) is None:
    return None
  return registry.unavailable_error(
      'tf' + module_name[len('tensorflow'):] + '.' + name, name)


class Namespace(types.ModuleType):
  """A `tf.contrib` namespace holding a fixed set of members.

  Looking up any other public name raises `AttributeError` explaining what
  contrib_bn provides.
  """

  def __init__(self, name, members):
    """Creates the namespace.

    Args:
      name: Dotted module name, e.g. 'tensorflow.contrib.layers'.
      members: Dict of the attributes the namespace provides.
    """
    super(Namespace, self).__init__(
        name, 'Subset of TF1 `%s` provided by contrib_bn.' % name)
    for member, value in members.items():
      setattr(self, member, value)
    self.__all__ = sorted(members)

  def __getattr__(self, name):
    if name == 'slim' and self.__name__ == 'tensorflow.contrib':
      # Reached only when tf_slim is missing or broken: say how to get it.
      raise _slim_error()
    # Dunder probes come from introspection tools (copy, pickle, inspect,
    # doctest), not from TF1 code; they get the plain module error.
    if name.startswith('__') and name.endswith('__'):
      raise AttributeError('module %r has no attribute %r' %
                           (self.__name__, name))
    # A public tf.contrib.layers name: `pip install tf-slim`, or its TF 2
    # replacement.
    error = layers_name_error(self.__name__, name)
    if error is not None:
      raise error
    shown = 'tf' + self.__name__[len('tensorflow'):]
    raise AttributeError(missing_message('%s.%s' % (shown, name)))

  def __dir__(self):
    return sorted(set(self.__all__) | {'__doc__', '__name__', '__all__'})


def build_namespace():
  # The layer imports TensorFlow and the rest of the package, so the members
  # are resolved only when someone asks for the TF1 names; tf_slim is
  # repaired first so that its names can be served.
  slim, _ = _try_repair_slim()
  layer_members, legacy = _neighbourhood(with_slim=slim is not None)
  layers = Namespace('tensorflow.contrib.layers', layer_members)
  framework = Namespace(
      'tensorflow.contrib.framework', {
          'arg_scope': arg_scope,
          'add_arg_scope': add_arg_scope,
          'current_arg_scope': current_arg_scope,
      })
  members = {'layers': layers, 'framework': framework}
  if slim is not None:
    members['slim'] = slim
  namespace = Namespace('tensorflow.contrib', members)
  namespace._legacy_modules = legacy  # pylint: disable=protected-access
  return namespace


def _slim_error():
  try:
    _slim_or_error()
  except ImportError as error:
    return error
  except Exception as error:  # pylint: disable=broad-except
    failure = ImportError('tf.contrib.slim: tf_slim is installed but does not '
                          'import: %s: %s' % (type(error).__name__, error),
                          name='tf_slim')
    failure.__cause__ = error
    return failure
  return ImportError('tf.contrib.slim: tf_slim became importable after '
                     'install(); call contrib_bn.uninstall() and install() '
                     'again', name='tf_slim')


def _neighbourhood(with_slim):
  """The modules and members added around batch_norm.

  Args:
    with_slim: Whether tf_slim imported, so its names can be served.

  Returns:
    (tf.contrib.layers members, {dotted module name: namespace} of the legacy
    module paths).
  """
  from contrib_bn.compat import layers_registry as registry  # pylint: disable=g-import-not-at-top
  # By module name: the package re-exports the function `arg_scope` under
  # the submodule's name.
  scoping = importlib.import_module('contrib_bn.compat.arg_scope')
  servable = registry.provided_names(
      None if with_slim else registry.CONTRIB_BN)
  layer_members = {name: registry.resolve(name) for name in servable}
  scope_members = {name: getattr(scoping, name) for name in scoping.__all__}
  prefix = 'tensorflow.contrib.layers.python'
  modules = {}
  submodules = {}
  for home in _LEGACY_HOMES:
    names = registry.contrib_layers_names.HOMES[home]
    if home in layer_members:
      # `summaries`: in TF 1.15 the public name is this very module.
      submodule = layer_members[home]
    elif home in registry.PUBLIC_NAMES:
      continue  # Its name raises the registry's error instead.
    else:
      submodule = Namespace(
          prefix + '.layers.' + home,
          {n: layer_members[n] for n in names if n in layer_members})
    submodules[home] = modules[prefix + '.layers.' + home] = submodule
  # As in TF 1.15, the package re-exports its submodules' functions next to
  # the submodules themselves.
  modules[prefix + '.layers'] = Namespace(
      prefix + '.layers', dict(layer_members, **submodules))
  modules[prefix] = Namespace(prefix, {'layers': modules[prefix + '.layers']})
  prefix = 'tensorflow.contrib.framework.python'
  modules[prefix + '.ops.arg_scope'] = Namespace(prefix + '.ops.arg_scope',
                                                  scope_members)
  # `from .arg_scope import *` in TF 1.15's package rebinds the attribute
  # `arg_scope` from the submodule to the function; the submodule stays
  # importable by its full name.
  modules[prefix + '.ops'] = Namespace(prefix + '.ops', scope_members)
  modules[prefix] = Namespace(prefix, {'ops': modules[prefix + '.ops']})
  return layer_members, modules


def _slim_or_error():
  """The repaired tf_slim; ImportError naming `pip install tf-slim` if absent."""
  from contrib_bn.compat import slim as slim_support  # pylint: disable=g-import-not-at-top
  if not slim_support.is_available():
    raise ImportError(slim_support.MISSING_MESSAGE % 'tf.contrib.slim',
                      name='tf_slim')
  return slim_support.repair()


def _try_repair_slim():
  """Repairs tf_slim if it imports; returns (module or None, error or None)."""
  from contrib_bn.compat import slim as slim_support  # pylint: disable=g-import-not-at-top
  if not slim_support.is_available():
    return None, None
  try:
    return slim_support.repair(), None
  except Exception as error:  # pylint: disable=broad-except
    # A tf_slim that fails to import must not take batch_norm down with it;
    # tf.contrib.slim reports the failure when it is used.
    return None, error
