"""Records TF 1.15.5's goldens of batch normalization's `tf.layers` neighbours.

Run with Python 3.7 and TensorFlow 1.15.5:

  python scripts/record_tf_layers_neighbours.py [--out DIR] [--filter REGEX]
      [--check_determinism]

Every case of contrib_bn/conformance/tf_layers_neighbours.py is built with
TF 1.15.5's `tf.layers` (dense, convolutions, pooling, dropout, flatten,
batch normalization). Writes `<id>.json` (variables, collections, the
class API's facts, or the error raised), `<id>.npz` (input, target, the
initial variables, outputs, losses and gradients of two SGD steps, the
variables after them, and the output of an inference graph restored from
the checkpoint) and the TF1 checkpoint after training under
`checkpoints/<id>`, which tests/test_tf_layers_neighbours.py restores on
TF 2. Files
are staged and moved into place only when every case recorded (and, with
--check_determinism, recorded twice with identical results).
"""

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import types

import numpy as np

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(_ROOT, 'contrib_bn', 'goldens',
                           'tf_layers_neighbours')
REFERENCE_VERSION = '1.15.5'
_CHECKPOINT_SUFFIXES = ('.index', '.data-00000-of-00001')

sys.path.insert(0, _ROOT)  # the tree's contrib_bn; its root imports nothing

# Only the TF-free conformance modules: the rest of contrib_bn needs TF 2.
from contrib_bn.conformance import compare  # pylint: disable=g-import-not-at-top,wrong-import-position
from contrib_bn.conformance import tf_layers_neighbours as cases  # pylint: disable=g-import-not-at-top,wrong-import-position


def record_case(tf_root, case, checkpoint_prefix):
  """(record, arrays or None) of one case under TF 1.15.5."""
  tf = tf_root.compat.v1
  api = types.SimpleNamespace(
      **{name: getattr(tf.layers, name) for name in cases.NAMES})
  data = cases.case_data(case)
  record = {'id': case['id'], 'tensorflow': tf_root.__version__}
  graph = tf.Graph()
  with graph.as_default():
    try:
      built = cases.build(tf, api, case)
    except Exception as error:  # pylint: disable=broad-except
      record['error'] = cases.error_record(error)
      return record, None
    record['structure'] = cases.structure(tf, built)
    target = cases.target_data(case, built.output.get_shape().as_list())
    with tf.Session(graph=graph, config=cases.session_config(tf)) as session:
      session.run(tf.global_variables_initializer())
      arrays = cases.initial_values(tf, session)
      arrays.update(cases.train(tf, session, built, data, target))
      # Pooling, dropout and flatten have no variables, hence no checkpoint.
      has_variables = bool(tf.global_variables())
      if has_variables:
        tf.train.Saver().save(session, checkpoint_prefix,
                              write_meta_graph=False, write_state=False)
  graph = tf.Graph()
  with graph.as_default():
    built = cases.build(tf, api, case, training_kind='false')
    with tf.Session(graph=graph, config=cases.session_config(tf)) as session:
      if has_variables:
        tf.train.Saver().restore(session, checkpoint_prefix)
      arrays['inference/output'] = cases.infer(session, built, data)
  arrays['input'] = data
  arrays['target'] = target
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
                      'results; nothing is written otherwise')
  args = parser.parse_args(argv)
  import tensorflow as tf_root  # pylint: disable=g-import-not-at-top
  if tf_root.__version__ != REFERENCE_VERSION:
    parser.error('goldens come from TensorFlow %s; this is %s' %
                 (REFERENCE_VERSION, tf_root.__version__))
  tf_root.compat.v1.logging.set_verbosity(tf_root.compat.v1.logging.ERROR)
  selected = cases.CASES
  if args.filter:
    selected = [c for c in selected if re.search(args.filter, c['id'])]
  if not selected:
    parser.error('no case matches --filter %r' % args.filter)
  # Staged inside --out, so that moving into place is an atomic rename.
  os.makedirs(os.path.join(args.out, 'checkpoints'), exist_ok=True)
  staging = tempfile.mkdtemp(prefix='.staging_', dir=args.out)
  try:
    problems = []
    for case in selected:
      prefix = os.path.join(staging, 'checkpoints', case['id'])
      record, arrays = record_case(tf_root, case, prefix)
      if args.check_determinism:
        again_record, again = record_case(
            tf_root, case, os.path.join(staging, 'again', case['id']))
        same = again_record == record and (
            (arrays is None and again is None) or
            (arrays is not None and again is not None and
             compare.arrays_identical(arrays, again)))
        if not same:
          problems.append('%s: two recordings differ' % case['id'])
      if arrays is not None:
        np.savez_compressed(os.path.join(staging, case['id'] + '.npz'),
                            **arrays)
      _write_json(os.path.join(staging, case['id'] + '.json'), record)
      print('%s recorded%s' % (case['id'], ' (error)' if arrays is None
                               else ''))
    if problems:
      print('\n'.join(problems), file=sys.stderr)
      return 1
    for case in selected:
      names = [case['id'] + '.json', case['id'] + '.npz'] + [
          os.path.join('checkpoints', case['id'] + s)
          for s in _CHECKPOINT_SUFFIXES]
      for name in names:
        target = os.path.join(args.out, name)
        if os.path.exists(os.path.join(staging, name)):
          os.replace(os.path.join(staging, name), target)
        elif os.path.exists(target):
          os.remove(target)  # the case raises now; nothing stale stays
  finally:
    shutil.rmtree(staging, ignore_errors=True)
  print('%d case(s) recorded into %s' % (len(selected), args.out))
  return 0


if __name__ == '__main__':
  sys.exit(main())
