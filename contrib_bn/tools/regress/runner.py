"""One regression run of a user's model, the same on TF 1.15 and on TF 2.x.

The recorder (TF 1.15, real `tf.contrib`) and the comparison (TF 2.x,
contrib_bn) both call `execute`, so both sides feed the same inputs, start
from the same variable values and fetch the same things in the same order:

  - the initial value of every global variable;
  - per training step, before the step's update: every batch-norm layer's
    output and moving statistics, every model output and the loss (one
    `session.run`), then the train op (a second one: with TF1 reference
    variables a single run could read variables the update is writing);
  - every variable after training;
  - inference, every mode placeholder fed False (the returned `is_training`
    and the bool placeholders `model_file.find_mode_placeholders` finds, so
    a model that keeps its placeholder to itself is run in inference mode
    too); the training steps feed them True.

This module imports nothing of contrib_bn and nothing newer than Python 3.7;
TensorFlow is passed in, so the TF 1.15 recorder loads it by path.
"""

import collections
import re

import numpy as np

FORMAT_VERSION = 1
DEFAULT_INT_RANGE = (0, 2)

_FUSED_KERNELS = ('FusedBatchNorm', 'FusedBatchNormV2', 'FusedBatchNormV3')


class InputError(ValueError):
  """The model's inputs cannot be fed as requested."""


def parse_input_shapes(specs):
  """['images=8,8,8,3', 'labels=8'] (or 'a=1,2;b=3') -> {name: [dims]}."""
  shapes = collections.OrderedDict()
  for spec in specs or ():
    for part in spec.split(';'):
      part = part.strip()
      if not part:
        continue
      name, sep, dims = part.partition('=')
      if not sep or not name.strip():
        raise InputError(
            '--input-shapes %r: expected NAME=D1,D2,... (for example '
            'images=8,32,32,3)' % (part,))
      try:
        values = [int(d) for d in dims.split(',')] if dims.strip() else []
      except ValueError:
        raise InputError('--input-shapes %r: dimensions must be integers' %
                         (part,))
      if any(v < 0 for v in values):
        raise InputError('--input-shapes %r: dimensions must be >= 0' %
                         (part,))
      shapes[name.strip()] = values
  return shapes


def input_specs(model, shapes):
  """name -> (dtype name, shape) for every model input.

  Raises:
    InputError: an input has unknown dimensions and no shape was given, a
      given shape contradicts the placeholder, or names an unknown input.
  """
  unknown = sorted(set(shapes) - set(model.inputs))
  if unknown:
    raise InputError('--input-shapes names %s, which the model does not '
                     'have; its inputs: %s' %
                     (', '.join(unknown), ', '.join(model.inputs)))
  specs = collections.OrderedDict()
  for name, tensor in model.inputs.items():
    static = tensor.shape.as_list() if tensor.shape.ndims is not None else None
    if name in shapes:
      shape = shapes[name]
      if static is not None and (
          len(static) != len(shape) or
          any(s is not None and s != d for s, d in zip(static, shape))):
        raise InputError('--input-shapes %s=%s does not fit placeholder %r of '
                         'shape %s' % (name, ','.join(map(str, shape)),
                                       tensor.name, static))
    elif static is None or any(d is None for d in static):
      raise InputError(
          'input %r (placeholder %r) has unknown dimensions %s; give them with '
          '--input-shapes %s=%s' % (
              name, tensor.name, static, name,
              ','.join('8' if d is None else str(d) for d in (static or [8]))))
    else:
      shape = static
    specs[name] = (tensor.dtype.base_dtype.name, list(shape))
  return specs


def make_inputs(specs, steps, seed, int_range=DEFAULT_INT_RANGE):
  """Seeded inputs: 'step<i>/<name>' for each step and 'inference/<name>'.

  Floats are standard normal, integers uniform in [low, high), bools fair
  coins; `np.random.RandomState` keeps its stream across numpy releases.
  """
  rng = np.random.RandomState(seed)
  arrays = collections.OrderedDict()
  for prefix in ['step%d' % i for i in range(steps)] + ['inference']:
    for name, (dtype, shape) in specs.items():
      np_dtype = np.dtype(dtype)
      if np_dtype.kind == 'f':
        value = rng.standard_normal(shape).astype(np_dtype)
      elif np_dtype.kind in 'iu':
        value = rng.randint(int_range[0], int_range[1], size=shape).astype(
            np_dtype)
      elif np_dtype.kind == 'b':
        value = rng.randint(0, 2, size=shape).astype(bool)
      else:
        raise InputError('input %r has dtype %s, which the harness cannot '
                         'generate' % (name, dtype))
      arrays['%s/%s' % (prefix, name)] = value
  return arrays


def _scope_ops(graph, scope):
  gradients = re.compile(r'^(.*/)?gradients(_\d+)?/')
  return [op for op in graph.get_operations()
          if op.name.startswith(scope + '/') and not gradients.match(op.name)]


def describe_layer(tf, graph, scope, output):
  """What a layer's graph says about how it computes: for the cause hints."""
  ops = _scope_ops(graph, scope)
  kernels = sorted({op.type for op in ops if op.type in _FUSED_KERNELS})
  epsilons = sorted({float(op.get_attr('epsilon')) for op in ops
                     if op.type in _FUSED_KERNELS})
  constants = set()
  for op in ops:
    # Scalar float constants: epsilon, decay, clipping bounds...
    if (op.type == 'Const' and op.outputs[0].dtype.is_floating and
        op.outputs[0].shape.ndims == 0):
      constants.add(float(tf.make_ndarray(op.get_attr('value'))))
  return {
      'scope': scope,
      'output': output.name if output is not None else None,
      'dtype': output.dtype.base_dtype.name if output is not None else None,
      'fused_kernels': kernels,
      'fused_epsilons': epsilons,
      'scalar_constants': sorted(constants),
  }


def find_layers(tf, graph, graph_layers):
  """[(scope, output tensor or None, description)] of the graph's BN layers.

  Layers inside a while loop have no fetchable output; they keep a None
  output and only their moving statistics are compared.
  """
  found = []
  for layer in graph_layers.find_layers(graph):
    output = graph_layers.layer_output(graph, layer.scope)
    if output is not None and re.search(r'(^|/)while(_\d+)?/', output.name):
      output = None
    found.append((layer.scope, output, layer,
                  describe_layer(tf, graph, layer.scope, output)))
  return found


def _variables(tf):
  return sorted(tf.compat.v1.global_variables(), key=lambda v: v.op.name)


def perturb_by_one_ulp(values):
  """Every float array moved one ULP towards +inf; others unchanged."""
  moved = collections.OrderedDict()
  for name, value in values.items():
    value = np.asarray(value)
    if value.dtype.kind == 'f':
      moved[name] = np.nextafter(value, np.array(np.inf, value.dtype))
    else:
      moved[name] = value
  return moved


def session_config(tf):
  # One thread each: within one machine, repeated runs then agree bit for bit.
  return tf.compat.v1.ConfigProto(intra_op_parallelism_threads=1,
                                  inter_op_parallelism_threads=1)


def execute(tf, model, layers, inputs, steps, initial=None, progress=None,
            checkpoint_prefix=None):
  """Runs the procedure of the module docstring.

  Args:
    tf: the `tensorflow` module.
    model: a `model_file.Model`.
    layers: `find_layers(tf, model.graph, ...)`.
    inputs: `make_inputs(...)` arrays.
    steps: number of training steps.
    initial: None to keep the variables' own initial values; else a dict
      variable name -> value loaded before the first step.
    progress: callable(str) for progress lines, or None.
    checkpoint_prefix: where to save a TF1 checkpoint after training, or None.

  Returns:
    (arrays, structure): arrays by key (see module docstring) and a dict
    with 'variables' [(name, dtype, shape)].
  """
  v1 = tf.compat.v1
  arrays = collections.OrderedDict()
  with model.graph.as_default():
    variables = _variables(tf)
    init = [v1.global_variables_initializer(), v1.local_variables_initializer()]
    saver = v1.train.Saver(variables) if checkpoint_prefix else None
  structure = {'variables': [(v.op.name, v.dtype.base_dtype.name,
                              v.shape.as_list()) for v in variables]}
  with v1.Session(graph=model.graph, config=session_config(tf)) as sess:
    sess.run(init)
    if initial is not None:
      for variable in variables:
        if variable.op.name in initial:
          variable.load(initial[variable.op.name], sess)
    for variable, value in zip(variables, sess.run(variables)):
      arrays['initial/' + variable.op.name] = value

    def feed(prefix, training):
      result = {t: inputs['%s/%s' % (prefix, n)]
                for n, t in model.inputs.items()}
      for mode in model.mode_placeholders:
        result[mode] = training
      return result

    def fetches():
      wanted = collections.OrderedDict()
      for scope, output, layer, _ in layers:
        if output is not None:
          wanted['layer/' + scope] = output
      for name, tensor in model.outputs.items():
        wanted['output/' + name] = tensor
      return wanted

    by_name = {v.op.name: v for v in variables}

    def moving():
      # Variables, not their ops' outputs: a resource variable's op outputs
      # its handle.
      wanted = collections.OrderedDict()
      for scope, _, layer, _ in layers:
        for statistic, op in sorted(layer.variables.items()):
          if op.name in by_name:
            wanted['moving/%s/%s' % (scope, statistic)] = by_name[op.name]
      return wanted

    step_fetches = fetches()
    step_fetches.update(moving())
    if model.loss is not None:
      step_fetches['loss'] = model.loss
    for step in range(steps):
      values = sess.run(step_fetches, feed('step%d' % step, True))
      for key, value in values.items():
        arrays['step%d/%s' % (step, key)] = value
      if model.train_op is not None:
        sess.run(model.train_op, feed('step%d' % step, True))
      if progress is not None:
        progress('step %d/%d' % (step + 1, steps))
    for variable, value in zip(variables, sess.run(variables)):
      arrays['final/' + variable.op.name] = value
    for key, value in sess.run(fetches(), feed('inference', False)).items():
      arrays['inference/' + key] = value
    if saver is not None:
      saver.save(sess, checkpoint_prefix, write_meta_graph=False,
                 write_state=False)
  return arrays, structure


def restored_inference(tf, model, layers, inputs, checkpoint_prefix):
  """Inference after restoring a TF1 checkpoint into `model`'s variables."""
  v1 = tf.compat.v1
  with model.graph.as_default():
    saver = v1.train.Saver(_variables(tf))
  arrays = collections.OrderedDict()
  with v1.Session(graph=model.graph, config=session_config(tf)) as sess:
    saver.restore(sess, checkpoint_prefix)
    wanted = collections.OrderedDict()
    for scope, output, _, _ in layers:
      if output is not None:
        wanted['layer/' + scope] = output
    for name, tensor in model.outputs.items():
      wanted['output/' + name] = tensor
    feed = {t: inputs['inference/%s' % n] for n, t in model.inputs.items()}
    for mode in model.mode_placeholders:
      feed[mode] = False
    for key, value in sess.run(wanted, feed).items():
      arrays['restored/' + key] = value
  return arrays
