"""The migration golden's procedure: examples/legacy_net.py trained for ten steps.

scripts/record_migration.py runs it under TF 1.15.5 with the real
`tf.contrib.layers.batch_norm` and writes the golden (DEFAULT_DIR):

  ckpt_step0.*, ckpt_step5.*  TF1 checkpoints (all global variables, momentum
                              slots included) after initialization and after
                              FIRST_STEPS steps;
  migration.npz               the data set, the loss before every step, the
                              evaluation (is_training=False) logits and loss at
                              EVAL_STEPS, and every global variable at the end;
  migration.json              steps, seeds, variable names, shapes and dtypes,
                              and the TensorFlow version.

tests/test_migration.py replays `load_example` and `run` on TF 2.x from the
recorded checkpoints, so both releases run the same procedure on the same
example text. TF-free at import (TensorFlow is imported when `build` or `run`
is called, from whichever release runs), for Python 3.7 as well.
"""

import importlib.util
import os

import numpy as np

from contrib_bn import constants
from contrib_bn.conformance import corpus
from contrib_bn.conformance import harness

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
EXAMPLE = os.path.join(_ROOT, 'examples', 'legacy_net.py')
DEFAULT_DIR = corpus.directory('migration', 'tf' + constants.TF1_VERSION)

# Steps trained before the mid-training checkpoint, and after it.
FIRST_STEPS = 5
MORE_STEPS = 5
TOTAL_STEPS = FIRST_STEPS + MORE_STEPS
# Steps (counted as steps completed) with a checkpoint / an evaluation.
CHECKPOINT_STEPS = (0, FIRST_STEPS)
EVAL_STEPS = (0, FIRST_STEPS, TOTAL_STEPS)

NPZ_NAME = 'migration.npz'
JSON_NAME = 'migration.json'


def checkpoint_prefix(directory, step):
  """Path prefix of the checkpoint taken after `step` training steps."""
  return os.path.join(directory, 'ckpt_step%d' % step)


def eval_key(step, what):
  """npz key of an evaluation result ('logits' or 'loss') at `step`."""
  return 'eval/step%d/%s' % (step, what)


def load_example(path=EXAMPLE, name='legacy_net'):
  """Imports the example by path, running its migration prologue.

  On TF 2.x the prologue calls `contrib_bn.install()`; callers that must leave
  the process as they found it call `contrib_bn.uninstall()` afterwards.

  Args:
    path: the example's file.
    name: module name to give it.

  Returns:
    The freshly executed module.
  """
  spec = importlib.util.spec_from_file_location(name, path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


class _Built(object):
  """The example's graph and the handles the procedure needs."""


def build(example):
  """Builds the example in a new graph with the example's graph seed."""
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  built = _Built()
  built.graph = tf.Graph()
  with built.graph.as_default():
    tf.set_random_seed(example.GRAPH_SEED)
    built.images, built.labels, built.is_training = example.build_inputs()
    built.loss, built.train_op, built.logits = example.build_model(
        built.images, built.labels, built.is_training)
    built.variables = tf.global_variables()
    built.saver = tf.train.Saver(max_to_keep=None)
    built.init = tf.global_variables_initializer()
  return built


def variable_specs(built):
  """[name, shape, dtype] of every global variable, in creation order."""
  return [[v.op.name, v.get_shape().as_list(), v.dtype.base_dtype.name]
          for v in built.variables]


def run(example, first_step=0, restore_from=None, save_to=None):
  """Trains the example from `first_step` to TOTAL_STEPS.

  Each step fetches the loss in one `Session.run` and runs the train op in
  the next (`example.train_step`). Sessions are single-threaded so that the
  order of float reductions does not depend on the machine's core count.

  Args:
    example: the example module.
    first_step: number of steps already trained, i.e. the step the
      `restore_from` checkpoint was taken at.
    restore_from: checkpoint prefix to restore, or None to initialize
      (allowed only with `first_step` 0).
    save_to: directory to save the CHECKPOINT_STEPS checkpoints into, or
      None.

  Returns:
    (arrays, info). `arrays`: 'images', 'labels', 'losses' (the loss before
    each step from `first_step`), evaluation logits and loss at the
    EVAL_STEPS from `first_step` on (see `eval_key`), and 'var/<name>' for
    every global variable after the last step. `info`: 'variables' (see
    `variable_specs`) and 'variable_op_types' (sorted set of the variables'
    op types).
  """
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  if restore_from is None and first_step != 0:
    raise ValueError('Starting at step %d needs a checkpoint.' % first_step)
  built = build(example)
  data, targets = example.make_dataset()
  arrays = {'images': data, 'labels': targets}
  losses = []
  config = harness.session_config(tf)
  with tf.Session(graph=built.graph, config=config) as sess:
    if restore_from is None:
      sess.run(built.init)
    else:
      built.saver.restore(sess, restore_from)
    step = first_step
    while True:
      if step in EVAL_STEPS:
        logits, loss = sess.run(
            [built.logits, built.loss],
            {built.images: data, built.labels: targets,
             built.is_training: False})
        arrays[eval_key(step, 'logits')] = logits
        arrays[eval_key(step, 'loss')] = np.asarray(loss)
      if save_to is not None and step in CHECKPOINT_STEPS:
        built.saver.save(sess, checkpoint_prefix(save_to, step),
                         write_meta_graph=False, write_state=False)
      if step == TOTAL_STEPS:
        break
      batch = example.batch_slice(step)
      losses.append(example.train_step(
          sess, built.loss, built.train_op,
          {built.images: data[batch], built.labels: targets[batch]}))
      step += 1
    arrays['losses'] = np.asarray(losses, dtype=np.float32)
    for var, value in zip(built.variables, sess.run(built.variables)):
      arrays['var/' + var.op.name] = np.asarray(value)
  info = {
      'variables': variable_specs(built),
      'variable_op_types': sorted({v.op.type for v in built.variables}),
  }
  return arrays, info


def checkpoint_files(directory):
  """The CHECKPOINT_STEPS checkpoints' file names in `directory`."""
  return [os.path.basename(checkpoint_prefix(directory, step)) + suffix
          for step in CHECKPOINT_STEPS for suffix in corpus.CHECKPOINT_SUFFIXES]


def differences(first, second):
  """What differs between two recordings: ([directory, arrays, info] each)."""
  (dir_a, arrays_a, info_a), (dir_b, arrays_b, info_b) = first, second
  problems = corpus.array_differences(arrays_a, arrays_b)
  for step in CHECKPOINT_STEPS:
    problems += [
        os.path.basename(checkpoint_prefix(dir_a, step)) + suffix
        for suffix in corpus.checkpoint_differences(
            checkpoint_prefix(dir_a, step), checkpoint_prefix(dir_b, step))]
  if info_a != info_b:
    problems.append('variable list')
  return problems


def load(directory=DEFAULT_DIR):
  """(record, arrays) of a recorded migration golden."""
  return (corpus.read_json(os.path.join(directory, JSON_NAME)),
          corpus.read_arrays(os.path.join(directory, NPZ_NAME)))
