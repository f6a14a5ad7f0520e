"""contrib_bn: TF 1.15's `tf.contrib.layers.batch_norm` on TensorFlow 2.x.

Graph-mode (`tf.compat.v1`) re-creation of the contrib batch-norm layer with
its arguments, variable names, collections, numerics and errors, so legacy
TF1 models and checkpoints run on current TensorFlow.
"""

from contrib_bn.arg_scope import add_arg_scope
from contrib_bn.arg_scope import arg_scope
from contrib_bn.arg_scope import current_arg_scope
from contrib_bn.arg_scope import has_arg_scope
from contrib_bn.distribute import synchronized_statistics
from contrib_bn.install import install
from contrib_bn.install import uninstall
from contrib_bn.layer import batch_norm
from contrib_bn.layer import select_path

__version__ = '0.1.0'

__all__ = [
    'add_arg_scope',
    'arg_scope',
    'batch_norm',
    'current_arg_scope',
    'has_arg_scope',
    'install',
    'select_path',
    'synchronized_statistics',
    'uninstall',
]
