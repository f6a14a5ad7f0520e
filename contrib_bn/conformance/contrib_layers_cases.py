"""TF 1.15.5's tf.contrib.layers initializers and regularizers: the cases.

Every case is a plain function of (tf.compat.v1, the tf.contrib.layers
module). scripts/record_contrib_layers.py runs each in a fresh graph on
TF 1.15.5 and records, under the case id:

  values        the evaluated result (in contrib_layers.npz as CASE_ID);
  output        the result tensor's name, dtype and shape, or 'None' when the
                function returned None;
  ops           the names and types of every op the case created, in order;
  collections   REGULARIZATION_LOSSES tensor names after the case;
  error         the exception type and message, for cases that raise.

into contrib_bn/goldens/contrib_layers (contrib_layers.json and
contrib_layers.npz), and tests/test_contrib_layers.py replays the very same
calls on TF 2.x against `tf.contrib.layers` after `contrib_bn.install()`.
TF-free (the TensorFlow modules are passed in), for Python 3.7 as well.
"""

import os

import numpy as np

from contrib_bn.conformance import corpus

DEFAULT_DIR = corpus.directory('contrib_layers')
JSON_NAME = 'contrib_layers.json'
NPZ_NAME = 'contrib_layers.npz'

GRAPH_SEED = 7
OP_SEED = 42

# Weights the regularizer cases penalize.
_W1 = np.arange(-6, 6, dtype=np.float64).reshape(3, 4) / 5.0
_W2 = np.linspace(-1.5, 2.0, 6).reshape(2, 3)


def _initializer_case(make, shape, graph_seed, dtype_name='float32',
                      through_variable=False):
  def case(tf, layers):
    if graph_seed is not None:
      tf.set_random_seed(graph_seed)
    init = make(layers)
    dtype = tf.as_dtype(dtype_name)
    if through_variable:
      # The variable itself: evaluated after the global initializer.
      return tf.get_variable('w', shape=shape, dtype=dtype, initializer=init)
    return init(shape, dtype=dtype)
  return case


def _initializer_cases():
  makers = {
      'xavier_uniform': lambda l: l.xavier_initializer(seed=OP_SEED),
      'xavier_normal': lambda l: l.xavier_initializer(uniform=False,
                                                      seed=OP_SEED),
      'xavier_conv2d': lambda l: l.xavier_initializer_conv2d(seed=OP_SEED),
      'vs_default': lambda l: l.variance_scaling_initializer(seed=OP_SEED),
      'vs_fan_out_uniform': lambda l: l.variance_scaling_initializer(
          factor=1.0, mode='FAN_OUT', uniform=True, seed=OP_SEED),
      'vs_fan_avg_normal': lambda l: l.variance_scaling_initializer(
          factor=3.0, mode='FAN_AVG', uniform=False, seed=OP_SEED),
      'vs_fan_in_uniform': lambda l: l.variance_scaling_initializer(
          factor=0.5, mode='FAN_IN', uniform=True, seed=OP_SEED + 1),
  }
  shapes = {'dense': [5, 7], 'conv': [3, 3, 4, 6], 'vector': [9]}
  cases = {}
  for maker_id, make in makers.items():
    for shape_id, shape in shapes.items():
      for seeds_id, graph_seed in (('opseed', None), ('graphseed', GRAPH_SEED)):
        cases['init/%s/%s/%s' % (maker_id, shape_id, seeds_id)] = (
            _initializer_case(make, shape, graph_seed))
  cases['init/vs_default/conv/float64'] = _initializer_case(
      makers['vs_default'], shapes['conv'], GRAPH_SEED, 'float64')
  cases['init/xavier_uniform/dense/float16'] = _initializer_case(
      makers['xavier_uniform'], shapes['dense'], None, 'float16')
  cases['init/xavier_uniform/scalar'] = _initializer_case(
      makers['xavier_uniform'], [], None)
  cases['init/vs_default/conv/get_variable'] = _initializer_case(
      makers['vs_default'], shapes['conv'], GRAPH_SEED, through_variable=True)
  cases['init/xavier_normal/dense/get_variable'] = _initializer_case(
      makers['xavier_normal'], shapes['dense'], None, through_variable=True)
  # Errors.
  cases['init/error/mode_lower_case'] = (
      lambda tf, l: l.variance_scaling_initializer(mode='fan_in'))
  cases['init/error/int_dtype'] = (
      lambda tf, l: l.variance_scaling_initializer(dtype=tf.int32))
  cases['init/error/int_dtype_at_call'] = (
      lambda tf, l: l.xavier_initializer()([2, 2], dtype=tf.int32))
  return cases


def _apply(make, weights=(_W1,), dtype='float32'):
  def case(tf, layers):
    regularizer = make(tf, layers)
    if regularizer is None:
      return 'regularizer is None'
    return regularizer(tf.constant(weights[0], dtype=dtype, name='w'))
  return case


def _regularizer_cases():
  cases = {
      'reg/l1': _apply(lambda tf, l: l.l1_regularizer(0.5)),
      'reg/l1_scope': _apply(lambda tf, l: l.l1_regularizer(0.5, scope='s')),
      'reg/l1_float64': _apply(lambda tf, l: l.l1_regularizer(0.3),
                               dtype='float64'),
      'reg/l1_tensor_scale': _apply(
          lambda tf, l: l.l1_regularizer(tf.constant(0.25))),
      'reg/l2': _apply(lambda tf, l: l.l2_regularizer(0.5)),
      'reg/l2_scope': _apply(lambda tf, l: l.l2_regularizer(0.5, scope='s')),
      'reg/l2_tiny': _apply(lambda tf, l: l.l2_regularizer(4e-5)),
      'reg/l1_l2': _apply(lambda tf, l: l.l1_l2_regularizer(0.5, 0.25)),
      'reg/l1_l2_defaults': _apply(lambda tf, l: l.l1_l2_regularizer()),
      'reg/l1_l2_scope': _apply(
          lambda tf, l: l.l1_l2_regularizer(0.5, 0.25, scope='both')),
      'reg/l1_l2_no_l1': _apply(lambda tf, l: l.l1_l2_regularizer(0.0, 0.25)),
      'reg/l1_l2_no_l2': _apply(lambda tf, l: l.l1_l2_regularizer(0.5, 0.0)),
      'reg/sum': _apply(lambda tf, l: l.sum_regularizer(
          [l.l1_regularizer(0.5), None, l.l2_regularizer(0.25)])),
      'reg/sum_scope': _apply(lambda tf, l: l.sum_regularizer(
          [l.l1_regularizer(0.5)], scope='total')),
      'reg/sum_with_zero_scale': _apply(lambda tf, l: l.sum_regularizer(
          [l.l1_regularizer(0.0), l.l2_regularizer(0.25)])),
      'reg/sum_all_zero': _apply(lambda tf, l: l.sum_regularizer(
          [l.l1_regularizer(0.0)])),
      'reg/sum_empty': _apply(lambda tf, l: l.sum_regularizer([None])),
      'reg/l1_zero': _apply(lambda tf, l: l.l1_regularizer(0.0)),
      'reg/l2_zero': _apply(lambda tf, l: l.l2_regularizer(0.0)),
      'reg/l1_l2_both_zero': _apply(
          lambda tf, l: l.l1_l2_regularizer(0.0, 0.0)),
  }
  for name, call in {
      'l1_int': lambda l: l.l1_regularizer(1),
      'l1_bool': lambda l: l.l1_regularizer(True),
      'l1_negative': lambda l: l.l1_regularizer(-0.5),
      'l2_int': lambda l: l.l2_regularizer(2),
      'l2_negative': lambda l: l.l2_regularizer(-1e-3),
      'l1_l2_int_l1': lambda l: l.l1_l2_regularizer(1, 0.5),
      'l1_l2_int_l2': lambda l: l.l1_l2_regularizer(0.5, 3),
      'l1_l2_negative_l1': lambda l: l.l1_l2_regularizer(-0.5, 0.5),
      'l1_l2_negative_l2': lambda l: l.l1_l2_regularizer(0.5, -0.5),
  }.items():
    cases['reg/error/' + name] = (lambda call: lambda tf, l: call(l))(call)

  def apply_two(tf, layers):
    weights = [tf.constant(_W1, tf.float32), tf.constant(_W2, tf.float32)]
    return layers.apply_regularization(layers.l2_regularizer(0.5), weights)

  def apply_collection(tf, layers):
    for index, value in enumerate((_W1, _W2)):
      tf.add_to_collection(tf.GraphKeys.WEIGHTS,
                           tf.constant(value, tf.float32, name='w%d' % index))
    return layers.apply_regularization(layers.l1_regularizer(0.1))

  def apply_zero_scale(tf, layers):
    return layers.apply_regularization(layers.l1_regularizer(0.0),
                                       [tf.constant(_W1, tf.float32)])

  def apply_no_weights(tf, layers):
    return layers.apply_regularization(layers.l2_regularizer(0.5))

  def apply_not_scalar(tf, layers):
    return layers.apply_regularization(lambda w: w * 2.0,
                                       [tf.constant(_W1, tf.float32)])

  def apply_twice(tf, layers):
    weights = [tf.constant(_W1, tf.float32)]
    layers.apply_regularization(layers.l2_regularizer(0.5), weights)
    return layers.apply_regularization(layers.l1_regularizer(0.5), weights)

  cases.update({
      'apply/two_weights': apply_two,
      'apply/weights_collection': apply_collection,
      'apply/zero_scale': apply_zero_scale,
      'apply/twice': apply_twice,
      'apply/error/no_weights': apply_no_weights,
      'apply/error/not_scalar': apply_not_scalar,
  })
  return cases


def all_cases():
  cases = _initializer_cases()
  cases.update(_regularizer_cases())
  return cases


def run_case(case_id, case, tf, layers):
  """Runs one case in a fresh graph; returns (record dict, value or None)."""
  graph = tf.Graph()
  record = {}
  value = None
  with graph.as_default():
    try:
      result = case(tf, layers)
    except Exception as error:  # pylint: disable=broad-except
      record['error'] = {'type': type(error).__name__, 'message': str(error)}
      result = None
    if isinstance(result, str):
      record['output'] = result
      result = None
    elif result is not None:
      record['output'] = {'name': result.name,
                          'dtype': result.dtype.base_dtype.name,
                          'shape': result.shape.as_list()}
      with tf.Session(graph=graph) as session:
        session.run(tf.global_variables_initializer())
        value = np.asarray(session.run(result))
    record['ops'] = [[op.name, op.type] for op in graph.get_operations()]
    record['collections'] = {
        'regularization_losses': [
            t.name for t in graph.get_collection(
                tf.GraphKeys.REGULARIZATION_LOSSES)]}
  del case_id
  return record, value


def record_all(tf, layers):
  records, values = {}, {}
  for case_id, case in sorted(all_cases().items()):
    record, value = run_case(case_id, case, tf, layers)
    records[case_id] = record
    if value is not None:
      values[case_id] = value
  return records, values


def write(directory, tensorflow_version, records, values):
  """Writes the recording as this corpus was first committed."""
  corpus.write_json(os.path.join(directory, JSON_NAME),
                    {'tensorflow': tensorflow_version, 'cases': records},
                    trailing_newline=False)
  corpus.write_arrays(os.path.join(directory, NPZ_NAME), values,
                      compressed=False)


def load(directory=DEFAULT_DIR):
  """(record, values): the JSON recording and the arrays by case id."""
  return (corpus.read_json(os.path.join(directory, JSON_NAME)),
          corpus.read_arrays(os.path.join(directory, NPZ_NAME)))
