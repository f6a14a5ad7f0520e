"""`python -m contrib_bn` shows its own output first, not TensorFlow's log."""

import os
import subprocess
import sys

import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Start-up lines TensorFlow's C++ runtime prints on CPU-only machines.
_TF_STARTUP_MARKERS = ('absl::InitializeLog', 'cudart_stub', 'cuInit',
                       'cpu_feature_guard', 'oneDNN', 'I0000 ', 'E0000 ',
                       'W0000 ')
_COMMAND = [sys.executable, '-m', 'contrib_bn', 'verify', '--filter',
            '^default_r2_nhwc$']
# Seconds one CLI run may take (TensorFlow import plus one golden case).
_TIMEOUT = 300


def _run(log_level):
  env = dict(os.environ)
  env.pop('TF_CPP_MIN_LOG_LEVEL', None)
  if log_level is not None:
    env['TF_CPP_MIN_LOG_LEVEL'] = log_level
  env['PYTHONPATH'] = os.pathsep.join(
      [_ROOT] + [p for p in [env.get('PYTHONPATH')] if p])
  return subprocess.run(_COMMAND, env=env, cwd=_ROOT, capture_output=True,
                        text=True, timeout=_TIMEOUT, check=False)


def test_cli_output_starts_with_contrib_bn_lines():
  result = _run(log_level=None)
  assert result.returncode == 0, result.stderr[-3000:]
  found = [m for m in _TF_STARTUP_MARKERS if m in result.stderr]
  assert not found, result.stderr[-3000:]
  # verify's own header, naming what it checks, then its table.
  lines = result.stdout.splitlines()
  assert lines[0].startswith('TensorFlow '), result.stdout
  assert lines[1].startswith('case'), result.stdout


@pytest.mark.parametrize('log_level', ['0'])
def test_user_log_level_is_respected(log_level):
  # With TF_CPP_MIN_LOG_LEVEL set, the user asked for TensorFlow's logging:
  # its start-up lines (at least the absl notice printed before any log-level
  # handling) come through.
  result = _run(log_level=log_level)
  assert result.returncode == 0, result.stderr[-3000:]
  assert any(m in result.stderr for m in _TF_STARTUP_MARKERS), result.stderr
