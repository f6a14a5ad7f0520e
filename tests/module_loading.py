"""Loading a file as a module by its path, once per process.

Files under scripts/ are not a package and must stay runnable on their own
(under Python 3.7 and TF 1.15 too); some define absl flags at import, which a
second execution would define again. Both test trees use this.
"""

import importlib.util
import sys


def load_by_path(name, path):
  """The module in `path`, executed once per process and kept as `name`."""
  if name not in sys.modules:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[name] = module
  return sys.modules[name]
