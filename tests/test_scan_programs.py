"""`scan`'s verdicts against what TF1 programs meet after install().

Every TF1 program in tests/data/scan_programs/ is built (graph mode, one
training step) in a fresh process after install(); it builds exactly when
`scan` exits 0, and when it fails, it fails at a line where `scan` listed a
missing name, with the error `scan` quoted. `scan` names each use and call
site the programs hide (aliases, `functools.partial`, from-imports). In a
process without tf_slim, the names tf_slim would serve are called missing,
with "pip install tf-slim", and the programs fail where they use them.
tests/test_scan_verdicts.py checks each verdict against install() name by
name.
"""

import json
import os
import re
import subprocess
import sys

import pytest

from contrib_bn.compat import layers_registry as registry
from contrib_bn.tools import scan
from tf1_programs import missing_lines as _missing_lines
from tf1_programs import program as _program
from tf1_programs import PROGRAMS_DIR
from tf1_programs import ROOT

# Program -> scan's exit status with tf_slim installed (pinned, so that scan
# and install() going wrong together still fails).
PROGRAMS = {
    'pix2pix_layers.py': 0,
    'rnn_cell.py': 1,
    'slim_partial.py': 0,
    'contrib_layers_from.py': 0,
    'tf_slim_alias.py': 0,
}

# Builds one program, as a user's process would, after install().
_BUILD = '''
import runpy, sys
import contrib_bn
contrib_bn.install()
import tensorflow.compat.v1 as tf
tf.disable_eager_execution()
runpy.run_path(sys.argv[1], run_name='__main__')
'''

_ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', PYTHONPATH=ROOT)


def _failure(stderr, path):
  """(line in `path` where the traceback ends, the exception's message)."""
  lines = [int(n) for n in re.findall(
      r'File "%s", line (\d+)' % re.escape(path), stderr)]
  last = [l for l in stderr.strip().splitlines() if re.match(r'^\w+Error', l)]
  assert lines and last, stderr[-3000:]
  return lines[-1], last[-1].split(': ', 1)[-1]


def test_every_program_has_an_expectation():
  assert sorted(f for f in os.listdir(PROGRAMS_DIR)
                if f.endswith('.py')) == sorted(PROGRAMS)


@pytest.mark.parametrize('name', sorted(PROGRAMS))
def test_exit_status_predicts_the_build(name):
  path = _program(name)
  report = scan.scan([path])
  exit_status = 0 if report['ok'] else 1
  assert exit_status == PROGRAMS[name], report['not_provided']
  built = subprocess.run([sys.executable, '-c', _BUILD, path], env=_ENV,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, cwd=ROOT, timeout=600)
  assert (built.returncode == 0) == report['ok'], (
      report['not_provided'], built.stderr[-3000:])
  if not report['ok']:
    line, message = _failure(built.stderr, path)
    listed = _missing_lines(report)
    assert line in listed, (line, sorted(listed))
    assert any(message in entry['message'] for entry in listed[line]), (
        message, listed[line])


def test_pix2pix_names_each_tf_layers_function_it_uses():
  report = scan.scan([_program('pix2pix_layers.py')])
  names = {e['name']: e for e in report['names']}
  # install() serves every tf.layers function the program calls.
  assert report['not_provided'] == []
  separable = names['tf.layers.separable_conv2d']
  assert separable['uses'] == ['%s:25' % _program('pix2pix_layers.py')]
  assert separable['status'] == 'provided'
  assert separable['provider'] == 'contrib_bn'
  deconv = names['tf.layers.conv2d_transpose']
  # `deconv = tf.compat.v1.layers.conv2d_transpose`, then two calls of it.
  assert deconv['uses'] == ['%s:%d' % (_program('pix2pix_layers.py'), n)
                            for n in (21, 24, 26)]
  assert deconv['status'] == 'provided' and deconv['provider'] == 'contrib_bn'
  # `layers = tf.layers; layers.conv2d(...)`: reported at the call.
  assert names['tf.layers.conv2d']['uses'] == [
      '%s:15' % _program('pix2pix_layers.py')]


def test_partial_of_batch_norm_is_a_call_site():
  report = scan.scan([_program('slim_partial.py')])
  sites = report['batch_norm_sites']
  assert len(sites) == 1
  site = sites[0]
  assert site['line'] == 12
  assert site['via'].endswith(
      'through functools.partial of tf.contrib.slim.batch_norm (line 10)')
  assert site['arguments'] == {'scale': 'True', 'decay': '0.9',
                               'is_training': '<dynamic>'}
  assert report['ok']


def test_inline_partial_under_another_name_is_a_call_site(tmp_path):
  source = tmp_path / 'inline.py'
  source.write_text(
      'from functools import partial as bind\n'
      'import tensorflow as tf\n'
      'def net(x):\n'
      '  return tf.contrib.layers.conv2d(\n'
      '      x, 8, 3, normalizer_fn=bind(tf.contrib.layers.batch_norm,\n'
      '                                  decay=0.9))\n')
  sites = scan.scan([str(source)])['batch_norm_sites']
  assert [(s['line'], s['via'], s['arguments']) for s in sites] == [
      (4, 'normalizer_fn of tf.contrib.layers.conv2d, through '
          'functools.partial of tf.contrib.layers.batch_norm (line 5)',
       {'decay': '0.9'})]


def test_from_import_of_neighbours_follows_the_registry():
  report = scan.scan([_program('contrib_layers_from.py')])
  names = {e['name']: e for e in report['names']}
  for short in ('batch_norm', 'flatten', 'fully_connected'):
    entry = names['tf.contrib.layers.' + short]
    assert entry['status'] == 'provided', short
    assert entry['provider'] == registry.provider(short), short
  assert [s['via'] for s in report['batch_norm_sites']] == [
      'normalizer_fn of tf.contrib.layers.fully_connected']


def test_tf_slim_alias_and_local_names():
  path = _program('tf_slim_alias.py')
  report = scan.scan([path])
  names = {e['name']: e for e in report['names']}
  assert names['tf_slim.batch_norm']['uses'] == [
      '%s:%d' % (path, n) for n in (7, 11, 15)]
  assert [(s['line'], s['via']) for s in report['batch_norm_sites']] == [
      (11, 'normalizer_fn of arg_scope of tf_slim.conv2d'),
      (15, 'tf_slim.batch_norm')]


# --- without tf_slim ---------------------------------------------------------

_WITHOUT_SLIM = '''
import json, runpy, sys, traceback
sys.modules['tf_slim'] = None  # as if not installed
sys.path.insert(0, sys.argv[1])
from contrib_bn.tools import scan
import tf1_programs as t
import contrib_bn
import tensorflow.compat.v1 as tf
tf.disable_eager_execution()
out = {}
for name in sys.argv[2:]:
  report = scan.scan([t.program(name)])
  contrib_bn.install()
  checks = []
  for entry in report['names']:
    try:
      t.resolve(entry['name'])
      error = None
    except (AttributeError, ImportError) as e:
      error = str(e)
    checks.append([entry['name'], entry['status'], entry['reason'],
                   entry['message'], error])
  try:
    with tf.Graph().as_default():
      runpy.run_path(t.program(name), run_name='__main__')
    failure = None
  except Exception as e:
    failure = [[f.lineno for f in traceback.extract_tb(e.__traceback__)
                if f.filename == t.program(name)][-1], str(e)]
  contrib_bn.uninstall()
  out[name] = {'ok': report['ok'], 'checks': checks, 'failure': failure,
               'missing_lines': sorted(t.missing_lines(report))}
print(json.dumps(out))
'''


def test_without_tf_slim_the_verdict_says_pip_install():
  names = ['slim_partial.py', 'contrib_layers_from.py', 'tf_slim_alias.py']
  completed = subprocess.run(
      [sys.executable, '-c', _WITHOUT_SLIM, os.path.join(ROOT, 'tests')] +
      names, env=_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      universal_newlines=True, cwd=ROOT, timeout=600)
  assert completed.returncode == 0, completed.stderr[-3000:]
  results = json.loads(completed.stdout.strip().splitlines()[-1])
  for name in names:
    result = results[name]
    # Missing without tf_slim: exit status 1, and the program fails where
    # a missing name is used.
    assert result['ok'] is False, name
    assert result['failure'] is not None, name
    assert result['failure'][0] in result['missing_lines'], (name, result)
    for entry, state, reason, message, error in result['checks']:
      if state == 'missing':
        assert error is not None and error in message, (entry, error)
        assert 'pip install tf-slim' in message, entry
      else:
        assert error is None, (entry, error)
  by_name = {c[0]: c for c in results['contrib_layers_from.py']['checks']}
  assert by_name['tf.contrib.layers.batch_norm'][1] == 'provided'
  assert by_name['tf.contrib.layers.flatten'][1] == 'missing'
  assert by_name['tf.contrib.layers.flatten'][2] == (
      'needs tf_slim (pip install tf-slim)')
