"""Where common `tf.contrib` names went, for the errors of the names contrib_bn lacks.

contrib_bn provides batch_norm and its neighbourhood only; for every other
`tf.contrib` name the error says it is not provided, and, for the names
below, where a TF 2.x program finds the same function. Each entry is a
function that survived the removal of `tf.contrib` unchanged, either in
`tf.compat.v1` or in the PyPI package tf_slim (which is where
`tf.contrib.layers` and `tf.contrib.framework`'s variable helpers moved;
after `contrib_bn.install()` tf_slim's batch_norm works on Keras 3 too).
Names whose TF 2 counterpart behaves differently say how.

`tf.compat.v1.layers.*` and `tf.compat.v1.nn.rnn_cell.*` are not named: with
Keras 3 they raise "not available with Keras 3". `tf.contrib.rnn`,
`tf.contrib.seq2seq` and `tf.contrib.learn` have no entry for that reason.
"""

__all__ = ['REPLACEMENTS', 'replacement_for', 'replacements_under']

_SLIM = ' (pip install tf-slim; the same function, moved out of tf.contrib)'

# 'tf.contrib.<name>' -> where TF 2.x code finds it.
REPLACEMENTS = {
    # tf.contrib.layers: the layer functions live on in tf_slim.
    'tf.contrib.layers.flatten': 'tf_slim.flatten' + _SLIM,
    'tf.contrib.layers.fully_connected': 'tf_slim.fully_connected' + _SLIM,
    'tf.contrib.layers.conv2d': 'tf_slim.conv2d' + _SLIM,
    'tf.contrib.layers.conv2d_transpose': 'tf_slim.conv2d_transpose' + _SLIM,
    'tf.contrib.layers.separable_conv2d': 'tf_slim.separable_conv2d' + _SLIM,
    'tf.contrib.layers.max_pool2d': 'tf_slim.max_pool2d' + _SLIM,
    'tf.contrib.layers.avg_pool2d': 'tf_slim.avg_pool2d' + _SLIM,
    'tf.contrib.layers.dropout': 'tf_slim.dropout' + _SLIM,
    'tf.contrib.layers.layer_norm': 'tf_slim.layer_norm' + _SLIM,
    'tf.contrib.layers.one_hot_encoding': 'tf_slim.one_hot_encoding' + _SLIM,
    'tf.contrib.layers.repeat': 'tf_slim.repeat' + _SLIM,
    'tf.contrib.layers.stack': 'tf_slim.stack' + _SLIM,
    'tf.contrib.layers.softmax': 'tf_slim.softmax' + _SLIM,
    'tf.contrib.layers.unit_norm': 'tf_slim.unit_norm' + _SLIM,
    'tf.contrib.layers.optimize_loss': 'tf_slim.optimize_loss' + _SLIM,
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
