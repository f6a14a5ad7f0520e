"""The model-file contract shared by the regression harness and the export.

A user describes a legacy model with one Python file and one function in it,
named on the command line as `FILE.py:FUNCTION`. The function builds the graph
into the current default graph and returns a dict:

  inputs       required; name -> `tf.compat.v1.placeholder`
  outputs      required; name -> tensor
  loss         optional; scalar float tensor
  train_op     optional; the op one training step runs
  is_training  optional; the bool placeholder that switches batch norm

Three forms of FUNCTION are accepted, and the tools need no edit to any:

  1. It takes `is_training`; with None it makes a placeholder:

       def build(is_training=None):
         if is_training is None:
           is_training = tf.placeholder_with_default(True, [])
         ...batch_norm(net, is_training=is_training)...

  2. It takes no mode and makes its own placeholder (`tf.placeholder(tf.bool,
     [])` or `tf.placeholder_with_default(True, [])`), anywhere in the code it
     calls; returning it under `is_training` is optional:

       def build():
         is_training = tf.placeholder_with_default(True, [])
         with slim.arg_scope([slim.batch_norm], is_training=is_training):
           ...
         net = tf.cond(is_training, lambda: tf.nn.dropout(net, 0.5),
                       lambda: net)

  3. It builds for inference only and takes no parameter:

       def build_inference():
         ...batch_norm(net, is_training=False)...

Tools that need a static mode (the export, `as_function`) call form 1 with
`is_training=False` and the others with no argument, always inside
`contrib_bn.inference_mode()`, where every batch norm is static. The mode
placeholders of a model (`Model.mode_placeholders`) are the returned
`is_training` and every bool scalar placeholder that is not among `inputs`
and decides a conditional (a Switch, If or StatelessIf predicate reached
through bool ops); they are fed the mode wherever the tools run the graph.
A FUNCTION with any other parameter without a default is refused, naming it.

The same file loads unchanged under TensorFlow 1.15 and TensorFlow 2.x, in
either import style:
  - original TF1 style: `import tensorflow as tf`, then `tf.contrib...`;
  - the style `tf_upgrade_v2` writes: `import tensorflow.compat.v1 as tf`,
    with its `tf.contrib...` lines left as they were.
On TF 2.x, loading calls `contrib_bn.install()` and, for this file only,
makes `import tensorflow` (and `from tensorflow import ...`) mean
`tensorflow.compat.v1`. On TF 1.15, where `tensorflow.compat.v1` has no
`contrib` attribute, the real `tf.contrib` is exposed there.

This module imports nothing of contrib_bn at module level, so the TF 1.15
recorder of the regression harness can load it by path under Python 3.7.
"""

import builtins
import collections
import importlib.util
import inspect
import os
import sys

__all__ = ['Model', 'ModelFileError', 'build', 'decides_a_conditional',
           'find_mode_placeholders', 'load_module', 'parse_target']

_REQUIRED_KEYS = ('inputs', 'outputs')
_OPTIONAL_KEYS = ('loss', 'train_op', 'is_training')

Model = collections.namedtuple(
    'Model',
    ['graph', 'inputs', 'outputs', 'loss', 'train_op', 'is_training',
     'module', 'mode_placeholders'], defaults=((),))
Model.__doc__ = """A built model.

Attributes:
  graph: the `tf.Graph` holding it.
  inputs: OrderedDict name -> placeholder, sorted by name.
  outputs: OrderedDict name -> tensor, sorted by name.
  loss: scalar tensor or None.
  train_op: op or None.
  is_training: the returned bool placeholder, or None.
  module: the loaded model module.
  mode_placeholders: tuple of the bool placeholders that switch the mode:
    `is_training` if returned, then the others found in the graph (see the
    module docstring), by name.
"""


class ModelFileError(ValueError):
  """A model file, its function or what the function returns breaks the
  contract above."""


def parse_target(target):
  """Splits 'FILE.py:FUNCTION' into (absolute path, function name).

  Raises:
    ModelFileError: no ':', an empty part, or no such file.
  """
  if not isinstance(target, str) or ':' not in target:
    raise ModelFileError(
        'model %r: expected FILE.py:FUNCTION, for example '
        'examples/legacy_net.py:build_graph' % (target,))
  path, _, function = target.rpartition(':')
  if not path or not function:
    raise ModelFileError(
        'model %r: expected FILE.py:FUNCTION with both parts non-empty' %
        (target,))
  path = os.path.abspath(path)
  if not os.path.isfile(path):
    raise ModelFileError('model file %r does not exist' % (path,))
  return path, function


def _tf_major():
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return int(tf.__version__.split('.')[0])


def _importer_mapping_tensorflow_to_v1(v1):
  """An `__import__` for the model file: plain `tensorflow` means compat.v1.

  Only the exact name 'tensorflow' is mapped. `import tensorflow.compat.v1 as
  tf` and `import tensorflow.contrib.slim as slim` keep their meaning, since
  their dotted names reach the real package.
  """
  real_import = builtins.__import__

  def model_import(name, globals=None, locals=None, fromlist=(), level=0):  # pylint: disable=redefined-builtin
    if name == 'tensorflow' and level == 0:
      return v1
    return real_import(name, globals, locals, fromlist, level)

  return model_import


def _prepare_tensorflow():
  """Returns the builtins the model file runs with, after TF-side set-up."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import tensorflow.compat.v1 as v1  # pylint: disable=g-import-not-at-top
  if _tf_major() >= 2:
    from contrib_bn.compat import install  # pylint: disable=g-import-not-at-top
    install.install()
    model_builtins = dict(vars(builtins))
    model_builtins['__import__'] = _importer_mapping_tensorflow_to_v1(v1)
    return model_builtins
  # TF 1.15: `tensorflow.compat.v1` lacks `contrib`; upgraded files spell
  # `tf.contrib` on it.
  if not hasattr(v1, 'contrib'):
    v1.contrib = tf.contrib
  return None


def load_module(path):
  """Executes the model file as a fresh module and returns it.

  Args:
    path: path of the Python file.

  Raises:
    ModelFileError: the file does not exist. Exceptions raised by the file
      itself propagate unchanged, with their traceback.
  """
  path = os.path.abspath(path)
  if not os.path.isfile(path):
    raise ModelFileError('model file %r does not exist' % (path,))
  model_builtins = _prepare_tensorflow()
  name = '_contrib_bn_model_%s' % (
      os.path.splitext(os.path.basename(path))[0].replace('-', '_'))
  spec = importlib.util.spec_from_file_location(name, path)
  module = importlib.util.module_from_spec(spec)
  if model_builtins is not None:
    module.__builtins__ = model_builtins
  # Registered while it executes so that dataclasses, pickling and relative
  # lookups through sys.modules see it; removed again if it fails.
  sys.modules[name] = module
  try:
    spec.loader.exec_module(module)
  except BaseException:
    sys.modules.pop(name, None)
    raise
  return module


def _accepts_is_training(function):
  try:
    parameters = inspect.signature(function).parameters
  except (TypeError, ValueError):
    return False
  return 'is_training' in parameters


def _sorted_dict(value, key, target):
  if not isinstance(value, dict) or not value:
    raise ModelFileError(
        '%s: %r must be a non-empty dict of name -> tensor, got %r' %
        (target, key, value))
  for name in value:
    if not isinstance(name, str):
      raise ModelFileError('%s: %r keys must be strings, got %r' %
                           (target, key, name))
  return collections.OrderedDict(sorted(value.items()))


def _check_contract(result, target):
  """Validates the returned dict and converts it to a Model's fields."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if not isinstance(result, dict):
    raise ModelFileError(
        '%s must return a dict with keys %s (optional: %s), got %s' %
        (target, ', '.join(_REQUIRED_KEYS), ', '.join(_OPTIONAL_KEYS),
         type(result).__name__))
  missing = [k for k in _REQUIRED_KEYS if k not in result]
  if missing:
    raise ModelFileError(
        '%s returned a dict without %s; required keys: %s (optional: %s)' %
        (target, ', '.join(repr(k) for k in missing),
         ', '.join(_REQUIRED_KEYS), ', '.join(_OPTIONAL_KEYS)))
  unknown = sorted(set(result) - set(_REQUIRED_KEYS) - set(_OPTIONAL_KEYS))
  if unknown:
    raise ModelFileError(
        '%s returned unknown keys %s; allowed: %s' %
        (target, unknown, ', '.join(_REQUIRED_KEYS + _OPTIONAL_KEYS)))
  inputs = _sorted_dict(result['inputs'], 'inputs', target)
  for name, tensor in inputs.items():
    if not isinstance(tensor, tf.Tensor) or tensor.op.type not in (
        'Placeholder', 'PlaceholderWithDefault'):
      raise ModelFileError(
          '%s: inputs[%r] must be a placeholder tensor, got %r' %
          (target, name, tensor))
  outputs = _sorted_dict(result['outputs'], 'outputs', target)
  for name, tensor in outputs.items():
    if not isinstance(tensor, tf.Tensor):
      raise ModelFileError('%s: outputs[%r] must be a tensor, got %r' %
                           (target, name, tensor))
  loss = result.get('loss')
  if loss is not None and not isinstance(loss, tf.Tensor):
    raise ModelFileError('%s: loss must be a scalar tensor, got %r' %
                         (target, loss))
  train_op = result.get('train_op')
  if train_op is not None and not isinstance(train_op,
                                             (tf.Operation, tf.Tensor)):
    raise ModelFileError('%s: train_op must be an op, got %r' %
                         (target, train_op))
  is_training = result.get('is_training')
  if is_training is not None and (
      not isinstance(is_training, tf.Tensor) or
      is_training.dtype != tf.bool or
      is_training.op.type not in ('Placeholder', 'PlaceholderWithDefault')):
    raise ModelFileError(
        '%s: is_training must be a bool placeholder, got %r' %
        (target, is_training))
  return inputs, outputs, loss, train_op, is_training


def _required_parameters(function):
  """Parameters FUNCTION needs a value for, other than `is_training`."""
  try:
    parameters = inspect.signature(function).parameters.values()
  except (TypeError, ValueError):
    return []
  return [p.name for p in parameters
          if p.default is inspect.Parameter.empty and p.name != 'is_training'
          and p.kind not in (inspect.Parameter.VAR_POSITIONAL,
                             inspect.Parameter.VAR_KEYWORD)]


# Ops whose bool output a predicate is computed through, from a mode
# placeholder to the Switch or If it decides.
_PREDICATE_INPUT = {'Switch': 1, 'RefSwitch': 1, 'If': 0, 'StatelessIf': 0}
_PLACEHOLDER_OPS = ('Placeholder', 'PlaceholderWithDefault', 'PlaceholderV2')


def decides_a_conditional(tensor, limit=10000):
  """Whether `tensor` reaches a Switch/If predicate through bool tensors."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  stack, seen = [tensor], set()
  while stack and len(seen) < limit:
    current = stack.pop()
    if current.name in seen:
      continue
    seen.add(current.name)
    for consumer in current.consumers():
      index = _PREDICATE_INPUT.get(consumer.type)
      if index is not None and len(consumer.inputs) > index and (
          consumer.inputs[index].name == current.name):
        return True
      stack.extend(o for o in consumer.outputs
                   if o.dtype.base_dtype == tf.bool)
  return False


def find_mode_placeholders(graph, inputs, returned=None):
  """The bool placeholders that switch a model between training and inference.

  Args:
    graph: the model's `tf.Graph`.
    inputs: the model's `inputs` dict; its placeholders are data, never a
      mode.
    returned: the `is_training` the model returned, or None.

  Returns:
    A tuple of tensors: `returned` first if given, then every bool placeholder
    of shape [] not in `inputs` whose value decides a conditional, by name.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  data = set(t.name for t in inputs.values())
  found = []
  for op in graph.get_operations():
    if op.type not in _PLACEHOLDER_OPS:
      continue
    output = op.outputs[0]
    if (output.dtype.base_dtype != tf.bool or output.shape.rank != 0 or
        output.name in data or
        (returned is not None and output.name == returned.name)):
      continue
    if decides_a_conditional(output):
      found.append(output)
  found.sort(key=lambda t: t.name)
  return tuple(([] if returned is None else [returned]) + found)


def build(target, is_training=None, graph=None, for_inference=False):
  """Loads `FILE.py:FUNCTION`, builds the model and checks the contract.

  Args:
    target: 'FILE.py:FUNCTION'.
    is_training: None to let the model make its own `is_training`; a Python
      bool to build in that mode statically, which requires FUNCTION to take
      an `is_training` parameter.
    graph: the `tf.Graph` to build into; a new one when None.
    for_inference: call FUNCTION with `is_training=False` when it takes that
      parameter, and with no argument otherwise (the three forms of the
      module docstring). The caller provides `contrib_bn.inference_mode()`.

  Returns:
    A `Model`.

  Raises:
    ModelFileError: the contract is broken; the message names the part.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  path, function_name = parse_target(target)
  module = load_module(path)
  function = getattr(module, function_name, None)
  if function is None or not callable(function):
    public = sorted(n for n, v in vars(module).items()
                    if callable(v) and not n.startswith('_') and
                    getattr(v, '__module__', None) == module.__name__)
    raise ModelFileError(
        '%s has no function %r; functions defined there: %s' %
        (path, function_name, ', '.join(public) or '(none)'))
  required = _required_parameters(function)
  if required:
    raise ModelFileError(
        '%s: %s takes the parameter(s) %s without a default, which the tools '
        'cannot supply; give them defaults, or add a function that calls it '
        'with them and name that one (an `is_training` parameter is the only '
        'one passed)' % (target, function_name, ', '.join(required)))
  kwargs = {}
  if for_inference and _accepts_is_training(function):
    kwargs['is_training'] = False
  elif is_training is not None:
    if not isinstance(is_training, bool):
      raise ModelFileError('is_training must be None or a Python bool, got %r'
                           % (is_training,))
    if not _accepts_is_training(function):
      raise ModelFileError(
          '%s: building with a static is_training=%r needs %s to take an '
          '`is_training` parameter' % (target, is_training, function_name))
    kwargs['is_training'] = is_training
  graph = graph if graph is not None else tf.Graph()
  with graph.as_default():
    result = function(**kwargs)
  inputs, outputs, loss, train_op, is_training_tensor = _check_contract(
      result, target)
  for name, tensor in list(inputs.items()) + list(outputs.items()):
    if tensor.graph is not graph:
      raise ModelFileError(
          '%s: %r was built outside the default graph the function was '
          'called in' % (target, name))
  modes = find_mode_placeholders(graph, inputs, is_training_tensor)
  return Model(graph, inputs, outputs, loss, train_op, is_training_tensor,
               module, modes)
