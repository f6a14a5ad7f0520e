"""The TF 1.15 side of `python -m contrib_bn regress record`.

Run by `regress record` under the TensorFlow 1.15 interpreter:

  PY37 record_tf1.py '{"target": "FILE.py:FUNCTION", "out": DIR, ...}'

It writes into DIR (a fresh temporary directory the caller renames into
place): manifest.json, inputs.npz, run.npz, ulp.npz and checkpoint/model.*.
Progress goes to stderr; a model that fails to build or run prints its
traceback and exits with status 3.

It imports only contrib_bn's TF-free modules (model_file, graph_layers,
runner), registered by contrib_bn/conformance/tf1_import.py as the recorders
do: the rest of the package needs TensorFlow 2, and the directory holding it
(a TF 2 environment's site-packages) must not go on this interpreter's path.
"""

import hashlib
import json
import os
import runpy
import sys
import traceback

_PACKAGE = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

EXIT_MODEL_FAILED = 3
EXIT_BAD_INPUT = 2


def _tf_free_modules():
  """(model_file, graph_layers, runner) of this copy of contrib_bn."""
  runpy.run_path(os.path.join(_PACKAGE, 'conformance',
                              'tf1_import.py'))['register']()
  # pylint: disable=g-import-not-at-top
  from contrib_bn.tools import graph_layers
  from contrib_bn.tools import model_file
  from contrib_bn.tools.regress import runner
  return model_file, graph_layers, runner


def _progress(message):
  sys.stderr.write('[TF 1.15] %s\n' % message)
  sys.stderr.flush()


def file_digest(path):
  with open(path, 'rb') as f:
    return hashlib.sha256(f.read()).hexdigest()


def record(options):
  """Records the model; returns the manifest dict."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  model_file, graph_layers, runner = _tf_free_modules()
  if not tf.__version__.startswith('1.'):
    raise SystemExit(
        'regress record: --tf1-python %s runs TensorFlow %s; it must run '
        'TensorFlow 1.15 (python -m contrib_bn regress setup-tf1 makes one)'
        % (sys.executable, tf.__version__))
  target = options['target']
  out = options['out']
  steps = options['steps']

  def build():
    try:
      return model_file.build(target)
    except model_file.ModelFileError as e:
      sys.stderr.write('regress record: %s\n' % e)
      raise SystemExit(EXIT_BAD_INPUT)

  _progress('building %s with TensorFlow %s' % (target, tf.__version__))
  model = build()
  if model.train_op is None:
    _progress('the model has no train_op: the %d steps only run forward'
              % steps)
  try:
    specs = runner.input_specs(
        model, runner.parse_input_shapes(options['input_shapes']))
  except runner.InputError as e:
    sys.stderr.write('regress record: %s\n' % e)
    raise SystemExit(EXIT_BAD_INPUT)
  inputs = runner.make_inputs(specs, steps, options['seed'],
                              tuple(options['int_range']))
  layers = runner.find_layers(tf, model.graph, graph_layers)
  _progress('%d batch-norm layer(s): %s' % (
      len(layers), ', '.join(s for s, _, _, _ in layers) or '(none)'))
  os.makedirs(os.path.join(out, 'checkpoint'))
  _progress('run 1/2 (as initialized)')
  arrays, structure = runner.execute(
      tf, model, layers, inputs, steps, progress=_progress,
      checkpoint_prefix=os.path.join(out, 'checkpoint', 'model'))
  initial = {k[len('initial/'):]: v for k, v in arrays.items()
             if k.startswith('initial/')}
  _progress('run 2/2 (every float initial value moved by one ULP)')
  moved = build()
  moved_layers = runner.find_layers(tf, moved.graph, graph_layers)
  ulp_arrays, _ = runner.execute(
      tf, moved, moved_layers, inputs, steps,
      initial=runner.perturb_by_one_ulp(initial), progress=_progress)
  np.savez(os.path.join(out, 'inputs.npz'), **inputs)
  np.savez(os.path.join(out, 'run.npz'), **arrays)
  np.savez(os.path.join(out, 'ulp.npz'), **ulp_arrays)
  path, function = model_file.parse_target(target)
  manifest = {
      'format': runner.FORMAT_VERSION,
      'kind': 'contrib_bn regress recording',
      'identity': {
          'file': os.path.basename(path),
          'sha256': file_digest(path),
          'function': function,
          'steps': steps,
          'seed': options['seed'],
          'input_shapes': {n: s for n, (_, s) in specs.items()},
          'int_range': list(options['int_range']),
      },
      'tensorflow': tf.__version__,
      'python': sys.version.split()[0],
      'inputs': {n: {'dtype': d, 'shape': s} for n, (d, s) in specs.items()},
      'outputs': list(model.outputs),
      'has_loss': model.loss is not None,
      'has_train_op': model.train_op is not None,
      'has_is_training': model.is_training is not None,
      'mode_placeholders': [t.name for t in model.mode_placeholders],
      'layers': [d for _, _, _, d in layers],
      'variables': structure['variables'],
  }
  with open(os.path.join(out, 'manifest.json'), 'w') as f:
    json.dump(manifest, f, indent=1, sort_keys=True)
  _progress('recorded %d step(s), %d layer(s), %d variable(s)' % (
      steps, len(layers), len(structure['variables'])))
  return manifest


def main(argv):
  options = json.loads(argv[1])
  try:
    record(options)
  except SystemExit:
    raise
  except Exception:  # pylint: disable=broad-except
    sys.stderr.write('regress record: the model failed under TensorFlow 1.15:'
                     '\n')
    traceback.print_exc()
    return EXIT_MODEL_FAILED
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv))
