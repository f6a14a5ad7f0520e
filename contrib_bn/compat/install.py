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

What each namespace holds, and the errors for what it does not, is
`contrib_bn.compat.contrib_namespaces`; this module puts the namespaces in
place (module attributes, `sys.modules`, an import hook for the
`tensorflow.contrib.*` paths) and takes them away again.
"""

import importlib
import importlib.util
import sys
import threading

from contrib_bn.compat import contrib_namespaces as namespaces
from contrib_bn.compat import tf_layers
# The dotted names provided, for tools that read them.
from contrib_bn.compat.contrib_namespaces import PROVIDED

__all__ = ['PROVIDED', 'install', 'uninstall']


_ATTRIBUTE = 'contrib'

# Stands for "the module had no such attribute", since None is a legitimate
# attribute value to restore.
_ABSENT = object()

_LOCK = threading.Lock()

# While installed: the `tf.contrib` namespace and, per patched module, the
# module, its previous `contrib` value (or _ABSENT) and whether `contrib` was
# listed in its `__all__` (None when it has no `__all__` list).
_state = None


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
    namespace = namespaces.build_namespace()
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
    error = namespaces.layers_name_error(parent, name)
    if error is not None and fullname not in sys.modules:
      # `from tensorflow.contrib.layers import embed_sequence` looks for a
      # submodule once the attribute is missing, and swallows a
      # ModuleNotFoundError for it into a bare "cannot import name"; a plain
      # ImportError carries the replacement to the user.
      raise ImportError(str(error), name=fullname)
    if fullname.startswith('tensorflow.contrib.') and (
        fullname not in sys.modules):
      raise ModuleNotFoundError(
          namespaces.missing_message('tf' + fullname[len('tensorflow'):]),
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
    if isinstance(module, namespaces.Namespace):
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
