"""Records the golden corpus from the real `tf.contrib.layers.batch_norm`.

Run with Python 3.7 and TensorFlow 1.15.5 (see docs/development.md, "Recording goldens"):

  python scripts/record_goldens.py [--out DIR] [--filter REGEX] [--check_determinism]

For every case of `contrib_bn/conformance/cases.py` it writes `<id>.json` (the case,
the graph structure, or the error TF 1.15 raised) and `<id>.npz` (outputs,
gradients, variables after training, inference outputs, regularization
losses), plus a TF1 checkpoint under `checkpoints/`. Cases whose fused kernel
needs NCHW, which TF 1.15 cannot run on CPU, are recorded from the NHWC
equivalent with transposed inputs and outputs and marked `derived`.
"""

import json
import os
import re
import shutil
import sys
import tempfile

from absl import app
from absl import flags
import numpy as np

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PACKAGE = os.path.join(_ROOT, 'contrib_bn')
DEFAULT_OUT = os.path.join(_PACKAGE, 'goldens', 'tf1.15.5')
REFERENCE_VERSION = '1.15.5'

FLAGS = flags.FLAGS
flags.DEFINE_string('out', DEFAULT_OUT, 'Directory the corpus is written to.')
flags.DEFINE_string('filter', None, 'Only record case ids matching this regex.')
flags.DEFINE_boolean('check_determinism', False,
                     'Record every case twice and require bit-identical '
                     'arrays; nothing is written if any case differs.')


sys.path.insert(0, _ROOT)  # the tree's contrib_bn; its root imports nothing

# Only the TF-free conformance modules: the rest of contrib_bn needs TF 2.
from contrib_bn.conformance import cases as cases_module  # pylint: disable=g-import-not-at-top,wrong-import-position
from contrib_bn.conformance import matching  # pylint: disable=g-import-not-at-top,wrong-import-position
from contrib_bn.conformance import harness  # pylint: disable=g-import-not-at-top,wrong-import-position


def _is_nhwc_only_failure(error):
  return 'NHWC' in str(error)


def record_case(tf, case, checkpoint_prefix):
  """Returns (record, arrays) for one case under the running TF."""
  batch_norm = tf.contrib.layers.batch_norm
  record = {'id': case['id'], 'case': case, 'derived': False}
  data, target = harness.case_data(case)
  arrays = {'input': data, 'target': target}
  try:
    built = harness.build(tf, batch_norm, case)
  except Exception as e:  # pylint: disable=broad-except
    record['error'] = {'type': type(e).__name__,
                       'message': harness.tf1_error_message(e),
                       'stage': 'build'}
    return record, arrays
  try:
    results = harness.run(tf, built, data, target, checkpoint_prefix)
  except tf.errors.OpError as e:
    if not _is_nhwc_only_failure(e):
      record['error'] = {'type': type(e).__name__, 'message': e.message,
                         'stage': 'run'}
      return record, arrays
    built = harness.build(tf, batch_norm, case, derive_nhwc=True)
    results = harness.run(tf, built, data, target, checkpoint_prefix)
    record['derived'] = True
    record['derived_reason'] = (
        'TF 1.15 has no NCHW fused batch-norm kernel on CPU; recorded from '
        'the NHWC equivalent with transposed inputs and outputs.')
  record['structure'] = harness.structure(tf, built, case)
  arrays.update(results)
  return record, arrays


def _write(out, record, arrays):
  with open(os.path.join(out, record['id'] + '.json'), 'w') as f:
    # Insertion order is kept: error messages that print dicts depend on it.
    json.dump(record, f, indent=1)
    f.write('\n')
  np.savez_compressed(os.path.join(out, record['id'] + '.npz'), **arrays)


def _update_index(out, ids, tf_version):
  path = os.path.join(out, 'manifest.json')
  index = {'reference': 'tf.contrib.layers.batch_norm', 'cases': []}
  if os.path.exists(path):
    with open(path) as f:
      index = json.load(f)
  all_ids = [c['id'] for c in cases_module.all_cases()]
  known = set(index.get('cases', [])) | set(ids)
  index['cases'] = [i for i in all_ids if i in known]
  index['tensorflow_version'] = tf_version
  with open(path, 'w') as f:
    json.dump(index, f, indent=1, sort_keys=True)
    f.write('\n')


def main(argv):
  del argv
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if tf.__version__ != REFERENCE_VERSION:
    sys.exit('The corpus is recorded with TensorFlow %s; this is %s.' %
             (REFERENCE_VERSION, tf.__version__))
  tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
  cases = cases_module.all_cases()
  if FLAGS.filter:
    pattern = re.compile(FLAGS.filter)
    cases = [c for c in cases if pattern.search(c['id'])]
  if not cases:
    sys.exit('No case matches --filter %r.' % FLAGS.filter)
  checkpoints = os.path.join(FLAGS.out, 'checkpoints')
  os.makedirs(checkpoints, exist_ok=True)
  staging = tempfile.mkdtemp(prefix='goldens_')
  problems = []
  recorded = []
  for case in cases:
    prefix = os.path.join(staging, case['id'])
    record, arrays = record_case(tf, case, prefix)
    outcome = 'error' if 'error' in record else 'ok'
    if outcome != case['expect']:
      problems.append('%s: expected %s, TF %s gave %s %s' % (
          case['id'], case['expect'], tf.__version__, outcome,
          record.get('error', '')))
    if FLAGS.check_determinism and outcome == 'ok':
      _, again = record_case(tf, case, None)
      if not matching.arrays_identical(arrays, again):
        problems.append('%s: two recordings differ' % case['id'])
    recorded.append((record, arrays))
    print('%-48s %s%s' % (case['id'], outcome,
                          ' (derived)' if record['derived'] else ''))
    sys.stdout.flush()
  if problems:
    print('\n'.join(problems))
    sys.exit('%d problem(s); nothing written.' % len(problems))
  for record, arrays in recorded:
    for suffix in ('.index', '.data-00000-of-00001'):
      staged = os.path.join(staging, record['id'] + suffix)
      final = os.path.join(checkpoints, record['id'] + suffix)
      if os.path.exists(final):
        os.remove(final)
      if os.path.exists(staged):
        shutil.move(staged, final)
    _write(FLAGS.out, record, arrays)
  shutil.rmtree(staging)
  _update_index(FLAGS.out, [r['id'] for r, _ in recorded], tf.__version__)
  print('%d case(s) recorded into %s' % (len(recorded), FLAGS.out))


if __name__ == '__main__':
  app.run(main)
