"""The slim-net goldens' procedure: tf.contrib.slim.nets trained and evaluated.

scripts/record_slim_nets.py runs it on TF 1.15.5 and writes the goldens.

Each case builds one net from `tensorflow.contrib.slim.nets` under the net's
own arg scope (`resnet_arg_scope()` / `inception_v3_arg_scope()`): a training
tower (is_training=True) and an evaluation tower sharing its variables
(is_training=False, reuse=True), a softmax cross-entropy loss plus the arg
scope's weight-decay losses, and a momentum optimizer whose train op runs
after the batch-norm update ops. Trainable variables start from values drawn
with numpy's seeded legacy generator (`initial_value`), which is bit-stable
across numpy releases, so TF 2.x can start from the same point without a
checkpoint; moving statistics and momentum slots keep their TF initial values
(zeros and ones). A case may condition this start (CASES says why per case):
`residual_gamma`, `beta_offset`, its own `batch`, `learning_rate`, the
arg scope's `batch_norm_decay`, and the session's `inter_op_threads`. Then:

  eval_logits_step0   evaluation logits before training;
  loss, total_loss    before each of STEPS training steps (fetched in a
                      session.run of their own, then the train op runs: TF 1.15
                      reads variables racily when both share one run);
  eval_logits_final   evaluation logits after training;
  sum/NAME, head/NAME every global variable after training, summarized:
                      [sum, sum of |x|] in float64 and its first values (the
                      full values are in the checkpoint where one is kept).

`record_cases` writes to its `out` (the recorder's default: DEFAULT_DIR,
contrib_bn/goldens/slim): CASE.json (configuration, variable
names/shapes/dtypes in creation order, update-op count, TensorFlow version)
and CASE.npz. Small cases (`committed_checkpoint`) also write
checkpoints/CASE.{index,data-00000-of-00001}, the TF1 checkpoint of the model
variables (no optimizer slots) after training; `checkpoints=True` (the
recorder's `--checkpoints`) writes it for every case, which the tests do into
a temporary directory for the full-size nets.

The inputs are stored as `images` and `labels` (large batches of images
only as `images_crc32`). Everything is staged and moved into place only when
every case has been recorded; `check_determinism` records each case twice
in this process and requires bit-identical arrays, records and checkpoint
files (bit-identity holds only on one machine; another machine's recording
is compared with tolerances, compat_tests/test_slim_recorder_reproduces.py).

The functions below also run on TF 2.x after `contrib_bn.install()`: the
tests replay exactly this procedure there, through the same
`tensorflow.contrib.slim` import statements. TF-free at import, for
Python 3.7 as well: TensorFlow is imported by `run`.
"""

import importlib
import os
import sys
import zlib

import numpy as np

from contrib_bn.conformance import corpus

DEFAULT_DIR = corpus.directory('slim')

STEPS = 3
LEARNING_RATE = 0.01
MOMENTUM = 0.9
NUM_CLASSES = 10
BATCH = 2
DATA_SEED = 1234
# Elements of each variable kept in a summary.
SUMMARY_HEAD = 8
# Input images up to this many values are stored in full; larger ones (the
# inception cases' batches of eight, 1.5 MB each) only as a CRC-32, to keep
# the committed goldens small.
MAX_STORED_IMAGE_VALUES = 2**17
# Arrays describing the inputs: drawn by numpy's legacy generator, which is
# bit-stable across machines and numpy releases, so compared exactly.
INPUT_KEYS = ('images', 'images_crc32', 'labels')

# image: input side in pixels. inception_v3 always builds its auxiliary head,
# whose 5x5 VALID pooling needs Mixed_6e to be at least 5x5, so 128 px is
# about the smallest input it accepts. dropout_keep_prob=1.0 keeps the runs
# free of random ops, whose streams differ between releases.
CASES = {
    # A 50-layer residual stack from random weights is ill-conditioned: in
    # evaluation mode, with moving statistics still at (0, 1), every unit
    # adds its branch's variance to the shortcut's, and at learning rate 0.01
    # the first step saturates the softmax. Both turn float rounding into
    # chaos; the last batch norm of each residual branch starting at
    # gamma ~0.1 and a learning rate of 0.001 keep the procedure
    # well-conditioned, so TF 1.15 and TF 2 can be compared at all.
    'resnet_v1_50': dict(net='resnet_v1_50', image=64,
                         committed_checkpoint=False, learning_rate=0.001,
                         residual_gamma=0.1),
    # inception_v3's arg scope builds batch norm without gamma (scale=False)
    # and the net has no shortcuts, so residual_gamma has nothing to act on.
    # From random weights, training-mode batch norm followed by ReLU grows
    # the gradient by a constant factor per layer over ~40 layers: with betas
    # ~0, |gradient| was 1.9e3 (inception_v3_dm0.1, batch 2) and a 1e-6
    # relative change of the weights moved it by 4.5e-2, so three steps at
    # any learning rate tried (0.01 down to 1e-6) turned rounding into
    # different losses. Betas starting
    # at ~1 (`beta_offset`) put most pre-activations in ReLU's linear part:
    # |gradient| 58, moved by 4.7e-5 for the same change. Learning rate 1e-4
    # keeps three steps where TF 1.15's and TF 2's kernels agree; batch 8
    # gives the late layers (2x2 at 128 px) 32 values per channel instead of
    # 8 (the momentum slots then differ by 1.0e-2 of their scale, not
    # 1.8e-2). The arg scope's own `batch_norm_decay` of 0.9 (default 0.9997) makes
    # the moving statistics move visibly in three steps, so a wrong decay or
    # update ops that do not run show in them. TF 1.15's reference
    # variables are read without a snapshot, so with ops running in parallel
    # a layer's momentum update could land before or after the backward pass
    # read the same weights: two recordings of inception_v3 in one process
    # differed. One inter-op thread (`inter_op_threads`, the session's
    # inter_op_parallelism_threads) fixes that order.
    'inception_v3': dict(net='inception_v3', image=128,
                         committed_checkpoint=False, batch=8,
                         learning_rate=0.0001, beta_offset=1.0,
                         batch_norm_decay=0.9, inter_op_threads=1),
    # The same generators at a size whose checkpoint can be committed: the
    # net's own resnet_v1() and resnet_v1_block() with small bottlenecks, and
    # inception_v3 with its own depth_multiplier.
    'resnet_v1_small': dict(net='resnet_v1_small', image=64,
                            committed_checkpoint=True),
    'inception_v3_dm0.1': dict(net='inception_v3', image=128,
                               depth_multiplier=0.1,
                               committed_checkpoint=True, batch=8,
                               learning_rate=0.0001, beta_offset=1.0,
                               batch_norm_decay=0.9, inter_op_threads=1),
}

def checkpoint_prefix(directory, case_id):
  return corpus.checkpoint_prefix(directory, case_id)


def initial_value(name, shape, case=None):
  """The deterministic starting value of trainable variable `name`."""
  rng = np.random.RandomState(zlib.crc32(name.encode('utf-8')))
  noise = rng.standard_normal(shape)
  residual_gamma = (case or {}).get('residual_gamma')
  if residual_gamma is not None and name.endswith(
      'bottleneck_v1/conv3/BatchNorm/gamma'):
    value = residual_gamma * (1.0 + 0.1 * noise)
  elif name.endswith('/gamma'):
    value = 1.0 + 0.1 * noise
  elif name.endswith('/beta') or name.endswith('/biases'):
    value = 0.1 * noise
    if name.endswith('/beta') and 'beta_offset' in (case or {}):
      value = case['beta_offset'] + value
  else:
    # He scaling keeps activations of the 50-layer nets in range.
    fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
    value = noise * np.sqrt(2.0 / fan_in)
  return value.astype(np.float32)


def data(case_id):
  case = CASES[case_id]
  rng = np.random.RandomState(DATA_SEED)
  side = case['image']
  batch = case.get('batch', BATCH)
  images = rng.standard_normal([batch, side, side, 3]).astype(np.float32)
  labels = rng.randint(0, NUM_CLASSES, size=[batch]).astype(np.int32)
  return images, labels


def _net(case, nets, slim):
  """Returns (arg scope, function(images, is_training, reuse) -> logits)."""
  if case['net'] == 'inception_v3':
    module = nets.inception
    # Only the arguments a case names are passed: the others keep the arg
    # scope's defaults of the running release. No case sets
    # batch_norm_epsilon; the tests do, to show that a wrong one is caught.
    scope = module.inception_v3_arg_scope(**{
        key: case[key] for key in ('batch_norm_decay', 'batch_norm_epsilon')
        if key in case})
    depth = case.get('depth_multiplier', 1.0)

    def build(images, is_training, reuse):
      logits, _ = module.inception_v3(
          images, num_classes=NUM_CLASSES, is_training=is_training,
          dropout_keep_prob=1.0, depth_multiplier=depth, reuse=reuse)
      return logits
    return scope, build
  module = nets.resnet_v1
  scope = module.resnet_arg_scope()
  if case['net'] == 'resnet_v1_50':

    def build(images, is_training, reuse):
      logits, _ = module.resnet_v1_50(
          images, num_classes=NUM_CLASSES, is_training=is_training,
          reuse=reuse)
      return logits
    return scope, build
  blocks = [
      module.resnet_v1_block('block1', base_depth=4, num_units=2, stride=2),
      module.resnet_v1_block('block2', base_depth=8, num_units=2, stride=1),
  ]
  del slim

  def build_small(images, is_training, reuse):
    logits, _ = module.resnet_v1(
        images, blocks, num_classes=NUM_CLASSES, is_training=is_training,
        reuse=reuse, scope='resnet_v1_small')
    return logits
  return scope, build_small


def slot_names(optimizer, variables):
  """Names of the optimizer's slot variables among `variables`."""
  names = set()
  for variable in variables:
    for slot in optimizer.get_slot_names():
      value = optimizer.get_slot(variable, slot)
      if value is not None:
        names.add(value.op.name)
  return names


def summarize(variables, values):
  """Per variable: [sum, sum of |x|] in float64 and the first values."""
  arrays = {}
  for variable, value in zip(variables, values):
    name = variable.op.name
    flat = value.astype(np.float64).ravel()
    arrays['sum/' + name] = np.array([flat.sum(), np.abs(flat).sum()],
                                     np.float64)
    arrays['head/' + name] = value.ravel()[:SUMMARY_HEAD]
  return arrays


def run(case_id, restore_from=None, save_to=None):
  """Builds, initializes (or restores), trains and evaluates one case.

  Args:
    case_id: A key of CASES.
    restore_from: Optional checkpoint prefix to evaluate: when given, its
      variables are restored and only `eval_logits_restored` is computed.
    save_to: Optional checkpoint prefix the trained variables are saved to.

  Returns:
    (arrays, record): numpy results and a JSON-able description.
  """
  import tensorflow as tf_root  # pylint: disable=g-import-not-at-top
  tf = tf_root.compat.v1
  slim = importlib.import_module('tensorflow.contrib.slim')
  nets = importlib.import_module('tensorflow.contrib.slim.nets')
  case = CASES[case_id]
  images, labels = data(case_id)
  batch = case.get('batch', BATCH)
  graph = tf.Graph()
  with graph.as_default():
    inputs = tf.constant(images)
    onehot = tf.one_hot(labels, NUM_CLASSES)
    scope, build = _net(case, nets, slim)
    with slim.arg_scope(scope):
      train_logits = tf.reshape(build(inputs, True, None),
                                [batch, NUM_CLASSES])
      eval_logits = tf.reshape(build(inputs, False, True),
                               [batch, NUM_CLASSES])
    loss = tf.losses.softmax_cross_entropy(onehot, train_logits)
    total_loss = loss + tf.add_n(tf.losses.get_regularization_losses())
    learning_rate = case.get('learning_rate', LEARNING_RATE)
    optimizer = tf.train.MomentumOptimizer(learning_rate, MOMENTUM)
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    with tf.control_dependencies(update_ops):
      train_op = optimizer.minimize(total_loss)
    variables = tf.global_variables()
    # The checkpoint holds the model's variables, as a published slim
    # checkpoint does; the optimizer's momentum slots are left out.
    slots = slot_names(optimizer, variables)
    saved = [v for v in variables if v.op.name not in slots]
    record = {
        'case': dict(case, steps=STEPS, batch=batch, num_classes=NUM_CLASSES,
                     learning_rate=learning_rate, momentum=MOMENTUM,
                     data_seed=DATA_SEED),
        'variables': [[v.op.name, v.shape.as_list(), v.dtype.base_dtype.name]
                      for v in variables],
        'trainable': [v.op.name for v in tf.trainable_variables()],
        'update_ops': len(update_ops),
        'checkpointed': [v.op.name for v in saved],
        'tensorflow': tf_root.__version__,
    }
    saver = tf.train.Saver(saved)
    arrays = {}
    config = None
    if 'inter_op_threads' in case:
      config = tf.ConfigProto(
          inter_op_parallelism_threads=case['inter_op_threads'])
    with tf.Session(graph=graph, config=config) as session:
      session.run(tf.global_variables_initializer())
      if restore_from is not None:
        saver.restore(session, restore_from)
        arrays['eval_logits_restored'] = session.run(eval_logits)
        return arrays, record
      # What Variable.load does, for every variable in one session.run: a
      # run per variable prunes the whole graph again each time (minutes for
      # inception_v3).
      trainable = tf.trainable_variables()
      session.run([v.initializer for v in trainable], {
          v.initializer.inputs[1]: initial_value(
              v.op.name, v.shape.as_list(), case) for v in trainable})
      arrays['eval_logits_step0'] = session.run(eval_logits)
      losses, totals = [], []
      for _ in range(STEPS):
        value, total = session.run([loss, total_loss])
        losses.append(value)
        totals.append(total)
        session.run(train_op)
      arrays['loss'] = np.array(losses, np.float32)
      arrays['total_loss'] = np.array(totals, np.float32)
      arrays['eval_logits_final'] = session.run(eval_logits)
      arrays.update(summarize(variables, session.run(variables)))
      if save_to is not None:
        directory = os.path.dirname(save_to)
        if not os.path.isdir(directory):
          os.makedirs(directory)
        saver.save(session, save_to, write_meta_graph=False,
                   write_state=False)
  if images.size <= MAX_STORED_IMAGE_VALUES:
    arrays['images'] = images
  else:
    # data() regenerates the images from DATA_SEED; the CRC-32 of their
    # (little-endian float32) bytes checks that it still gives the same ones.
    arrays['images_crc32'] = np.array([zlib.crc32(images.tobytes())],
                                      np.uint32)
  arrays['labels'] = labels
  return arrays, record


def _write(directory, case_id, arrays, record):
  """Writes CASE.npz and CASE.json, as this corpus was first committed."""
  corpus.write_arrays(os.path.join(directory, case_id + '.npz'), arrays,
                      compressed=False)
  corpus.write_json(os.path.join(directory, case_id + '.json'), record,
                    trailing_newline=False)


def load(directory, case_id):
  """(record, arrays) of a recorded case."""
  golden = corpus.Case(directory, case_id,
                       'record it with scripts/record_slim_nets.py')
  return golden.record, golden.arrays


def record_cases(out, case_ids, checkpoints, check_determinism=False):
  """Runs `case_ids` and writes their goldens under `out`.

  Everything is staged inside `out` first and moved into place only when
  every case has been recorded (and, with `check_determinism`, recorded a
  second time bit-identically: arrays, record and checkpoint files), so a
  failure leaves nothing written.

  Returns:
    A list of problems; empty when the goldens were written.
  """
  with corpus.Staging(out) as staging:
    recorded, problems = [], []
    for case_id in case_ids:
      case = CASES[case_id]
      save = checkpoints or case['committed_checkpoint']
      prefix = checkpoint_prefix(staging.directory, case_id) if save else None
      arrays, record = run(case_id, save_to=prefix)
      message = '%s: %d variables, losses %s' % (
          case_id, len(record['variables']),
          ' '.join('%.6f' % v for v in arrays['total_loss']))
      if check_determinism:
        again_prefix = (checkpoint_prefix(staging.directory,
                                          case_id + '.again')
                        if save else None)
        again, again_record = run(case_id, save_to=again_prefix)
        different = corpus.array_differences(arrays, again)
        if again_record != record:
          different.append('record')
        if save:
          different += ['checkpoint' + suffix for suffix in
                        corpus.checkpoint_differences(prefix, again_prefix)]
        if different:
          problems.append('%s: two recordings differ in %s' % (
              case_id, ', '.join(different[:10])))
        message += ('; determinism: %s' % ('DIFFERENT' if different
                                           else 'bit-identical twice'))
      recorded.append(case_id)
      _write(staging.directory, case_id, arrays, record)
      print(message)
      sys.stdout.flush()
    if problems:
      return problems
    for case_id in recorded:
      files = corpus.case_files(case_id)
      staging.commit(files if checkpoints or CASES[case_id][
          'committed_checkpoint'] else files[:2])
    return []
