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
DEFAULT_OUT = os.path.join(_PACKAGE, 'goldens', 'distributed')
REFERENCE_VERSION = '1.15.5'

FLAGS = flags.FLAGS
flags.DEFINE_string('out', DEFAULT_OUT, 'Directory the corpus is written to.')
flags.DEFINE_string('filter', None, 'Only record case ids matching this regex.')
flags.DEFINE_boolean('check_determinism', False,
                     'Record every case twice and require bit-identical '
                     'arrays; nothing is written if any case differs.')


sys.path.insert(0, _ROOT)  # the tree's contrib_bn; its root imports nothing

# Only the TF-free conformance modules: the rest of contrib_bn needs TF 2.
from contrib_bn.conformance import matching  # pylint: disable=g-import-not-at-top,wrong-import-position
from contrib_bn.conformance import distributed  # pylint: disable=g-import-not-at-top,wrong-import-position


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


def _write_json(path, value):
  staged = path + '.tmp'
  with open(staged, 'w') as f:
    json.dump(value, f, indent=1, sort_keys=True)
    f.write('\n')
  os.replace(staged, path)


def main(argv):
  del argv
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if tf.__version__ != REFERENCE_VERSION:
    sys.exit('The corpus is recorded with TensorFlow %s; this is %s.' %
             (REFERENCE_VERSION, tf.__version__))
  tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
  cases = distributed.CASES
  if FLAGS.filter:
    pattern = re.compile(FLAGS.filter)
    cases = [c for c in cases if pattern.search(c['id'])]
  if not cases:
    sys.exit('No case matches --filter %r.' % FLAGS.filter)
  staging = tempfile.mkdtemp(prefix='dist_goldens_')
  problems = []
  recorded = []
  for number, case in enumerate(cases, 1):
    record, arrays = record_case(
        tf, case, os.path.join(staging, 'checkpoints', case['id']))
    if FLAGS.check_determinism and 'error' not in record:
      _, again = record_case(tf, case, os.path.join(staging, 'again'))
      if not matching.arrays_identical(arrays, again):
        problems.append('%s: two recordings differ' % case['id'])
    np.savez_compressed(os.path.join(staging, case['id'] + '.npz'), **arrays)
    _write_json(os.path.join(staging, case['id'] + '.json'), record)
    recorded.append(case['id'])
    print('[%d/%d] %s recorded%s' % (
        number, len(cases), case['id'],
        ' (TF 1.15 error: %s)' % record['error']['type']
        if 'error' in record else ''))
    sys.stdout.flush()
  if problems:
    print('\n'.join(problems))
    shutil.rmtree(staging)
    sys.exit('%d problem(s); nothing written.' % len(problems))
  checkpoints = os.path.join(FLAGS.out, 'checkpoints')
  os.makedirs(checkpoints, exist_ok=True)
  for case_id in recorded:
    for suffix in ('.json', '.npz'):
      os.replace(os.path.join(staging, case_id + suffix),
                 os.path.join(FLAGS.out, case_id + suffix))
    for suffix in ('.index', '.data-00000-of-00001'):
      if not os.path.exists(os.path.join(staging, 'checkpoints',
                                         case_id + suffix)):
        continue
      shutil.move(os.path.join(staging, 'checkpoints', case_id + suffix),
                  os.path.join(checkpoints, case_id + suffix))
  shutil.rmtree(staging)
  if not FLAGS.filter:
    _write_json(os.path.join(FLAGS.out, 'placement.json'), {
        case['id']: {'case': case, 'placement': distributed.placement(
            tf, tf.contrib.layers.batch_norm, case)}
        for case in distributed.PLACEMENT_CASES})
    print('placement under replica_device_setter recorded')
  manifest = os.path.join(FLAGS.out, 'manifest.json')
  known = set(recorded)
  if os.path.exists(manifest):
    with open(manifest) as f:
      known |= set(json.load(f)['cases'])
  _write_json(manifest, {
      'reference': 'tf.contrib.layers.batch_norm under MirroredStrategy',
      'tensorflow_version': tf.__version__,
      'replicas': distributed.REPLICAS,
      'cases': [i for i in distributed.case_ids() if i in known]})
  print('%d case(s) recorded into %s' % (len(recorded), FLAGS.out))


if __name__ == '__main__':
  app.run(main)
