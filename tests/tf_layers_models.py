"""The tf.layers models in tests/data/tf_layers_models/, for the tool tests.

tf_layers_net.py builds conv2d -> batch_normalization twice, then dense ->
batch_normalization, in the functions `build`, `build_renorm`,
`build_ghost_batches`, `build_unwired` and `build_divergent`. The
check_update_ops, export, XLA and regress tests
(tests/test_tf_layers_<tool>.py) load it by path.
"""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, 'tests', 'data', 'tf_layers_models')
NET = os.path.join(MODELS, 'tf_layers_net.py')
# The layers of tf_layers_net.py, named as TF 1.15's tf.layers names them.
NET_LAYERS = ('batch_normalization', 'batch_normalization_1',
              'batch_normalization_2')
