"""contrib_bn's list of tf.contrib.layers names is TF 1.15.5's own.

`install()` serves every name of contrib_bn/compat/contrib_layers_names.py;
this recomputes the list (and where each name is defined) from the real
TF 1.15.5 so that a name cannot be guessed, missed or invented.
"""

import importlib
import os

from contrib_bn.compat import contrib_layers_names as names

_PACKAGE = 'tensorflow.contrib.layers.python.layers'


def tf115_public_names():
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return tuple(sorted(n for n in dir(tf.contrib.layers)
                      if not n.startswith('_')))


def tf115_homes():
  """Submodule -> the public names it defines and lists in `__all__`."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  package = importlib.import_module(_PACKAGE)
  # The package's own .py files (its attributes include aliases such as
  # `fc` for feature_column).
  directory = os.path.dirname(package.__file__)
  submodules = sorted(n[:-len('.py')] for n in os.listdir(directory)
                      if n.endswith('.py') and not n.startswith('_') and
                      not n.endswith('_test.py'))
  homes = {}
  for name in tf115_public_names():
    value = getattr(tf.contrib.layers, name)
    for sub in submodules:
      module = importlib.import_module(_PACKAGE + '.' + sub)
      listed = getattr(module, '__all__', None) or [name]
      if getattr(module, name, None) is value and name in listed:
        homes.setdefault(sub, []).append(name)
  return {sub: tuple(found) for sub, found in homes.items()}


def test_public_names_are_tf115s():
  assert names.PUBLIC_NAMES == tf115_public_names()


def test_homes_are_tf115s():
  assert names.HOMES == tf115_homes()


def test_list_is_sorted_and_unique():
  assert list(names.PUBLIC_NAMES) == sorted(set(names.PUBLIC_NAMES))
