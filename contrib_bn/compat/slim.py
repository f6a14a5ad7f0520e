"""Repairs the PyPI package tf_slim on Keras 3 by giving it contrib_bn's batch_norm.

tf_slim 1.1.0 imports on TensorFlow >= 2.16, and its conv2d, fully_connected,
pooling, flatten and dropout build in `tf.compat.v1` graph mode. Its
`batch_norm` alone fails, importing the legacy `tf_keras` package on every
call. TF 1.15's `tf.contrib.slim.batch_norm` was the very function
`tf.contrib.layers.batch_norm`, so contrib_bn's re-creation takes its place.

`repair()` binds a replacement wherever tf_slim publishes the name
(`tf_slim.batch_norm`, `tf_slim.layers.batch_norm`,
`tf_slim.layers.layers.batch_norm`, and any other loaded `tf_slim.*` module
that bound the original at import time). The nets in `tf_slim.nets` look the
name up on `tf_slim.layers` / `tf_slim.layers.layers` when they are called,
so they pick up the replacement however early they were imported.

The replacement honours both scope stacks:

  * tf_slim's own `arg_scope` (which the nets and `slim.arg_scope` use). It
    keys functions by their `_key_op` attribute; the replacement carries
    contrib_bn's key, and that key is registered with tf_slim, so
    `slim.arg_scope([slim.batch_norm], ...)` and
    `slim.arg_scope([contrib_bn.batch_norm], ...)` both apply to it;
  * contrib_bn's `arg_scope` (`tf.contrib.framework.arg_scope` after
    `install()`), because the replacement calls contrib_bn's decorated
    `batch_norm`.

When both stacks hold defaults for one call, tf_slim's win over contrib_bn's,
and explicit arguments win over both. contrib_bn's own `batch_norm`, called
directly, reads only contrib_bn's stack.

`repair()` also mends one TF 2.21 removal: tf_slim's `optimize_loss`,
`recompute_grad`, `utils.constant_value` and `learning.multiply_gradients`
test `isinstance(x, ops.Tensor)` (and `ops.IndexedSlices`) on
`tensorflow.python.framework.ops`, which no longer has either class (they
moved to `framework.tensor` and `framework.indexed_slices`; `tf.Tensor` and
`tf.IndexedSlices` are them), so they fail with an AttributeError on every
call. Those tf_slim modules get, in place of their `ops` name, a view of the
same module that adds the two classes back; `restore()` puts the module back.
Nothing else of tf_slim changes.
"""

import functools
import importlib
import importlib.util
import sys
import types

__all__ = ['MISSING_MESSAGE', 'is_available', 'is_repaired', 'repair',
           'restore', 'slim_batch_norm']

MISSING_MESSAGE = (
    '%s needs the tf_slim package, which contrib_bn repairs but does not '
    'install: pip install tf-slim')

_SLIM_MODULE = 'tf_slim'

# While repaired: tf_slim's own batch_norm, put back by `restore()`.
_original = None

_replacement = None

# tf_slim modules that test `isinstance(x, <ops>.Tensor)` or
# `<ops>.IndexedSlices`, and the name each binds tensorflow.python.framework.ops
# to.
_TENSOR_CHECKS = (('tf_slim.layers.optimizers', 'ops'),
                  ('tf_slim.layers.rev_block_lib', 'framework_ops'),
                  ('tf_slim.layers.utils', 'ops'),
                  ('tf_slim.learning', 'ops'))

# While repaired: (module, attribute, original ops module) per mended name.
_mended = []


class _OpsWithTensor(types.ModuleType):
  """`tensorflow.python.framework.ops` with the classes TF 2.21 dropped."""

  def __init__(self, ops, classes):
    super(_OpsWithTensor, self).__init__(ops.__name__, ops.__doc__)
    self.__dict__['_ops'] = ops
    for name, value in classes.items():
      setattr(self, name, value)

  def __getattr__(self, name):
    return getattr(self.__dict__['_ops'], name)


def _mend_tensor_checks():
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  for module_name, attribute in _TENSOR_CHECKS:
    module = importlib.import_module(module_name)
    ops = getattr(module, attribute, None)
    if ops is None or isinstance(ops, _OpsWithTensor):
      continue
    missing = {name: getattr(tf, name)
               for name in ('Tensor', 'IndexedSlices')
               if not hasattr(ops, name)}
    if not missing:
      continue
    setattr(module, attribute, _OpsWithTensor(ops, missing))
    _mended.append((module, attribute, ops))


def _unmend_tensor_checks():
  while _mended:
    module, attribute, ops = _mended.pop()
    if isinstance(getattr(module, attribute, None), _OpsWithTensor):
      setattr(module, attribute, ops)


def is_available():
  """Tells whether tf_slim can be imported, without importing it."""
  if _SLIM_MODULE in sys.modules:
    return sys.modules[_SLIM_MODULE] is not None
  try:
    return importlib.util.find_spec(_SLIM_MODULE) is not None
  except (ImportError, ValueError):
    return False


def slim_batch_norm():
  """Returns the function that stands for `tf_slim.batch_norm`.

  Built once per process, since tf_slim's arg_scope registry is global.

  Raises:
    ImportError: If tf_slim is not installed.
  """
  global _replacement
  if _replacement is not None:
    return _replacement
  slim_scopes = importlib.import_module('tf_slim.ops.arg_scope')
  from contrib_bn.compat.scoped_layer import batch_norm  # pylint: disable=g-import-not-at-top

  key = batch_norm._key_op  # pylint: disable=protected-access
  # tf_slim registers a function under its key when decorating it; that
  # registration is what its `arg_scope` checks. Decorating the undecorated
  # contrib_bn function registers exactly contrib_bn's key (str() of it),
  # with its real keyword names for `slim.arg_scoped_arguments`. The
  # decorated result itself is not used.
  slim_scopes.add_arg_scope(batch_norm.__wrapped__)
  if not slim_scopes.has_arg_scope(batch_norm):
    raise ImportError(
        'tf_slim.ops.arg_scope does not key functions by `_key_op` as '
        'tf_slim 1.1.0 does; contrib_bn cannot register batch_norm with it.')

  @functools.wraps(batch_norm)
  def slim_entry(*args, **kwargs):
    defaults = slim_scopes.current_arg_scope().get(key)
    if defaults:
      merged = dict(defaults)
      merged.update(kwargs)
      kwargs = merged
    return batch_norm(*args, **kwargs)

  # functools.wraps copied contrib_bn's `_key_op`; stated again because the
  # shared key is what makes both arg_scope implementations accept it.
  slim_entry._key_op = key  # pylint: disable=protected-access
  slim_entry.__module__ = 'contrib_bn.compat.slim'
  _replacement = slim_entry
  return slim_entry


def repair():
  """Imports tf_slim and rebinds its `batch_norm` to contrib_bn's.

  Calling it again while repaired changes nothing.

  Returns:
    The repaired `tf_slim` module.

  Raises:
    ImportError: If tf_slim is not installed; the message says how to
      install it.
  """
  if not is_available():
    raise ImportError(MISSING_MESSAGE % 'tf_slim support', name=_SLIM_MODULE)
  slim = importlib.import_module(_SLIM_MODULE)
  layers_module = importlib.import_module('tf_slim.layers.layers')
  global _original
  if _original is not None:
    return slim
  _original = layers_module.batch_norm
  _rebind(_original, slim_batch_norm())
  _mend_tensor_checks()
  return slim


def _rebind(old, new):
  # Every loaded tf_slim module, so that modules which bound the name at
  # import time (`from tf_slim.layers.layers import batch_norm`) follow too.
  for name, module in list(sys.modules.items()):
    if module is None or not (name == _SLIM_MODULE or
                              name.startswith(_SLIM_MODULE + '.')):
      continue
    for attribute, value in list(vars(module).items()):
      if value is old:
        setattr(module, attribute, new)


def restore():
  """Puts tf_slim's own `batch_norm` back wherever the replacement is bound.

  That includes tf_slim modules imported while repaired. Does nothing when
  not repaired.
  """
  global _original
  if _original is None:
    return
  original, _original = _original, None
  _rebind(_replacement, original)
  _unmend_tensor_checks()


def is_repaired():
  """Tells whether `repair()` is in effect."""
  return _original is not None
