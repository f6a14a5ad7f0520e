"""A legacy model as an eager TF 2 callable: `export.as_function`'s work.

The model is built in inference mode (`inference_model.build_for_inference`)
inside `tf.compat.v1.wrap_function`, so its variables become TF 2
`tf.Variable`s, which get the values the export's freeze restored and
checked. The function is pruned to the model's inputs and outputs; its mode
placeholders, if any, are fed a constant False on every call (TF 2's graph
optimizer folds what they decide when it runs the function).
"""

import tensorflow as tf

from contrib_bn.tools import artifacts
from contrib_bn.tools import inference_model
from contrib_bn.tools.inference_model import ExportError


class LegacyFunction(object):
  """A legacy model as a TF 2 callable; see `wrap`.

  Attributes:
    concrete_function: the pruned `tf.compat.v1.wrap_function` result; takes
      the inputs positionally, in `input_names` order, then one bool per
      mode placeholder (a call passes False).
    variables: the restored `tf.Variable`s it reads.
    input_names: keyword arguments of a call.
    output_names: keys of the dict a call returns.
    max_abs_diff: measured against the restored session graph on seeded
      inputs when it was made.
  """

  def __init__(self, concrete, variables, input_names, output_names, diff,
               modes=0):
    self.concrete_function = concrete
    self._modes = modes
    self.variables = variables
    self.input_names = input_names
    self.output_names = output_names
    self.max_abs_diff = diff

  def __call__(self, **inputs):
    unknown = sorted(set(inputs) - set(self.input_names))
    absent = [n for n in self.input_names if n not in inputs]
    if unknown or absent:
      raise TypeError('expected the keyword inputs %s, got %s' %
                      (self.input_names, sorted(inputs)))
    return self.concrete_function(*(
        [tf.convert_to_tensor(inputs[n]) for n in self.input_names] +
        [tf.constant(False)] * self._modes))


def wrap(target, checkpoint, seed, tolerance):
  """The model as a TF 2 callable with its variables restored.

  Builds FILE.py:FUNCTION in inference mode, as the export does, inside
  `tf.compat.v1.wrap_function`, so its variables become TF 2 `tf.Variable`s;
  assigns them the values restored (and checked) from `checkpoint` by the
  same steps as `export`; prunes the function to the model's inputs and
  outputs; and checks it against the restored session graph on seeded
  inputs. Call it eagerly with the inputs the outputs use, as keyword
  arguments; it returns a dict of output tensors.

  Args:
    target: 'FILE.py:FUNCTION'.
    checkpoint: checkpoint prefix or directory.
    seed: seed of the verification inputs.
    tolerance: (rtol, atol) of the check against the session graph.

  Returns:
    A `LegacyFunction`.

  Raises:
    ExportError: as for the export, or if the function differs from the
      session graph beyond `tolerance`.
  """
  frozen = inference_model.freeze(target, checkpoint, seed)
  holder = {}

  def build():
    holder['model'] = inference_model.build_for_inference(
        target, graph=tf.compat.v1.get_default_graph())

  wrapped = tf.compat.v1.wrap_function(build, [])
  model = holder['model']
  by_name = {v.name.partition(':')[0]: v for v in wrapped.variables}
  variables = []
  for name, value in sorted(frozen.variables.items()):
    if name not in by_name:
      raise ExportError('variable %s was not lifted out of the wrapped '
                        'function, so it cannot be restored' % name)
    by_name[name].assign(value)
    variables.append(by_name[name])
  names = list(frozen.inputs)
  # Mode placeholders are fed a constant False, after the inputs, on every
  # call; TF 2's graph optimizer folds what they decide when it runs.
  modes = list(model.mode_placeholders)
  concrete = wrapped.prune(
      feeds=[model.inputs[n] for n in names] + modes,
      fetches=dict(model.outputs))
  got = concrete(*([tf.constant(frozen.feeds[n]) for n in names] +
                   [tf.constant(False)] * len(modes)))
  check = artifacts.compare(
      'wrap_function', target, {k: v.numpy() for k, v in got.items()},
      frozen.reference, tolerance)
  if not check.ok:
    raise ExportError('the wrapped function differs from the session graph: '
                      'max abs diff %.3g' % check.max_abs_diff)
  return LegacyFunction(concrete, variables, names, list(frozen.outputs),
                        check.max_abs_diff, len(modes))
