"""Records the migration golden: examples/legacy_net.py trained on TF 1.15.5.

Run with Python 3.7 and TensorFlow 1.15.5:

  python scripts/record_migration.py [--out DIR]

The procedure, and the files it writes to DIR (default
contrib_bn/goldens/migration/tf1.15.5), are those of
`contrib_bn/conformance/migration.py`. Everything is recorded twice
in-process and must be bit-identical (arrays and checkpoint files) before
anything is written.
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
from contrib_bn.conformance import corpus  # pylint: disable=g-import-not-at-top,wrong-import-position
from contrib_bn.conformance import migration  # pylint: disable=g-import-not-at-top,wrong-import-position

FLAGS = flags.FLAGS
flags.DEFINE_string('out', migration.DEFAULT_DIR,
                    'Directory the golden is written to.')


def main(argv):
  del argv
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if tf.__version__ != constants.TF1_VERSION:
    sys.exit('The migration golden is recorded with TensorFlow %s; this is %s.'
             % (constants.TF1_VERSION, tf.__version__))
  tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
  example = migration.load_example()
  with corpus.Staging(FLAGS.out) as staging:
    runs = []
    # The first run is staged where it is committed from, the second beside.
    for directory in (staging.directory,
                      os.path.dirname(staging.path('again', 'arrays'))):
      arrays, info = migration.run(example, save_to=directory)
      runs.append((directory, arrays, info))
    problems = migration.differences(runs[0], runs[1])
    if problems:
      sys.exit('Two recordings differ in %s; nothing written.' %
               ', '.join(problems))
    directory, arrays, info = runs[0]
    record = {
        'example': 'examples/legacy_net.py',
        'reference': 'tf.contrib.layers.batch_norm',
        'tensorflow_version': tf.__version__,
        'first_steps': migration.FIRST_STEPS,
        'more_steps': migration.MORE_STEPS,
        'checkpoint_steps': list(migration.CHECKPOINT_STEPS),
        'checkpoints': [
            os.path.basename(migration.checkpoint_prefix(directory, s))
            for s in migration.CHECKPOINT_STEPS],
        'eval_steps': list(migration.EVAL_STEPS),
        'data_seed': example.DATA_SEED,
        'graph_seed': example.GRAPH_SEED,
        'variables': info['variables'],
    }
    corpus.write_arrays(os.path.join(directory, migration.NPZ_NAME), arrays)
    corpus.write_json(os.path.join(directory, migration.JSON_NAME), record)
    staging.commit(migration.checkpoint_files(directory) +
                   [migration.NPZ_NAME, migration.JSON_NAME])
  print('Recorded %d steps, %d variables into %s' %
        (migration.TOTAL_STEPS, len(info['variables']), FLAGS.out))


if __name__ == '__main__':
  app.run(main)
