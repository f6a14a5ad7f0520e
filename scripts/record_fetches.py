"""Records what each fetch does to the moving statistics under TF 1.15.5.

Run with Python 3.7 and TensorFlow 1.15.5:

  python scripts/record_fetches.py [--out DIR] [--check_determinism]

For every configuration of `contrib_bn/conformance/fetches.py` it runs each
fetch (output, loss, input gradient, parameter gradients, train op, train op
with loss) once from the initial values and writes the non-trainable
variables afterwards to `fetches.json`.
"""

import os
import runpy
import sys

from absl import app
from absl import flags

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# This tree's contrib_bn, for its TF-free modules (the rest needs TF 2).
runpy.run_path(os.path.join(_ROOT, 'contrib_bn', 'conformance',
                            'tf1_import.py'))['register']()
from contrib_bn import constants  # pylint: disable=g-import-not-at-top,wrong-import-position
from contrib_bn.conformance import fetches  # pylint: disable=g-import-not-at-top,wrong-import-position
from contrib_bn.conformance import harness  # pylint: disable=g-import-not-at-top,wrong-import-position

FLAGS = flags.FLAGS
flags.DEFINE_string('out', fetches.DEFAULT_DIR,
                    'Directory fetches.json is written to.')
flags.DEFINE_boolean('check_determinism', False,
                     'Record twice and require identical values; nothing is '
                     'written if they differ.')


def _record(tf):
  records = []
  for config in fetches.configs():
    record = fetches.record_config(tf, tf.contrib.layers.batch_norm, config,
                                   harness.session_config(tf))
    records.append(record)
    print('%-32s %s' % (config['id'], ' '.join(
        '%s:%s' % (f, 'moved' if fetches.moved(record, f) else '-')
        for f in fetches.FETCHES)))
    sys.stdout.flush()
  return records


def main(argv):
  del argv
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if tf.__version__ != constants.TF1_VERSION:
    sys.exit('Fetch patterns are recorded with TensorFlow %s; this is %s.' %
             (constants.TF1_VERSION, tf.__version__))
  tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
  records = _record(tf)
  if FLAGS.check_determinism and _record(tf) != records:
    sys.exit('two recordings differ; nothing written.')
  fetches.dump({'tensorflow_version': tf.__version__,
                'reference': 'tf.contrib.layers.batch_norm',
                'loss': 'reduce_sum(output * target)',
                'records': records}, FLAGS.out)
  print('%d configuration(s) x %d fetches recorded into %s' % (
      len(records), len(fetches.FETCHES), FLAGS.out))


if __name__ == '__main__':
  app.run(main)
