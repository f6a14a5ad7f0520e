"""`regress setup-tf1`: make the TF 1.15 interpreter `regress record` needs.

TensorFlow 1.15.5 has wheels for Python 3.5 to 3.7 only. Given a Python 3.7,
this creates a virtual environment with the pins TF 1.15.5 still works with
(protobuf < 3.21, numpy < 1.19, h5py < 3) and checks that it imports.
"""

import os
import shutil
import subprocess

from contrib_bn import constants

PACKAGES = ('tensorflow==' + constants.TF1_VERSION, 'protobuf<3.21',
            'numpy<1.19', 'h5py<3')
SUPPORTED = ((3, 5), (3, 6), (3, 7))
DEFAULT_VENV = os.path.join(os.path.expanduser('~'), '.contrib_bn', 'tf115')


class SetupError(RuntimeError):
  """Setting up failed; the message names what is missing."""


def _run(command, what):
  try:
    completed = subprocess.run(command, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT,
                               universal_newlines=True)
  except OSError as e:
    raise SetupError('%s: could not run %s: %s' % (what, command[0], e))
  return completed


def _python_version(python):
  completed = _run([python, '-c', 'import sys; print("%d.%d" % '
                    'sys.version_info[:2])'], 'checking --python')
  if completed.returncode != 0:
    raise SetupError('--python %s does not run: %s' % (
        python, completed.stdout.strip()[-500:]))
  major, minor = completed.stdout.strip().split('.')
  return int(major), int(minor)


def setup(python='python3.7', venv=DEFAULT_VENV, log=print):
  """Creates (or completes) the venv; returns the path of its python.

  Raises:
    SetupError: naming the missing interpreter, venv module, network or
      package.
  """
  resolved = shutil.which(python) or (python if os.path.isfile(python)
                                      else None)
  if resolved is None:
    raise SetupError(
        'no Python interpreter %r found. TensorFlow 1.15.5 needs Python 3.5 '
        'to 3.7; install one (for example `pyenv install 3.7.16`, or the '
        'deadsnakes python3.7 package) and pass it with --python' % (python,))
  version = _python_version(resolved)
  if version not in SUPPORTED:
    raise SetupError(
        '--python %s is Python %d.%d; TensorFlow 1.15.5 has wheels for Python '
        '3.5 to 3.7 only. Pass a Python 3.7 with --python' % (
            (resolved,) + version))
  venv = os.path.abspath(venv)
  python_in_venv = os.path.join(venv, 'bin', 'python')
  if not os.path.isfile(python_in_venv):
    log('creating %s with %s (Python %d.%d)' % ((venv, resolved) + version))
    completed = _run([resolved, '-m', 'venv', venv], 'creating the venv')
    if completed.returncode != 0:
      raise SetupError(
          '%s -m venv failed; the venv module (on Debian/Ubuntu the package '
          'python%d.%d-venv) is missing or broken:\n%s' % (
              (resolved,) + version + (completed.stdout.strip()[-1500:],)))
  log('installing %s' % ' '.join(PACKAGES))
  completed = _run([python_in_venv, '-m', 'pip', 'install',
                    '--disable-pip-version-check'] + list(PACKAGES),
                   'installing TensorFlow 1.15.5')
  if completed.returncode != 0:
    raise SetupError(
        'pip could not install %s into %s (no network, no pip, or no wheel '
        'for this platform?):\n%s' % (' '.join(PACKAGES), venv,
                                      completed.stdout.strip()[-1500:]))
  completed = _run([python_in_venv, '-c', 'import tensorflow as tf; '
                    'import tensorflow.contrib.layers; print(tf.__version__)'],
                   'checking the install')
  if completed.returncode != 0 or not completed.stdout.strip().endswith(
      constants.TF1_VERSION):
    raise SetupError('TensorFlow 1.15.5 does not import in %s:\n%s' % (
        venv, completed.stdout.strip()[-1500:]))
  log('ready: use --tf1-python %s' % python_in_venv)
  return python_in_venv
