"""What each kind of `Session.run` fetch does to the moving statistics.

TF1 programs fetch many things: the output alone, the loss alone, gradients
alone (gradient accumulation, meta-learning, GANs that compute gradients in
one run and apply them in another), the train op, or the train op with the
loss. Which of these runs a layer's moving-average updates depends on where
the layer ties them into the graph, and TF 1.15's placements differed by
path:

* `updates_collections=None` on the fused path forced the updates around the
  layer's output, so a fetch that never evaluates the output (the gradients
  of a loss that is linear in it) left the statistics alone;
* on the moments path it forced them around the batch mean and variance,
  which every gradient of the layer reads, so the same fetch moved them;
* with `UPDATE_OPS` only a fetch of the update ops (here: a train op built
  under `control_dependencies(update_ops)`) moves them.

Each configuration here is built once; every fetch then runs once in a fresh
session from the initial values, and the recording keeps every non-trainable
variable afterwards. The loss is linear in the layer output
(`sum(output * target)`), so its gradient does not read the output and the
two forced placements give different answers; a loss whose gradient reads
the output would hide the difference.

The recorder (`scripts/record_fetches.py`) runs this module under TF 1.15.5
with `tf.contrib.layers.batch_norm`, `verify` under TF 2 with contrib_bn's;
it imports no TensorFlow itself and is written for Python 3.7 as well.
"""

import os

import numpy as np

from contrib_bn.conformance import corpus
from contrib_bn.conformance import harness

LEARNING_RATE = 0.1
FETCHES = ('output', 'loss', 'input_grad', 'param_grads', 'train_op',
           'train_op_and_loss')
FILE_NAME = 'fetches.json'
DEFAULT_DIR = corpus.directory('fetches')

_R2 = [8, 3]
_R3 = [4, 5, 3]
_R4 = [4, 5, 5, 3]
_R5 = [2, 3, 4, 5, 3]
_FORCED = {'updates_collections': None}


def _config(config_id, shape, training='true', **kwargs):
  layer = {'scale': True, 'decay': 0.9}
  layer.update(kwargs)
  return {'id': config_id, 'shape': shape, 'input_shape': shape,
          'dtype': 'float32', 'training': training, 'kwargs': layer}


def configs():
  """The configurations: every path, both forced placements, UPDATE_OPS, and
  `is_training` as a Python bool and as a placeholder fed True."""
  forced = dict(_FORCED)
  return [
      # Forced around the output: TF 1.15's fused path.
      _config('forced_fused_r4', _R4, fused=True, **forced),
      _config('forced_fused_r2', _R2, **forced),
      _config('forced_fused_zd_r4', _R4, zero_debias_moving_mean=True,
              **forced),
      _config('forced_fused_r4_ph', _R4, 'placeholder', **forced),
      # Forced around the batch statistics: TF 1.15's moments path.
      _config('forced_unfused_r4', _R4, fused=False, **forced),
      _config('forced_unfused_r2', _R2, fused=False, **forced),
      _config('forced_r3', _R3, **forced),
      _config('forced_r5', _R5, **forced),
      _config('forced_batch_weights_r4', _R4,
              batch_weights=['ramp', 0.5, 0.25], **forced),
      _config('forced_unfused_r4_ph', _R4, 'placeholder', fused=False,
              **forced),
      _config('forced_r3_ph', _R3, 'placeholder', **forced),
      # UPDATE_OPS: TF 1.15's core-layer path and its kernel.
      _config('update_ops_r4', _R4),
      _config('update_ops_unfused_r4', _R4, fused=False),
      _config('update_ops_r3', _R3),
      _config('update_ops_r2', _R2),
      _config('update_ops_adjustment_r4', _R4,
              adjustment=['per_channel', 0.9, 0.05, -0.1, 0.05]),
      _config('update_ops_renorm_r4', _R4, renorm=True),
      _config('update_ops_r4_ph', _R4, 'placeholder'),
      _config('update_ops_unfused_r4_ph', _R4, 'placeholder', fused=False),
  ]


class Built(object):
  """One configuration's graph and the tensors each fetch names."""

  def __init__(self):
    self.graph = None
    self.x = None
    self.target = None
    self.feed_training = None
    self.fetches = {}
    self.statistics = []
    self.init = None


def build(tf, batch_norm, config):
  """Builds `config` with `batch_norm` (TF 1.15's or contrib_bn's)."""
  built = Built()
  built.graph = tf.Graph()
  with built.graph.as_default():
    tf.compat.v1.set_random_seed(1)
    x = tf.compat.v1.placeholder(tf.float32, config['input_shape'], name='x')
    target = tf.compat.v1.placeholder(tf.float32, config['shape'],
                                      name='target')
    built.x, built.target = x, target
    if config['training'] == 'placeholder':
      is_training = tf.compat.v1.placeholder(tf.bool, [], name='is_training')
      built.feed_training = is_training
    else:
      is_training = config['training'] == 'true'
    kwargs = harness.layer_kwargs(tf, config)
    output = batch_norm(x, is_training=is_training, **kwargs)
    loss = tf.reduce_sum(output * target)
    trainable = tf.compat.v1.trainable_variables()
    update_ops = tf.compat.v1.get_collection(
        tf.compat.v1.GraphKeys.UPDATE_OPS)
    # The common TF1 idiom: the train op waits for the update ops.
    with tf.control_dependencies(update_ops):
      train_op = tf.compat.v1.train.GradientDescentOptimizer(
          LEARNING_RATE).minimize(loss, var_list=trainable)
    built.fetches = {
        'output': output,
        'loss': loss,
        'input_grad': tf.compat.v1.gradients(loss, x),
        'param_grads': tf.compat.v1.gradients(loss, trainable),
        'train_op': train_op,
        'train_op_and_loss': [train_op, loss],
    }
    built.statistics = [v for v in tf.compat.v1.global_variables()
                        if v not in trainable]
    built.init = tf.compat.v1.global_variables_initializer()
  return built


def data(config):
  """The configuration's input and loss target."""
  return harness.case_data(config)


def run(tf, built, fetch, inputs, target, session_config=None):
  """Runs one fetch in a fresh session; returns {variable: value} after it."""
  feed = {built.x: inputs, built.target: target}
  if built.feed_training is not None:
    feed[built.feed_training] = True
  with tf.compat.v1.Session(graph=built.graph, config=session_config) as sess:
    sess.run(built.init)
    sess.run(built.fetches[fetch], feed)
    values = sess.run(built.statistics)
  return {v.op.name: np.asarray(value).tolist()
          for v, value in zip(built.statistics, values)}


def initial(tf, built, session_config=None):
  """Every recorded variable's value right after initialization."""
  with tf.compat.v1.Session(graph=built.graph, config=session_config) as sess:
    sess.run(built.init)
    values = sess.run(built.statistics)
  return {v.op.name: np.asarray(value).tolist()
          for v, value in zip(built.statistics, values)}


def record_config(tf, batch_norm, config, session_config=None):
  """{'id', 'config', 'initial', 'after': {fetch: values}} for one config."""
  built = build(tf, batch_norm, config)
  inputs, target = data(config)
  return {
      'id': config['id'],
      'config': config,
      'initial': initial(tf, built, session_config),
      'after': {fetch: run(tf, built, fetch, inputs, target, session_config)
                for fetch in FETCHES},
  }


def moved(record, fetch):
  """The variables a fetch changed, by name, sorted."""
  after = record['after'][fetch]
  return sorted(name for name, value in after.items()
                if not np.array_equal(np.asarray(value),
                                      np.asarray(record['initial'][name])))


def load(directory=None):
  """The recorded corpus: {'tensorflow_version', 'records': [...]}."""
  return corpus.read_json(os.path.join(directory or DEFAULT_DIR, FILE_NAME))


def dump(recorded, directory):
  """Writes the recorded corpus to `directory`."""
  os.makedirs(directory, exist_ok=True)
  corpus.write_json(os.path.join(directory, FILE_NAME), recorded)
