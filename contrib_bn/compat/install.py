"""Exposes contrib_bn under the TF1 names `tf.contrib.layers`, `.framework` and `.slim`.

After `install()`, unmodified TF1 code such as

  import tensorflow.compat.v1 as tf
  with tf.contrib.framework.arg_scope([tf.contrib.layers.batch_norm],
                                     is_training=True):
    y = tf.contrib.layers.batch_norm(x)

runs against contrib_bn. The names provided are reachable from both
`tensorflow` and `tensorflow.compat.v1`, and importable with
`from tensorflow.contrib.layers import batch_norm` and the like:

  tf.contrib.layers: every public name of TF 1.15.5's, each from the
      provider contrib_bn.compat.layers_registry names: batch_norm, the
      initializers and regularizers (contrib_bn.compat.contrib_layers) from
      contrib_bn; flatten, fully_connected, conv2d, layer_norm, ... from
      tf_slim (without it, an ImportError saying `pip install tf-slim`); the
      feature columns and other tf.contrib.learn helpers from nobody (an
      error naming the TF 2 replacement)
  tf.contrib.framework.arg_scope, add_arg_scope, current_arg_scope
  the legacy module paths tensorflow.contrib.layers.python.layers (with
      .layers, .initializers, .regularizers, .normalization, .optimizers,
      .rev_block_lib, .summaries) and
      tensorflow.contrib.framework.python.ops (with .arg_scope)
  tf.contrib.slim and tensorflow.contrib.slim.*: the PyPI package tf_slim,
      with its batch_norm replaced by contrib_bn's (contrib_bn.compat.slim);
      without tf_slim, an ImportError saying `pip install tf-slim`.

Any other `tf.contrib` name raises an `AttributeError` (an `ImportError` for
an import statement) that lists what is provided and, for common names, where
TF 2 code finds them (contrib_bn.compat.replacements). `uninstall()` puts back
whatever `contrib` attribute the modules had before, or removes it if they had
none, and gives tf_slim back its own batch_norm. `PROVIDED` lists the
provided names as dotted strings for tools that read them.

This module is over 400 lines because the namespaces, the import hooks that
serve the legacy and `tensorflow.contrib.slim.*` module paths, and the
install/uninstall state they share must change together: `uninstall()` undoes
exactly what `install()` registered.
"""

import importlib
import importlib.util
import sys
import threading
import types

from contrib_bn.compat.arg_scope import add_arg_scope
from contrib_bn.compat.arg_scope import arg_scope
from contrib_bn.compat.arg_scope import current_arg_scope
from contrib_bn.compat import tf_layers

__all__ = ['PROVIDED', 'install', 'uninstall']


# ---------------------------------------------------------------------------
# batch_norm's tf.contrib neighbourhood and tf.contrib.slim. Kept together so
# the block can move with this module.

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
      submodule = _Namespace(
          prefix + '.layers.' + home,
          {n: layer_members[n] for n in names if n in layer_members})
    submodules[home] = modules[prefix + '.layers.' + home] = submodule
  # As in TF 1.15, the package re-exports its submodules' functions next to
  # the submodules themselves.
  modules[prefix + '.layers'] = _Namespace(
      prefix + '.layers', dict(layer_members, **submodules))
  modules[prefix] = _Namespace(prefix, {'layers': modules[prefix + '.layers']})
  prefix = 'tensorflow.contrib.framework.python'
  modules[prefix + '.ops.arg_scope'] = _Namespace(prefix + '.ops.arg_scope',
                                                  scope_members)
  # `from .arg_scope import *` in TF 1.15's package rebinds the attribute
  # `arg_scope` from the submodule to the function; the submodule stays
  # importable by its full name.
  modules[prefix + '.ops'] = _Namespace(prefix + '.ops', scope_members)
  modules[prefix] = _Namespace(prefix, {'ops': modules[prefix + '.ops']})
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


class _AliasLoader(object):
  """Loads `tensorflow.contrib.slim.X` as the already imported `tf_slim.X`."""

  def __init__(self, target):
    self._target = target

  def create_module(self, spec):
    del spec
    return importlib.import_module(self._target)

  def exec_module(self, module):
    del module  # Already executed under its own name.


def _slim_alias_spec(fullname):
  """A spec aliasing tensorflow.contrib.slim.* to tf_slim.*, or None."""
  prefix = 'tensorflow.contrib.slim'
  if fullname != prefix and not fullname.startswith(prefix + '.'):
    return None
  if _state is None or _state[0].__dict__.get('slim') is None:
    from contrib_bn.compat import slim as slim_support  # pylint: disable=g-import-not-at-top
    raise ModuleNotFoundError(
        slim_support.MISSING_MESSAGE % ('tf' + fullname[len('tensorflow'):]),
        name=fullname)
  target = 'tf_slim' + fullname[len(prefix):]
  if importlib.util.find_spec(target) is None:
    return None
  return importlib.util.spec_from_loader(fullname, _AliasLoader(target))


# The modules of tensorflow.contrib.layers.python.layers served, each with
# the provided names TF 1.15 defined there; the others (feature_column,
# encoders, ...) hold only names without a provider.
_LEGACY_HOMES = ('layers', 'initializers', 'regularizers', 'normalization',
                 'optimizers', 'rev_block_lib', 'summaries')

# Legacy module paths whose names are looked up as their public module's.
_LEGACY_SEGMENTS = tuple('.python.layers.' + home for home in _LEGACY_HOMES
                        ) + ('.python.layers', '.python.ops.arg_scope',
                             '.python.ops')


def _replacement_hint(dotted_name):
  from contrib_bn.compat import replacements  # pylint: disable=g-import-not-at-top
  public_name = dotted_name
  for segment in _LEGACY_SEGMENTS:
    public_name = public_name.replace(segment, '')
  replacement = replacements.replacement_for(public_name)
  if replacement is not None:
    return ' On TF 2.x use %s.' % replacement
  # A whole module (tf.contrib.metrics): where its common names went.
  inside = replacements.replacements_under(public_name)
  if not inside:
    return ''
  return ' On TF 2.x: %s.' % '; '.join('%s -> %s' % item for item in inside)

# ---------------------------------------------------------------------------

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

_ATTRIBUTE = 'contrib'

# Stands for "the module had no such attribute", since None is a legitimate
# attribute value to restore.
_ABSENT = object()

_LOCK = threading.Lock()

# While installed: the `tf.contrib` namespace and, per patched module, the
# module, its previous `contrib` value (or _ABSENT) and whether `contrib` was
# listed in its `__all__` (None when it has no `__all__` list).
_state = None


def _missing_message(dotted_name):
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


def _layers_name_error(module_name, name):
  """The registry's error for a public tf.contrib.layers name, or None."""
  from contrib_bn.compat import layers_registry as registry  # pylint: disable=g-import-not-at-top
  if _public_layers_name(module_name, name) is None:
    return None
  return registry.unavailable_error(
      'tf' + module_name[len('tensorflow'):] + '.' + name, name)


class _Namespace(types.ModuleType):
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
    super(_Namespace, self).__init__(
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
    error = _layers_name_error(self.__name__, name)
    if error is not None:
      raise error
    shown = 'tf' + self.__name__[len('tensorflow'):]
    raise AttributeError(_missing_message('%s.%s' % (shown, name)))

  def __dir__(self):
    return sorted(set(self.__all__) | {'__doc__', '__name__', '__all__'})


def _build_namespace():
  # The layer imports TensorFlow and the rest of the package, so the members
  # are resolved only when someone asks for the TF1 names; tf_slim is
  # repaired first so that its names can be served.
  slim, _ = _try_repair_slim()
  layer_members, legacy = _neighbourhood(with_slim=slim is not None)
  layers = _Namespace('tensorflow.contrib.layers', layer_members)
  framework = _Namespace(
      'tensorflow.contrib.framework', {
          'arg_scope': arg_scope,
          'add_arg_scope': add_arg_scope,
          'current_arg_scope': current_arg_scope,
      })
  members = {'layers': layers, 'framework': framework}
  if slim is not None:
    members['slim'] = slim
  namespace = _Namespace('tensorflow.contrib', members)
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


def _target_modules():
  """Distinct module objects that TF1 code reaches `contrib` through."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top

  # TensorFlow executes its compat.v1 API module twice: `tf.compat.v1` starts
  # out as the module registered under 'tensorflow._api.v2.compat.v1', and the
  # first `import tensorflow.compat.v1` creates a second module object that
  # replaces it as `tf.compat.v1`. Importing it here makes later imports
  # return an already patched object; the first object is patched as well
  # for code that captured it earlier.
  earlier = getattr(tf.compat, 'v1', None)
  importlib.import_module('tensorflow.compat.v1')
  candidates = [
      tf,
      earlier,
      tf.compat.v1,
      sys.modules.get('tensorflow.compat.v1'),
      sys.modules.get('tensorflow._api.v2.compat.v1'),
  ]
  modules = []
  for module in candidates:
    if module is not None and all(module is not m for m in modules):
      modules.append(module)
  return modules


def _listed_in_all(module):
  names = vars(module).get('__all__')
  if isinstance(names, list):
    return _ATTRIBUTE in names
  return None


def _restore_all(module, listed):
  # TF's module wrapper appends every attribute set on it to `__all__` and
  # removes it on deletion, whatever it held before.
  names = vars(module).get('__all__')
  if listed is None or not isinstance(names, list):
    return
  if listed and _ATTRIBUTE not in names:
    names.append(_ATTRIBUTE)
  elif not listed:
    while _ATTRIBUTE in names:
      names.remove(_ATTRIBUTE)


def install():
  """Makes the names listed in the module docstring reachable as `tf.contrib.*`.

  Patches the `contrib` attribute of the `tensorflow` and
  `tensorflow.compat.v1` modules. Calling it again while installed changes
  nothing.

  It imports `tensorflow.compat.v1` if nothing has yet, which makes TensorFlow
  rebind `tf.compat.v1` to that module as any such import does; `uninstall()`
  leaves that in place. Modules obtained before the import are patched too.

  Returns:
    The `tf.contrib` namespace object.
  """
  global _state
  with _LOCK:
    if _state is not None:
      return _state[0]
    namespace = _build_namespace()
    patched = []
    for module in _target_modules():
      previous = getattr(module, _ATTRIBUTE, _ABSENT)
      listed = _listed_in_all(module)
      setattr(module, _ATTRIBUTE, namespace)
      patched.append((module, previous, listed))
    registered = _register_modules(namespace)
    tf_layers.patch(_target_modules())
    _state = (namespace, patched, registered)
    return namespace


class _MissingContribFinder(object):
  """Explains, on import, that a `tensorflow.contrib` module is not provided.

  Without it `from tensorflow.contrib import slim` would fail with Python's
  bare "No module named" instead of saying what contrib_bn provides.
  """

  def find_spec(self, fullname, path=None, target=None):
    del path, target
    spec = _slim_alias_spec(fullname)
    if spec is not None:
      return spec
    parent, _, name = fullname.rpartition('.')
    error = _layers_name_error(parent, name)
    if error is not None and fullname not in sys.modules:
      # `from tensorflow.contrib.layers import embed_sequence` looks for a
      # submodule once the attribute is missing, and swallows a
      # ModuleNotFoundError for it into a bare "cannot import name"; a plain
      # ImportError carries the replacement to the user.
      raise ImportError(str(error), name=fullname)
    if fullname.startswith('tensorflow.contrib.') and (
        fullname not in sys.modules):
      raise ModuleNotFoundError(
          _missing_message('tf' + fullname[len('tensorflow'):]),
          name=fullname)
    return None


_FINDER = _MissingContribFinder()


def _register_modules(namespace):
  """Makes `from tensorflow.contrib.layers import batch_norm` importable.

  Returns:
    The previous `sys.modules` entries (or _ABSENT), for `uninstall()`.
  """
  entries = {
      'tensorflow.contrib': namespace,
      'tensorflow.contrib.layers': namespace.layers,
      'tensorflow.contrib.framework': namespace.framework,
  }
  entries.update(namespace._legacy_modules)  # pylint: disable=protected-access
  slim = namespace.__dict__.get('slim')
  if slim is not None:
    entries['tensorflow.contrib.slim'] = slim
    entries['tensorflow.contrib.slim.nets'] = importlib.import_module(
        'tf_slim.nets')
  previous = {}
  for name, module in entries.items():
    previous[name] = sys.modules.get(name, _ABSENT)
    sys.modules[name] = module
    # Every namespace is a package to the import system, so that submodules
    # it lacks reach the finder below (TF1 code imports
    # tensorflow.contrib.layers.python.layers and the like).
    if isinstance(module, _Namespace):
      module.__path__ = []
  sys.meta_path.insert(0, _FINDER)
  return previous


def uninstall():
  """Undoes `install()`; does nothing if it is not installed.

  Each patched module gets back its previous `contrib` attribute, or loses it
  if it had none. A module whose `contrib` was reassigned after `install()`
  keeps that newer value.
  """
  global _state
  with _LOCK:
    if _state is None:
      return
    namespace, patched, registered = _state
    _state = None
    while _FINDER in sys.meta_path:
      sys.meta_path.remove(_FINDER)
    # Submodules imported through tensorflow.contrib.slim.* aliases.
    for name in [n for n in sys.modules
                 if n.startswith('tensorflow.contrib.slim.')]:
      if name not in registered:
        del sys.modules[name]
    from contrib_bn.compat import slim as slim_support  # pylint: disable=g-import-not-at-top
    slim_support.restore()
    tf_layers.restore()
    for name, module in registered.items():
      if module is _ABSENT:
        sys.modules.pop(name, None)
      else:
        sys.modules[name] = module
    for module, previous, listed in patched:
      if getattr(module, _ATTRIBUTE, _ABSENT) is not namespace:
        continue
      if previous is _ABSENT:
        delattr(module, _ATTRIBUTE)
      else:
        setattr(module, _ATTRIBUTE, previous)
      _restore_all(module, listed)
