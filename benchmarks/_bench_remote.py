"""TF 1.15's side of the benchmark: finding its interpreter, and its server.

`_bench_tf1.py`, run by a Python 3.7 interpreter with TensorFlow 1.15,
answers the same requests as the local `_bench_tf1.Server` over a pipe, so
both releases are timed by the same loop.
"""

import json
import os
import subprocess
import tempfile

_HERE = os.path.dirname(os.path.abspath(__file__))


def _has_tf1(python):
  try:
    out = subprocess.run(
        [python, '-c', 'import tensorflow as tf; print(tf.__version__)'],
        capture_output=True, text=True, timeout=120, check=False)
  except (OSError, subprocess.TimeoutExpired):
    return False
  lines = out.stdout.strip().splitlines()
  return out.returncode == 0 and bool(lines) and lines[-1].startswith('1.')


def discover_tf1_python(flag=None):
  """The TF 1.15 interpreter: `flag`, the env var, then pyenv's python3.7.

  Returns:
    A path, or None when nothing with TensorFlow 1.x was found.
  """
  # A relative path names a file from where the command was typed; the
  # subprocesses start elsewhere, so it is made absolute here.
  for given in (flag, os.environ.get('CONTRIB_BN_TF1_PYTHON')):
    if given:
      return os.path.abspath(given) if os.sep in given else given
  env = dict(os.environ)
  env.setdefault('PYENV_VERSION', '3.7.16')
  try:
    found = subprocess.run(['pyenv', 'which', 'python3.7'], env=env,
                           capture_output=True, text=True, timeout=60,
                           check=False)
  except (OSError, subprocess.TimeoutExpired):
    return None
  python = found.stdout.strip()
  if found.returncode == 0 and python and _has_tf1(python):
    return python
  return None


class RemoteServer(object):
  """`_bench_tf1.Server`'s interface, served by a TF 1.15 subprocess."""

  def __init__(self, python, smoke, threads):
    command = [python, os.path.join(_HERE, '_bench_tf1.py'), '--mode=serve',
               '--threads=%d' % threads]
    if smoke:
      command.append('--smoke')
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
    # Only the TF1 release's own packages: no contrib_bn on its path.
    env.pop('PYTHONPATH', None)
    # Kept for the error message should the subprocess die.
    self.stderr = tempfile.TemporaryFile('w+')
    self.process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=self.stderr, text=True, env=env, cwd=_HERE)
    hello = self._read()
    self.tf_version = hello['tf_version']
    self.python_version = hello['python']

  def _read(self):
    line = self.process.stdout.readline()
    if not line:
      self.stderr.seek(0)
      raise RuntimeError('the TF 1.15 subprocess exited (code %s):\n%s' % (
          self.process.wait(), self.stderr.read()[-3000:]))
    return json.loads(line)

  def handle(self, request):
    self.process.stdin.write(json.dumps(request) + '\n')
    self.process.stdin.flush()
    return self._read()

  def close(self):
    try:
      self.process.stdin.write(json.dumps({'cmd': 'quit'}) + '\n')
      self.process.stdin.flush()
      self.process.wait(timeout=120)
    except (OSError, subprocess.TimeoutExpired):
      self.process.kill()
      self.process.wait()
    self.stderr.close()
