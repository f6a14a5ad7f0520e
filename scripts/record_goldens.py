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

import os
import re
import runpy
import sys

from absl import app
from absl import flags

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# This tree's contrib_bn, for its TF-free modules (the rest needs TF 2).
runpy.run_path(os.path.join(_ROOT, 'contrib_bn', 'conformance',
                            'tf1_import.py'))['register']()

from contrib_bn import constants  # pylint: disable=g-import-not-at-top,wrong-import-position
from contrib_bn.conformance import cases as cases_module  # pylint: disable=g-import-not-at-top,wrong-import-position
from contrib_bn.conformance import corpus  # pylint: disable=g-import-not-at-top,wrong-import-position
from contrib_bn.conformance import harness  # pylint: disable=g-import-not-at-top,wrong-import-position
from contrib_bn.conformance import matching  # pylint: disable=g-import-not-at-top,wrong-import-position

DEFAULT_OUT = corpus.directory('tf' + constants.TF1_VERSION)

FLAGS = flags.FLAGS
flags.DEFINE_string('out', DEFAULT_OUT, 'Directory the corpus is written to.')
flags.DEFINE_string('filter', None, 'Only record case ids matching this regex.')
flags.DEFINE_boolean('check_determinism', False,
                     'Record every case twice and require bit-identical '
                     'arrays; nothing is written if any case differs.')


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


def main(argv):
  del argv
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if tf.__version__ != constants.TF1_VERSION:
    sys.exit('The corpus is recorded with TensorFlow %s; this is %s.' %
             (constants.TF1_VERSION, tf.__version__))
  tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
  cases = cases_module.all_cases()
  if FLAGS.filter:
    pattern = re.compile(FLAGS.filter)
    cases = [c for c in cases if pattern.search(c['id'])]
  if not cases:
    sys.exit('No case matches --filter %r.' % FLAGS.filter)
  with corpus.Staging(FLAGS.out) as staging:
    problems = []
    for case in cases:
      record, arrays = record_case(
          tf, case, staging.path('checkpoints', case['id']))
      outcome = 'error' if 'error' in record else 'ok'
      if outcome != case['expect']:
        problems.append('%s: expected %s, TF %s gave %s %s' % (
            case['id'], case['expect'], tf.__version__, outcome,
            record.get('error', '')))
      if FLAGS.check_determinism and outcome == 'ok':
        _, again = record_case(tf, case, None)
        if not matching.arrays_identical(arrays, again):
          problems.append('%s: two recordings differ' % case['id'])
      # Insertion order is kept: error messages that print dicts depend on it.
      corpus.write_json(staging.path(case['id'] + '.json'), record,
                        sort_keys=False)
      corpus.write_arrays(staging.path(case['id'] + '.npz'), arrays)
      print('%-48s %s%s' % (case['id'], outcome,
                            ' (derived)' if record['derived'] else ''))
      sys.stdout.flush()
    if problems:
      print('\n'.join(problems))
      sys.exit('%d problem(s); nothing written.' % len(problems))
    for case in cases:
      staging.commit(corpus.case_files(case['id']))
  corpus.update_manifest(
      FLAGS.out, [c['id'] for c in cases_module.all_cases()],
      [c['id'] for c in cases],
      {'reference': 'tf.contrib.layers.batch_norm',
       'tensorflow_version': tf.__version__})
  print('%d case(s) recorded into %s' % (len(cases), FLAGS.out))


if __name__ == '__main__':
  app.run(main)
