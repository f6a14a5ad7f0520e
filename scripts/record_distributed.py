"""Records the distributed golden corpus from TF 1.15.5's contrib batch_norm.

Run with Python 3.7 and TensorFlow 1.15.5:

  python scripts/record_distributed.py [--out DIR] [--filter REGEX] [--check_determinism]

Every case of `contrib_bn/conformance/distributed.py` is built under
`tf.distribute.MirroredStrategy` on two virtual CPU devices, each replica
normalizing its own batch. Writes `<id>.json` (case and structure) and
`<id>.npz` (per-replica outputs and gradients, every copy of every variable,
checkpoint contents, single-device inference from the checkpoint), the TF1
checkpoint under `checkpoints/`, and `manifest.json`; without `--filter`, also
`placement.json`: where `tf.compat.v1.train.replica_device_setter` puts each
variable and the ops writing it. Files are written into
a staging directory and moved into place only when every case recorded.
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
from contrib_bn.conformance import corpus  # pylint: disable=g-import-not-at-top,wrong-import-position
from contrib_bn.conformance import distributed  # pylint: disable=g-import-not-at-top,wrong-import-position
from contrib_bn.conformance import matching  # pylint: disable=g-import-not-at-top,wrong-import-position

DEFAULT_OUT = corpus.directory('distributed')

FLAGS = flags.FLAGS
flags.DEFINE_string('out', DEFAULT_OUT, 'Directory the corpus is written to.')
flags.DEFINE_string('filter', None, 'Only record case ids matching this regex.')
flags.DEFINE_boolean('check_determinism', False,
                     'Record every case twice and require bit-identical '
                     'arrays; nothing is written if any case differs.')


def record_case(tf, case, checkpoint_prefix):
  """Returns (record, arrays) for one case under TF 1.15.

  A case TF 1.15 cannot build or run is recorded as an error, with the stage
  it failed at; the verifier then expects a clear build-time error.
  """
  batch_norm = tf.contrib.layers.batch_norm
  data, target, weights = distributed.case_data(case)
  arrays = {'input': data, 'target': target, 'weights': weights}
  record = {'id': case['id'], 'case': case, 'devices': distributed.DEVICES}
  graph = tf.Graph()
  with graph.as_default():
    tf.compat.v1.set_random_seed(0)
    strategy = tf.distribute.MirroredStrategy(devices=distributed.DEVICES)
    try:
      built = distributed.build(tf, batch_norm, case, strategy)
    except Exception as e:  # pylint: disable=broad-except
      record['error'] = {'type': type(e).__name__, 'message': str(e),
                         'stage': 'build'}
      return record, arrays
    record['structure'] = distributed.structure(tf, built)
    config = tf.compat.v1.ConfigProto(device_count={'CPU': 2})
    with tf.compat.v1.Session(graph=graph, config=config) as sess:
      try:
        sess.run(tf.compat.v1.global_variables_initializer())
        arrays.update(distributed.run(tf, sess, built, data, target, weights,
                                      checkpoint_prefix))
      except Exception as e:  # pylint: disable=broad-except
        # Merge calls inside a `cond` leak its control-flow context into
        # the rest of the graph under TF 1.15; nothing built after runs.
        del record['structure']
        record['error'] = {'type': type(e).__name__,
                           'message': str(e).split('\n')[0],
                           'stage': 'run'}
        return record, arrays
  arrays.update(distributed.checkpoint_arrays(tf, checkpoint_prefix))
  arrays['inference/global'] = distributed.single_device_inference(
      tf, batch_norm, case, checkpoint_prefix, data, weights)
  return record, arrays


def main(argv):
  del argv
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if tf.__version__ != constants.TF1_VERSION:
    sys.exit('The corpus is recorded with TensorFlow %s; this is %s.' %
             (constants.TF1_VERSION, tf.__version__))
  tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
  cases = distributed.CASES
  if FLAGS.filter:
    pattern = re.compile(FLAGS.filter)
    cases = [c for c in cases if pattern.search(c['id'])]
  if not cases:
    sys.exit('No case matches --filter %r.' % FLAGS.filter)
  with corpus.Staging(FLAGS.out) as staging:
    problems = []
    for number, case in enumerate(cases, 1):
      record, arrays = record_case(
          tf, case, staging.path('checkpoints', case['id']))
      if FLAGS.check_determinism and 'error' not in record:
        _, again = record_case(tf, case, staging.path('again', case['id']))
        if not matching.arrays_identical(arrays, again):
          problems.append('%s: two recordings differ' % case['id'])
      corpus.write_arrays(staging.path(case['id'] + '.npz'), arrays)
      corpus.write_json(staging.path(case['id'] + '.json'), record)
      print('[%d/%d] %s recorded%s' % (
          number, len(cases), case['id'],
          ' (TF 1.15 error: %s)' % record['error']['type']
          if 'error' in record else ''))
      sys.stdout.flush()
    if problems:
      print('\n'.join(problems))
      sys.exit('%d problem(s); nothing written.' % len(problems))
    for case in cases:
      staging.commit(corpus.case_files(case['id']))
  if not FLAGS.filter:
    corpus.write_json(os.path.join(FLAGS.out, 'placement.json'), {
        case['id']: {'case': case, 'placement': distributed.placement(
            tf, tf.contrib.layers.batch_norm, case)}
        for case in distributed.PLACEMENT_CASES})
    print('placement under replica_device_setter recorded')
  corpus.update_manifest(
      FLAGS.out, distributed.case_ids(), [c['id'] for c in cases],
      {'reference': 'tf.contrib.layers.batch_norm under MirroredStrategy',
       'tensorflow_version': tf.__version__,
       'replicas': distributed.REPLICAS})
  print('%d case(s) recorded into %s' % (len(cases), FLAGS.out))


if __name__ == '__main__':
  app.run(main)
