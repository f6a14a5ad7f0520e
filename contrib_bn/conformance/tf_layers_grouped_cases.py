"""Golden cases of TF 1.15's `tf.layers` batch normalization: ghost batches
and axis lists, where the parameters take the input's rank.

Part of the catalogue of tf_layers_cases (whose CASES includes these); the
same conventions. With `virtual_batch_size` TF 1.15 viewed the input as
`[virtual_batch_size, -1, ...]`, gave the parameters the shape `[1, 1, ...,
C]` and never ran the fused kernel, even with `fused=True`; with several
axes the parameters are 1 on every reduced axis.

TF-free: the recorder imports this module under Python 3.7 and TF 1.15.5.
"""

from contrib_bn.conformance.tf_layers_harness import case
from contrib_bn.conformance.tf_layers_harness import channels
from contrib_bn.conformance.tf_layers_harness import describe_layer
from contrib_bn.conformance.tf_layers_harness import fn
from contrib_bn.conformance.tf_layers_harness import l2
from contrib_bn.conformance.tf_layers_harness import ramp
from contrib_bn.conformance.tf_layers_harness import unknown_shape

def _dynamic_batch(**kwargs):
  """The functional form on the input with its batch size unknown."""
  def build_case(tf, api, x, training):
    shape = x.get_shape().as_list()
    rest = tf.placeholder_with_default(shape[1:], [len(shape) - 1])
    dynamic = tf.reshape(x, tf.concat([[-1], rest], 0))
    dynamic.set_shape([None] + shape[1:])
    return api.batch_normalization(dynamic, training=training, **kwargs), {}
  return build_case


def _virtual_batch_initializers(tf, api, x, training):
  c = channels(x)
  return api.batch_normalization(
      x, training=training, virtual_batch_size=2, momentum=0.9,
      gamma_initializer=tf.constant_initializer(ramp(0.5, 0.25, c)),
      beta_initializer=tf.constant_initializer(ramp(-0.2, 0.1, c)),
      moving_mean_initializer=tf.constant_initializer(ramp(0.1, 0.05, c)),
      moving_variance_initializer=tf.constant_initializer(
          ramp(1.5, 0.5, c)),
      gamma_regularizer=l2(tf, 0.05)), {}


def _grouped_renorm(**kwargs):
  def build_case(tf, api, x, training):
    return api.batch_normalization(
        x, training=training, renorm=True, renorm_momentum=0.9,
        renorm_clipping={'rmax': 1.5, 'rmin': 0.7, 'dmax': 0.3},
        **kwargs), {}
  return build_case


def _axes_adjustment(tf, api, x, training):
  c = channels(x)

  def adjustment(unused_shape):
    return (tf.constant(ramp(0.9, 0.1, c), tf.float32),
            tf.constant(ramp(-0.1, 0.05, c), tf.float32))
  return api.batch_normalization(x, training=training, axis=[1, 2],
                                 adjustment=adjustment), {}


def _grouped_class_api(**kwargs):
  def build_case(tf, api, x, training):
    layer = api.BatchNormalization(momentum=0.9, name='grouped', **kwargs)
    out = layer.apply(x, training=training)
    layer(x * 2.0 + 1.0, training=False)
    return out, describe_layer(layer)
  return build_case


CASES = [
    # Ghost batches: the input viewed as [virtual_batch_size, -1, ...], the
    # parameters [1, 1, ..., C]; never the fused kernel, fused=True included.
    case('virtual_batch_rank4_train', fn(virtual_batch_size=2),
         (8, 3, 3, 2)),
    case('virtual_batch_rank4_placeholder', fn(virtual_batch_size=4),
         (8, 3, 3, 2), training='placeholder'),
    case('virtual_batch_rank4_default', fn(virtual_batch_size=2),
         (8, 3, 3, 2), training='default'),
    case('virtual_batch_rank4_eval', fn(virtual_batch_size=2),
         (8, 3, 3, 2), training='false'),
    case('virtual_batch_rank4_fused_false',
         fn(virtual_batch_size=2, fused=False), (8, 3, 3, 2)),
    case('virtual_batch_rank4_fused_true',
         fn(virtual_batch_size=4, fused=True), (8, 3, 3, 2),
         training='placeholder'),
    case('virtual_batch_rank4_axis1', fn(virtual_batch_size=2, axis=1),
         (4, 3, 3, 2)),
    case('virtual_batch_rank2_train', fn(virtual_batch_size=4), (8, 3)),
    case('virtual_batch_rank2_placeholder', fn(virtual_batch_size=2),
         (8, 3), training='placeholder'),
    case('virtual_batch_rank3_train', fn(virtual_batch_size=3), (6, 4, 3)),
    case('virtual_batch_rank5_train', fn(virtual_batch_size=2),
         (4, 2, 3, 2, 3)),
    case('virtual_batch_whole_batch', fn(virtual_batch_size=8), (8, 3)),
    case('virtual_batch_dynamic_batch', _dynamic_batch(virtual_batch_size=2),
         (8, 3, 3, 2), training='placeholder'),
    case('virtual_batch_float16', fn(virtual_batch_size=2), (4, 2, 3, 2),
         dtype='float16'),
    case('virtual_batch_float64', fn(virtual_batch_size=2), (8, 3),
         dtype='float64'),
    case('virtual_batch_no_center_no_scale',
         fn(virtual_batch_size=2, center=False, scale=False), (8, 3, 5)),
    case('virtual_batch_initializers', _virtual_batch_initializers,
         (8, 3, 3, 2), training='placeholder'),
    case('virtual_batch_renorm', _grouped_renorm(virtual_batch_size=2),
         (8, 3, 3, 2)),
    case('virtual_batch_renorm_placeholder',
         _grouped_renorm(virtual_batch_size=4), (8, 3), training='placeholder'),
    case('virtual_batch_renorm_default',
         fn(virtual_batch_size=2, renorm=True), (8, 3, 5), training='default'),
    case('virtual_batch_trainable_false',
         fn(virtual_batch_size=2, trainable=False), (8, 3)),
    case('virtual_batch_axes', fn(virtual_batch_size=4, axis=[1, 2]),
         (8, 3, 4)),
    case('virtual_batch_class_api', _grouped_class_api(virtual_batch_size=2),
         (8, 3, 3, 2)),
    # Axis lists: parameters of the input's rank, 1 on the reduced axes.
    case('axes_rank3_1_2', fn(axis=[1, 2]), (4, 3, 5)),
    case('axes_rank3_placeholder', fn(axis=[2, 1]), (4, 3, 5),
         training='placeholder'),
    case('axes_rank3_with_batch', fn(axis=[0, 2]), (4, 3, 5)),
    case('axes_rank4_minus1_minus2', fn(axis=[-1, -2]), (4, 3, 3, 2)),
    case('axes_rank4_1_3', fn(axis=[1, 3]), (4, 3, 3, 2),
         training='default'),
    case('axes_rank4_1_3_fused_true', fn(axis=[1, 3], fused=True),
         (4, 3, 3, 2)),
    case('axes_rank4_1_2_placeholder', fn(axis=[1, 2], fused=False),
         (4, 3, 3, 2), training='placeholder'),
    case('axes_rank4_eval', fn(axis=[1, 3]), (4, 3, 3, 2), training='false'),
    case('axes_rank5_1_4', fn(axis=[1, 4]), (2, 3, 2, 2, 3)),
    case('axes_rank5_2_3_4', fn(axis=[2, 3, 4]), (3, 2, 2, 3, 2),
         training='placeholder'),
    case('axes_rank2_both', fn(axis=[0, 1]), (4, 3)),
    case('axes_float16', fn(axis=[1, 2]), (4, 3, 3, 2), dtype='float16'),
    case('axes_float64', fn(axis=[1, 2]), (4, 3, 5), dtype='float64',
         training='placeholder'),
    case('axes_no_center', fn(axis=[1, 3], center=False), (4, 3, 3, 2)),
    case('axes_renorm', _grouped_renorm(axis=[1, 3]), (4, 3, 3, 2)),
    case('axes_renorm_placeholder', fn(axis=[-2, -1], renorm=True),
         (4, 3, 5), training='placeholder'),
    case('axes_adjustment', _axes_adjustment, (4, 3, 5)),
    case('axes_class_api', _grouped_class_api(axis=[1, 2]), (4, 3, 3, 2),
         training='placeholder'),
    # TF 1.15's errors for bad arguments.
    case('error_virtual_batch_zero', fn(virtual_batch_size=0), (4, 3)),
    case('error_virtual_batch_negative', fn(virtual_batch_size=-2), (4, 3)),
    case('error_virtual_batch_string', fn(virtual_batch_size='2'), (4, 3)),
    case('error_virtual_batch_float', fn(virtual_batch_size=2.0), (4, 3)),
    case('error_virtual_batch_axis0', fn(virtual_batch_size=2, axis=0),
         (4, 3)),
    case('error_virtual_batch_axes_with_batch',
         fn(virtual_batch_size=2, axis=[1, 0]), (4, 3, 2)),
    case('error_virtual_batch_adjustment', fn(
        virtual_batch_size=2, adjustment=lambda shape: (1.0, 0.0)), (4, 3)),
    case('error_virtual_batch_not_dividing', fn(virtual_batch_size=3),
         (8, 3, 3, 2)),
    case('error_virtual_batch_larger', fn(virtual_batch_size=8), (4, 3)),
    case('error_virtual_batch_invalid_axis',
         fn(virtual_batch_size=0, axis=3), (4, 3)),
    case('error_axes_invalid', fn(axis=[1, 4]), (4, 3, 3, 2)),
    case('error_axes_invalid_negative', fn(axis=[-1, -5]), (4, 3, 3, 2)),
    case('error_axes_duplicate', fn(axis=[3, -1, 1]), (4, 3, 3, 2)),
    case('error_axes_undefined_dimension',
         unknown_shape([None, 3, None], axis=[1, 2]),
         (4, 3)),
]
