"""Golden cases of TF 1.15's `tf.layers` batch normalization.

`tf.compat.v1.layers.batch_normalization` and `BatchNormalization` as TF 1.15.5
had them, recorded by scripts/record_tf_layers.py and replayed on TF 2
against contrib_bn.layers, through `install()`, by
contrib_bn.conformance.verify_tf_layers (`verify` and tests/test_tf_layers.py).

TF-free: the recorder imports this module under Python 3.7 and TF 1.15.5.
Every function takes `tf` (`tf.compat.v1` of the release) and `api`, an object
with `batch_normalization`, `BatchNormalization` and `batch_norm` (the
contrib layer), so both releases build the very same graph.

The ghost-batch and axis-list cases are tf_layers_grouped_cases'; CASES
holds both. A case's `build(tf, api, x, training)` returns the output
tensor and a dict of JSON facts (the class API's lists and names); it may
raise, and then the record holds TF 1.15's exception type and message. How
a case is run is tf_layers_harness; its functions are offered here too, so
that the recorder, the replay and the neighbours corpus pass one module
around.
"""

from contrib_bn.conformance import tf_layers_grouped_cases
# The building blocks of cases.
from contrib_bn.conformance.tf_layers_harness import case
from contrib_bn.conformance.tf_layers_harness import channels
from contrib_bn.conformance.tf_layers_harness import describe_layer
from contrib_bn.conformance.tf_layers_harness import fn
from contrib_bn.conformance.tf_layers_harness import l2
from contrib_bn.conformance.tf_layers_harness import ramp
from contrib_bn.conformance.tf_layers_harness import unknown_shape
# How a case runs, offered with the catalogue.
# pylint: disable=unused-import
from contrib_bn.conformance.tf_layers_harness import build
from contrib_bn.conformance.tf_layers_harness import case_data
from contrib_bn.conformance.tf_layers_harness import error_record
from contrib_bn.conformance.tf_layers_harness import infer
from contrib_bn.conformance.tf_layers_harness import session_config
from contrib_bn.conformance.tf_layers_harness import structure
from contrib_bn.conformance.tf_layers_harness import train
# pylint: enable=unused-import


def _initializers(tf, api, x, training):
  c = channels(x)
  return api.batch_normalization(
      x, training=training, momentum=0.9, epsilon=1e-2,
      gamma_initializer=tf.constant_initializer(ramp(0.5, 0.25, c)),
      beta_initializer=tf.constant_initializer(ramp(-0.2, 0.1, c)),
      moving_mean_initializer=tf.constant_initializer(ramp(0.1, 0.05, c)),
      moving_variance_initializer=tf.constant_initializer(
          ramp(1.5, 0.5, c))), {}


def _regularizers(tf, api, x, training):
  return api.batch_normalization(
      x, training=training, gamma_regularizer=l2(tf, 0.05),
      beta_regularizer=l2(tf, 0.02), name='regularized'), {}


def _constraints(tf, api, x, training):
  return api.batch_normalization(
      x, training=training,
      gamma_constraint=lambda w: tf.clip_by_value(w, 0.9, 1.02),
      beta_constraint=lambda w: tf.clip_by_value(w, -0.05, 0.05)), {}


def _renorm_clipped(tf, api, x, training):
  return api.batch_normalization(
      x, training=training, renorm=True, renorm_momentum=0.9,
      renorm_clipping={'rmax': 1.5, 'rmin': 0.7, 'dmax': 0.3}), {}


def _adjustment(tf, api, x, training):
  c = channels(x)

  def adjustment(unused_shape):
    return (tf.constant(ramp(0.9, 0.1, c), tf.float32),
            tf.constant(ramp(-0.1, 0.05, c), tf.float32))
  return api.batch_normalization(x, training=training,
                                 adjustment=adjustment), {}


def _class_api(tf, api, x, training):
  layer = api.BatchNormalization(momentum=0.9, gamma_regularizer=l2(tf, 0.1),
                                 name='bn')
  first = layer.apply(x, training=training)
  # The second call reuses the variables. Its output stays out of the loss:
  # the train op updates the moving statistics it reads, in an order TF1
  # reference variables leave undefined.
  layer(x * 2.0 + 1.0, training=False)
  return first, describe_layer(layer)


def _class_api_defaults(tf, api, x, training):
  del training  # the call's own default is what is recorded
  layer = api.BatchNormalization(axis=1, center=False)
  out = layer.apply(x)
  return out, describe_layer(layer)


def _class_api_frozen(tf, api, x, training):
  layer = api.BatchNormalization(trainable=False, beta_regularizer=l2(
      tf, 0.1))
  out = layer.apply(x, training=training)
  return out, describe_layer(layer)


def _reuse(tf, api, x, training):
  first = api.batch_normalization(x, training=training, name='shared')
  second = api.batch_normalization(x * 0.5 - 1.0, training=training,
                                    name='shared', reuse=True)
  return first + second, {}


def _unique_names(tf, api, x, training):
  net = api.batch_normalization(x, training=training)
  net = api.batch_normalization(net * 2.0, training=training)
  with tf.variable_scope('block'):
    net = api.batch_normalization(net, training=training)
  net = api.batch_normalization(net, training=training)
  return net, {}


def _mixed_contrib(tf, api, x, training):
  net = api.batch_norm(x, is_training=training, scale=True, decay=0.9)
  net = api.batch_normalization(tf.nn.relu(net), training=training,
                                momentum=0.9)
  net = api.batch_norm(net, is_training=training, scope='after')
  return net, {}


CASES = [
    case('rank2_train', fn(), (8, 3)),
    case('rank3_train', fn(), (4, 3, 5)),
    case('rank4_train', fn(), (4, 3, 3, 2)),
    case('rank5_train', fn(), (2, 3, 2, 2, 3)),
    case('rank4_placeholder', fn(), (4, 3, 3, 2), training='placeholder'),
    case('rank3_placeholder', fn(), (4, 3, 5), training='placeholder'),
    case('rank4_default', fn(), (4, 3, 3, 2), training='default'),
    case('rank2_default', fn(), (8, 3), training='default'),
    case('rank4_eval', fn(), (4, 3, 3, 2), training='false'),
    case('rank3_eval', fn(), (4, 3, 5), training='false'),
    # Channels first at rank 4 picks TF 1.15's fused kernel, which refused
    # NCHW on CPU when run; fused=False takes the formulas.
    case('rank4_axis1_unfused', fn(axis=1, fused=False), (4, 3, 3, 2)),
    case('rank4_axis_list3', fn(axis=[3]), (4, 3, 3, 2)),
    case('rank4_axis2', fn(axis=2), (4, 3, 3, 2)),
    case('rank4_axis_minus3_placeholder', fn(axis=-3, fused=False),
         (4, 3, 2, 2),
         training='placeholder'),
    case('rank3_axis1', fn(axis=1), (4, 3, 5)),
    case('rank2_axis0', fn(axis=0), (3, 5)),
    case('rank4_float16', fn(), (4, 3, 3, 2), dtype='float16'),
    case('rank2_float16', fn(), (8, 3), dtype='float16'),
    case('rank3_float16_placeholder', fn(), (4, 3, 5), dtype='float16',
         training='placeholder'),
    case('rank2_float64', fn(), (8, 3), dtype='float64'),
    case('rank4_float64_unfused', fn(fused=False), (4, 3, 3, 2),
         dtype='float64'),
    case('rank4_float64_default_fused', fn(), (4, 3, 3, 2),
         dtype='float64'),
    case('rank4_fused_true', fn(fused=True), (4, 3, 3, 2)),
    case('rank4_fused_false', fn(fused=False), (4, 3, 3, 2)),
    case('rank3_fused_true', fn(fused=True), (4, 3, 5)),
    case('rank4_fused_false_placeholder', fn(fused=False), (4, 3, 3, 2),
         training='placeholder'),
    case('no_center', fn(center=False), (4, 3, 3, 2)),
    case('no_scale_rank3', fn(scale=False), (4, 3, 5)),
    case('no_center_no_scale_rank2', fn(center=False, scale=False), (8, 3)),
    case('initializers_rank4', _initializers, (4, 3, 3, 2)),
    case('initializers_rank2_placeholder', _initializers, (8, 3),
         training='placeholder'),
    case('regularizers', _regularizers, (4, 3, 3, 2)),
    case('constraints', _constraints, (8, 3)),
    case('renorm_clipping_rank4', _renorm_clipped, (4, 3, 3, 2)),
    case('renorm_rank2_placeholder', fn(renorm=True), (8, 3),
         training='placeholder'),
    case('renorm_fused_true', fn(renorm=True, fused=True), (4, 3, 3, 2)),
    case('adjustment_rank2', _adjustment, (8, 3)),
    case('trainable_false', fn(trainable=False), (4, 3, 3, 2)),
    case('class_api', _class_api, (4, 3, 3, 2)),
    case('class_api_placeholder', _class_api, (8, 3),
         training='placeholder'),
    case('class_api_call_defaults', _class_api_defaults, (4, 3, 5)),
    case('class_api_frozen', _class_api_frozen, (4, 3, 3, 2)),
    # Inference calls: two training calls would update the same moving
    # statistics twice in one step, in an order neither release defines.
    case('reuse_by_name', _reuse, (4, 3, 3, 2), training='false'),
    case('unique_names', _unique_names, (4, 3, 3, 2)),
    case('mixed_with_contrib_batch_norm', _mixed_contrib, (4, 3, 3, 2)),
    case('mixed_with_contrib_batch_norm_placeholder', _mixed_contrib,
         (8, 3), training='placeholder'),
    # TF 1.15's errors for bad arguments.
    case('error_axis_type', fn(axis='channels'), (4, 3)),
    case('error_axis_tuple', fn(axis=(1,)), (4, 3)),
    case('error_invalid_axis', fn(axis=4), (4, 3, 3, 2)),
    case('error_invalid_negative_axis', fn(axis=-5), (4, 3, 3, 2)),
    case('error_duplicate_axis', fn(axis=[1, -3]), (4, 3, 3, 2)),
    case('error_renorm_clipping_key', fn(
        renorm=True, renorm_clipping={'rmax': 2.0, 'r_max': 3.0}), (4, 3)),
    case('error_unknown_rank', unknown_shape(None), (4, 3)),
    case('error_undefined_channels', unknown_shape([None, 3, None]),
         (4, 3)),
] + tf_layers_grouped_cases.CASES


def case_ids():
  return [c['id'] for c in CASES]


def case_by_id(case_id):
  for each in CASES:
    if each['id'] == case_id:
      return each
  raise KeyError('no tf.layers case %r' % case_id)


