"""Records TF 1.15.5's tf.contrib.layers initializers and regularizers.

Run with Python 3.7 and TensorFlow 1.15.5:

  python scripts/record_contrib_layers.py [--out DIR]

Runs every case of `contrib_bn/conformance/contrib_layers_cases.py` twice,
and writes contrib_layers.json and contrib_layers.npz to DIR (default
contrib_bn/goldens/contrib_layers) only if both recordings are identical.
"""

import argparse
import os
import runpy
import sys

import numpy as np

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# This tree's contrib_bn, for its TF-free modules (the rest needs TF 2).
runpy.run_path(os.path.join(_ROOT, 'contrib_bn', 'conformance',
                            'tf1_import.py'))['register']()

from contrib_bn import constants  # pylint: disable=g-import-not-at-top,wrong-import-position
from contrib_bn.conformance import contrib_layers_cases as cases  # pylint: disable=g-import-not-at-top,wrong-import-position


def main(argv=None):
  parser = argparse.ArgumentParser(
      description="Record TF 1.15.5's tf.contrib.layers initializers and "
      'regularizers (values, op names, errors). Exit status 0 on success.')
  parser.add_argument('--out', default=cases.DEFAULT_DIR,
                      help='output directory (default: %(default)s)')
  args = parser.parse_args(argv)
  import tensorflow as tf_root  # pylint: disable=g-import-not-at-top
  if tf_root.__version__ != constants.TF1_VERSION:
    parser.error('goldens come from TensorFlow %s; this is %s' %
                 (constants.TF1_VERSION, tf_root.__version__))
  import tensorflow.contrib.layers as layers  # pylint: disable=g-import-not-at-top
  tf = tf_root.compat.v1
  records, values = cases.record_all(tf, layers)
  again = cases.record_all(tf, layers)
  if again[0] != records or sorted(again[1]) != sorted(values) or any(
      not np.array_equal(values[k], again[1][k]) for k in values):
    print('the two recordings differ; nothing written', file=sys.stderr)
    return 1
  os.makedirs(args.out, exist_ok=True)
  cases.write(args.out, tf_root.__version__, records, values)
  print('recorded %d cases (%d with values, %d errors)' %
        (len(records), len(values),
         sum('error' in r for r in records.values())))
  return 0


if __name__ == '__main__':
  sys.exit(main())
