"""The model files the export tests export, and the reference they meet.

Each case of CASES is a build function of examples/legacy_net.py or
tests/export_models.py, trained a few steps in training mode
(`train_and_save`; legacy_net uses TF 1.15.5's own checkpoint). The
reference is built independently of the export: the model with its
`is_training` placeholder, restored by a plain Saver and run with
`is_training` fed False, the way the legacy code evaluated it
(`reference`).
"""

import os

import numpy as np
import tensorflow as tf

from contrib_bn.tools import model_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, 'tests', 'export_models.py')
LEGACY_NET = os.path.join(ROOT, 'examples', 'legacy_net.py')
TRAIN_STEPS = 4
# examples/legacy_net.py trained 5 steps by TF 1.15.5 itself
# (scripts/record_migration.py), with the evaluation logits TF 1.15.5 computed
# from that state (is_training=False) on the data set's 16 images.
TF115_GOLDEN = os.path.join(ROOT, 'contrib_bn', 'goldens', 'migration',
                            'tf1.15.5')
TF115_CHECKPOINT = os.path.join(TF115_GOLDEN, 'ckpt_step5')
TF115_LOGITS = 'eval/step5/logits'
# Largest difference from TF 1.15.5's recorded logits, relative to
# max(1, max |golden|): other kernel builds on another CPU round float32 sums
# differently (the same bound tests/test_migration.py uses).
TF115_MATCH_TOLERANCE = 1e-4

# (target, batch norms folded into a conv/matmul under --fold conv, layers
# left affine with a reason that must appear in the report)
CASES = {
    'legacy_net': (LEGACY_NET + ':build_graph', 3, []),
    'nchw': (MODELS + ':build_nchw', 0,
             [('bn_fused', 'Transpose'), ('bn_plain', 'activation (Relu')]),
    'zero_debias': (MODELS + ':build_zero_debias', 2, []),
    'renorm': (MODELS + ':build_renorm', 1, []),
    # dense_bn (fused=False, rank 2) runs the fused kernel on a rank-4 view,
    # as dense_fused does; the view keeps the channels last, so both fold
    # into their MatMul + bias through its Reshape.
    'activation_fn': (MODELS + ':build_activation', 3,
                      [('after_relu', 'activation (Relu'),
                       ('shared_input', 'other consumers')]),
    'shared_reuse': (MODELS + ':build_shared', 2, []),
}


def _feeds(model, seed=7):
  rng = np.random.RandomState(seed)
  result = {}
  for name, tensor in model.inputs.items():
    dims = [3 if d is None else d for d in tensor.shape.as_list()]
    if tensor.dtype.is_floating:
      result[name] = rng.normal(1.0, 2.0, dims).astype(np.float32)
    else:
      result[name] = rng.randint(0, 4, dims).astype(np.int32)
  return result


def train_and_save(target, directory):
  """Trains a few steps in training mode and saves a checkpoint."""
  model = model_file.build(target)
  feeds = _feeds(model, seed=1)
  with model.graph.as_default():
    saver = tf.compat.v1.train.Saver()
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      for _ in range(TRAIN_STEPS):
        sess.run(model.train_op,
                 {model.inputs[n]: v for n, v in feeds.items()})
      return saver.save(sess, os.path.join(directory, 'model'))


_REFERENCES = {}


def reference(target, checkpoint, feeds):
  """Outputs of the legacy graph with is_training fed False (cached)."""
  key = (target, checkpoint, tuple(sorted(
      (k, v.tobytes()) for k, v in feeds.items())))
  if key not in _REFERENCES:
    _REFERENCES[key] = _run_reference(target, checkpoint, feeds)
  return _REFERENCES[key]


def _run_reference(target, checkpoint, feeds):
  model = model_file.build(target)
  with model.graph.as_default():
    saver = tf.compat.v1.train.Saver()
    with tf.compat.v1.Session() as sess:
      saver.restore(sess, checkpoint)
      feed = {model.inputs[n]: v for n, v in feeds.items()}
      feed[model.is_training] = False
      return sess.run(dict(model.outputs), feed)


def _image_feeds(seed=11):
  rng = np.random.RandomState(seed)
  return rng.normal(1.0, 2.0, (3, 6, 6, 3)).astype(np.float32)


def inputs_for(case):
  if case == 'legacy_net':
    return {'images': np.random.RandomState(5).normal(
        2.0, 3.0, (3, 8, 8, 3)).astype(np.float32)}
  return {'images': _image_feeds()}


def close(got, want, tolerance):
  rtol, atol = tolerance
  assert sorted(got) == sorted(want)
  worst = 0.0
  for key in want:
    np.testing.assert_allclose(np.asarray(got[key]), want[key], rtol=rtol,
                               atol=atol, err_msg=key)
    worst = max(worst, float(np.max(np.abs(np.asarray(got[key]) -
                                           want[key]))))
  return worst
