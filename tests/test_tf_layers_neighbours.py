"""`tf.compat.v1.layers` dense, convolutions, pooling, dropout and flatten on TF 2.

After `contrib_bn.install()` every name of contrib_bn.compat.tf_layers.SERVED
is contrib_bn.layers'. Each case of
contrib_bn/conformance/tf_layers_neighbours.py is built through those names
and must match TF 1.15.5's recording (scripts/record_tf_layers_neighbours.py):
variables, collections and class-API facts; the initial values where op
seeds fix them (else TF 1.15's initial values are loaded first); outputs,
losses and gradients of two SGD steps and the variables after them; the
output of an inference graph restored from TF 1.15's checkpoint; or TF
1.15's exception type and message. Tolerances are
contrib_bn.conformance.matching's, by the case's dtype. Beside the corpus:
the default kernels' Glorot distribution, the channels-first layers TF
1.15's CPU could not run against their channels-last results, and the
separable-convolution arguments TF 1.15 took and then got wrong, refused
when the graph is built.
"""

import numpy as np
import pytest
import tensorflow as tf

import contrib_bn
from contrib_bn import layers
from contrib_bn.compat import tf_layers
from contrib_bn.conformance import tf_layers_neighbours as cases
from contrib_bn.conformance import verify_tf_layers
import golden_replay

v1 = tf.compat.v1
CORPUS = golden_replay.Corpus('tf_layers_neighbours',
                              'record_tf_layers_neighbours.py')


pytestmark = pytest.mark.usefixtures('installed')


def _api():
  return type('Api', (), {name: staticmethod(getattr(v1.layers, name))
                          if name[0].islower() else getattr(v1.layers, name)
                          for name in cases.NAMES})()


def replay(case, golden_arrays):
  """(structure, arrays) of a case run on TF 2 through tf.compat.v1.layers."""
  return verify_tf_layers.replay_neighbours(verify_tf_layers.NEIGHBOURS, case,
                                            golden_arrays, _api())


def test_every_case_has_a_golden():
  assert CORPUS.case_ids() == sorted(cases.case_ids())


def test_served_names_are_contrib_bns():
  assert tuple(sorted(layers.__all__)) == tf_layers.SERVED
  assert cases.NAMES == tf_layers.SERVED
  for name in tf_layers.SERVED:
    assert getattr(v1.layers, name) is getattr(layers, name), name


@pytest.mark.parametrize('case_id', cases.case_ids())
def test_case_matches_tf1(case_id):
  golden_replay.assert_case_matches_tf1(CORPUS, cases, _api, replay, case_id)


# Each layer's default kernel: (build it, [(fan_in, fan_out) per kernel]).
_DEFAULT_KERNELS = {
    'dense': (lambda: v1.layers.dense(
        v1.placeholder(tf.float32, [None, 300]), 200), [(300, 200)]),
    'conv2d': (lambda: v1.layers.conv2d(
        v1.placeholder(tf.float32, [None, 9, 9, 40]), 30, 3),
               [(9 * 40, 9 * 30)]),
    # depthwise_kernel [5, 5, 40, 3], pointwise_kernel [1, 1, 120, 60].
    'separable_conv2d': (lambda: v1.layers.separable_conv2d(
        v1.placeholder(tf.float32, [None, 9, 9, 40]), 60, 5,
        depth_multiplier=3), [(25 * 40, 25 * 3), (120, 60)]),
    # kernel [3, 3, 3, 30, 40]: Glorot's fans read its last two axes.
    'conv3d_transpose': (lambda: v1.layers.conv3d_transpose(
        v1.placeholder(tf.float32, [None, 4, 4, 4, 40]), 30, 3),
                         [(27 * 30, 27 * 40)]),
}


@pytest.mark.parametrize('build', sorted(_DEFAULT_KERNELS))
def test_default_kernel_initializer_is_glorot_uniform(build):
  make, fans = _DEFAULT_KERNELS[build]
  with tf.Graph().as_default():
    make()
    with v1.Session() as session:
      session.run(v1.global_variables_initializer())
      values = session.run(v1.global_variables())
  *kernels, bias = values
  assert len(kernels) == len(fans)
  for kernel, (fan_in, fan_out) in zip(kernels, fans):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    assert np.abs(kernel).max() <= limit
    # Uniform on [-limit, limit]: variance limit**2 / 3, within 5 per cent.
    assert abs(kernel.var() / (limit ** 2 / 3.0) - 1.0) < 0.05
  assert not bias.any()


# TF 1.15's CPU kernels refused these channels-first layers at run time, so
# the corpus has no golden of them; contrib_bn runs them channels-last
# between transposes, and they must give the channels-last layer's output,
# transposed, for the same weights.
_CHANNELS_FIRST = {
    'separable_conv2d': ((2, 7, 6, 3), dict(
        filters=4, kernel_size=3, padding='same', depth_multiplier=2,
        dilation_rate=2)),
    'separable_conv2d_strides': ((2, 7, 6, 3), dict(
        filters=4, kernel_size=(3, 2), strides=2)),
    'separable_conv1d': ((2, 9, 3), dict(
        filters=2, kernel_size=3, padding='causal', dilation_rate=2)),
    'separable_conv1d_strides': ((2, 9, 3), dict(
        filters=2, kernel_size=2, strides=2, depth_multiplier=2)),
    'conv3d_transpose': ((2, 2, 3, 2, 3), dict(
        filters=2, kernel_size=(1, 2, 3), strides=(1, 2, 2))),
    'conv3d_transpose_same': ((2, 2, 3, 2, 3), dict(
        filters=2, kernel_size=3, strides=2, padding='same')),
}
# Channels-first and channels-last kernels sum the same products in other
# orders (oneDNN's blocked layouts included): float32 rounding apart.
_CHANNELS_FIRST_RTOL = 1e-5


@pytest.mark.parametrize('case', sorted(_CHANNELS_FIRST))
def test_channels_first_is_channels_last_transposed(case):
  shape, kwargs = _CHANNELS_FIRST[case]
  function = getattr(v1.layers, case.replace('_strides', '').replace(
      '_same', ''))
  rank = len(shape)
  to_first = (0, rank - 1) + tuple(range(1, rank - 1))
  to_last = (0,) + tuple(range(2, rank)) + (1,)
  data = np.random.RandomState(3).normal(size=shape).astype(np.float32)
  with tf.Graph().as_default():
    x = tf.constant(data)
    last = function(x, name='last', activation=tf.nn.relu,
                    bias_initializer=v1.random_normal_initializer(seed=1),
                    **kwargs)
    first = function(tf.transpose(x, to_first), name='first',
                     data_format='channels_first', activation=tf.nn.relu,
                     **kwargs)
    names = {v.op.name: v for v in v1.global_variables()}
    copies = [names['first/' + name].assign(variable)
              for name, variable in
              ((n.split('/', 1)[1], v) for n, v in names.items()
               if n.startswith('last/'))]
    assert len(copies) == len(names) // 2 >= 2
    with v1.Session() as session:
      session.run(v1.global_variables_initializer())
      session.run(copies)
      expected, got = session.run([last, first])
  assert got.shape == tuple(np.transpose(expected, to_first).shape)
  assert first.shape.as_list() == list(got.shape)
  np.testing.assert_allclose(np.transpose(got, to_last), expected,
                             rtol=_CHANNELS_FIRST_RTOL,
                             atol=_CHANNELS_FIRST_RTOL)
  assert np.abs(expected).max() > 0.1


# Arguments TF 1.15 took without an error, then computed wrong values or
# failed when run; refused when the graph is built instead.
_REFUSED = {
    # TF 1.15 returned values other than the strided dilated convolution's.
    'strides_and_dilation_2d': ('separable_conv2d', (2, 9, 9, 3), dict(
        filters=2, kernel_size=3, strides=2, dilation_rate=2),
                                r'strides=2 with dilation_rate=2'),
    'strides_and_dilation_1d': ('separable_conv1d', (2, 9, 3), dict(
        filters=2, kernel_size=3, strides=2, dilation_rate=(2,)),
                                r'strides=2 with dilation_rate=\(2,\)'),
    # TF 1.15's CPU kernel: "only supports equal length strides".
    'unequal_strides': ('separable_conv2d', (2, 9, 9, 3), dict(
        filters=2, kernel_size=3, strides=(2, 1)), r'strides=\(2, 1\)'),
    # TF 1.15 stopped the process with a floating point exception.
    'depth_multiplier_zero': ('separable_conv2d', (2, 5, 5, 3), dict(
        filters=2, kernel_size=3, depth_multiplier=0),
                              r'depth_multiplier=0'),
}


@pytest.mark.parametrize('case', sorted(_REFUSED))
def test_what_tf1_got_wrong_is_refused_when_built(case):
  function, shape, kwargs, message = _REFUSED[case]
  with tf.Graph().as_default():
    x = v1.placeholder(tf.float32, shape)
    with pytest.raises(ValueError, match=function + ': ' + message):
      getattr(v1.layers, function)(x, **kwargs)
    assert not v1.global_variables()


def test_tf1_strided_dilated_separable_convolution_was_wrong():
  # What the refusal of strides with a dilation rate rests on: the op TF
  # 1.15 built (TF 2 still builds it) is not the strided dilated
  # convolution, computed here by its definition.
  rng = np.random.RandomState(0)
  x = rng.rand(1, 9, 9, 2).astype(np.float32)
  depthwise = rng.rand(3, 3, 2, 1).astype(np.float32)
  pointwise = np.eye(2, dtype=np.float32).reshape(1, 1, 2, 2)
  expected = np.zeros((1, 3, 3, 2), np.float32)
  for i in range(3):
    for j in range(3):
      patch = x[0, 2 * i:2 * i + 5:2, 2 * j:2 * j + 5:2, :]
      expected[0, i, j] = (patch * depthwise[..., 0]).sum((0, 1))
  with tf.Graph().as_default():
    y = v1.nn.separable_conv2d(x, depthwise, pointwise, [1, 2, 2, 1],
                               'VALID', rate=[2, 2])
    with v1.Session() as session:
      got = session.run(y)
  assert got.shape == expected.shape
  assert np.abs(got - expected).max() > 0.1
  with tf.Graph().as_default():
    y = v1.nn.separable_conv2d(x, depthwise, pointwise, [1, 1, 1, 1],
                               'VALID', rate=[2, 2])
    with v1.Session() as session:
      unstrided = session.run(y)
  # Unstrided, the op is right: its every other output is the expected.
  np.testing.assert_allclose(unstrided[:, ::2, ::2], expected, rtol=1e-5)


def test_batch_normalization_in_inference_mode_is_static():
  with tf.Graph().as_default():
    x = v1.placeholder(tf.float32, [4, 3])
    training = v1.placeholder(tf.bool, [])
    with contrib_bn.inference_mode():
      y = v1.layers.batch_normalization(
          x, training=training,
          moving_mean_initializer=v1.constant_initializer(0.5),
          moving_variance_initializer=v1.constant_initializer(4.0))
      # Still checked as TF 1.15's conditional checked it.
      with pytest.raises(TypeError, match="'Switch' Op has type int32"):
        v1.layers.batch_normalization(
            x, training=v1.placeholder(tf.int32, []))
    assert not v1.get_collection(v1.GraphKeys.UPDATE_OPS)
    data = np.arange(12, dtype=np.float32).reshape(4, 3)
    with v1.Session() as session:
      session.run(v1.global_variables_initializer())
      # The placeholder is read by nothing: no feed is needed.
      out = session.run(y, {x: data})
  np.testing.assert_allclose(out, (data - 0.5) / np.sqrt(4.0 + 1e-3),
                             rtol=1e-6)


def test_uninstall_gives_tf_its_names_back():
  contrib_bn.uninstall()
  for name in tf_layers.SERVED:
    with pytest.raises(AttributeError, match='not available with Keras 3'):
      getattr(v1.layers, name)
  contrib_bn.install()
  assert v1.layers.dense is layers.dense
