"""Where common `tf.contrib` names went, for the errors of the names contrib_bn lacks.

contrib_bn provides batch_norm's neighbourhood (and, with tf_slim, the rest of
`tf.contrib.layers`: contrib_bn.compat.layers_registry); for every other
`tf.contrib` name the error says it is not provided, and, for the names
below, where a TF 2.x program finds the same function or its successor:
`tf.compat.v1`, or the PyPI package tf_slim (where `tf.contrib.framework`'s
variable helpers and `tf.contrib.training` moved).
Names whose TF 2 counterpart behaves differently say how.

`tf.compat.v1.layers.*` and `tf.compat.v1.nn.rnn_cell.*` are never a
replacement: with Keras 3 they raise "not available with Keras 3".
`tf.contrib.rnn`, `tf.contrib.seq2seq` and `tf.contrib.learn` have no entry
for that reason. The common `tf.layers` functions have one of their own: the
`tf.contrib.layers` function install() serves in their place, with the
arguments and defaults that differ (tests/test_scan_programs.py builds each).
"""

__all__ = ['REPLACEMENTS', 'replacement_for', 'replacements_under']

_SLIM = ' (pip install tf-slim; the same function, moved out of tf.contrib)'

# 'tf.contrib.<name>' or 'tf.layers.<name>' -> where TF 2.x code finds it.
REPLACEMENTS = {
    # tf.contrib.layers: the names neither contrib_bn nor tf_slim provides
    # (contrib_bn.compat.layers_registry.UNPROVIDED), the tf.contrib.learn
    # side of the module. The others install() serves.
    'tf.contrib.layers.SPARSE_FEATURE_CROSS_DEFAULT_HASH_KEY': (
        'tf.sparse.cross_hashed (whose default hash_key is the same '
        '0xDECAFCAFFE)'),
    'tf.contrib.layers.bow_encoder': (
        'tf.compat.v1.nn.embedding_lookup_sparse with combiner="mean" over a '
        'tf.compat.v1.get_variable embedding matrix (bow_encoder averaged '
        'the embeddings of each row\'s ids)'),
    'tf.contrib.layers.embed_sequence': (
        'tf.compat.v1.nn.embedding_lookup on a tf.compat.v1.get_variable of '
        'shape [vocab_size, embed_dim]'),
    'tf.contrib.layers.embedding_lookup_unique': (
        'tf.compat.v1.nn.embedding_lookup (apply tf.unique to the ids first '
        'if the deduplication matters)'),
    'tf.contrib.layers.safe_embedding_lookup_sparse': (
        'tf.compat.v1.nn.safe_embedding_lookup_sparse'),
    'tf.contrib.layers.feature_column': 'tf.compat.v1.feature_column',
    'tf.contrib.layers.bucketized_column': (
        'tf.compat.v1.feature_column.bucketized_column'),
    'tf.contrib.layers.crossed_column': (
        'tf.compat.v1.feature_column.crossed_column'),
    'tf.contrib.layers.embedding_column': (
        'tf.compat.v1.feature_column.embedding_column'),
    'tf.contrib.layers.scattered_embedding_column': (
        'tf.compat.v1.feature_column.embedding_column of a '
        'categorical_column_with_hash_bucket'),
    'tf.contrib.layers.shared_embedding_columns': (
        'tf.compat.v1.feature_column.shared_embedding_columns'),
    'tf.contrib.layers.one_hot_column': (
        'tf.compat.v1.feature_column.indicator_column'),
    'tf.contrib.layers.real_valued_column': (
        'tf.compat.v1.feature_column.numeric_column'),
    'tf.contrib.layers.sparse_column_with_hash_bucket': (
        'tf.compat.v1.feature_column.categorical_column_with_hash_bucket'),
    'tf.contrib.layers.sparse_column_with_integerized_feature': (
        'tf.compat.v1.feature_column.categorical_column_with_identity'),
    'tf.contrib.layers.sparse_column_with_keys': (
        'tf.compat.v1.feature_column.categorical_column_with_vocabulary_list'),
    'tf.contrib.layers.sparse_column_with_vocabulary_file': (
        'tf.compat.v1.feature_column.categorical_column_with_vocabulary_file'),
    'tf.contrib.layers.weighted_sparse_column': (
        'tf.compat.v1.feature_column.weighted_categorical_column'),
    'tf.contrib.layers.create_feature_spec_for_parsing': (
        'tf.compat.v1.feature_column.make_parse_example_spec'),
    'tf.contrib.layers.make_place_holder_tensors_for_base_features': (
        'tf.compat.v1.placeholder (one per entry of '
        'tf.compat.v1.feature_column.make_parse_example_spec)'),
    'tf.contrib.layers.parse_feature_columns_from_examples': (
        'tf.compat.v1.io.parse_example with '
        'tf.compat.v1.feature_column.make_parse_example_spec'),
    'tf.contrib.layers.parse_feature_columns_from_sequence_examples': (
        'tf.compat.v1.io.parse_single_sequence_example'),
    'tf.contrib.layers.input_from_feature_columns': (
        'tf.compat.v1.feature_column.input_layer'),
    'tf.contrib.layers.sequence_input_from_feature_columns': (
        'tf.compat.v1.feature_column.input_layer (applied per time step)'),
    'tf.contrib.layers.transform_features': (
        'tf.compat.v1.feature_column.input_layer (which transforms the '
        'features it is given)'),
    'tf.contrib.layers.check_feature_columns': (
        'tf.compat.v1.feature_column.input_layer (which checks its columns '
        'itself)'),
    'tf.contrib.layers.infer_real_valued_columns': (
        'tf.compat.v1.feature_column.numeric_column (one per input '
        'feature)'),
    'tf.contrib.layers.weighted_sum_from_feature_columns': (
        'tf.compat.v1.feature_column.linear_model'),
    'tf.contrib.layers.joint_weighted_sum_from_feature_columns': (
        'tf.compat.v1.feature_column.linear_model'),
    'tf.contrib.layers.multi_class_target': (
        'tf.compat.v1.losses.sparse_softmax_cross_entropy (the loss of the '
        'tf.contrib.learn head it built; tf.estimator is gone from TF 2.16)'),
    'tf.contrib.layers.regression_target': (
        'tf.compat.v1.losses.mean_squared_error (the loss of the '
        'tf.contrib.learn head it built; tf.estimator is gone from TF 2.16)'),
    # tf.layers (tf.compat.v1.layers), refused with Keras 3: the TF 1.15
    # tf.contrib.layers function that install() serves (from tf_slim), which
    # names its variables weights/biases where tf.layers said kernel/bias.
    'tf.layers.conv2d': (
        'tf.contrib.layers.conv2d after contrib_bn.install() (num_outputs='
        'filters, stride=strides; its defaults differ: padding \'SAME\' not '
        '\'valid\', activation_fn tf.nn.relu not None, variance-scaling '
        'not Glorot weights; variables weights/biases, not kernel/bias)'),
    'tf.layers.conv2d_transpose': (
        'tf.contrib.layers.conv2d_transpose after contrib_bn.install() '
        '(num_outputs=filters, stride=strides; its defaults differ: padding '
        '\'SAME\' not \'valid\', activation_fn tf.nn.relu not None, '
        'variance-scaling not Glorot weights; variables weights/biases, not '
        'kernel/bias)'),
    'tf.layers.dense': (
        'tf.contrib.layers.fully_connected after contrib_bn.install() '
        '(num_outputs=units; its defaults differ: activation_fn tf.nn.relu '
        'not None, variance-scaling not Glorot weights; variables '
        'weights/biases, not kernel/bias)'),
    'tf.layers.batch_normalization': (
        'tf.contrib.layers.batch_norm after contrib_bn.install() (decay='
        'momentum, is_training=training, scale=True; its defaults differ: '
        'decay 0.999 not 0.99, scale False, is_training True not False; '
        'variables under BatchNorm/, not batch_normalization/)'),
    'tf.layers.flatten': 'tf.contrib.layers.flatten after contrib_bn.install()',
    'tf.layers.max_pooling2d': (
        'tf.contrib.layers.max_pool2d after contrib_bn.install() '
        '(kernel_size=pool_size, stride=strides)'),
    'tf.layers.average_pooling2d': (
        'tf.contrib.layers.avg_pool2d after contrib_bn.install() '
        '(kernel_size=pool_size, stride=strides)'),
    'tf.layers.dropout': (
        'tf.contrib.layers.dropout after contrib_bn.install() (keep_prob='
        '1 - rate, is_training=training; its default is_training is True, '
        'not False)'),
    # tf.contrib.framework's variable helpers.
    'tf.contrib.framework.get_variables': 'tf_slim.get_variables' + _SLIM,
    'tf.contrib.framework.get_model_variables': (
        'tf_slim.get_model_variables' + _SLIM),
    'tf.contrib.framework.get_variables_to_restore': (
        'tf_slim.get_variables_to_restore' + _SLIM),
    'tf.contrib.framework.model_variable': 'tf_slim.model_variable' + _SLIM,
    'tf.contrib.framework.variable': 'tf_slim.variable' + _SLIM,
    'tf.contrib.framework.assign_from_checkpoint_fn': (
        'tf_slim.assign_from_checkpoint_fn' + _SLIM),
    'tf.contrib.framework.get_or_create_global_step': (
        'tf.compat.v1.train.get_or_create_global_step'),
    'tf.contrib.framework.get_global_step': 'tf.compat.v1.train.get_global_step',
    # tf.contrib.training.
    'tf.contrib.training.create_train_op': (
        'tf_slim.training.create_train_op' + _SLIM),
    'tf.contrib.training.train': 'tf_slim.training.train' + _SLIM,
    # tf.contrib.metrics: the streaming metrics wrapped tf.metrics, with the
    # arguments in the order (predictions, labels).
    'tf.contrib.metrics.streaming_accuracy': (
        'tf.compat.v1.metrics.accuracy (pass labels= and predictions= by '
        'keyword: the positional order is (labels, predictions))'),
    'tf.contrib.metrics.streaming_mean': 'tf.compat.v1.metrics.mean',
    'tf.contrib.metrics.streaming_auc': (
        'tf.compat.v1.metrics.auc (pass labels= and predictions= by '
        'keyword: the positional order is (labels, predictions))'),
    'tf.contrib.metrics.streaming_precision': (
        'tf.compat.v1.metrics.precision (pass labels= and predictions= by '
        'keyword: the positional order is (labels, predictions))'),
    'tf.contrib.metrics.streaming_recall': (
        'tf.compat.v1.metrics.recall (pass labels= and predictions= by '
        'keyword: the positional order is (labels, predictions))'),
    'tf.contrib.metrics.streaming_mean_iou': (
        'tf.compat.v1.metrics.mean_iou (pass labels= and predictions= by '
        'keyword: the positional order is (labels, predictions))'),
    'tf.contrib.metrics.accuracy': (
        'no single TF 2 function: tf.contrib.metrics.accuracy returned the '
        'accuracy tensor at once; tf.compat.v1.metrics.accuracy is the '
        'streaming variant, returning (accuracy, update_op)'),
}


def replacement_for(dotted_name):
  """Returns where TF 2 code finds `dotted_name` ('tf.contrib....'), or None."""
  return REPLACEMENTS.get(dotted_name)


def replacements_under(module_name):
  """Sorted (name, replacement) pairs of the names inside `module_name`."""
  prefix = module_name + '.'
  return sorted((name, text) for name, text in REPLACEMENTS.items()
                if name.startswith(prefix))
