"""Writing, loading and running the exported artifacts, atomically placed.

A SavedModel with a `serving_default` signature over a frozen GraphDef (no
variables, so no contrib_bn is needed to load it), a TFLite flatbuffer from
TF's own converter, and the comparison of an artifact's outputs with the
reference. Outputs are written into a temporary directory next to their
destination and renamed into place only after they are verified.
"""

import collections
import os
import shutil
import tempfile
import warnings

import numpy as np
import tensorflow as tf

from contrib_bn.tools.inference_model import ExportError

ArtifactCheck = collections.namedtuple(
    'ArtifactCheck', ['artifact', 'path', 'max_abs_diff', 'rtol', 'atol',
                      'ok'])


def concrete_function(graph_def, inputs, outputs):
  """A TF 2 function over a frozen GraphDef.

  Takes the `inputs` tensors positionally, in order, and returns a dict of
  the `outputs` (name -> tensor name in `graph_def`).
  """

  def import_graph():
    tf.compat.v1.import_graph_def(graph_def, name='')

  wrapped = tf.compat.v1.wrap_function(import_graph, [])
  element = wrapped.graph.as_graph_element
  return wrapped.prune(
      feeds=[element(t) for t in inputs.values()],
      fetches={n: element(t) for n, t in outputs.items()})


class _Serving(tf.Module):
  """Holds the pruned function; `serve` is the signature, its arguments
  named by the TensorSpecs (the model's input names)."""

  def __init__(self, pruned, specs):
    super().__init__()
    self._pruned = pruned
    signature = [tf.TensorSpec(s, d, name=n) for n, (s, d) in specs.items()]

    def serve(*args):
      return self._pruned(*args)

    self.serve = tf.function(serve, input_signature=signature)


def write_saved_model(frozen, graph_def, path):
  """Writes `graph_def` as a SavedModel with a `serving_default` signature."""
  pruned = concrete_function(graph_def, frozen.inputs, frozen.outputs)
  module = _Serving(pruned, frozen.specs)
  tf.saved_model.save(module, path, signatures={
      'serving_default': module.serve.get_concrete_function()})


def write_tflite(saved_model_path, path):
  """Converts the SavedModel's `serving_default` with TF's TFLite converter."""
  converter = tf.lite.TFLiteConverter.from_saved_model(
      saved_model_path, signature_keys=['serving_default'])
  try:
    content = converter.convert()
  except Exception as e:  # pylint: disable=broad-except
    # The converter raises several private error types; all mean the same.
    raise ExportError('the TFLite converter rejected the model: %s: %s' %
                      (type(e).__name__, e))
  with open(path, 'wb') as f:
    f.write(content)


def compare(name, path, got, reference, tolerance):
  rtol, atol = tolerance
  worst, ok = 0.0, True
  missing = sorted(set(reference) - set(got))
  if missing:
    raise ExportError('%s %s lacks outputs %s' % (name, path, missing))
  for key, ref in reference.items():
    value = np.asarray(got[key])
    if value.shape != ref.shape:
      raise ExportError('%s %s: output %s has shape %s, the session graph %s'
                        % (name, path, key, value.shape, ref.shape))
    diff = np.abs(value.astype(np.float64) - ref.astype(np.float64))
    worst = max(worst, float(diff.max()) if diff.size else 0.0)
    ok = ok and bool(np.all(diff <= atol + rtol * np.abs(ref)))
  return ArtifactCheck(name, path, worst, rtol, atol, ok)


def run_saved_model(path, feeds):
  loaded = tf.saved_model.load(path)
  result = loaded.signatures['serving_default'](
      **{n: tf.constant(v) for n, v in feeds.items()})
  return {n: v.numpy() for n, v in result.items()}


def run_frozen_graph(path, inputs, outputs, feeds):
  graph_def = tf.compat.v1.GraphDef()
  with open(path, 'rb') as f:
    graph_def.ParseFromString(f.read())
  with tf.Graph().as_default() as graph:
    tf.compat.v1.import_graph_def(graph_def, name='')
    with tf.compat.v1.Session(graph=graph) as sess:
      return sess.run(dict(outputs), {inputs[n]: v for n, v in feeds.items()})


def run_tflite(path, feeds):
  """Runs the flatbuffer's `serving_default` with `tf.lite.Interpreter`."""
  with warnings.catch_warnings():
    # TF announces the interpreter's move to the ai_edge_litert package; it
    # is still TF's own interpreter for TF's own converter output here.
    warnings.filterwarnings('ignore', message='.*Interpreter is deprecated',
                            category=UserWarning)
    interpreter = tf.lite.Interpreter(model_path=path)
  runner = interpreter.get_signature_runner('serving_default')
  return runner(**feeds)


def staging(path, overwrite):
  if path is None:
    return None
  path = os.path.abspath(path)
  if os.path.lexists(path) and not overwrite:
    raise ExportError('%s already exists; pass --overwrite (overwrite=True) '
                      'to replace it' % path)
  parent = os.path.dirname(path)
  if not os.path.isdir(parent):
    raise ExportError('the directory of %s does not exist' % path)
  return tempfile.mkdtemp(prefix='.%s.' % os.path.basename(path),
                          dir=parent)


def move_into_place(staged, path):
  """Replaces `path` by `staged`: a rename, with the old one out of the way
  first so that `path` is never half-written."""
  backup = None
  if os.path.lexists(path):
    backup = path + '.old-%d' % os.getpid()
    os.rename(path, backup)
  os.rename(staged, path)
  if backup is not None:
    if os.path.isdir(backup) and not os.path.islink(backup):
      shutil.rmtree(backup)
    else:
      os.remove(backup)
