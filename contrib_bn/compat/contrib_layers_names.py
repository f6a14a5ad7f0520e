"""The public names of TF 1.15.5's `tf.contrib.layers`, as data.

`install()` serves exactly these names, no more and no fewer, so the list is
read from TF 1.15.5 rather than guessed: `tensorflow_core/contrib/layers/
__init__.py` star-imports `contrib.layers.python.layers` and then calls
`remove_undocumented`, which keeps the `@@name` entries of its docstring plus
`_allowed_symbols`. The tuples below are what survives, i.e.

  sorted(n for n in dir(tf.contrib.layers) if not n.startswith('_'))

under TensorFlow 1.15.5, written out once;
`compat_tests/test_contrib_layers_names.py` recomputes both tables under
TF 1.15.5 and requires them to equal these. The module needs no TensorFlow,
so that test can load it by path.
"""

# Every public attribute of TF 1.15.5's `tf.contrib.layers` (98 names; two of
# them, `feature_column` and `summaries`, are modules).
PUBLIC_NAMES = (
    'GDN',
    'OPTIMIZER_CLS_NAMES',
    'OPTIMIZER_SUMMARIES',
    'RevBlock',
    'SPARSE_FEATURE_CROSS_DEFAULT_HASH_KEY',
    'apply_regularization',
    'avg_pool2d',
    'avg_pool3d',
    'batch_norm',
    'bias_add',
    'bow_encoder',
    'bucketized_column',
    'check_feature_columns',
    'conv1d',
    'conv2d',
    'conv2d_in_plane',
    'conv2d_transpose',
    'conv3d',
    'conv3d_transpose',
    'convolution',
    'convolution1d',
    'convolution2d',
    'convolution2d_in_plane',
    'convolution2d_transpose',
    'convolution3d',
    'convolution3d_transpose',
    'create_feature_spec_for_parsing',
    'crossed_column',
    'dense_to_sparse',
    'dropout',
    'elu',
    'embed_sequence',
    'embedding_column',
    'embedding_lookup_unique',
    'feature_column',
    'flatten',
    'fully_connected',
    'gdn',
    'group_norm',
    'images_to_sequence',
    'infer_real_valued_columns',
    'input_from_feature_columns',
    'instance_norm',
    'joint_weighted_sum_from_feature_columns',
    'l1_l2_regularizer',
    'l1_regularizer',
    'l2_regularizer',
    'layer_norm',
    'legacy_fully_connected',
    'legacy_linear',
    'legacy_relu',
    'linear',
    'make_place_holder_tensors_for_base_features',
    'max_pool2d',
    'max_pool3d',
    'maxout',
    'multi_class_target',
    'one_hot_column',
    'one_hot_encoding',
    'optimize_loss',
    'parse_feature_columns_from_examples',
    'parse_feature_columns_from_sequence_examples',
    'real_valued_column',
    'recompute_grad',
    'regression_target',
    'relu',
    'relu6',
    'repeat',
    'rev_block',
    'safe_embedding_lookup_sparse',
    'scale_gradient',
    'scattered_embedding_column',
    'separable_conv2d',
    'separable_convolution2d',
    'sequence_input_from_feature_columns',
    'sequence_to_images',
    'shared_embedding_columns',
    'softmax',
    'sparse_column_with_hash_bucket',
    'sparse_column_with_integerized_feature',
    'sparse_column_with_keys',
    'sparse_column_with_vocabulary_file',
    'spatial_softmax',
    'stack',
    'sum_regularizer',
    'summaries',
    'summarize_activation',
    'summarize_activations',
    'summarize_collection',
    'summarize_tensor',
    'summarize_tensors',
    'transform_features',
    'unit_norm',
    'variance_scaling_initializer',
    'weighted_sparse_column',
    'weighted_sum_from_feature_columns',
    'xavier_initializer',
    'xavier_initializer_conv2d',
)

# The module of `tensorflow.contrib.layers.python.layers` that defines each
# name and lists it in its `__all__` (TF1 code imports them from there, as in
# `from tensorflow.contrib.layers.python.layers import layers as layers_lib`).
# `feature_column`, `summaries` and `SPARSE_FEATURE_CROSS_DEFAULT_HASH_KEY`
# belong to none: the first two are modules, the last a constant re-exported
# from an op library.
HOMES = {
    'embedding_ops': (
        'embedding_lookup_unique', 'safe_embedding_lookup_sparse',
    ),
    'encoders': (
        'bow_encoder', 'embed_sequence',
    ),
    'feature_column': (
        'bucketized_column', 'create_feature_spec_for_parsing',
        'crossed_column', 'embedding_column',
        'make_place_holder_tensors_for_base_features', 'one_hot_column',
        'real_valued_column', 'scattered_embedding_column',
        'shared_embedding_columns', 'sparse_column_with_hash_bucket',
        'sparse_column_with_integerized_feature', 'sparse_column_with_keys',
        'sparse_column_with_vocabulary_file', 'weighted_sparse_column',
    ),
    'feature_column_ops': (
        'check_feature_columns', 'infer_real_valued_columns',
        'input_from_feature_columns',
        'joint_weighted_sum_from_feature_columns',
        'parse_feature_columns_from_examples',
        'parse_feature_columns_from_sequence_examples',
        'sequence_input_from_feature_columns', 'transform_features',
        'weighted_sum_from_feature_columns',
    ),
    'initializers': (
        'variance_scaling_initializer', 'xavier_initializer',
        'xavier_initializer_conv2d',
    ),
    'layers': (
        'GDN', 'avg_pool2d', 'avg_pool3d', 'batch_norm', 'bias_add', 'conv1d',
        'conv2d', 'conv2d_in_plane', 'conv2d_transpose', 'conv3d',
        'conv3d_transpose', 'convolution', 'convolution1d', 'convolution2d',
        'convolution2d_in_plane', 'convolution2d_transpose', 'convolution3d',
        'convolution3d_transpose', 'dense_to_sparse', 'dropout', 'elu',
        'flatten', 'fully_connected', 'gdn', 'images_to_sequence',
        'layer_norm', 'legacy_fully_connected', 'legacy_linear', 'legacy_relu',
        'linear', 'max_pool2d', 'max_pool3d', 'maxout', 'one_hot_encoding',
        'relu', 'relu6', 'repeat', 'scale_gradient', 'separable_conv2d',
        'separable_convolution2d', 'sequence_to_images', 'softmax',
        'spatial_softmax', 'stack', 'unit_norm',
    ),
    'normalization': (
        'group_norm', 'instance_norm',
    ),
    'optimizers': (
        'OPTIMIZER_CLS_NAMES', 'OPTIMIZER_SUMMARIES', 'optimize_loss',
    ),
    'regularizers': (
        'apply_regularization', 'l1_l2_regularizer', 'l1_regularizer',
        'l2_regularizer', 'sum_regularizer',
    ),
    'rev_block_lib': (
        'RevBlock', 'recompute_grad', 'rev_block',
    ),
    'summaries': (
        'summarize_activation', 'summarize_activations',
        'summarize_collection', 'summarize_tensor', 'summarize_tensors',
    ),
    'target_column': (
        'multi_class_target', 'regression_target',
    ),
}
