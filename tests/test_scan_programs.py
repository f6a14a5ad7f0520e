"""`scan`'s verdicts against what TF1 programs meet after install().

Two checks that cannot drift from install():
  * every TF1 program in tests/data/scan_programs/ is built (graph mode, one
    training step) in a fresh process after install(); it builds exactly
    when `scan` exits 0, and when it fails, it fails at a line where `scan`
    listed a missing name, with the error `scan` quoted;
  * every name the fixtures and the tf.contrib.layers registry cover is
    resolved after install() the way a program reaches it (importing the
    longest module path it names, then attributes): a name called provided
    resolves (and a layer builds once in graph mode), a name called missing
    raises the very error in its verdict.
"""

import importlib
import json
import os
import re
import subprocess
import sys
import types

import pytest
import tensorflow as tf

import contrib_bn
from contrib_bn.compat import install as installer
from contrib_bn.compat import layers_registry as registry
from contrib_bn.compat import replacements
from contrib_bn.compat import verdicts
from contrib_bn.tools import scan
from contrib_bn.tools import scan_tables

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAMS_DIR = os.path.join(ROOT, 'tests', 'data', 'scan_programs')
FIXTURE = os.path.join(ROOT, 'tests', 'data', 'scan_fixture')

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


def _program(name):
  return os.path.join(PROGRAMS_DIR, name)


def _failure(stderr, path):
  """(line in `path` where the traceback ends, the exception's message)."""
  lines = [int(n) for n in re.findall(
      r'File "%s", line (\d+)' % re.escape(path), stderr)]
  last = [l for l in stderr.strip().splitlines() if re.match(r'^\w+Error', l)]
  assert lines and last, stderr[-3000:]
  return lines[-1], last[-1].split(': ', 1)[-1]


def _missing_lines(report):
  found = {}
  for entry in report['names']:
    if entry['status'] in ('missing', 'dynamic'):
      for where in entry['uses']:
        found.setdefault(int(where.rsplit(':', 1)[1]), []).append(entry)
  return found


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


# --- every verdict against the installed names -------------------------------

def _covered_names():
  """The names the fixtures use, the registry's, and the replacements'."""
  names = set()
  for entry in scan.scan([FIXTURE, PROGRAMS_DIR])['names']:
    if scan_tables.DYNAMIC not in entry['name']:
      names.add(entry['name'])
  for name in registry.PUBLIC_NAMES:
    names.add('tf.contrib.layers.' + name)
    names.add('tf.contrib.layers.python.layers.' + name)
  for dotted, text in replacements.REPLACEMENTS.items():
    names.add(dotted)
    if text.startswith('tf.contrib.') or text.startswith('tf_slim.'):
      names.add(text.split()[0])
  names.update([
      'tf.contrib.slim.nets.resnet_v1', 'tf_slim.nets.resnet_v1.resnet_v1_50',
      'tf.contrib.slim.no_such_name', 'tf_slim.no_such_name',
      'tf.nn.rnn_cell.GRUCell', 'tf.layers.dense', 'tf.contrib.seq2seq',
      'tf.contrib.framework.python.ops.arg_scope.arg_scope'])
  return sorted(names)


def resolve(name):
  """`name` as a program reaches it after install(), or the error it gets.

  Attributes from the root module, and where an attribute is missing, the
  submodule an import statement would reach (`tensorflow.contrib.layers.
  python.layers`, `tf_slim.nets.resnet_v1`).
  """
  parts = name.split('.')
  if '.python.' in name:
    # A legacy module path: only import statements reach it, and they get
    # the module where TF 1.15's package attribute was a function
    # (tensorflow.contrib.framework.python.ops.arg_scope).
    path = ['tensorflow'] + parts[1:]
    for end in range(len(path), 1, -1):
      try:
        value = importlib.import_module('.'.join(path[:end]))
      except ImportError:
        continue
      parts = path[end:]
      break
  elif parts[0] == 'tf_slim':
    value, parts = importlib.import_module('tf_slim'), parts[1:]
  elif name.startswith('tf.contrib'):
    value, parts = importlib.import_module('tensorflow'), parts[1:]
  else:
    value, parts = tf.compat.v1, parts[1:]
  for part in parts:
    try:
      value = getattr(value, part)
    except AttributeError as error:
      if getattr(value, '__path__', None) is None:
        raise
      try:
        value = importlib.import_module(value.__name__ + '.' + part)
      except ImportError:
        raise error from None
  return value


def _image():
  return tf.compat.v1.placeholder(tf.float32, [2, 8, 8, 3])


# Layers (by their last name) and how to build one.
BUILDS = {
    'conv2d': lambda f: f(_image(), 4, 3),
    'conv2d_transpose': lambda f: f(_image(), 4, 3),
    'fully_connected': lambda f: f(_image(), 4),
    'batch_norm': lambda f: f(_image(), is_training=True),
    'flatten': lambda f: f(_image()),
    'max_pool2d': lambda f: f(_image(), 2),
    'avg_pool2d': lambda f: f(_image(), 2),
    'dropout': lambda f: f(_image(), 0.5, is_training=True),
}
# The same for tf.layers' spellings, whose arguments differ (`training`,
# pool strides without a default).
TF_LAYERS_BUILDS = dict(
    BUILDS,
    dense=lambda f: f(_image(), 4),
    batch_normalization=lambda f: f(_image(), training=True),
    max_pooling2d=lambda f: f(_image(), 2, 2),
    average_pooling2d=lambda f: f(_image(), 2, 2),
    dropout=lambda f: f(_image(), 0.5, training=True),
)


def _builds_for(name):
  return TF_LAYERS_BUILDS if name.startswith('tf.layers.') else BUILDS


@pytest.fixture(scope='module')
def installed():
  contrib_bn.install()
  yield
  contrib_bn.uninstall()


@pytest.mark.parametrize('name', _covered_names())
def test_verdict_is_what_the_program_meets(installed, name):
  del installed
  verdict = verdicts.provides(name)
  assert verdict is not None, name
  if verdict.status == verdicts.MISSING:
    with pytest.raises((AttributeError, ImportError)) as info:
      resolve(name)
    assert str(info.value) in verdict.message, (str(info.value), verdict)
    assert name in verdict.message
    return
  value = resolve(name)
  assert verdict.module == isinstance(value, types.ModuleType), name
  layer = name.rsplit('.', 1)[-1]
  builds = _builds_for(name)
  if layer in builds and callable(value):
    with tf.Graph().as_default():
      output = builds[layer](value)
      assert isinstance(output, tf.Tensor), name
      assert tf.compat.v1.get_default_graph().get_operations(), name
  else:
    assert value is not None, name


def test_the_covered_names_include_both_verdicts():
  # Guards the test above: a verdict that said "provided" (or "missing")
  # for everything would still need both kinds here to be checked.
  kinds = {verdicts.provides(n).status for n in _covered_names()}
  assert kinds == {verdicts.PROVIDED, verdicts.MISSING}
  built = [n for n in _covered_names()
           if n.rsplit('.', 1)[-1] in _builds_for(n) and
           verdicts.provides(n).status == verdicts.PROVIDED]
  assert len(built) >= 10, built


@pytest.mark.parametrize('dotted', sorted(
    n for n in replacements.REPLACEMENTS if n.startswith('tf.layers.')))
def test_tf_layers_replacement_is_provided(dotted):
  target = replacements.REPLACEMENTS[dotted].split()[0]
  assert verdicts.provides(target).status == verdicts.PROVIDED, target
  assert target.rsplit('.', 1)[-1] in BUILDS, target


def test_what_install_grows_to_serve_is_followed(monkeypatch):
  # install() growing to serve tf.nn.rnn_cell.LSTMCell (as
  # contrib_bn.compat serves names inside TensorFlow's own
  # tf.compat.v1.layers) changes the scanner's verdict with no change to the
  # scanner or its verdicts.
  path = _program('rnn_cell.py')
  assert 'tf.nn.rnn_cell.LSTMCell' in scan.scan([path])['not_provided']
  install, uninstall = installer.install, installer.uninstall

  def grown_install():
    namespace = install()
    vars(tf.compat.v1.nn.rnn_cell)['LSTMCell'] = contrib_bn.batch_norm
    return namespace

  def grown_uninstall():
    vars(tf.compat.v1.nn.rnn_cell).pop('LSTMCell', None)
    uninstall()

  monkeypatch.setattr(installer, 'install', grown_install)
  monkeypatch.setattr(installer, 'uninstall', grown_uninstall)
  contrib_bn.uninstall()
  report = scan.scan([path])
  names = {e['name']: e for e in report['names']}
  assert names['tf.nn.rnn_cell.LSTMCell']['status'] == 'provided'
  assert names['tf.nn.rnn_cell.LSTMCell']['provider'] == 'contrib_bn'
  assert report['ok']
  # The scan undid the install() it made.
  assert 'LSTMCell' not in vars(tf.compat.v1.nn.rnn_cell)
  assert 'contrib' not in vars(tf)


# --- without tf_slim ---------------------------------------------------------

_WITHOUT_SLIM = '''
import json, runpy, sys, traceback
sys.modules['tf_slim'] = None  # as if not installed
sys.path.insert(0, sys.argv[1])
from contrib_bn.tools import scan
import test_scan_programs as t
import contrib_bn
import tensorflow.compat.v1 as tf
tf.disable_eager_execution()
out = {}
for name in sys.argv[2:]:
  report = scan.scan([t._program(name)])
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
      runpy.run_path(t._program(name), run_name='__main__')
    failure = None
  except Exception as e:
    failure = [[f.lineno for f in traceback.extract_tb(e.__traceback__)
                if f.filename == t._program(name)][-1], str(e)]
  contrib_bn.uninstall()
  out[name] = {'ok': report['ok'], 'checks': checks, 'failure': failure,
               'missing_lines': sorted(t._missing_lines(report))}
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
