"""The bad-input catalogue: what TF 1.15 did with each wrong argument.

Each probe of the catalogue below is a wrong type or value of one argument,
tried on each internal path it can reach. For every (probe, path) pair
`contrib_bn.conformance.bad_inputs_runner.run_case` builds a graph around a
batch-norm layer, then runs one training step and one inference, and records
what happened:

  * `build_error`: the layer (or the inference call reusing it, or the train
    op over it) raised while the graph was built: type, message and stage;
  * `run_error`: the graph built but a `Session.run` failed: type, the first
    line of the message and the stage (`init`, `train` or `inference`);
  * `accepted`: everything ran; `harm` lists what went wrong silently (an
    unexpected key ignored, non-finite outputs, corrupted moving statistics,
    statistics updated while not training, ...), empty when nothing did.

The catalogue and its runner import nothing but the standard library, NumPy
and the conformance harness, and take the TensorFlow module and the layer as
arguments: `scripts/probe_bad_inputs.py` runs them against the real
`tf.contrib.layers.batch_norm` under TF 1.15.5 and writes
`tests/data/tf1_bad_inputs.json`; `tests/test_bad_inputs.py` replays the
very same probes against `contrib_bn.batch_norm` under TF 2.x. This module
runs under Python 3.7 and TF 1.15, so it imports no other part of contrib_bn.

This module is over 400 lines because the catalogue is one table: splitting
the probes from the observations they are judged by would scatter each
probe's definition over two files.
"""

import numpy as np

from contrib_bn import constants

REFERENCE_VERSION = constants.TF1_VERSION
DEFAULT_SCOPE = 'bn'

# Base configurations, each selecting one of TF 1.15's internal paths for
# well-formed arguments. Fused-kernel paths are NHWC: TF 1.15 had no NCHW
# fused kernel on CPU, so an NCHW probe would only measure that.
PATHS = {
    # rank 4, default arguments: the core layer with the fused kernel.
    'core': dict(shape=[4, 3, 3, 5], kwargs={}),
    # rank 3, default arguments: the core layer with nn.moments.
    'core_plain': dict(shape=[4, 6, 5], kwargs={}),
    # rank 2: the contrib fused kernel.
    'fused': dict(shape=[8, 5], kwargs={}),
    # updates forced in place at rank 3: the moments path.
    'moments': dict(shape=[4, 6, 5], kwargs={'updates_collections': None}),
    # batch weights at rank 4: the moments path with nn.weighted_moments.
    'moments_bw': dict(shape=[4, 3, 3, 5], kwargs={}),
    # zero-debiased moving mean at rank 4: the contrib fused kernel.
    'fused_zd': dict(shape=[4, 3, 3, 5],
                     kwargs={'zero_debias_moving_mean': True}),
    # zero-debiased moving mean at rank 3: the moments path.
    'moments_zd': dict(shape=[4, 6, 5],
                       kwargs={'zero_debias_moving_mean': True}),
    # batch renormalization at rank 4: the core layer without the kernel.
    'renorm': dict(shape=[4, 3, 3, 5], kwargs={'renorm': True}),
}

MAIN_PATHS = ('core', 'core_plain', 'fused', 'moments')


class Context(object):
  """What a probe's `make` may read and set while the graph is built.

  Attributes:
    tf: the TensorFlow module.
    x: the layer input (a placeholder unless the probe replaces it).
    shape: the shape of the data fed to `x`.
    channels: the channel count of the base configuration.
    train_feed: extra feeds for the training step.
    infer_feed: extra feeds for the inference run.
    before_infer: callables `fn(sess)` run before the inference run.
    layer: the layer under test, for probes that call it beforehand.
  """

  def __init__(self, tf, shape):
    self.tf = tf
    self.x = None
    self.shape = list(shape)
    self.channels = shape[-1]
    self.train_feed = {}
    self.infer_feed = {}
    self.before_infer = []
    self.layer = None


class Probe(object):
  """One bad value of one argument, tried on some internal paths.

  Args:
    name: short id, unique in the catalogue.
    argument: the argument the bad value is given to.
    value: how the bad value is written in a message (e.g. "'betta'"); the
      tests require a contrib_bn argument error to contain it.
    paths: keys of `PATHS` the probe is tried on.
    make: `fn(ctx)` returning the keyword arguments of the call (merged over
      the path's own); may set `ctx.x` and the feeds.
    dtype: input dtype name.
    input_shape: `fn(shape)` giving the placeholder's static shape from the
      data shape (`None` for an unknown rank).
    data_shape: `fn(shape)` giving the fed data shape from the path's shape.
    infer: 'reuse' builds the inference output with a second call reusing
      the scope with `is_training=False`; 'feed' re-runs the same output with
      `ctx.infer_feed` and `ctx.before_infer` (for `is_training` probes).
    harm: `fn(observations)` returning a list of harms only the probe can
      judge (e.g. an ignored key); generic harms are found by the runner.
  """

  def __init__(self, name, argument, value, paths, make, dtype='float32',
               input_shape=None, data_shape=None, infer='reuse', harm=None):
    self.name = name
    self.argument = argument
    self.value = value
    self.paths = tuple(paths)
    self.make = make
    self.dtype = dtype
    self.input_shape = input_shape or (lambda shape: shape)
    self.data_shape = data_shape or (lambda shape: shape)
    self.infer = infer
    self.harm = harm or (lambda obs: [])


class ProbeCase(object):
  """A probe on one path; `id` is `<probe name>-<path>`."""

  def __init__(self, probe, path):
    self.probe = probe
    self.path = path
    self.id = '%s-%s' % (probe.name, path)


def _kw(**kwargs):
  return lambda ctx: dict(kwargs)


def _initial_is(suffix, expected):
  """Harm when variable `*/suffix` kept its default initial value."""
  def harm(obs):
    initial = obs.get('initial', {})
    name = _find(initial, suffix)
    if name is not None and all(v == expected for v in initial[name]):
      return ['%s kept its default initial value %s: the unexpected key was '
              'silently ignored' % (name, expected)]
    return []
  return harm


def _padded_initializer(obs):
  initial = obs.get('initial', {})
  name = _find(initial, 'beta')
  if name is not None and initial[name][2:] == [0.3] * (
      len(initial[name]) - 2):
    return ['3 initial values for %d channels: the last one was repeated '
            'to fill the variable' % len(initial[name])]
  return []


def _no_regularization_loss(obs):
  if obs.get('regularization_losses') == 0:
    return ['no regularization loss was added: the key was silently ignored']
  return []


def _collection_missing(collection):
  def harm(obs):
    if collection not in obs.get('collections', []):
      return ['collection %r was never created: the key was silently '
              'ignored' % collection]
    return []
  return harm


def _single_letter_collections(obs):
  letters = [c for c in obs.get('collections', []) if len(c) == 1]
  if letters:
    return ['variables joined one-letter collections %s: the string was '
            'split into characters' % letters]
  return []


def _not_an_average(suffix):
  """Harm when `*/suffix` left the segment between its old value and the
  batch mean: the update extrapolated instead of averaging."""
  def harm(obs):
    before, after = obs.get('initial', {}), obs.get('trained', {})
    name = _find(before, suffix)
    if name is None or name not in after or obs.get('batch_mean') is None:
      return []
    old = np.array(_floats(before[name]))
    new = np.array(_floats(after[name]))
    batch = np.asarray(obs['batch_mean'], dtype=np.float64)
    if not np.all(np.isfinite(new)):
      return []
    low = np.minimum(old, batch) - 1e-5
    high = np.maximum(old, batch) + 1e-5
    if np.any((new < low) | (new > high)):
      return ['%s left the range between its old value and the batch mean: '
              'the update extrapolates instead of averaging' % name]
    return []
  return harm


def _renorm_out_of_range(obs):
  """Harm when the renorm correction was forced outside its valid range."""
  harms = []
  std = obs.get('train_output_std')
  if std is not None and std > 1.5:
    harms.append('outputs scaled by a clipped r above rmax: the clipping '
                 'range is empty')
  corr = obs.get('input_output_correlation')
  if corr is not None and corr < 0:
    harms.append('outputs anti-correlated with inputs: r was clipped to a '
                 'negative value')
  means = obs.get('output_channel_means')
  if means is not None and np.allclose(means, -0.5, atol=1e-3):
    harms.append('every channel mean forced to -0.5: d was clipped to a '
                 'negative dmax')
  return harms


def _constant_outputs(obs):
  if obs.get('train_output_range') == 0.0:
    return ['every training output is the same value: each example is its '
            'own channel, so the batch statistics carry no information']
  return []


def _invalid_epsilon(obs):
  del obs
  # Judged, not observed: the fused kernel replaced the value by 1.001e-5,
  # so a negative or NaN epsilon only shows as NaN on the other paths.
  return ['epsilon is not a valid variance offset (it must be >= 0); where '
          'outputs stayed finite the fused kernel silently replaced it by '
          '1.001e-5']


def _variable_created(suffix, what):
  def harm(obs):
    if _find(obs.get('initial', {}), suffix):
      return ['%s although the flag looked false' % what]
    return []
  return harm


def _trainable_created(obs):
  if obs.get('trainable_variables'):
    return ['variables %s were made trainable although trainable looked '
            'false' % obs['trainable_variables']]
  return []


def _fused_kernel_used(obs):
  if obs.get('uses_fused_kernel'):
    return ["the fused kernel ran although fused was 'False'"]
  return []


def _trained_while_false(obs):
  if obs.get('stats_changed'):
    return ['the moving statistics were updated although is_training '
            'looked false']
  return []


def _inference_mode_for_none(obs):
  if not obs.get('stats_changed'):
    return ['is_training=None ran the layer in inference mode (the Keras '
            'learning phase): moving statistics never updated']
  return []


def _find(values, suffix):
  for name in sorted(values):
    if name.endswith('/' + suffix):
      return name
  return None


def _floats(values):
  return [float(v) for v in values]


def _placeholder(dtype, shape=None, value=None, infer_value=None):
  """`make` setting `is_training` to a placeholder fed `value`."""
  def make(ctx):
    tf = ctx.tf
    p = tf.compat.v1.placeholder(getattr(tf, dtype), shape, name='flag')
    ctx.train_feed[p] = value
    ctx.infer_feed[p] = infer_value
    return {'is_training': p}
  return make


def _is_training_const(build):
  def make(ctx):
    return {'is_training': build(ctx.tf)}
  return make


def _is_training_variable(dtype, value):
  def make(ctx):
    tf = ctx.tf
    var = tf.compat.v1.Variable(value, dtype=getattr(tf, dtype),
                                trainable=False, name='flag')
    zero = tf.compat.v1.assign(var, tf.zeros_like(var))
    ctx.before_infer.append(lambda sess: sess.run(zero))
    return {'is_training': var}
  return make


def _batch_weights(values, dtype='float32'):
  def make(ctx):
    return {'batch_weights': ctx.tf.constant(np.array(values, dtype=dtype))}
  return make


def _dynamic_batch_weights(ctx):
  tf = ctx.tf
  weights = tf.compat.v1.placeholder(tf.float32, [None], name='weights')
  ctx.train_feed[weights] = np.linspace(0.5, 1.0, 3).astype('float32')
  ctx.infer_feed[weights] = ctx.train_feed[weights]
  return {'batch_weights': weights}


def _initializers(**kwargs):
  def make(ctx):
    init = ctx.tf.compat.v1.constant_initializer
    return {'param_initializers': {k: init(v) for k, v in kwargs.items()}}
  return make


def _initializers_list(ctx):
  return {'param_initializers': [
      ctx.tf.compat.v1.constant_initializer(0.5)]}


def _regularizers(*keys):
  def make(ctx):
    tf = ctx.tf
    reg = lambda w: tf.multiply(0.1, tf.nn.l2_loss(tf.cast(w, tf.float32)))
    return {'param_regularizers': {k: reg for k in keys},
            'scale': True}
  return make


def _reuse_mismatched(ctx):
  tf = ctx.tf
  other = tf.compat.v1.placeholder(tf.float32, ctx.shape[:-1] + [3],
                                   name='other')
  ctx.layer(other, scope=DEFAULT_SCOPE)
  return {'reuse': True}


def _adjustment_wrong_shape(ctx):
  tf = ctx.tf

  def adjustment(shape):
    del shape
    return tf.ones([3]), tf.zeros([3])
  return {'adjustment': adjustment}


def catalogue():
  """Returns every probe, in recording order."""
  rank_1 = dict(data_shape=lambda s: [8])
  scalar = dict(data_shape=lambda s: [])
  unknown_rank = dict(input_shape=lambda s: None)
  unknown_channels = dict(input_shape=lambda s: s[:-1] + [None])
  unknown_batch = dict(input_shape=lambda s: [None] + s[1:])
  batch_of_one = dict(data_shape=lambda s: [1] + s[1:])
  probes = [
      # data_format
      Probe('data_format_lowercase', 'data_format', "'nhwc'",
            MAIN_PATHS + ('moments_bw',), _kw(data_format='nhwc')),
      Probe('data_format_none', 'data_format', 'None', MAIN_PATHS,
            _kw(data_format=None)),
      Probe('data_format_ncw', 'data_format', "'NCW'", MAIN_PATHS,
            _kw(data_format='NCW')),
      # inputs
      Probe('inputs_rank_1', 'inputs', 'rank 1', ('core', 'moments'),
            _kw(), harm=_constant_outputs, **rank_1),
      Probe('inputs_rank_1_nchw', 'inputs', 'rank 1', ('core', 'moments'),
            _kw(data_format='NCHW'), harm=_constant_outputs, **rank_1),
      Probe('inputs_rank_0', 'inputs', 'rank 0', ('core', 'moments'),
            _kw(), harm=_constant_outputs, **scalar),
      Probe('inputs_unknown_rank', 'inputs', 'undefined rank',
            ('core', 'moments', 'fused_zd'), _kw(), **unknown_rank),
      Probe('inputs_unknown_channels', 'inputs', 'undefined channels',
            MAIN_PATHS + ('fused_zd',), _kw(), **unknown_channels),
      Probe('inputs_int32', 'inputs', 'int32', MAIN_PATHS, _kw(),
            dtype='int32'),
      Probe('inputs_bool', 'inputs', 'bool', MAIN_PATHS, _kw(), dtype='bool'),
      Probe('inputs_complex64', 'inputs', 'complex64', MAIN_PATHS, _kw(),
            dtype='complex64'),
      Probe('inputs_float64', 'inputs', 'float64', ('core', 'fused'), _kw(),
            dtype='float64'),
      Probe('inputs_string', 'inputs', 'string', ('core', 'moments'), _kw(),
            dtype='string'),
      Probe('inputs_batch_of_one', 'inputs', 'batch of one',
            ('core', 'fused', 'moments'), _kw(), **batch_of_one),
      # batch_weights
      Probe('batch_weights_short', 'batch_weights', 'length 3',
            ('moments_bw', 'fused'), _batch_weights([0.5, 0.6, 0.7])),
      Probe('batch_weights_column', 'batch_weights', 'rank 2',
            ('moments_bw', 'fused'),
            lambda ctx: _batch_weights(
                [[1.0]] * ctx.shape[0])(ctx)),
      Probe('batch_weights_scalar', 'batch_weights', 'rank 0',
            ('moments_bw',), _batch_weights(1.0)),
      Probe('batch_weights_int32', 'batch_weights', 'int32',
            ('moments_bw',), _batch_weights([1, 2, 3, 4], 'int32')),
      Probe('batch_weights_float64', 'batch_weights', 'float64',
            ('moments_bw',), _batch_weights([1.0, 2.0, 3.0, 4.0], 'float64')),
      Probe('batch_weights_zeros', 'batch_weights', 'all zero',
            ('moments_bw',), _batch_weights([0.0, 0.0, 0.0, 0.0])),
      Probe('batch_weights_negative', 'batch_weights', 'negative',
            ('moments_bw',), _batch_weights([1.0, -1.0, 0.5, -0.25])),
      Probe('batch_weights_dynamic_length', 'batch_weights',
            'length 3 for a batch of 4', ('moments_bw',),
            _dynamic_batch_weights, **unknown_batch),
      # renorm_clipping
      Probe('renorm_clipping_unknown_key', 'renorm_clipping', "'r_min'",
            ('renorm',), _kw(renorm_clipping={'rmax': 3.0, 'r_min': 0.5})),
      Probe('renorm_clipping_unknown_key_no_renorm', 'renorm_clipping',
            "'r_min'", ('core',), _kw(renorm_clipping={'r_min': 0.5})),
      Probe('renorm_clipping_rmin_above_rmax', 'renorm_clipping',
            'rmin', ('renorm',),
            _kw(renorm_clipping={'rmin': 3.0, 'rmax': 2.0}),
            harm=_renorm_out_of_range),
      Probe('renorm_clipping_negative_rmax', 'renorm_clipping', '-1.0',
            ('renorm',), _kw(renorm_clipping={'rmax': -1.0}),
            harm=_renorm_out_of_range),
      Probe('renorm_clipping_negative_dmax', 'renorm_clipping', '-0.5',
            ('renorm',), _kw(renorm_clipping={'dmax': -0.5}),
            harm=_renorm_out_of_range),
      Probe('renorm_clipping_valid', 'renorm_clipping', 'valid',
            ('renorm',),
            _kw(renorm_clipping={'rmin': 0.5, 'rmax': 2.0, 'dmax': 1.0})),
      Probe('renorm_clipping_list', 'renorm_clipping', 'list',
            ('renorm',), _kw(renorm_clipping=[('rmax', 2.0)])),
      Probe('renorm_clipping_string_value', 'renorm_clipping', "'big'",
            ('renorm',), _kw(renorm_clipping={'rmax': 'big'})),
      # param_initializers
      Probe('param_initializers_betta', 'param_initializers', "'betta'",
            MAIN_PATHS + ('renorm',), _initializers(betta=0.5),
            harm=_initial_is('beta', 0.0)),
      Probe('param_initializers_moving_var', 'param_initializers',
            "'moving_var'", ('core', 'fused', 'moments'),
            _initializers(moving_var=2.0),
            harm=_initial_is('moving_variance', 1.0)),
      Probe('param_initializers_list', 'param_initializers', 'list',
            MAIN_PATHS, _initializers_list),
      Probe('param_initializers_float', 'param_initializers', '0.5',
            MAIN_PATHS, _kw(param_initializers={'beta': 0.5})),
      Probe('param_initializers_string', 'param_initializers', "'ones'",
            MAIN_PATHS, _kw(param_initializers={'gamma': 'ones'},
                            scale=True)),
      Probe('param_initializers_wrong_length', 'param_initializers',
            "'beta'", MAIN_PATHS, _initializers(beta=[0.1, 0.2, 0.3]),
            harm=_padded_initializer),
      Probe('param_initializers_too_long', 'param_initializers', "'beta'",
            MAIN_PATHS, _initializers(beta=[0.1] * 6)),
      Probe('param_initializers_unused_gamma', 'param_initializers',
            "'gamma'", ('core', 'fused', 'moments'),
            _initializers(gamma=2.0)),
      # param_regularizers
      Probe('param_regularizers_betta', 'param_regularizers', "'betta'",
            ('core', 'fused', 'renorm'), _regularizers('betta'),
            harm=_no_regularization_loss),
      Probe('param_regularizers_moving_mean', 'param_regularizers',
            "'moving_mean'", ('core', 'fused'),
            _regularizers('moving_mean'), harm=_no_regularization_loss),
      Probe('param_regularizers_on_moments', 'param_regularizers', "'beta'",
            ('moments', 'moments_bw'), _regularizers('beta', 'gamma')),
      Probe('param_regularizers_not_callable', 'param_regularizers', '0.1',
            ('core', 'fused'), _kw(param_regularizers={'beta': 0.1})),
      Probe('param_regularizers_string', 'param_regularizers', "'l2'",
            ('core', 'fused'), _kw(param_regularizers={'beta': 'l2'})),
      # variables_collections
      Probe('variables_collections_betta', 'variables_collections',
            "'betta'", MAIN_PATHS,
            _kw(variables_collections={'betta': ['beta_vars']}),
            harm=_collection_missing('beta_vars')),
      Probe('variables_collections_string', 'variables_collections',
            "'my_vars'", MAIN_PATHS, _kw(variables_collections='my_vars'),
            harm=_single_letter_collections),
      Probe('variables_collections_dict_string', 'variables_collections',
            "'bvars'", MAIN_PATHS,
            _kw(variables_collections={'beta': 'bvars'}),
            harm=_single_letter_collections),
      # is_training
      Probe('is_training_float_placeholder', 'is_training', 'float32',
            MAIN_PATHS, _placeholder('float32', [], 1.0, 0.0), infer='feed'),
      Probe('is_training_int_placeholder', 'is_training', 'int32',
            MAIN_PATHS, _placeholder('int32', [], 1, 0), infer='feed'),
      Probe('is_training_int_tensor', 'is_training', 'int32', MAIN_PATHS,
            _is_training_const(lambda tf: tf.constant(1)), infer='feed'),
      Probe('is_training_string_tensor', 'is_training', 'string',
            MAIN_PATHS, _is_training_const(lambda tf: tf.constant('False')),
            infer='feed', harm=_trained_while_false),
      Probe('is_training_float_variable', 'is_training', 'float32',
            MAIN_PATHS, _is_training_variable('float32', 1.0), infer='feed'),
      Probe('is_training_vector_placeholder', 'is_training', 'shape',
            MAIN_PATHS, _placeholder('bool', [2], [True, True],
                                     [False, False]), infer='feed'),
      Probe('is_training_string_false', 'is_training', "'False'",
            MAIN_PATHS, _kw(is_training='False'), infer='feed',
            harm=_trained_while_false),
      Probe('is_training_none', 'is_training', 'None', MAIN_PATHS,
            _kw(is_training=None), infer='feed',
            harm=_inference_mode_for_none),
      Probe('is_training_int_2', 'is_training', '2', MAIN_PATHS,
            _kw(is_training=2), infer='feed'),
      Probe('is_training_float_0', 'is_training', '0.0', MAIN_PATHS,
            _kw(is_training=0.0), infer='feed'),
      Probe('is_training_numpy_false', 'is_training', 'False', MAIN_PATHS,
            _kw(is_training=np.bool_(False)), infer='feed'),
      # reuse and scope
      Probe('reuse_missing_scope', 'reuse', 'True', MAIN_PATHS,
            _kw(reuse=True, scope='missing'), infer='feed'),
      Probe('reuse_without_scope', 'reuse', 'True', MAIN_PATHS,
            _kw(reuse=True, scope=None), infer='feed'),
      Probe('reuse_mismatched_channels', 'reuse', 'True',
            ('core', 'fused', 'moments'), _reuse_mismatched, infer='feed'),
      Probe('scope_int', 'scope', '123', ('core', 'fused'), _kw(scope=123),
            infer='feed'),
      # decay and renorm_decay
      Probe('decay_above_one', 'decay', '1.5', MAIN_PATHS, _kw(decay=1.5),
            harm=_not_an_average('moving_mean')),
      Probe('decay_negative', 'decay', '-0.5', MAIN_PATHS, _kw(decay=-0.5),
            harm=_not_an_average('moving_mean')),
      Probe('decay_one', 'decay', '1.0', MAIN_PATHS, _kw(decay=1.0)),
      Probe('decay_zero', 'decay', '0.0', MAIN_PATHS + ('fused_zd',),
            _kw(decay=0.0)),
      Probe('decay_nan', 'decay', 'nan', MAIN_PATHS, _kw(decay=float('nan'))),
      Probe('decay_string', 'decay', "'0.9'", MAIN_PATHS, _kw(decay='0.9')),
      Probe('decay_one_zero_debias', 'decay', '1.0',
            ('fused_zd', 'moments_zd'), _kw(decay=1.0)),
      Probe('renorm_decay_above_one', 'renorm_decay', '1.5', ('renorm',),
            _kw(renorm_decay=1.5), harm=_not_an_average('renorm_mean')),
      Probe('renorm_decay_negative', 'renorm_decay', '-0.5', ('renorm',),
            _kw(renorm_decay=-0.5), harm=_not_an_average('renorm_mean')),
      Probe('renorm_decay_ignored_without_renorm', 'renorm_decay', '1.5',
            ('core',), _kw(renorm_decay=1.5)),
      # epsilon
      Probe('epsilon_negative', 'epsilon', '-5.0',
            MAIN_PATHS + ('renorm',), _kw(epsilon=-5.0),
            harm=_invalid_epsilon),
      Probe('epsilon_small_negative', 'epsilon', '-0.0001', MAIN_PATHS,
            _kw(epsilon=-1e-4), harm=_invalid_epsilon),
      Probe('epsilon_nan', 'epsilon', 'nan', MAIN_PATHS,
            _kw(epsilon=float('nan')), harm=_invalid_epsilon),
      Probe('epsilon_zero', 'epsilon', '0.0', MAIN_PATHS, _kw(epsilon=0.0)),
      Probe('epsilon_string', 'epsilon', "'0.001'", MAIN_PATHS,
            _kw(epsilon='0.001')),
      # boolean flags given as strings
      Probe('center_string', 'center', "'False'", MAIN_PATHS,
            _kw(center='False'),
            harm=_variable_created('beta', 'beta was created')),
      Probe('scale_string', 'scale', "'False'", MAIN_PATHS,
            _kw(scale='False'),
            harm=_variable_created('gamma', 'gamma was created')),
      Probe('center_int', 'center', '0', ('core', 'fused', 'moments'),
            _kw(center=0)),
      Probe('fused_string', 'fused', "'False'", ('core', 'fused'),
            _kw(fused='False'), harm=_fused_kernel_used),
      Probe('zero_debias_string', 'zero_debias_moving_mean', "'False'",
            ('core', 'core_plain'), _kw(zero_debias_moving_mean='False'),
            harm=_variable_created('local_step', 'zero-debias variables '
                                   'were created')),
      Probe('renorm_string', 'renorm', "'False'", ('core',),
            _kw(renorm='False'),
            harm=_variable_created('renorm_mean', 'renorm variables were '
                                   'created')),
      Probe('trainable_string', 'trainable', "'False'", ('core', 'fused'),
            _kw(trainable='False'), harm=_trainable_created),
      # fused=True where the kernel cannot run
      Probe('fused_true_rank_3', 'fused', 'True', ('core_plain',),
            _kw(fused=True)),
      Probe('fused_true_rank_5', 'fused', 'True', ('core',),
            _kw(fused=True), data_shape=lambda s: [2, 2, 2, 3, 5]),
      # callables
      Probe('activation_fn_string', 'activation_fn', "'relu'",
            ('core', 'fused', 'moments'), _kw(activation_fn='relu')),
      Probe('adjustment_string', 'adjustment', "'scale'", ('core',),
            _kw(adjustment='scale')),
      Probe('adjustment_wrong_shape', 'adjustment', 'shape', ('core',),
            _adjustment_wrong_shape),
      # updates and outputs collections given as strings
      Probe('updates_collections_string', 'updates_collections',
            "'my_updates'", ('core', 'fused'),
            _kw(updates_collections='my_updates')),
      Probe('outputs_collections_string', 'outputs_collections',
            "'my_outputs'", ('core', 'fused', 'moments'),
            _kw(outputs_collections='my_outputs'),
            harm=_single_letter_collections),
  ]
  names = [p.name for p in probes]
  if len(set(names)) != len(names):
    raise ValueError('duplicate probe names')
  return probes


def cases():
  """Every (probe, path) pair, in recording order."""
  return [ProbeCase(probe, path) for probe in catalogue()
          for path in probe.paths]
