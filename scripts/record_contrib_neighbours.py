"""Records batch_norm's tf.contrib.layers neighbours from TF 1.15.5.

Run with Python 3.7 and TensorFlow 1.15.5:

  python scripts/record_contrib_neighbours.py [--out DIR] [--filter REGEX]
      [--check_determinism]

Every case of contrib_bn/conformance/neighbours.py is built with TF 1.15.5's
`tf.contrib.layers` and `tf.contrib.framework.arg_scope`. Writes `<id>.json`
(variables, collections, output), `<id>.npz` (input, output, loss,
gradients, variables and output after one SGD step) and the TF1 checkpoint
of the freshly initialized variables under `checkpoints/<id>`, which
tests/test_contrib_neighbours.py restores on TF 2. Files are staged and moved
into place only when every case recorded (and, with --check_determinism,
recorded twice with identical arrays).
"""

import argparse
import json
import os
import re
import shutil
import sys
import tempfile

import numpy as np

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(_ROOT, 'contrib_bn', 'goldens',
                           'contrib_neighbours')
REFERENCE_VERSION = '1.15.5'
_CHECKPOINT_SUFFIXES = ('.index', '.data-00000-of-00001')

sys.path.insert(0, _ROOT)  # the tree's contrib_bn; its root imports nothing

# Only the TF-free conformance modules: the rest of contrib_bn needs TF 2.
from contrib_bn.conformance import compare  # pylint: disable=g-import-not-at-top,wrong-import-position
from contrib_bn.conformance import neighbours  # pylint: disable=g-import-not-at-top,wrong-import-position


def record_case(tf_root, case, checkpoint_prefix):
  """(record, arrays) of one case under TF 1.15.5."""
  tf = tf_root.compat.v1
  layers = tf_root.contrib.layers
  arg_scope = tf_root.contrib.framework.arg_scope
  data = neighbours.case_data(case)
  graph = tf.Graph()
  with graph.as_default():
    built = neighbours.build(tf, layers, arg_scope, case)
    record = {'id': case['id'], 'shape': case['shape'],
              'tensorflow': tf_root.__version__,
              'structure': neighbours.structure(tf, built)}
    with tf.Session(graph=graph) as session:
      session.run(tf.global_variables_initializer())
      if tf.global_variables():  # flatten, pooling and dropout have none
        tf.train.Saver().save(session, checkpoint_prefix,
                              write_meta_graph=False, write_state=False)
      arrays = neighbours.run(tf, session, built, data)
  arrays['input'] = data
  return record, arrays


def _write_json(path, value):
  staged = path + '.tmp'
  with open(staged, 'w') as f:
    json.dump(value, f, indent=1, sort_keys=True)
    f.write('\n')
  os.replace(staged, path)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--out', default=DEFAULT_OUT,
                      help='output directory (default: %(default)s)')
  parser.add_argument('--filter', default=None,
                      help='only record case ids matching this regex')
  parser.add_argument('--check_determinism', action='store_true',
                      help='record every case twice and require identical '
                      'arrays; nothing is written otherwise')
  args = parser.parse_args(argv)
  import tensorflow as tf_root  # pylint: disable=g-import-not-at-top
  if tf_root.__version__ != REFERENCE_VERSION:
    parser.error('goldens come from TensorFlow %s; this is %s' %
                 (REFERENCE_VERSION, tf_root.__version__))
  tf_root.compat.v1.logging.set_verbosity(tf_root.compat.v1.logging.ERROR)
  cases = neighbours.CASES
  if args.filter:
    cases = [c for c in cases if re.search(args.filter, c['id'])]
  if not cases:
    parser.error('no case matches --filter %r' % args.filter)
  # Staged inside --out, so that moving into place is an atomic rename.
  os.makedirs(os.path.join(args.out, 'checkpoints'), exist_ok=True)
  staging = tempfile.mkdtemp(prefix='.staging_', dir=args.out)
  try:
    problems = []
    for case in cases:
      prefix = os.path.join(staging, 'checkpoints', case['id'])
      record, arrays = record_case(tf_root, case, prefix)
      if args.check_determinism:
        again_record, again = record_case(
            tf_root, case, os.path.join(staging, 'again', case['id']))
        if again_record != record or not compare.arrays_identical(arrays,
                                                                  again):
          problems.append('%s: two recordings differ' % case['id'])
      np.savez_compressed(os.path.join(staging, case['id'] + '.npz'),
                          **arrays)
      _write_json(os.path.join(staging, case['id'] + '.json'), record)
      print('%s recorded' % case['id'])
    if problems:
      print('\n'.join(problems), file=sys.stderr)
      return 1
    for case in cases:
      names = [case['id'] + '.json', case['id'] + '.npz'] + [
          os.path.join('checkpoints', case['id'] + s)
          for s in _CHECKPOINT_SUFFIXES]
      for name in names:
        if not os.path.exists(os.path.join(staging, name)):
          continue  # a case without variables has no checkpoint
        os.replace(os.path.join(staging, name),
                   os.path.join(args.out, name))
  finally:
    shutil.rmtree(staging, ignore_errors=True)
  print('%d case(s) recorded into %s' % (len(cases), args.out))
  return 0


if __name__ == '__main__':
  sys.exit(main())
