"""The golden cases of batch_norm's neighbours in tf.contrib.layers.

After `install()` the layers TF1 code calls next to batch_norm
(fully_connected, conv2d, conv2d_transpose, flatten, layer_norm,
instance_norm, max_pool2d, dropout) are tf_slim's, not TF 1.15's. A model
restoring a TF1 checkpoint depends on them creating the same variables in the
same collections and computing the same outputs and gradients, so each case
here is recorded from TF 1.15.5 (scripts/record_contrib_neighbours.py) and
replayed on TF 2 (tests/test_contrib_neighbours.py) with the TF1 checkpoint
restored.

Both sides import this module: it needs only NumPy and takes `tf`
(`tf.compat.v1` of either release) and `layers` (the `tf.contrib.layers`
module) as arguments, so the very same calls build both graphs.

Each case's `build(tf, layers, arg_scope, inputs)` returns the tensor the loss is taken
of; arg_scope cases wrap their calls in `tf.contrib.framework.arg_scope`
with `normalizer_fn=layers.batch_norm`, which is how batch_norm most often
reaches a model.
"""

import zlib

import numpy as np

LEARNING_RATE = 0.1
GRAPH_SEED = 3
# Dropout's own op seed for the training-mode case: with the graph seed, it
# fixes the mask the stateful random kernel draws, in both releases.
DROPOUT_SEED = 11
_BIAS_INIT = 0.1


def _bias(tf):
  return tf.constant_initializer(_BIAS_INIT)


def _fc(tf, layers, arg_scope, x):
  return layers.fully_connected(x, 5, biases_initializer=_bias(tf),
                                scope='fc')


def _fc_linear(tf, layers, arg_scope, x):
  return layers.fully_connected(x, 3, activation_fn=None,
                                weights_regularizer=layers.l2_regularizer(0.01),
                                biases_initializer=_bias(tf))


def _conv(tf, layers, arg_scope, x):
  return layers.conv2d(x, 4, [3, 3], biases_initializer=_bias(tf),
                       scope='conv')


def _conv_strided_valid(tf, layers, arg_scope, x):
  return layers.conv2d(x, 5, 3, stride=2, padding='VALID',
                       activation_fn=tf.nn.tanh,
                       biases_initializer=_bias(tf))


def _conv_transpose(tf, layers, arg_scope, x):
  return layers.conv2d_transpose(x, 3, [3, 3], stride=2,
                                 biases_initializer=_bias(tf), scope='deconv')


def _flatten(tf, layers, arg_scope, x):
  return layers.flatten(tf.nn.relu(x) * 2.0)


def _layer_norm(tf, layers, arg_scope, x):
  return layers.layer_norm(x, scope='ln')


def _layer_norm_axis(tf, layers, arg_scope, x):
  return layers.layer_norm(x, begin_norm_axis=-1, begin_params_axis=-1,
                           activation_fn=tf.nn.relu)


def _instance_norm(tf, layers, arg_scope, x):
  return layers.instance_norm(x, scope='in')


def _instance_norm_nchw(tf, layers, arg_scope, x):
  return layers.instance_norm(x, center=False, scale=True, epsilon=1e-3,
                              data_format='NCHW')


def _max_pool(tf, layers, arg_scope, x):
  return layers.max_pool2d(x, [2, 2], scope='pool')


def _max_pool_same(tf, layers, arg_scope, x):
  return layers.max_pool2d(x, 3, stride=2, padding='SAME')


def _dropout_eval(tf, layers, arg_scope, x):
  return layers.dropout(x, keep_prob=0.5, is_training=False)


def _dropout_seeded(tf, layers, arg_scope, x):
  return layers.dropout(x, keep_prob=0.7, is_training=True, seed=DROPOUT_SEED)


def _fc_bn_scope(tf, layers, arg_scope, x):
  with arg_scope([layers.fully_connected],
                  normalizer_fn=layers.batch_norm,
                  normalizer_params={'is_training': True, 'scale': True,
                                     'decay': 0.9}):
    net = layers.fully_connected(x, 6, scope='fc1')
    return layers.fully_connected(net, 4, activation_fn=None,
                                  normalizer_fn=None, scope='logits')


def _conv_bn_scope(tf, layers, arg_scope, x):
  with arg_scope([layers.conv2d, layers.conv2d_transpose],
                  normalizer_fn=layers.batch_norm,
                  normalizer_params={'is_training': False, 'center': True},
                  weights_regularizer=layers.l2_regularizer(1e-3)):
    net = layers.conv2d(x, 4, 3, scope='conv1')
    net = layers.max_pool2d(net, 2)
    return layers.conv2d_transpose(net, 3, 3, stride=2, scope='up')


def _network(tf, layers, arg_scope, x):
  with arg_scope([layers.conv2d, layers.fully_connected],
                  normalizer_fn=layers.batch_norm,
                  normalizer_params={'is_training': True, 'decay': 0.8,
                                     'updates_collections': None}):
    net = layers.conv2d(x, 4, 3, scope='conv1')
    net = layers.max_pool2d(net, 2, scope='pool1')
    net = layers.instance_norm(net, scope='in1')
    net = layers.flatten(net)
    net = layers.fully_connected(net, 8, scope='fc1')
    net = layers.layer_norm(net, scope='ln1')
    net = layers.dropout(net, keep_prob=0.5, is_training=False)
    return layers.fully_connected(net, 3, activation_fn=None,
                                  normalizer_fn=None, scope='logits')


def _case(case_id, build, shape):
  return {'id': case_id, 'build': build, 'shape': list(shape)}


CASES = [
    _case('fully_connected', _fc, (4, 6)),
    _case('fully_connected_rank3_linear_l2', _fc_linear, (2, 3, 4)),
    _case('conv2d', _conv, (2, 5, 5, 3)),
    _case('conv2d_stride2_valid_tanh', _conv_strided_valid, (2, 7, 7, 2)),
    _case('conv2d_transpose', _conv_transpose, (2, 3, 3, 4)),
    _case('flatten', _flatten, (2, 3, 2, 4)),
    _case('layer_norm', _layer_norm, (3, 4, 5)),
    _case('layer_norm_last_axis_relu', _layer_norm_axis, (2, 3, 6)),
    _case('instance_norm', _instance_norm, (2, 4, 4, 3)),
    _case('instance_norm_nchw_no_center', _instance_norm_nchw, (2, 3, 4, 4)),
    _case('max_pool2d', _max_pool, (2, 4, 4, 3)),
    _case('max_pool2d_3x3_same', _max_pool_same, (2, 5, 5, 2)),
    _case('dropout_eval', _dropout_eval, (3, 5)),
    _case('dropout_train_seeded', _dropout_seeded, (4, 6)),
    _case('arg_scope_fc_batch_norm_train', _fc_bn_scope, (5, 4)),
    _case('arg_scope_conv_batch_norm_eval_l2', _conv_bn_scope, (2, 4, 4, 3)),
    _case('network_conv_pool_norms_fc', _network, (8, 6, 6, 2)),
]


def case_ids():
  return [case['id'] for case in CASES]


def case_by_id(case_id):
  for case in CASES:
    if case['id'] == case_id:
      return case
  raise KeyError('no neighbours case %r; known: %s' %
                 (case_id, ', '.join(case_ids())))


def case_data(case):
  """Deterministic input and target arrays (float32) of a case."""
  rng = np.random.RandomState(zlib.crc32(case['id'].encode('utf-8')))
  data = rng.normal(0.2, 1.3, size=case['shape']).astype(np.float32)
  return data


def build(tf, layers, arg_scope, case):
  """Builds a case in the current graph.

  Args:
    tf: `tf.compat.v1` of the release.
    layers: Its `tf.contrib.layers`.
    arg_scope: Its `tf.contrib.framework.arg_scope`.
    case: One of CASES.

  Returns:
    A dict of tensors and ops: 'input' (placeholder), 'output', 'loss',
    'gradients' ({name: tensor}, of the loss with respect to the input and
    every trainable variable) and 'train' (one SGD step that runs UPDATE_OPS
    first).
  """
  tf.set_random_seed(GRAPH_SEED)
  inputs = tf.placeholder(tf.float32, case['shape'], name='input')
  output = case['build'](tf, layers, arg_scope, inputs)
  # A fixed, non-uniform weighting so every output element has its own
  # gradient.
  weights = np.linspace(-1.0, 1.5, int(np.prod(output.shape.as_list())))
  weights = tf.constant(weights.reshape(output.shape.as_list()), tf.float32)
  loss = tf.reduce_sum(output * weights, name='loss')
  regularization = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
  if regularization:
    loss = tf.add(loss, tf.add_n(regularization), name='total_loss')
  trainable = tf.trainable_variables()
  gradients = tf.gradients(loss, [inputs] + trainable)
  named = {'input': gradients[0]}
  for variable, gradient in zip(trainable, gradients[1:]):
    named[variable.op.name] = gradient
  with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
    if trainable:
      train = tf.train.GradientDescentOptimizer(LEARNING_RATE).minimize(loss)
    else:
      train = tf.no_op(name='train')  # flatten, pooling, dropout
  return {'input': inputs, 'output': output, 'loss': loss,
          'gradients': named, 'train': train}


def structure(tf, built):
  """What legacy code sees of the graph: variables, collections, names."""
  graph = tf.get_default_graph()

  def names(key):
    return [getattr(item, 'name', str(item))
            for item in graph.get_collection(key)]

  keys = tf.GraphKeys
  return {
      'variables': [[v.op.name, v.shape.as_list(), v.dtype.base_dtype.name]
                    for v in tf.global_variables()],
      'collections': {
          'global_variables': names(keys.GLOBAL_VARIABLES),
          'trainable_variables': names(keys.TRAINABLE_VARIABLES),
          'model_variables': names(keys.MODEL_VARIABLES),
          'moving_average_variables': names(keys.MOVING_AVERAGE_VARIABLES),
          # A count, as in harness.py: an update's tensor name depends on
          # whether variables are TF1 reference or TF 2 resource variables.
          'update_ops': len(graph.get_collection(keys.UPDATE_OPS)),
          'regularization_losses': names(keys.REGULARIZATION_LOSSES),
      },
      'output': {'name': built['output'].name,
                 'shape': built['output'].shape.as_list(),
                 'dtype': built['output'].dtype.base_dtype.name},
  }


def run(tf, session, built, data):
  """Fetches outputs, loss and gradients, then one train step; the arrays."""
  feed = {built['input']: data}
  arrays = {}
  # Fetched alone first, then together, as users do: each must agree.
  arrays['output'] = session.run(built['output'], feed)
  fetched = session.run({'loss': built['loss'],
                         'gradients': built['gradients']}, feed)
  arrays['loss'] = np.asarray(fetched['loss'])
  for name, value in sorted(fetched['gradients'].items()):
    arrays['gradient/' + name] = np.asarray(value)
  session.run(built['train'], feed)
  for variable in tf.global_variables():
    arrays['after_step/' + variable.op.name] = session.run(variable)
  arrays['output_after_step'] = session.run(built['output'], feed)
  return arrays
