"""compat_tests run under Python 3.7 with TensorFlow 1.15.5.

They check that the shared behaviour tests in tests/ describe what the real
`tf.contrib.layers.batch_norm` does. The `contrib_bn` package is never
imported here: it needs TensorFlow 2.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'tests'))

import module_loading  # pylint: disable=g-import-not-at-top,wrong-import-position

# The corpus comparison module needs only NumPy, so it loads here by path
# without the TF-2-only package around it: one definition of the tolerances
# for re-recording on another processor.
matching = module_loading.load_by_path(
    'contrib_bn_conformance_matching',
    os.path.join(ROOT, 'contrib_bn', 'conformance', 'matching.py'))
