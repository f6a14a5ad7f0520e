"""Records batch-norm checkpoints as each TF 1.x release laid them out.

Run with the Python and TensorFlow 1.x release to record (any release from
1.5 to 1.15; Python 3.6 or 3.7):

  python scripts/record_era_checkpoints.py [--out DIR] [--filter REGEX]

For every case below it builds a small graph with the real
`tf.contrib.layers.batch_norm` or `tf.layers.batch_normalization`, trains it
for a few steps, saves a checkpoint and records the inference outputs, so that
`contrib_bn.checkpoint` can be tested against the variable layouts that older
releases really wrote. Outputs go to `contrib_bn/goldens/eras/tf<version>/`:
`<case>.json` (the case, the release and the checkpoint's variable list),
`<case>.npz` (`input`, `target`, `train/output`: the training-mode output of
the last step, fetched before its update; `inference/output`: the inference
output after training; `var/<name>`: every variable after training) and
`checkpoints/<case>.{index,data-00000-of-00001}`.

Only the TF1 API that every 1.x release shares is used (no `tf.compat.v1`,
which appeared in 1.13), and no f-strings beyond Python 3.6's; the files are
written through contrib_bn/conformance/corpus.py, which keeps to both.
"""

import argparse
import os
import platform
import re
import runpy
import sys
import zlib

import numpy as np

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# This tree's contrib_bn, for its TF-free modules (the rest needs TF 2).
runpy.run_path(os.path.join(_ROOT, 'contrib_bn', 'conformance',
                            'tf1_import.py'))['register']()

from contrib_bn.conformance import corpus  # pylint: disable=g-import-not-at-top,wrong-import-position

DEFAULT_OUT = corpus.directory('eras')

STEPS = 5
LEARNING_RATE = 0.1
SHAPE_R4 = [4, 3, 3, 5]

# Each case is JSON: the test suite rebuilds the same layer with
# `contrib_bn.batch_norm` from `contrib_bn_kwargs` (and, for the
# `tf.layers` case, maps its scopes with `scope_map`).
CASES = [
    {
        'id': 'default_r4_nhwc',
        'api': 'contrib',
        'shape': SHAPE_R4,
        'kwargs': {},
    },
    {
        # Decay 0.9 so that five steps move the moving statistics visibly.
        'id': 'renorm_r4_nhwc',
        'api': 'contrib',
        'shape': SHAPE_R4,
        'kwargs': {'renorm': True, 'decay': 0.9, 'renorm_decay': 0.9},
    },
    {
        # A non-default epsilon: restoring derives `moving_stddev` with it.
        'id': 'renorm_scale_r4_nhwc',
        'api': 'contrib',
        'shape': SHAPE_R4,
        'kwargs': {'renorm': True, 'scale': True, 'decay': 0.9,
                   'renorm_decay': 0.8, 'epsilon': 0.01,
                   'renorm_clipping': {'rmax': 3.0, 'rmin': 0.3,
                                       'dmax': 2.0}},
    },
    {
        'id': 'zero_debias_r4_nhwc',
        'api': 'contrib',
        'shape': SHAPE_R4,
        'kwargs': {'zero_debias_moving_mean': True, 'decay': 0.9},
    },
    {
        # Two `tf.layers.batch_normalization` layers with a ReLU between:
        # scopes `batch_normalization` and `batch_normalization_1`.
        'id': 'layers_two_r4_nhwc',
        'api': 'layers',
        'shape': SHAPE_R4,
        'layers': 2,
        'kwargs': {'momentum': 0.9},
        'contrib_bn_kwargs': {'scale': True, 'decay': 0.9},
        'scope_map': {'batch_normalization': 'BatchNorm',
                      'batch_normalization_1': 'BatchNorm_1'},
    },
]


def case_data(case):
  """Deterministic input and target of a case, the same on every release."""
  rng = np.random.RandomState(zlib.crc32(case['id'].encode('utf-8')))
  shape = case['shape']
  offsets = rng.uniform(-1.0, 1.0, size=[1] * (len(shape) - 1) + [shape[-1]])
  data = rng.normal(0.3, 1.5, size=shape) + offsets
  target = rng.normal(0.0, 1.0, size=shape)
  return data.astype('float32'), target.astype('float32')


def _contrib_layers(tf, x, case):
  """Training and inference outputs of one contrib batch-norm layer."""
  kwargs = dict(case['kwargs'])
  train = tf.contrib.layers.batch_norm(x, is_training=True, **kwargs)
  # The default scope of the first call is `BatchNorm`; the inference call
  # shares its variables through that name.
  infer = tf.contrib.layers.batch_norm(x, is_training=False, reuse=True,
                                       scope='BatchNorm', **kwargs)
  return train, infer


def _core_layers(tf, x, case):
  """Training and inference outputs of a stack of `tf.layers` batch norms."""
  kwargs = dict(case['kwargs'])
  train = x
  names = []
  for index in range(case['layers']):
    if index:
      train = tf.nn.relu(train)
    before = set(v.op.name for v in tf.global_variables())
    train = tf.layers.batch_normalization(train, training=True, **kwargs)
    # The variable scope the release chose: output op names do not follow
    # it on every release (1.5 names its ops in a separate name scope).
    created = [v.op.name for v in tf.global_variables()
               if v.op.name not in before]
    names.append([n for n in created
                  if n.endswith('/moving_mean')][0][:-len('/moving_mean')])
  infer = x
  for index, name in enumerate(names):
    if index:
      infer = tf.nn.relu(infer)
    infer = tf.layers.batch_normalization(infer, training=False, name=name,
                                          reuse=True, **kwargs)
  return train, infer


def record_case(tf, case, checkpoint_prefix):
  """Builds, trains and saves one case; returns (record, arrays)."""
  data, target = case_data(case)
  graph = tf.Graph()
  with graph.as_default():
    x = tf.placeholder(tf.float32, case['shape'], name='x')
    y = tf.placeholder(tf.float32, case['shape'], name='target')
    if case['api'] == 'contrib':
      train, infer = _contrib_layers(tf, x, case)
    else:
      train, infer = _core_layers(tf, x, case)
    loss = tf.reduce_sum(train * y) + 0.25 * tf.reduce_sum(tf.square(train))
    optimizer = tf.train.GradientDescentOptimizer(LEARNING_RATE)
    train_op = tf.group(optimizer.minimize(loss),
                        *tf.get_collection(tf.GraphKeys.UPDATE_OPS))
    variables = tf.global_variables()
    saver = tf.train.Saver(variables)
    init = tf.global_variables_initializer()
  config = tf.ConfigProto(intra_op_parallelism_threads=1,
                          inter_op_parallelism_threads=1)
  arrays = {'input': data, 'target': target}
  feed = {x: data, y: target}
  with tf.Session(graph=graph, config=config) as sess:
    sess.run(init)
    for _ in range(STEPS):
      # Outputs and the train op run separately: with TF1 reference variables
      # a combined fetch races the in-place updates.
      arrays['train/output'] = sess.run(train, feed)
      sess.run(train_op, feed)
    saver.save(sess, checkpoint_prefix, write_meta_graph=False,
               write_state=False)
    arrays['inference/output'] = sess.run(infer, feed)
    for var, value in zip(variables, sess.run(variables)):
      arrays['var/' + var.op.name] = np.asarray(value)
  reader = tf.train.NewCheckpointReader(checkpoint_prefix)
  shapes = reader.get_variable_to_shape_map()
  # Releases before 1.3 have no dtype map; the stored tensor tells as well.
  dtypes = {name: np.asarray(reader.get_tensor(name)).dtype
            for name in shapes}
  record = {
      'id': case['id'],
      'case': case,
      'tensorflow_version': tf.__version__,
      'python_version': platform.python_version(),
      'steps': STEPS,
      'learning_rate': LEARNING_RATE,
      'checkpoint_variables': [
          [name, list(shapes[name]), str(dtypes[name])]
          for name in sorted(shapes)],
  }
  return record, arrays


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--out', default=DEFAULT_OUT,
                      help='parent directory; tf<version>/ is created in it')
  parser.add_argument('--filter', default=None,
                      help='only record case ids matching this regex')
  args = parser.parse_args(argv)
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if not tf.__version__.startswith('1.'):
    sys.exit('Run this under a TensorFlow 1.x release, not %s.' %
             tf.__version__)
  tf.logging.set_verbosity(tf.logging.ERROR)
  cases = CASES
  if args.filter:
    cases = [c for c in cases if re.search(args.filter, c['id'])]
  if not cases:
    sys.exit('No case matches --filter %r.' % args.filter)
  out = os.path.join(args.out, 'tf' + tf.__version__)
  with corpus.Staging(out) as staging:
    for case in cases:
      record, arrays = record_case(
          tf, case, staging.path('checkpoints', case['id']))
      corpus.write_json(staging.path(case['id'] + '.json'), record)
      corpus.write_arrays(staging.path(case['id'] + '.npz'), arrays)
      print('%-24s %s' % (case['id'], ' '.join(
          name for name, _, _ in record['checkpoint_variables'])))
    for case in cases:
      staging.commit(corpus.case_files(case['id']))
  print('%d case(s) recorded into %s' % (len(cases), out))


if __name__ == '__main__':
  main()
