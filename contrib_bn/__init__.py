"""contrib_bn: TF 1.15's `tf.contrib.layers.batch_norm` on TensorFlow 2.x.

Graph-mode (`tf.compat.v1`) re-creation of the contrib batch-norm layer with
its arguments, variable names, collections, numerics and errors, so legacy
TF1 models and checkpoints run on current TensorFlow.

The public names below are resolved on first use (PEP 562), so importing a
submodule that needs no TensorFlow 2, such as `contrib_bn.conformance.cases`
from the TF 1.15 recorders, runs nothing else of the package. How the code is
organised: docs/development.md.
"""

import importlib

__version__ = '0.1.0'

# Public name -> (module, attribute). `checkpoint`, `export`,
# `keras_export` and `layers` are modules of their own; the rest are
# functions.
_PUBLIC = {
    'add_arg_scope': ('contrib_bn.compat.arg_scope', 'add_arg_scope'),
    'arg_scope': ('contrib_bn.compat.arg_scope', 'arg_scope'),
    'batch_norm': ('contrib_bn.compat.scoped_layer', 'batch_norm'),
    'check_update_ops': ('contrib_bn.tools.update_ops', 'check_update_ops'),
    'checkpoint': ('contrib_bn.checkpoint', None),
    'current_arg_scope': ('contrib_bn.compat.arg_scope', 'current_arg_scope'),
    'export': ('contrib_bn.tools.export', None),
    'has_arg_scope': ('contrib_bn.compat.arg_scope', 'has_arg_scope'),
    'inference_mode': ('contrib_bn._inference_mode', 'inference_mode'),
    'install': ('contrib_bn.compat.install', 'install'),
    'keras_export': ('contrib_bn.tools.keras_export', None),
    'layers': ('contrib_bn.layers', None),
    'select_path': ('contrib_bn._dispatch', 'select_path'),
    'synchronized_statistics': ('contrib_bn.distribute',
                                'synchronized_statistics'),
    'uninstall': ('contrib_bn.compat.install', 'uninstall'),
    'warn_on_unwired_updates': ('contrib_bn.tools.update_ops',
                                'warn_on_unwired_updates'),
}

__all__ = sorted(_PUBLIC)


def __getattr__(name):
  try:
    module_name, attribute = _PUBLIC[name]
  except KeyError:
    raise AttributeError('module %r has no attribute %r' % (__name__, name))
  module = importlib.import_module(module_name)
  value = module if attribute is None else getattr(module, attribute)
  # Cached: later look-ups are plain attribute reads.
  globals()[name] = value
  return value


def __dir__():
  return sorted(set(globals()) | set(__all__))
