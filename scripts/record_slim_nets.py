"""Records slim-net goldens: tf.contrib.slim.nets trained and evaluated on TF 1.15.5.

Run with Python 3.7 and TensorFlow 1.15.5:

  python scripts/record_slim_nets.py [--out DIR] [--cases a,b] [--checkpoints]
                                    [--check_determinism]

The cases, the procedure and the files written are those of
`contrib_bn/conformance/slim_nets.py`.
"""

import argparse
import os
import runpy
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# This tree's contrib_bn, for its TF-free modules (the rest needs TF 2).
runpy.run_path(os.path.join(_ROOT, 'contrib_bn', 'conformance',
                            'tf1_import.py'))['register']()

from contrib_bn import constants  # pylint: disable=g-import-not-at-top,wrong-import-position
from contrib_bn.conformance import slim_nets  # pylint: disable=g-import-not-at-top,wrong-import-position


def main(argv=None):
  parser = argparse.ArgumentParser(
      description='Record slim-net goldens with TensorFlow 1.15.5 '
      '(tf.contrib.slim.nets). Prints one line per case; exit status 0 on '
      'success.')
  parser.add_argument('--out', default=slim_nets.DEFAULT_DIR,
                      help='directory the goldens are written to '
                      '(default: %(default)s)')
  parser.add_argument('--cases', default=','.join(slim_nets.CASES),
                      help='comma-separated case ids (default: all: '
                      '%(default)s)')
  parser.add_argument('--checkpoints', action='store_true',
                      help='also write the trained TF1 checkpoint of the '
                      'full-size nets (~100 MB each); small cases always '
                      'write theirs')
  parser.add_argument('--check_determinism', action='store_true',
                      help='record every case twice in this process and '
                      'require bit-identical arrays, records and checkpoint '
                      'files; nothing is written if any case differs (exit '
                      'status 1)')
  args = parser.parse_args(argv)
  import tensorflow as tf_root  # pylint: disable=g-import-not-at-top
  if tf_root.__version__ != constants.TF1_VERSION:
    parser.error('goldens come from TensorFlow %s; this is %s' %
                 (constants.TF1_VERSION, tf_root.__version__))
  case_ids = [c for c in args.cases.split(',') if c]
  unknown = [c for c in case_ids if c not in slim_nets.CASES]
  if unknown:
    parser.error('unknown case(s) %s; known: %s' %
                 (unknown, sorted(slim_nets.CASES)))
  problems = slim_nets.record_cases(args.out, case_ids, args.checkpoints,
                                    args.check_determinism)
  if problems:
    print('\n'.join(problems))
    print('%d problem(s); nothing written.' % len(problems))
    return 1
  return 0


if __name__ == '__main__':
  sys.exit(main())
