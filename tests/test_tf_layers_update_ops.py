"""check_update_ops and warn_on_unwired_updates on `tf.layers` code.

What `contrib_bn.install()` serves as `tf.compat.v1.layers.batch_normalization`
(and `BatchNormalization`, `conv2d`, `dense`, `flatten`) goes through the
same tools as the contrib layer: `check_update_ops` /
`warn_on_unwired_updates` report a layer whose UPDATE_OPS the train op skips,
also when `training` is a placeholder (its updates then sit inside a control
flow v2 conditional), and are quiet when the train op is built under
`tf.control_dependencies(UPDATE_OPS)`; what they report agrees with what a
training step moves. The same holds for tests/data/tf_layers_models/
tf_layers_net.py loaded as a model file.
"""

import warnings

import numpy as np
import pytest
import tensorflow as tf

import contrib_bn
from contrib_bn.tools import model_file
from contrib_bn.tools import update_ops
from tf_layers_models import NET
from tf_layers_models import NET_LAYERS

v1 = tf.compat.v1

LAYER_KINDS = {
    'fused': {},
    'unfused': {'fused': False},
    'renorm': {'renorm': True},
    'dense': {},
}
TRAINING_KINDS = ('bool', 'placeholder', 'placeholder_with_default')
# How the train op is wired -> the layers (0: the class's, 1: the
# functional form's) whose updates it runs.
WIRINGS = {
    'update_ops': (0, 1),
    'class_updates': (0,),
    'none': (),
}


def _training(kind):
  if kind == 'bool':
    return True
  if kind == 'placeholder':
    return v1.placeholder(tf.bool, [], name='is_training')
  return v1.placeholder_with_default(True, [], name='is_training')


def _two_layer_train_op(layer_kind, training_kind, wiring):
  """A BatchNormalization object and a batch_normalization call, then a
  train op wired as `wiring` says; returns (train_op, training)."""
  kwargs = LAYER_KINDS[layer_kind]
  training = _training(training_kind)
  x = v1.random_normal([4, 5, 5, 3], seed=1) + 2.0
  net = v1.layers.conv2d(x, 4, 3, name='conv')
  if layer_kind == 'dense':
    net = v1.layers.dense(v1.layers.flatten(net), 6, name='fc')
  layer = v1.layers.BatchNormalization(momentum=0.5, **kwargs)
  net = layer.apply(net, training=training)
  net = v1.layers.batch_normalization(tf.nn.relu(net), training=training,
                                      **kwargs)
  loss = tf.reduce_mean(tf.square(net))
  optimizer = v1.train.AdamOptimizer(0.1)
  if wiring == 'update_ops':
    with tf.control_dependencies(v1.get_collection(v1.GraphKeys.UPDATE_OPS)):
      return optimizer.minimize(loss), training
  if wiring == 'class_updates':
    with tf.control_dependencies(layer.updates):
      return optimizer.minimize(loss), training
  return optimizer.minimize(loss), training


def _feed(training):
  return {training: True} if isinstance(training, tf.Tensor) else None


@pytest.mark.parametrize('wiring', sorted(WIRINGS))
@pytest.mark.parametrize('training_kind', TRAINING_KINDS)
@pytest.mark.parametrize('layer_kind', sorted(LAYER_KINDS))
def test_check_update_ops_finds_exactly_the_unwired_layers(
    layer_kind, training_kind, wiring, installed):
  del installed
  with tf.Graph().as_default():
    train_op, _ = _two_layer_train_op(layer_kind, training_kind, wiring)
    found = update_ops.check_update_ops(train_op)
  want = [NET_LAYERS[i] for i in (0, 1) if i not in WIRINGS[wiring]]
  assert [layer.scope for layer in found] == want
  for layer in found:
    assert layer.statistics == ('moving_mean', 'moving_variance')
    assert layer.reason == update_ops.REASON_NOT_DEPENDENCY
    assert layer.update_ops


@pytest.mark.parametrize('training_kind', TRAINING_KINDS)
@pytest.mark.parametrize('layer_kind', ['fused', 'unfused', 'renorm'])
def test_the_moving_mean_moves_exactly_when_reported_wired(
    layer_kind, training_kind, installed):
  # What check_update_ops says agrees with what a training step does.
  del installed
  for wiring in ('update_ops', 'none'):
    with tf.Graph().as_default():
      train_op, training = _two_layer_train_op(layer_kind, training_kind,
                                               wiring)
      unwired = update_ops.check_update_ops(train_op)
      means = [v for v in v1.global_variables()
               if v.op.name.endswith('/moving_mean')]
      with v1.Session() as session:
        session.run(v1.global_variables_initializer())
        session.run(train_op, _feed(training))
        moved = [bool(np.any(value != 0.0)) for value in session.run(means)]
    assert moved == [not unwired] * 2, (wiring, unwired)


@pytest.mark.parametrize('training_kind', TRAINING_KINDS)
def test_warn_on_unwired_updates_warns_once_and_only_when_unwired(
    training_kind, installed):
  del installed
  for wiring, warned in (('none', 1), ('update_ops', 0)):
    with tf.Graph().as_default():
      train_op, training = _two_layer_train_op('unfused', training_kind,
                                               wiring)
      with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        with contrib_bn.warn_on_unwired_updates():
          with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            for _ in range(2):
              session.run(train_op, _feed(training))
    messages = [str(w.message) for w in caught
                if issubclass(w.category, update_ops.UnwiredUpdatesWarning)]
    assert len(messages) == warned, messages
    for message in messages:
      assert 'batch_normalization:' in message
      assert 'batch_normalization_1:' in message


def test_inference_layers_are_never_reported(installed):
  del installed
  with tf.Graph().as_default():
    x = v1.random_normal([4, 6], seed=1)
    net = v1.layers.batch_normalization(v1.layers.dense(x, 3), training=False)
    net = v1.layers.batch_normalization(net, fused=False)
    train_op = v1.train.GradientDescentOptimizer(0.1).minimize(
        tf.reduce_sum(net))
    assert update_ops.check_update_ops(train_op) == []


@pytest.mark.parametrize('function, unwired', [('build', []),
                                               ('build_unwired',
                                                list(NET_LAYERS))])
def test_model_file_train_op(function, unwired):
  model = model_file.build(NET + ':' + function)
  found = update_ops.check_update_ops(model.train_op)
  assert [layer.scope for layer in found] == unwired

