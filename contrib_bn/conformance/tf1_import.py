"""Importing contrib_bn's TF-free modules under TensorFlow 1.15.

The recorders in scripts/, the compat tests and `regress record` run under
Python 3.7 and TF 1.15.5 (the era recorder under older 1.x releases too) and
use the modules of this package that need no TensorFlow 2: the case
catalogues, the corpus, the comparison, the regression runner
(tests/test_architecture.py lists them in TF_FREE). Each of them reaches this
file by its path, registers the package, and then imports those modules by
their own names:

  runpy.run_path(os.path.join(PACKAGE_DIR, 'conformance',
                              'tf1_import.py'))['register']()
  from contrib_bn.conformance import cases

`register` makes this copy of the package importable without putting the
directory that holds it on `sys.path`: that directory may be a TF 2
environment's site-packages, whose NumPy would shadow TF 1.15's. The
package's root resolves its public names lazily, so importing a submodule
runs nothing that needs TF 2.
"""

import importlib.util
import os
import sys

NAME = 'contrib_bn'
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def register():
  """The `contrib_bn` package of PACKAGE_DIR, importable from now on.

  Returns:
    The package module.

  Raises:
    ImportError: another copy of contrib_bn is imported already.
  """
  loaded = sys.modules.get(NAME)
  if loaded is not None:
    where = os.path.dirname(os.path.abspath(loaded.__file__))
    if os.path.realpath(where) != os.path.realpath(PACKAGE_DIR):
      raise ImportError('contrib_bn is imported from %s already, not from %s'
                        % (where, PACKAGE_DIR))
    return loaded
  spec = importlib.util.spec_from_file_location(
      NAME, os.path.join(PACKAGE_DIR, '__init__.py'),
      submodule_search_locations=[PACKAGE_DIR])
  package = importlib.util.module_from_spec(spec)
  sys.modules[NAME] = package
  try:
    spec.loader.exec_module(package)
  except BaseException:
    del sys.modules[NAME]
    raise
  return package
