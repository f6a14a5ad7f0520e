"""`regress record`: run the recorder under TF 1.15 and move the result in.

Nothing is half-written: the recorder writes into a fresh temporary
directory beside `--out`, which is renamed into place only when the whole
recording succeeded. An `--out` that holds a different recording (another
file, function, step count, seed or input shapes), or anything that is not a
recording, is refused; the same recording is replaced.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

from contrib_bn.tools.regress import runner

RECORDER = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        'record_tf1.py')


_TF2_ENVIRONMENT = ('TF2_BEHAVIOR', 'TPU_ML_PLATFORM',
                    'TPU_ML_PLATFORM_VERSION')


class RecordError(RuntimeError):
  """Recording failed; the message says why (and what to do)."""


def file_digest(path):
  with open(path, 'rb') as f:
    return hashlib.sha256(f.read()).hexdigest()


def _identity(target, steps, seed, shapes, int_range):
  path, function = target.rpartition(':')[0], target.rpartition(':')[2]
  return {
      'file': os.path.basename(path),
      'sha256': file_digest(path),
      'function': function,
      'steps': steps,
      'seed': seed,
      'int_range': list(int_range),
  }, shapes


def _check_out(out, identity, shapes):
  """Raises RecordError unless `out` is absent, empty or the same recording.

  Returns:
    True when `out` holds the same recording (to be replaced).
  """
  if not os.path.exists(out):
    return False
  if not os.path.isdir(out):
    raise RecordError('--out %r exists and is not a directory' % (out,))
  if not os.listdir(out):
    return False
  manifest_path = os.path.join(out, 'manifest.json')
  if not os.path.isfile(manifest_path):
    raise RecordError('--out %r is not empty and holds no recording; choose '
                      'another directory' % (out,))
  with open(manifest_path) as f:
    try:
      recorded = json.load(f).get('identity', {})
    except ValueError:
      recorded = {}
  differences = [k for k in identity if recorded.get(k) != identity[k]]
  recorded_shapes = recorded.get('input_shapes') or {}
  if any(recorded_shapes.get(k) != list(v) for k, v in shapes.items()):
    differences.append('input_shapes')
  if differences:
    raise RecordError(
        '--out %r already holds a different recording (%s differ: %s); '
        'choose another directory or delete it' % (
            out, ', '.join(differences),
            '; '.join('%s %r here, %r there' % (
                k, identity.get(k, dict(shapes)), recorded.get(k))
                      for k in differences)))
  return True


def record(target, out, tf1_python, steps, seed, input_shapes=(),
           int_range=runner.DEFAULT_INT_RANGE, stderr=None):
  """Records `target` under `tf1_python` into `out`.

  Args:
    target: 'FILE.py:FUNCTION'.
    out: the recording directory.
    tf1_python: path of a Python running TensorFlow 1.15.
    steps: training steps (>= 1).
    seed: seed of the generated inputs and of the graph.
    input_shapes: list of 'NAME=D1,D2,...' strings.
    int_range: (low, high) of generated integer inputs.
    stderr: file the recorder's progress and errors are copied to
      (default sys.stderr).

  Returns:
    The manifest dict.

  Raises:
    RecordError: with the reason; `out` is left as it was.
  """
  stderr = stderr or sys.stderr
  path, sep, function = target.rpartition(':')
  if not sep or not os.path.isfile(path) or not function:
    raise RecordError('model %r: expected FILE.py:FUNCTION naming an '
                      'existing file' % (target,))
  if steps < 1:
    raise RecordError('--steps must be at least 1, got %d' % steps)
  if int_range[0] >= int_range[1]:
    raise RecordError('--int-range %d:%d is empty' % tuple(int_range))
  if not tf1_python:
    raise RecordError('--tf1-python is required: a Python 3.7 with '
                      'TensorFlow 1.15 (python -m contrib_bn regress '
                      'setup-tf1 makes one)')
  if not (os.path.isfile(tf1_python) and os.access(tf1_python, os.X_OK)):
    raise RecordError('--tf1-python %r is not an executable file (python -m '
                      'contrib_bn regress setup-tf1 makes one)' % (tf1_python,))
  try:
    shapes = runner.parse_input_shapes(input_shapes)
  except runner.InputError as e:
    raise RecordError(str(e))
  out = os.path.abspath(out)
  identity, _ = _identity(target, steps, seed, shapes, int_range)
  replace = _check_out(out, identity, shapes)
  parent = os.path.dirname(out)
  os.makedirs(parent, exist_ok=True)
  staging = tempfile.mkdtemp(prefix='.%s.recording-' % os.path.basename(out),
                             dir=parent)
  work = os.path.join(staging, 'recording')
  options = {
      'target': os.path.abspath(path) + ':' + function,
      'out': work,
      'steps': steps,
      'seed': seed,
      'input_shapes': list(input_shapes),
      'int_range': list(int_range),
  }
  env = dict(os.environ)
  env.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  # Importing TF 2 sets TF2_BEHAVIOR=1 in this process; inherited, it would
  # switch TF 1.15 to resource variables and v2 control flow, which is not
  # how the user's TF1 program ran.
  for name in _TF2_ENVIRONMENT:
    env.pop(name, None)
  try:
    process = subprocess.Popen(
        [tf1_python, RECORDER, json.dumps(options)], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, env=env, universal_newlines=True)
    lines = []
    for line in process.stdout:
      lines.append(line)
      if line.startswith('[TF 1.15]'):
        stderr.write(line)
        stderr.flush()
    process.wait()
    if process.returncode != 0:
      detail = ''.join(l for l in lines if not l.startswith('[TF 1.15]'))
      raise RecordError(_failure(process.returncode, tf1_python, detail))
    with open(os.path.join(work, 'manifest.json')) as f:
      manifest = json.load(f)
    if replace:
      old = os.path.join(staging, 'previous')
      os.rename(out, old)
      os.rename(work, out)
    else:
      if os.path.isdir(out):
        os.rmdir(out)  # empty, checked above
      os.rename(work, out)
    return manifest
  except OSError as e:
    raise RecordError('could not run %s: %s' % (tf1_python, e))
  finally:
    shutil.rmtree(staging, ignore_errors=True)


def _failure(code, tf1_python, detail):
  # Only the recorder's own message and the model's traceback matter;
  # TF 1.15 prints pages of deprecation notices around them.
  keep = []
  started = False
  for line in detail.splitlines():
    if line.startswith('regress record:') or line.startswith('Traceback'):
      started = True
    if started:
      keep.append(line)
  text = '\n'.join(keep) if keep else detail.strip()[-4000:]
  if code == 3:
    return 'the model failed under TensorFlow 1.15 (%s):\n%s' % (tf1_python,
                                                                   text)
  return text or ('the TF 1.15 recorder exited with status %d' % code)
