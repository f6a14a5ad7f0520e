"""The golden case catalogue: every configuration recorded from TF 1.15.5.

Each case is a plain, JSON-serialisable dict, so the same catalogue is read by
the recorder (Python 3.7, TF 1.15.5) and by the verifier (Python 3.11, TF 2.x).
This module imports nothing but the standard library.

Case fields:
  id: unique case id, also the file name of its golden.
  shape: the data fed as `inputs`.
  input_shape: static shape of the input placeholder (None for unknown
    dimensions, or the string 'unknown_rank'); defaults to `shape`.
  dtype: input dtype name.
  training: how `is_training` is given: 'true' / 'false' (Python bools),
    'placeholder' (a bool placeholder fed True, then False for inference) or
    'variable' (a bool variable, assigned False for inference).
  kwargs: `batch_norm` keyword arguments in encoded form (see `harness`).
  outer_scope: optional enclosing variable scope name.
  calls: number of training calls on the input (more than one checks the
    default-scope uniquification `BatchNorm`, `BatchNorm_1`).
  expect: 'ok' or 'error'; the recorder refuses a run that disagrees.
"""

import random

# The default of `updates_collections` is spelled by this marker, since the
# collection key itself must be passed by identity to select TF1's paths.
UPDATE_OPS = '__UPDATE_OPS__'

CHANNELS = 5

_SHAPES = {
    ('NHWC', 2): [8, CHANNELS],
    ('NHWC', 3): [4, 6, CHANNELS],
    ('NHWC', 4): [4, 3, 3, CHANNELS],
    ('NHWC', 5): [2, 3, 2, 3, CHANNELS],
    ('NCHW', 2): [8, CHANNELS],
    ('NCHW', 3): [4, CHANNELS, 6],
    ('NCHW', 4): [4, CHANNELS, 3, 3],
    ('NCHW', 5): [2, CHANNELS, 3, 2, 3],
}

ALL_INITIALIZERS = {
    'beta': ['ramp', 0.1, 0.05],
    'gamma': ['ramp', 0.8, 0.1],
    'moving_mean': ['ramp', -0.2, 0.1],
    'moving_variance': ['ramp', 0.5, 0.25],
}

BOTH_REGULARIZERS = {'beta': ['l2', 0.02], 'gamma': ['l1', 0.03]}


def shape_for(data_format, rank):
  return list(_SHAPES[(data_format, rank)])


def _case(case_id, rank=4, data_format='NHWC', dtype='float32',
          training='true', outer_scope=None, calls=1, expect='ok',
          input_shape=None, shape=None, **kwargs):
  if data_format != 'NHWC':
    kwargs.setdefault('data_format', data_format)
  if shape is None:
    shape = shape_for('NCHW' if data_format == 'NCHW' else 'NHWC', rank)
  return {
      'id': case_id,
      'shape': shape,
      'input_shape': input_shape if input_shape is not None else shape,
      'dtype': dtype,
      'training': training,
      'kwargs': kwargs,
      'outer_scope': outer_scope,
      'calls': calls,
      'expect': expect,
  }


# Representative argument sets that select each of TF 1.15's internal paths.
# rank 4 default -> core layer (fused kernel inside); rank 3 -> core layer
# (moments inside); rank 2 -> contrib fused kernel; zero-debias rank 4 ->
# contrib fused kernel; batch_weights or updates None at rank 3 -> moments.
PATH_PROBES = {
    'core_fused': dict(rank=4),
    'core_plain': dict(rank=3),
    'fused_r2': dict(rank=2),
    'fused_zd': dict(rank=4, zero_debias_moving_mean=True),
    'moments_bw': dict(rank=4, batch_weights=['ramp', 0.5, 0.1]),
    'moments_noupd': dict(rank=3, updates_collections=None),
}

_MAIN_PROBES = ('core_fused', 'fused_r2', 'moments_bw')


def _probe(name, **overrides):
  args = dict(PATH_PROBES[name])
  args.update(overrides)
  return args


def _grid_cases():
  cases = []
  for data_format in ('NHWC', 'NCHW'):
    fmt = data_format.lower()
    for rank in (2, 3, 4, 5):
      cases.append(_case('default_r%d_%s' % (rank, fmt), rank, data_format))
      cases.append(_case('unfused_r%d_%s' % (rank, fmt), rank, data_format,
                         fused=False))
      cases.append(_case('zero_debias_r%d_%s' % (rank, fmt), rank,
                         data_format, zero_debias_moving_mean=True))
      cases.append(_case('updates_none_r%d_%s' % (rank, fmt), rank,
                         data_format, updates_collections=None))
    for rank in (2, 4):
      cases.append(_case('updates_custom_r%d_%s' % (rank, fmt), rank,
                         data_format, updates_collections=['my_updates']))
      cases.append(_case('zero_debias_updates_none_r%d_%s' % (rank, fmt),
                         rank, data_format, zero_debias_moving_mean=True,
                         updates_collections=None))
    for rank in (2, 3, 4):
      cases.append(_case('batch_weights_r%d_%s' % (rank, fmt), rank,
                         data_format, batch_weights=['ramp', 0.5, 0.1]))
    cases.append(_case('batch_weights_zero_debias_r4_%s' % fmt, 4,
                       data_format, batch_weights=['ramp', 0.5, 0.1],
                       zero_debias_moving_mean=True))
    cases.append(_case('batch_weights_updates_none_r4_%s' % fmt, 4,
                       data_format, batch_weights=['ramp', 0.5, 0.1],
                       updates_collections=None))
  return cases


def _training_kind_cases():
  cases = []
  probes = dict(PATH_PROBES)
  probes['renorm'] = dict(rank=4, renorm=True)
  probes['zd_noupd'] = dict(rank=2, zero_debias_moving_mean=True,
                            updates_collections=None)
  for training in ('placeholder', 'variable', 'false'):
    for name in sorted(probes):
      args = dict(probes[name])
      cases.append(_case('training_%s_%s' % (training, name),
                         training=training, **args))
  return cases


def uses_fused_kernel(rank, kwargs):
  """Whether TF 1.15 runs the fused kernel for these arguments."""
  fused = kwargs.get('fused', True) is not False
  updates = kwargs.get('updates_collections', UPDATE_OPS)
  zero_debias = kwargs.get('zero_debias_moving_mean', False)
  renorm = kwargs.get('renorm', False)
  no_extras = ('batch_weights' not in kwargs and not renorm and
               'adjustment' not in kwargs)
  if fused and no_extras and rank in (2, 4) and (
      zero_debias or rank == 2 or updates != UPDATE_OPS):
    return True
  core = 'batch_weights' not in kwargs and updates == UPDATE_OPS and (
      not zero_debias)
  return core and fused and no_extras and rank == 4


def _float64_fails(rank, kwargs):
  # TF 1.15's fused kernel has no float64 kernel, and its renorm correction
  # mixes a float32 epsilon into float64 statistics: both raise TypeError.
  return uses_fused_kernel(rank, kwargs) or bool(kwargs.get('renorm'))


def _dtype_cases():
  cases = []
  for dtype in ('float16', 'float64'):
    for name in ('core_fused', 'core_plain', 'fused_r2', 'fused_zd',
                 'moments_bw', 'moments_noupd'):
      args = _probe(name)
      rank = args.pop('rank')
      fails = dtype == 'float64' and _float64_fails(rank, args)
      cases.append(_case('%s_%s' % (dtype, name), rank=rank, dtype=dtype,
                         expect='error' if fails else 'ok', **args))
    cases.append(_case('%s_renorm' % dtype, rank=4, dtype=dtype, renorm=True,
                       expect='error' if dtype == 'float64' else 'ok'))
  cases.append(_case('float16_core_fused_nchw', rank=4, dtype='float16',
                     data_format='NCHW'))
  return cases


def _argument_cases():
  cases = []
  for name in _MAIN_PROBES + ('core_plain', 'moments_noupd'):
    for center, scale in ((False, False), (True, True), (False, True)):
      cases.append(_case('center%d_scale%d_%s' % (center, scale, name),
                         center=center, scale=scale, **_probe(name)))
  for name in sorted(PATH_PROBES):
    cases.append(_case('decay_%s' % name, decay=0.9, **_probe(name)))
    cases.append(_case('epsilon_%s' % name, epsilon=0.01, scale=True,
                       **_probe(name)))
    cases.append(_case('tiny_epsilon_%s' % name, epsilon=1e-7, scale=True,
                       **_probe(name)))
    cases.append(_case('initializers_%s' % name, scale=True,
                       param_initializers=ALL_INITIALIZERS, **_probe(name)))
    cases.append(_case('regularizers_%s' % name, scale=True,
                       param_regularizers=BOTH_REGULARIZERS, **_probe(name)))
    cases.append(_case('trainable_false_%s' % name, scale=True,
                       trainable=False, **_probe(name)))
    cases.append(_case('activation_%s' % name, activation_fn='relu',
                       **_probe(name)))
    cases.append(_case('var_collections_list_%s' % name, scale=True,
                       variables_collections=['my_vars'], **_probe(name)))
    cases.append(_case('var_collections_dict_%s' % name, scale=True,
                       variables_collections={
                           'beta': ['beta_vars'],
                           'gamma': ['gamma_vars', 'params'],
                           'moving_mean': ['stats'],
                           'moving_variance': ['stats']}, **_probe(name)))
    cases.append(_case('outputs_collections_%s' % name,
                       outputs_collections=['my_outputs', 'endpoints'],
                       **_probe(name)))
    cases.append(_case('scope_%s' % name, scope='bn1', **_probe(name)))
    cases.append(_case('default_scope_twice_%s' % name, calls=2,
                       **_probe(name)))
    cases.append(_case('outer_scope_%s' % name, outer_scope='net/block1',
                       scope='bn', **_probe(name)))
  cases.append(_case('initializers_renorm', rank=4, renorm=True, scale=True,
                     param_initializers=ALL_INITIALIZERS))
  cases.append(_case('regularizers_renorm', rank=4, renorm=True, scale=True,
                     param_regularizers=BOTH_REGULARIZERS))
  cases.append(_case('regularizers_fused_nchw_r4', rank=4, data_format='NCHW',
                     scale=True, zero_debias_moving_mean=True,
                     param_regularizers=BOTH_REGULARIZERS))
  cases.append(_case('default_scope_twice_zd_noupd', rank=3, calls=2,
                     zero_debias_moving_mean=True, updates_collections=None))
  cases.append(_case('outer_scope_twice_moments', rank=3, calls=2,
                     outer_scope='tower', updates_collections=None,
                     zero_debias_moving_mean=True))
  return cases


def _renorm_cases():
  return [
      _case('renorm_r4_nhwc', rank=4, renorm=True),
      _case('renorm_r4_nchw', rank=4, data_format='NCHW', renorm=True,
            scale=True),
      _case('renorm_r2', rank=2, renorm=True, scale=True),
      _case('renorm_r3', rank=3, renorm=True),
      _case('renorm_r5_nchw', rank=5, data_format='NCHW', renorm=True),
      _case('renorm_clipping', rank=4, renorm=True, scale=True,
            renorm_clipping={'rmax': 1.5, 'rmin': 0.8, 'dmax': 0.1}),
      _case('renorm_clipping_rmax_only', rank=4, renorm=True,
            renorm_clipping={'rmax': 1.1}),
      _case('renorm_decay', rank=4, renorm=True, scale=True,
            renorm_decay=0.5, decay=0.9),
      _case('renorm_fused_true', rank=4, renorm=True, fused=True),
      _case('renorm_adjustment', rank=4, renorm=True, scale=True,
            adjustment=['ramp', 1.1, 0.05, 0.02, 0.01]),
      _case('adjustment_r4_nhwc', rank=4, scale=True,
            adjustment=['ramp', 1.1, 0.05, 0.02, 0.01]),
      _case('adjustment_r4_nchw', rank=4, data_format='NCHW',
            adjustment=['ramp', 0.9, 0.05, -0.03, 0.01]),
      _case('adjustment_r2', rank=2, adjustment=['ramp', 1.2, 0.0, 0.1, 0.0]),
  ]


def _shape_cases():
  return [
      _case('unknown_batch_r4', rank=4, input_shape=[None, 3, 3, CHANNELS]),
      _case('unknown_batch_r2', rank=2, input_shape=[None, CHANNELS]),
      _case('unknown_batch_zd_r4', rank=4,
            input_shape=[None, None, None, CHANNELS],
            zero_debias_moving_mean=True),
      _case('unknown_spatial_r3', rank=3, input_shape=[None, None, CHANNELS]),
      _case('unknown_spatial_moments_nchw', rank=4, data_format='NCHW',
            input_shape=[None, CHANNELS, None, None],
            batch_weights=['ramp', 0.5, 0.1]),
  ]


def _error_cases():
  err = dict(expect='error')
  unknown_channels_r4 = [4, 3, 3, None]
  return [
      _case('error_data_format_lower_core', rank=4, data_format='nhwc', **err),
      _case('error_data_format_lower_fused', rank=2, data_format='nchw', **err),
      _case('error_data_format_moments', rank=4, data_format='NCW',
            batch_weights=['ramp', 0.5, 0.1], **err),
      _case('error_data_format_zero_debias', rank=4, data_format='NDHWC',
            zero_debias_moving_mean=True, **err),
      _case('error_unknown_rank_core', rank=4, input_shape='unknown_rank',
            **err),
      _case('error_unknown_rank_moments', rank=4, input_shape='unknown_rank',
            batch_weights=['ramp', 0.5, 0.1], **err),
      _case('error_unknown_channels_core', rank=4,
            input_shape=unknown_channels_r4, **err),
      _case('error_unknown_channels_fused_r2', rank=2, input_shape=[8, None],
            **err),
      _case('error_unknown_channels_fused_r4', rank=4,
            input_shape=unknown_channels_r4, zero_debias_moving_mean=True,
            **err),
      _case('error_unknown_channels_moments', rank=4,
            input_shape=unknown_channels_r4, batch_weights=['ramp', 0.5, 0.1],
            **err),
      _case('error_unknown_channels_core_r3', rank=3, input_shape=[4, 6, None],
            **err),
      _case('error_renorm_batch_weights', rank=4, renorm=True,
            batch_weights=['ramp', 0.5, 0.1], **err),
      _case('error_renorm_zero_debias', rank=4, renorm=True,
            zero_debias_moving_mean=True, **err),
      _case('error_renorm_updates_none', rank=4, renorm=True,
            updates_collections=None, **err),
      _case('error_renorm_updates_custom', rank=2, renorm=True,
            updates_collections=['my_updates'], **err),
      _case('error_renorm_clipping_keys', rank=4, renorm=True,
            renorm_clipping={'rmax': 3.0, 'r_min': 0.5}, **err),
      _case('error_batch_weights_length', rank=4,
            batch_weights=['ramp_len', 3, 0.5, 0.1], **err),
      _case('error_batch_weights_rank', rank=2,
            batch_weights=['column', 8], **err),
      _case('error_reuse_missing_scope_core', rank=4, scope='missing',
            reuse=True, scale=True, **err),
      _case('error_reuse_missing_scope_fused', rank=2, scope='missing',
            reuse=True, **err),
      _case('error_reuse_missing_scope_moments', rank=3, scope='missing',
            reuse=True, updates_collections=None, **err),
      _case('error_integer_inputs', rank=4, dtype='int32', **err),
      _case('error_bool_inputs_fused', rank=2, dtype='bool', **err),
  ]


def _sweep_cases(count=48, seed=1115):
  """A seeded random sweep over argument combinations.

  `random.Random` draws the same sequence on every Python 3 release, so the
  recorder and the verifier see the same sweep.
  """
  rng = random.Random(seed)
  cases = []
  for index in range(count):
    rank = rng.choice([2, 3, 4, 5])
    data_format = rng.choice(['NHWC', 'NCHW'])
    kwargs = {}
    fused = rng.choice([None, None, True, False])
    if fused is not None:
      kwargs['fused'] = fused
    kwargs['center'] = rng.random() < 0.7
    kwargs['scale'] = rng.random() < 0.5
    updates = rng.choice([UPDATE_OPS, UPDATE_OPS, None, ['sweep_updates']])
    if updates != UPDATE_OPS:
      kwargs['updates_collections'] = updates
    if rng.random() < 0.3:
      kwargs['zero_debias_moving_mean'] = True
    if rng.random() < 0.25:
      kwargs['batch_weights'] = ['ramp', 0.4, 0.15]
    if rng.random() < 0.25:
      kwargs['renorm'] = True
      if rng.random() < 0.5:
        kwargs['renorm_clipping'] = {'rmax': 2.0, 'rmin': 0.5, 'dmax': 0.5}
      kwargs['renorm_decay'] = rng.choice([0.99, 0.8])
    kwargs['decay'] = rng.choice([0.999, 0.9, 0.5])
    kwargs['epsilon'] = rng.choice([0.001, 1e-4, 1e-6])
    if rng.random() < 0.2:
      kwargs['activation_fn'] = rng.choice(['relu', 'tanh'])
    if rng.random() < 0.2:
      kwargs['trainable'] = False
    training = rng.choice(['true', 'true', 'placeholder', 'variable',
                           'false'])
    dtype = rng.choice(['float32', 'float32', 'float32', 'float64'])
    invalid_renorm = kwargs.get('renorm') and (
        'batch_weights' in kwargs or
        kwargs.get('zero_debias_moving_mean') or
        kwargs.get('updates_collections', UPDATE_OPS) != UPDATE_OPS)
    fails = invalid_renorm or (
        dtype == 'float64' and _float64_fails(rank, kwargs))
    cases.append(_case('sweep_%03d' % index, rank, data_format, dtype=dtype,
                       training=training, expect='error' if fails else 'ok',
                       **kwargs))
  return cases


def all_cases():
  """Returns every case of the catalogue, in recording order."""
  cases = (_grid_cases() + _training_kind_cases() + _dtype_cases() +
           _argument_cases() + _renorm_cases() + _shape_cases() +
           _error_cases() + _sweep_cases())
  seen = set()
  for case in cases:
    if case['id'] in seen:
      raise ValueError('duplicate case id %r' % case['id'])
    seen.add(case['id'])
  return cases
