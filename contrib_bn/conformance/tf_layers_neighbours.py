"""Golden cases of TF 1.15's `tf.layers` neighbours of batch normalization.

`dense`, `conv1d/2d/3d`, `conv2d_transpose` and `conv3d_transpose`,
`separable_conv1d/2d`, the max and average pooling layers, `dropout` and
`flatten` (functions and classes) as TF 1.15.5 had them, alone and in small
networks with `batch_normalization`; recorded by
scripts/record_tf_layers_neighbours.py and replayed on TF 2 through
`install()` by tests/test_tf_layers_neighbours.py. The case table and how
a case runs are here; what each case builds is in
tf_layers_neighbour_graphs.py.

TF-free: the recorder imports this module under Python 3.7 and TF 1.15.5.
`api` is an object holding the `tf.layers` names of `NAMES`, so both
releases build the very same graph.

Channels-first separable convolutions and `conv3d_transpose` have no case:
TF 1.15's CPU kernels refused them at run time (depthwise convolution is
NHWC-only, Conv3DBackpropInputV2 NDHWC-only), so there is nothing to
record; tests/test_tf_layers_neighbours.py checks them against their
channels-last results instead.

Random initial values come from op seeds (the graph seed is set), except in
cases marked `seeded=False`, which keep the default initializer without a
seed: its values depend on how many ops the graph holds, so the replay
loads TF 1.15's initial values before training and checks the default
initializer's distribution instead. Each step fetches outputs, loss and
gradients in one `Session.run` and runs the train op in another.
"""

import zlib

import numpy as np

from contrib_bn.conformance import tf_layers_cases as _bn_cases
from contrib_bn.conformance import tf_layers_harness
from contrib_bn.conformance import tf_layers_neighbour_graphs as graphs

STEPS = 2
LEARNING_RATE = 0.05
GRAPH_SEED = 7
NAMES = ('AveragePooling1D', 'AveragePooling2D', 'AveragePooling3D',
         'BatchNormalization', 'Conv1D', 'Conv2D', 'Conv2DTranspose',
         'Conv3D', 'Conv3DTranspose', 'Dense', 'Dropout', 'Flatten',
         'MaxPooling1D', 'MaxPooling2D', 'MaxPooling3D', 'SeparableConv1D',
         'SeparableConv2D', 'average_pooling1d', 'average_pooling2d',
         'average_pooling3d', 'batch_normalization', 'conv1d', 'conv2d',
         'conv2d_transpose', 'conv3d', 'conv3d_transpose', 'dense',
         'dropout', 'flatten', 'max_pooling1d', 'max_pooling2d',
         'max_pooling3d', 'separable_conv1d', 'separable_conv2d')

error_record = _bn_cases.error_record
session_config = _bn_cases.session_config


def _case(case_id, build, shape, dtype='float32', training='true',
          seeded=True):
  return {'id': case_id, 'build': build, 'shape': list(shape),
          'dtype': dtype, 'training': training, 'seeded': seeded}


CASES = [
    _case('network', graphs.network, (2, 8, 8, 3)),
    _case('network_placeholder', graphs.network, (2, 6, 6, 2),
          training='placeholder'),
    _case('network_eval_dropout', graphs.network_eval_dropout, (3, 5, 7, 2)),
    _case('dense_default_initializer', graphs.one(
        'dense', units=4, seed_kernel=False), (5, 6), seeded=False),
    _case('conv2d_default_initializer', graphs.one(
        'conv2d', filters=3, kernel_size=2, seed_kernel=False),
          (2, 4, 4, 3), seeded=False),
    _case('dense_rank3_relu', graphs.one('dense', units=3, activation='relu'),
          (2, 3, 4)),
    _case('dense_regularizers', graphs.one(
        'dense', units=3, kernel_regularizer='l2', bias_regularizer='l2',
        activity_regularizer='l2'), (4, 5)),
    _case('dense_no_bias_constraint', graphs.one(
        'dense', units=3, use_bias=False, kernel_constraint='clip'), (4, 5)),
    _case('dense_float64', graphs.one('dense', units=2), (4, 3),
          dtype='float64'),
    _case('dense_class_api', graphs.dense_class, (4, 5)),
    _case('dense_trainable_false', graphs.frozen, (4, 5)),
    _case('reuse_by_name', graphs.reuse, (4, 5)),
    _case('unique_names', graphs.unique_names, (4, 5)),
    _case('scope_initializer', graphs.scope_initializer, (2, 3, 3, 2)),
    _case('conv2d_same_strides_upper', graphs.one(
        'conv2d', filters=3, kernel_size=3, strides=2, padding='SAME',
        activation='relu'), (2, 7, 6, 2)),
    _case('conv2d_dilation', graphs.one(
        'conv2d', filters=2, kernel_size=(2, 3), dilation_rate=2),
          (2, 7, 8, 3)),
    _case('conv2d_regularizers_constraints', graphs.one(
        'conv2d', filters=2, kernel_size=2, kernel_regularizer='l2',
        bias_regularizer='l2', bias_constraint='clip'), (2, 4, 4, 2)),
    _case('conv2d_class_api', graphs.conv_class, (2, 4, 4, 2)),
    _case('conv1d_causal_dilated', graphs.one(
        'conv1d', filters=2, kernel_size=3, padding='causal',
        dilation_rate=2), (2, 9, 3)),
    _case('conv1d_valid_strides', graphs.one(
        'conv1d', filters=3, kernel_size=2, strides=2), (2, 9, 2)),
    _case('conv3d_same', graphs.one(
        'conv3d', filters=2, kernel_size=2, padding='same'), (2, 3, 4, 3, 2)),
    _case('conv2d_transpose_valid', graphs.one(
        'conv2d_transpose', filters=2, kernel_size=3, strides=2), (2, 3, 4, 3)),
    _case('conv2d_transpose_same_rect', graphs.one(
        'conv2d_transpose', filters=3, kernel_size=(2, 3), strides=(2, 1),
        padding='same', activation='relu'), (2, 3, 3, 2)),
    _case('conv2d_transpose_channels_first', graphs.one(
        'conv2d_transpose', filters=2, kernel_size=2, strides=2,
        data_format='channels_first'), (2, 3, 3, 4)),
    _case('max_pooling2d_same', graphs.one(
        'max_pooling2d', pool_size=3, strides=2, padding='same'),
          (2, 5, 6, 3)),
    _case('average_pooling2d_valid', graphs.one(
        'average_pooling2d', pool_size=(2, 3), strides=(1, 2)), (2, 5, 7, 2)),
    _case('average_pooling2d_same_upper', graphs.one(
        'average_pooling2d', pool_size=2, strides=2, padding='SAME'),
          (2, 5, 5, 2)),
    _case('max_pooling1d', graphs.one('max_pooling1d', pool_size=2, strides=2),
          (2, 7, 3)),
    _case('average_pooling1d_channels_first', graphs.one(
        'average_pooling1d', pool_size=3, strides=1, padding='same',
        data_format='channels_first'), (2, 3, 6)),
    _case('max_pooling3d_channels_first', graphs.one(
        'max_pooling3d', pool_size=2, strides=2, data_format='channels_first'),
          (2, 2, 4, 4, 4)),
    _case('average_pooling3d_same', graphs.one(
        'average_pooling3d', pool_size=(1, 2, 2), strides=(1, 2, 1),
        padding='same'), (2, 2, 3, 4, 2)),
    _case('flatten_rank3', graphs.one('flatten'), (3, 2, 4)),
    _case('flatten_channels_first', graphs.one(
        'flatten', data_format='channels_first'), (2, 3, 2, 4)),
    _case('dropout_training_seeded', graphs.dropout(0.4, 9), (6, 5)),
    _case('dropout_placeholder', graphs.dropout(0.3, 10), (4, 3, 5),
          training='placeholder'),
    _case('dropout_noise_shape', graphs.dropout(
        0.5, 12, noise_shape=[None, 1, 5]), (4, 3, 5)),
    _case('dropout_inference', graphs.dropout(0.5, 13), (4, 5),
          training='false'),
    # Separable and transposed 3-D convolutions.
    _case('separable_network', graphs.separable_network, (2, 8, 8, 3)),
    _case('separable_network_placeholder', graphs.separable_network,
          (2, 8, 8, 2), training='placeholder'),
    _case('transposed_network', graphs.transposed_network, (2, 4, 4, 4, 2)),
    _case('separable_conv2d_default_initializer', graphs.one(
        'separable_conv2d', filters=3, kernel_size=2, depth_multiplier=2,
        seed_kernel=False), (2, 4, 4, 3), seeded=False),
    _case('separable_conv2d_same_dilated', graphs.one(
        'separable_conv2d', filters=4, kernel_size=3, padding='same',
        dilation_rate=2, depth_multiplier=2, activation='relu'),
          (2, 7, 6, 3)),
    _case('separable_conv2d_valid_strides_upper', graphs.one(
        'separable_conv2d', filters=3, kernel_size=(3, 2), strides=2,
        padding='VALID'), (2, 7, 5, 2)),
    _case('separable_conv2d_same_strides', graphs.one(
        'separable_conv2d', filters=2, kernel_size=3, strides=2,
        padding='same', depth_multiplier=3), (2, 5, 6, 2)),
    _case('separable_conv2d_regularizers_constraints', graphs.one(
        'separable_conv2d', filters=2, kernel_size=2,
        depthwise_regularizer='l2', pointwise_regularizer='l2',
        bias_regularizer='l2', activity_regularizer='l2',
        depthwise_constraint='clip', pointwise_constraint='clip',
        bias_constraint='clip'), (2, 4, 4, 2)),
    # TF 1.15's shapes took an integral float.
    _case('separable_conv2d_float_depth_multiplier', graphs.one(
        'separable_conv2d', filters=2, kernel_size=2, depth_multiplier=2.0),
          (2, 3, 3, 2)),
    _case('separable_conv2d_no_bias_float64', graphs.one(
        'separable_conv2d', filters=2, kernel_size=2, use_bias=False),
          (2, 3, 4, 2), dtype='float64'),
    _case('separable_conv1d_valid_strides', graphs.one(
        'separable_conv1d', filters=3, kernel_size=2, strides=2),
          (2, 9, 2)),
    _case('separable_conv1d_causal_dilated', graphs.one(
        'separable_conv1d', filters=2, kernel_size=3, padding='causal',
        dilation_rate=2, depth_multiplier=3), (2, 9, 2)),
    _case('separable_conv1d_same_no_bias', graphs.one(
        'separable_conv1d', filters=4, kernel_size=4, padding='SAME',
        use_bias=False, activation='relu'), (3, 6, 3)),
    _case('separable_conv1d_regularizers', graphs.one(
        'separable_conv1d', filters=2, kernel_size=2,
        depthwise_regularizer='l2', pointwise_regularizer='l2',
        bias_regularizer='l2'), (2, 5, 2)),
    _case('conv3d_transpose_valid_strides', graphs.one(
        'conv3d_transpose', filters=2, kernel_size=3, strides=2),
          (2, 1, 2, 2, 3)),
    _case('conv3d_transpose_same_rect', graphs.one(
        'conv3d_transpose', filters=3, kernel_size=(1, 2, 3),
        strides=(1, 2, 3), padding='SAME', activation='relu'),
          (2, 2, 3, 2, 2)),
    _case('conv3d_transpose_regularizers_constraints', graphs.one(
        'conv3d_transpose', filters=2, kernel_size=2, kernel_regularizer='l2',
        bias_regularizer='l2', activity_regularizer='l2',
        kernel_constraint='clip'), (2, 2, 2, 2, 2)),
    _case('conv3d_transpose_default_initializer', graphs.one(
        'conv3d_transpose', filters=2, kernel_size=2, seed_kernel=False),
          (2, 2, 2, 2, 3), seeded=False),
    _case('conv3d_transpose_float64', graphs.one(
        'conv3d_transpose', filters=2, kernel_size=2, strides=2,
        use_bias=False), (2, 2, 2, 1, 2), dtype='float64'),
    _case('separable_class_api', graphs.separable_class, (2, 4, 4, 3)),
    _case('conv3d_transpose_class_api', graphs.conv3d_transpose_class,
          (2, 2, 3, 2, 2)),
    _case('separable_trainable_false', graphs.separable_frozen, (2, 4, 4, 2)),
    _case('separable_reuse_by_name', graphs.separable_reuse, (2, 4, 4, 2)),
    _case('separable_unique_names', graphs.separable_unique_names,
          (2, 3, 3, 2)),
    _case('separable_scope_initializer', graphs.separable_scope_initializer,
          (2, 3, 3, 2)),
    # TF 1.15's errors for bad arguments and inputs.
    _case('error_dense_rank1', graphs.one('dense', units=2), (4,)),
    _case('error_dense_undefined_last', graphs.unknown_input(
        'dense', [None, None], units=2), (4, 3)),
    _case('error_conv2d_rank3', graphs.one('conv2d', filters=2, kernel_size=2),
          (2, 4, 4)),
    _case('error_conv2d_undefined_channels', graphs.unknown_input(
        'conv2d', [2, 4, 4, None], filters=2, kernel_size=2), (4, 3)),
    _case('error_conv2d_padding', graphs.one(
        'conv2d', filters=2, kernel_size=2, padding='full'), (2, 4, 4, 2)),
    _case('error_conv2d_causal', graphs.one(
        'conv2d', filters=2, kernel_size=2, padding='causal'), (2, 4, 4, 2)),
    _case('error_conv2d_data_format', graphs.one(
        'conv2d', filters=2, kernel_size=2, data_format='NHWC'),
          (2, 4, 4, 2)),
    _case('error_conv2d_kernel_size', graphs.one(
        'conv2d', filters=2, kernel_size=(2, 2, 2)), (2, 4, 4, 2)),
    _case('error_pool_size_element', graphs.one(
        'max_pooling2d', pool_size='ab', strides=1), (2, 4, 4, 2)),
    _case('error_dropout_rate', graphs.dropout(1.0, 1), (4, 3)),
    _case('error_flatten_unknown_rank', graphs.unknown_input('flatten', None),
          (4, 3)),
    _case('error_separable_conv2d_rank3', graphs.one(
        'separable_conv2d', filters=2, kernel_size=2), (2, 4, 4)),
    _case('error_separable_conv2d_unknown_rank', graphs.unknown_input(
        'separable_conv2d', None, filters=2, kernel_size=2), (4, 3)),
    _case('error_separable_conv2d_undefined_channels', graphs.unknown_input(
        'separable_conv2d', [2, 4, 4, None], filters=2, kernel_size=2),
          (4, 3)),
    _case('error_separable_conv2d_causal', graphs.one(
        'separable_conv2d', filters=2, kernel_size=2, padding='causal'),
          (2, 4, 4, 2)),
    _case('error_separable_conv2d_depth_multiplier_fraction', graphs.one(
        'separable_conv2d', filters=2, kernel_size=2, depth_multiplier=1.5),
          (2, 4, 4, 2)),
    _case('error_separable_conv2d_depth_multiplier_negative', graphs.one(
        'separable_conv2d', filters=2, kernel_size=2, depth_multiplier=-1),
          (2, 4, 4, 2)),
    _case('error_separable_conv2d_data_format', graphs.one(
        'separable_conv2d', filters=2, kernel_size=2, data_format='NHWC'),
          (2, 4, 4, 2)),
    _case('error_separable_conv1d_kernel_size', graphs.one(
        'separable_conv1d', filters=2, kernel_size=(2, 2)), (2, 5, 2)),
    _case('error_separable_conv1d_padding', graphs.one(
        'separable_conv1d', filters=2, kernel_size=2, padding='full'),
          (2, 5, 2)),
    _case('error_conv3d_transpose_rank4', graphs.one(
        'conv3d_transpose', filters=2, kernel_size=2), (2, 3, 3, 2)),
    _case('error_conv3d_transpose_undefined_channels', graphs.unknown_input(
        'conv3d_transpose', [2, 3, 3, 3, None], filters=2, kernel_size=2),
          (4, 3)),
    _case('error_conv3d_transpose_causal', graphs.one(
        'conv3d_transpose', filters=2, kernel_size=2, padding='causal'),
          (2, 2, 2, 2, 2)),
    _case('error_conv3d_transpose_strides', graphs.one(
        'conv3d_transpose', filters=2, kernel_size=2, strides=(2, 2)),
          (2, 2, 2, 2, 2)),
    _case('error_conv3d_transpose_dilation_rate', graphs.one(
        'conv3d_transpose', filters=2, kernel_size=2, dilation_rate=2),
          (2, 2, 2, 2, 2)),
]


def case_ids():
  return [case['id'] for case in CASES]


def case_by_id(case_id):
  for case in CASES:
    if case['id'] == case_id:
      return case
  raise KeyError('no tf.layers neighbours case %r' % case_id)


def case_data(case):
  """The deterministic input array of a case."""
  rng = np.random.RandomState(zlib.crc32(case['id'].encode('utf-8')))
  return rng.normal(0.2, 1.2, size=case['shape']).astype(case['dtype'])


def target_data(case, shape):
  """The deterministic target for an output of static `shape`."""
  rng = np.random.RandomState(zlib.crc32(case['id'].encode('utf-8')) + 1)
  return rng.normal(0.0, 1.0, size=shape).astype('float32')


def build(tf, api, case, training_kind=None):
  """Builds a case in the current graph; may raise TF's error for it."""
  tf.set_random_seed(GRAPH_SEED)
  built = tf_layers_harness.Built()
  kind = training_kind or case['training']
  built.kind = kind
  built.x = tf.placeholder(tf.as_dtype(case['dtype']), case['shape'],
                           name='input')
  if kind == 'placeholder':
    built.training = tf.placeholder(tf.bool, [], name='training')
  else:
    built.training = kind == 'true'
  built.output, built.info = case['build'](tf, api, built.x, built.training)
  tf_layers_harness.attach_loss_and_train(
      tf, built, built.output.get_shape(), LEARNING_RATE)
  return built


structure = _bn_cases.structure


def initial_values(tf, session):
  """`init/var/<name>` arrays of the freshly initialized variables."""
  variables = tf.global_variables()
  return {'init/var/%s' % v.op.name: np.asarray(value)
          for v, value in zip(variables, session.run(variables))}


def train(tf, session, built, data, target):
  """`STEPS` steps, run and fetched as the batch-normalization cases are."""
  return _bn_cases.train(tf, session, built, data, target, steps=STEPS)


infer = _bn_cases.infer
