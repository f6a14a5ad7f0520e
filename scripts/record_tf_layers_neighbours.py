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

import os
import runpy
import sys
import types

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(_ROOT, 'contrib_bn', 'goldens',
                           'tf_layers_neighbours')

# This tree's contrib_bn, for its TF-free modules (the rest needs TF 2).
runpy.run_path(os.path.join(_ROOT, 'contrib_bn', 'conformance',
                            'tf1_import.py'))['register']()
from contrib_bn.conformance import tf_layers_neighbours as cases  # pylint: disable=g-import-not-at-top,wrong-import-position
from contrib_bn.conformance import recording  # pylint: disable=g-import-not-at-top,wrong-import-position


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
  arrays['inference/output'] = recording.infer_restored(
      tf, cases, api, case, data, checkpoint_prefix if has_variables else None)
  arrays['input'] = data
  arrays['target'] = target
  return record, arrays


def main(argv=None):
  parser, args = recording.parse_flags(__doc__, DEFAULT_OUT, argv)
  import tensorflow as tf_root  # pylint: disable=g-import-not-at-top
  return recording.run(parser, args, tf_root, cases.CASES, record_case)


if __name__ == '__main__':
  sys.exit(main())
