"""Serves contrib_bn.layers under `tf.compat.v1.layers`, for `install()`.

On TF 2.16+ with Keras 3, `tf.compat.v1.layers` is a lazy loader whose
every look-up raises "not available with Keras 3". `patch(modules)` puts the
names of `SERVED` (TF 1.15's batch normalization, dense, convolutions,
transposed and separable convolutions, pooling, dropout and flatten,
functions and classes) from contrib_bn.layers into the instance dictionary
of each `layers` object the given modules hold (`tensorflow.compat.v1` is
executed twice, so there are two), where a look-up finds them before the
loader's `__getattr__` runs; setting them as attributes would make the
loader import Keras. The other names of TF 1.15's `tf.layers` (`Layer`,
`InputSpec`, `experimental`) stay TF's, which raise "not available with
Keras 3". `restore()` puts back what was there.
"""

import sys

# The tf.compat.v1.layers names served, contrib_bn.layers.__all__ (a
# literal, so that the scanner can read it without importing TensorFlow).
SERVED = ('AveragePooling1D', 'AveragePooling2D', 'AveragePooling3D',
          'BatchNormalization', 'Conv1D', 'Conv2D', 'Conv2DTranspose',
          'Conv3D', 'Conv3DTranspose', 'Dense', 'Dropout', 'Flatten',
          'MaxPooling1D', 'MaxPooling2D', 'MaxPooling3D', 'SeparableConv1D',
          'SeparableConv2D', 'average_pooling1d', 'average_pooling2d',
          'average_pooling3d', 'batch_normalization', 'conv1d', 'conv2d',
          'conv2d_transpose', 'conv3d', 'conv3d_transpose', 'dense',
          'dropout', 'flatten', 'max_pooling1d', 'max_pooling2d',
          'max_pooling3d', 'separable_conv1d', 'separable_conv2d')
NAMES = SERVED
# Where the `layers` module of `tensorflow.compat.v1` is registered, for
# code that imports from it or reaches it through `sys.modules`.
_IMPORT_NAME = 'tensorflow.compat.v1.layers'
_MODULE_NAMES = (_IMPORT_NAME, 'tensorflow._api.v2.compat.v1.layers')

_ABSENT = object()
# While patched: (layers object, name, previous value or _ABSENT, value set,
# whether `name` was in its `__all__`), and the sys.modules entry added.
_patched = []
_registered = []


def _is_lazy_loader(target):
  # Keras 3's `tf.compat.v1.layers`: TF's LazyLoader keeps its state in
  # `_tfll_*` attributes and imports Keras on any attribute assignment.
  return '_tfll_initialized' in vars(target)


def _nested_v1(module):
  # `import tensorflow.compat.v1 as tf` code may still spell
  # `tf.compat.v1.layers`, which is the `layers` of yet another module
  # object; looked up in `vars` so that no lazy module is loaded.
  compat = vars(module).get('compat')
  return None if compat is None else vars(compat).get('v1')


def _layers_objects(modules):
  found = []
  modules = list(modules)
  modules += [v1 for v1 in map(_nested_v1, modules) if v1 is not None]
  candidates = [vars(m).get('layers') for m in modules]
  candidates += [sys.modules.get(name) for name in _MODULE_NAMES]
  for candidate in candidates:
    if candidate is not None and all(candidate is not f for f in found):
      found.append(candidate)
  return found


def _listed(target, name):
  names = vars(target).get('__all__')
  return name in names if isinstance(names, list) else None


def patch(modules):
  """Serves contrib_bn.layers' names on the `layers` of `modules`.

  Args:
    modules: the `tensorflow` and `tensorflow.compat.v1` module objects
      install() patches.
  """
  from contrib_bn import layers  # pylint: disable=g-import-not-at-top
  if _patched:
    return
  targets = _layers_objects(modules)
  for target in targets:
    namespace = vars(target)
    for name in NAMES:
      value = getattr(layers, name)
      _patched.append((target, name, namespace.get(name, _ABSENT), value,
                       _listed(target, name)))
      if _is_lazy_loader(target):
        namespace[name] = value
      else:
        setattr(target, name, value)
  # Importing `tensorflow.compat.v1.layers` for the first time would
  # execute TF's own (unpatched) module and rebind `tf.compat.v1.layers`
  # to it; the patched object is served instead.
  v1 = sys.modules.get('tensorflow.compat.v1')
  served = vars(v1).get('layers') if v1 is not None else None
  if _IMPORT_NAME not in sys.modules and served is not None:
    sys.modules[_IMPORT_NAME] = served
    _registered.append(served)


def restore():
  """Undoes `patch`; a name reassigned since keeps its newer value."""
  while _registered:
    served = _registered.pop()
    if sys.modules.get(_IMPORT_NAME) is served:
      del sys.modules[_IMPORT_NAME]
  while _patched:
    target, name, previous, value, listed = _patched.pop()
    if vars(target).get(name, _ABSENT) is not value:
      continue
    if _is_lazy_loader(target):
      if previous is _ABSENT:
        del vars(target)[name]
      else:
        vars(target)[name] = previous
      continue
    if previous is _ABSENT:
      delattr(target, name)
    else:
      setattr(target, name, previous)
    names = vars(target).get('__all__')
    if isinstance(names, list) and listed is not None:
      if listed and name not in names:
        names.append(name)
      while not listed and name in names:
        names.remove(name)
