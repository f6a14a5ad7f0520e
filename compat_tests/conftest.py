"""compat_tests run under Python 3.7 with TensorFlow 1.15.5.

They check that the shared behaviour tests in tests/ describe what the real
`tf.contrib.layers.batch_norm` does, and that the recorders reproduce the
committed goldens. Only contrib_bn's TF-free modules are imported here
(registered by contrib_bn/conformance/tf1_import.py, as the recorders do):
the rest of the package needs TensorFlow 2.
"""

import os
import runpy
import sys

import tensorflow as tf

# Every module here states TF 1.15.5's behaviour; under another release the
# whole tier would test the wrong thing, so it refuses to start.
if not tf.__version__.startswith('1.15'):
  raise RuntimeError('compat_tests need TensorFlow 1.15, found %s' %
                     tf.__version__)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'tests'))
runpy.run_path(os.path.join(ROOT, 'contrib_bn', 'conformance',
                            'tf1_import.py'))['register']()

# One definition of the tolerances for re-recording on another processor.
from contrib_bn.conformance import matching  # pylint: disable=g-import-not-at-top,wrong-import-position,unused-import
