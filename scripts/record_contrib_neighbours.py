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

import os
import runpy
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(_ROOT, 'contrib_bn', 'goldens',
                           'contrib_neighbours')

# This tree's contrib_bn, for its TF-free modules (the rest needs TF 2).
runpy.run_path(os.path.join(_ROOT, 'contrib_bn', 'conformance',
                            'tf1_import.py'))['register']()
from contrib_bn.conformance import neighbours  # pylint: disable=g-import-not-at-top,wrong-import-position
from contrib_bn.conformance import recording  # pylint: disable=g-import-not-at-top,wrong-import-position


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


def main(argv=None):
  parser, args = recording.parse_flags(__doc__, DEFAULT_OUT, argv,
                                       compared='arrays')
  import tensorflow as tf_root  # pylint: disable=g-import-not-at-top
  return recording.run(parser, args, tf_root, neighbours.CASES, record_case)


if __name__ == '__main__':
  sys.exit(main())
