"""Exposes contrib_bn under the TF1 names `tf.contrib.layers` and `.framework`.

After `install()`, unmodified TF1 code such as

  import tensorflow.compat.v1 as tf
  with tf.contrib.framework.arg_scope([tf.contrib.layers.batch_norm],
                                     is_training=True):
    y = tf.contrib.layers.batch_norm(x)

runs against contrib_bn. Exactly four names are provided, reachable from both
`tensorflow` and `tensorflow.compat.v1`, and importable with
`from tensorflow.contrib.layers import batch_norm` and the like:

  tf.contrib.layers.batch_norm
  tf.contrib.framework.arg_scope
  tf.contrib.framework.add_arg_scope
  tf.contrib.framework.current_arg_scope

Any other `tf.contrib` name raises an `AttributeError` that lists what is
provided, so code that needs more of `tf.contrib` fails at the first missing
name with an explanation. `uninstall()` puts back whatever `contrib` attribute the
modules had before, or removes it if they had none.
"""

import importlib
import sys
import threading
import types

from contrib_bn.compat.arg_scope import add_arg_scope
from contrib_bn.compat.arg_scope import arg_scope
from contrib_bn.compat.arg_scope import current_arg_scope

__all__ = ['install', 'uninstall']

_PROVIDED = (
    'tf.contrib.layers.batch_norm',
    'tf.contrib.framework.arg_scope',
    'tf.contrib.framework.add_arg_scope',
    'tf.contrib.framework.current_arg_scope',
)

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
  return ('%s is not available: contrib_bn provides only %s and %s; the rest '
          'of tf.contrib is not part of contrib_bn.' %
          (dotted_name, ', '.join(_PROVIDED[:-1]), _PROVIDED[-1]))


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
    # Dunder probes come from introspection tools (copy, pickle, inspect,
    # doctest), not from TF1 code; they get the plain module error.
    if name.startswith('__') and name.endswith('__'):
      raise AttributeError('module %r has no attribute %r' %
                           (self.__name__, name))
    shown = 'tf' + self.__name__[len('tensorflow'):]
    raise AttributeError(_missing_message('%s.%s' % (shown, name)))

  def __dir__(self):
    return sorted(set(self.__all__) | {'__doc__', '__name__', '__all__'})


def _build_namespace():
  # The layer imports TensorFlow and the rest of the package, so it is
  # resolved only when someone asks for the TF1 names.
  from contrib_bn.compat.scoped_layer import batch_norm  # pylint: disable=g-import-not-at-top

  layers = _Namespace('tensorflow.contrib.layers', {'batch_norm': batch_norm})
  framework = _Namespace(
      'tensorflow.contrib.framework', {
          'arg_scope': arg_scope,
          'add_arg_scope': add_arg_scope,
          'current_arg_scope': current_arg_scope,
      })
  return _Namespace('tensorflow.contrib', {
      'layers': layers,
      'framework': framework,
  })


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
  """Makes the four contrib_bn names reachable as `tf.contrib.*`.

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
    _state = (namespace, patched, registered)
    return namespace


class _MissingContribFinder(object):
  """Explains, on import, that a `tensorflow.contrib` module is not provided.

  Without it `from tensorflow.contrib import slim` would fail with Python's
  bare "No module named" instead of saying what contrib_bn provides.
  """

  def find_spec(self, fullname, path=None, target=None):
    del path, target
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
  previous = {}
  for name, module in entries.items():
    previous[name] = sys.modules.get(name, _ABSENT)
    sys.modules[name] = module
  # The namespace is a package to the import system, so that submodules it
  # lacks reach the finder below.
  namespace.__path__ = []
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
