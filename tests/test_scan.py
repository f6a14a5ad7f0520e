"""`python -m contrib_bn scan` on a fixture tree written for these tests."""

import json
import os
import subprocess
import sys

import pytest

from contrib_bn import cli
from contrib_bn.tools import scan
from contrib_bn.tools import scan_tables

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(ROOT, 'tests', 'data', 'scan_fixture')
CLEAN = os.path.join(ROOT, 'tests', 'data', 'scan_fixture_clean')


@pytest.fixture(scope='module')
def report():
  return scan.scan([FIXTURE])


def _where(name):
  return os.path.join(FIXTURE, name)


def _names(report):
  return {e['name']: e for e in report['names']}


def _uses_at(report, file, line):
  return sorted(u['name'] for u in report['uses']
                if u['file'] == _where(file) and u['line'] == line)


def _site(report, file, line, via_prefix=''):
  found = [s for s in report['batch_norm_sites']
           if s['file'] == _where(file) and s['line'] == line and
           s['via'].startswith(via_prefix)]
  assert len(found) == 1, (file, line, report['batch_norm_sites'])
  return found[0]


@pytest.mark.parametrize('file, line, names', [
    # attribute chains through `import tensorflow as tf`
    ('direct.py', 6, ['tf.contrib.layers.batch_norm']),
    ('direct.py', 10, ['tf.contrib.framework.get_or_create_global_step']),
    # aliases bound by assignment, and their uses
    ('aliases.py', 4, ['tf.contrib.slim']),
    ('aliases.py', 5, ['tf.contrib.layers']),
    ('aliases.py', 9, ['tf.contrib.slim.conv2d']),
    ('aliases.py', 10, ['tf.contrib.layers.batch_norm']),
    # from-imports keep their exact module path; uses are normalized
    ('from_imports.py', 2, ['tf.contrib.slim']),
    ('from_imports.py', 4, ['tf.contrib.layers.python.layers.layers']),
    ('from_imports.py', 5, ['tf.contrib.framework.python.ops.arg_scope']),
    ('from_imports.py', 6, ['tf.contrib.rnn']),
    ('from_imports.py', 10, ['tf.contrib.framework.arg_scope',
                             'tf.contrib.layers.batch_norm']),
    ('from_imports.py', 12, ['tf.contrib.layers.batch_norm']),
    ('from_imports.py', 13, ['tf.contrib.rnn.LSTMCell']),
    # getattr with a computed name
    ('pkg/dynamic.py', 6, ['tf.contrib.layers.<dynamic>']),
])
def test_every_use_is_listed(report, file, line, names):
  assert _uses_at(report, file, line) == names


def test_statuses_and_replacements(report):
  names = _names(report)
  assert names['tf.contrib.layers.batch_norm']['status'] == 'provided'
  assert names['tf.contrib.layers.batch_norm']['provider'] == 'contrib_bn'
  assert names['tf.contrib.framework.arg_scope']['status'] == 'provided'
  assert names['tf.contrib.layers']['status'] == 'namespace'
  assert names['tf.contrib.layers.<dynamic>']['status'] == 'dynamic'
  missing = names['tf.contrib.framework.get_or_create_global_step']
  assert missing['status'] == 'missing'
  assert missing['replacement'] == (
      'tf.compat.v1.train.get_or_create_global_step')
  assert missing['message'].startswith(
      'tf.contrib.framework.get_or_create_global_step is not available')
  # install() serves tf.contrib.slim from tf_slim (the test environment has
  # it): not a missing name.
  for name, provider in (('tf.contrib.slim', 'tf_slim'),
                         ('tf.contrib.slim.conv2d', 'tf_slim'),
                         # install() gives tf_slim contrib_bn's batch_norm.
                         ('tf.contrib.slim.batch_norm', 'contrib_bn')):
    assert names[name]['status'] in ('provided', 'namespace'), name
    assert names[name]['provider'] == provider, name
  # No advice that fails on TF 2.21: tf.compat.v1.nn.rnn_cell raises "not
  # available with Keras 3", so tf.contrib.rnn gets no replacement.
  assert names['tf.contrib.rnn.LSTMCell']['status'] == 'missing'
  assert names['tf.contrib.rnn.LSTMCell']['replacement'] is None
  assert not report['ok']
  assert report['not_provided'] == [
      'tf.contrib.framework.get_or_create_global_step',
      'tf.contrib.layers.<dynamic>', 'tf.contrib.rnn',
      'tf.contrib.rnn.LSTMCell']


def test_file_that_does_not_parse_is_reported_not_fatal(report):
  assert [u['file'] for u in report['unparsed']] == [
      _where('pkg/broken_syntax.py')]
  assert report['unparsed'][0]['line'] == 4
  assert 'SyntaxError' in report['unparsed'][0]['error']
  # The other files were still scanned.
  assert report['files'] == 8


@pytest.mark.parametrize('file, line, via, expected', [
    ('direct.py', 6, 'tf.contrib.layers.batch_norm',
     {'inputs': '<tensor>', 'decay': '0.9', 'is_training': '<dynamic>',
      'scale': 'True'}),
    # positional arguments mapped to TF 1.15's parameter order
    ('direct.py', 8, 'tf.contrib.layers.batch_norm',
     {'inputs': '<tensor>', 'decay': '0.99', 'center': 'True',
      'scale': 'False', 'epsilon': '0.001',
      'zero_debias_moving_mean': 'True'}),
    ('aliases.py', 11, 'tf.contrib.slim.batch_norm',
     {'inputs': '<tensor>', 'updates_collections': 'None'}),
    # literal arg_scope values reach the call, the call's own win
    ('from_imports.py', 11, 'tf.contrib.layers.batch_norm',
     {'inputs': '<tensor>', 'fused': 'True', 'decay': '0.95',
      'updates_collections': 'None'}),
    ('scopes.py', 18, 'tf.contrib.slim.batch_norm',
     {'inputs': '<tensor>', 'renorm': 'True', 'decay': '0.9',
      'epsilon': '0.01'}),
    # normalizer_fn in an arg_scope, params from a module-level dict
    ('scopes.py', 14, 'normalizer_fn of arg_scope of tf.contrib.slim.conv2d',
     {'decay': '0.997', 'epsilon': '1e-05', 'is_training': 'True'}),
    ('scopes.py', 21, 'normalizer_fn of tf.contrib.layers.conv2d',
     {'normalizer_params': '<dynamic>'}),
    # arg_scope from a function and **kwargs: not followable
    ('scopes.py', 20, 'tf.contrib.slim.batch_norm',
     {'inputs': '<tensor>', 'arg_scope': '<dynamic>'}),
    ('scopes.py', 23, 'tf.contrib.layers.batch_norm',
     {'inputs': '<tensor>', '**kwargs': '<dynamic>'}),
])
def test_batch_norm_call_sites(report, file, line, via, expected):
  site = _site(report, file, line, via)
  assert site['via'] == via
  assert site['arguments'] == expected


def test_arg_scope_origin_is_marked(report):
  site = _site(report, 'scopes.py', 18)
  assert site['from_arg_scope'] == ['decay', 'renorm']


@pytest.mark.parametrize('file, line, path', [
    # renorm cannot fuse; default updates and no zero-debias: core layer
    ('aliases.py', 10, 'core layer'),
    ('scopes.py', 18, 'core layer'),
    # zero-debiasing with fused left at its default: fused kernel at rank 2/4
    ('direct.py', 8,
     'fused kernel for rank 4, rank 2; moments for other ranks'),
    ('from_imports.py', 11,
     'fused kernel for rank 4, rank 2; moments for other ranks'),
    ('direct.py', 6,
     'core layer for rank 4, other ranks; fused kernel for rank 2'),
    ('pkg/dynamic.py', 7, 'depends on fused (dynamic)'),
])
def test_tf1_path_where_the_arguments_decide(report, file, line, path):
  assert _site(report, file, line)['path'] == path


def test_unknown_arguments_are_flagged_in_the_path(report):
  path = _site(report, 'scopes.py', 23)['path']
  assert path.endswith('(unless fused, batch_weights, renorm, adjustment, '
                       'zero_debias_moving_mean, updates_collections set '
                       'elsewhere)')


def test_command_line_exit_codes_and_json(capsys):
  assert cli.main(['scan', FIXTURE, '--json']) == 1
  data = json.loads(capsys.readouterr().out)
  assert data['ok'] is False and data['files'] == 8
  assert cli.main(['scan', CLEAN]) == 0
  text = capsys.readouterr().out
  assert text.strip().splitlines()[-1] == (
      'scan: 1 file(s), 4 TF1 use(s) of 2 name(s), 1 batch-norm call '
      'site(s); everything used is provided after contrib_bn.install()')
  assert cli.main(['scan', os.path.join(FIXTURE, 'no_such_dir')]) == 2
  assert 'neither a file nor a directory' in capsys.readouterr().err


def test_sources_are_never_imported(tmp_path):
  # A module that would leave a marker file if it ran.
  marker = tmp_path / 'ran'
  source = tmp_path / 'trap.py'
  source.write_text(
      'import tensorflow as tf\n'
      'open(%r, "w").write("x")\n'
      'tf.contrib.layers.batch_norm(None)\n' % str(marker))
  report = scan.scan([str(source)])
  assert not marker.exists()
  assert [u['name'] for u in report['uses']] == [
      'tf.contrib.layers.batch_norm']
  assert str(source) not in sys.modules


def test_help_explains():
  completed = subprocess.run(
      [sys.executable, '-m', 'contrib_bn', 'scan', '--help'],
      stdout=subprocess.PIPE, universal_newlines=True, cwd=ROOT,
      env=dict(os.environ, PYTHONPATH=ROOT))
  assert completed.returncode == 0
  assert 'never imports or runs' in completed.stdout
  assert 'Exit status' in completed.stdout


@pytest.mark.parametrize('prefix, legacy', [
    ('tf.contrib.layers.', True),
    ('tf.contrib.layers.python.layers.layers.', True),
    ('tf.contrib.layers.python.layers.layers.', False)])
def test_contrib_layers_names_get_installs_verdict(prefix, legacy):
  # One registry decides what install() serves and what the scan reports:
  # each public name of TF 1.15's tf.contrib.layers, in each spelling.
  from contrib_bn.compat import layers_registry as registry  # pylint: disable=g-import-not-at-top
  from contrib_bn.compat import replacements  # pylint: disable=g-import-not-at-top
  from contrib_bn.compat import verdicts  # pylint: disable=g-import-not-at-top
  with verdicts.after_install() as judge:
    for name in registry.PUBLIC_NAMES:
      verdict = scan.status(scan_tables.normalize(prefix + name, legacy),
                            judge)
      if not legacy and name not in registry.contrib_layers_names.HOMES[
          'layers']:
        # Imported from the legacy module, a name TF 1.15 defined elsewhere
        # fails, there as after install().
        assert verdict['status'] == 'missing', name
      elif registry.provider(name) is not None:
        assert verdict['status'] in ('provided', 'namespace'), name
        assert verdict['provider'] == registry.provider(name), name
        assert verdict['replacement'] is None, name
      else:
        assert verdict['status'] == 'missing', name
        assert verdict['replacement'] == (
            replacements.REPLACEMENTS['tf.contrib.layers.' + name]), name


def test_fixture_layers_neighbours_are_provided(report):
  names = _names(report)
  for name in ('tf.contrib.layers.conv2d', 'tf.contrib.layers.flatten'):
    assert names[name]['status'] == 'provided', name
    assert name not in report['not_provided'], name


# --- tf.layers batch normalization call sites ------------------------------

TF_LAYERS = os.path.join(ROOT, 'tests', 'data', 'scan_tf_layers')
_TF_LAYERS_FILE = os.path.join(TF_LAYERS, 'bn_layers.py')
# What TF 1.15's tf.layers layer ran, by its rule: the fused kernel only at
# rank 4 with one channel axis of 1 or 3 (-3, -1), fused not False, and no
# renorm, adjustment or virtual_batch_size; the moments formulas otherwise.
_KERNEL_AT_RANK_4 = ('core layer, fused kernel for rank 4; core layer, '
                     'moments for rank 2, other ranks')
_MOMENTS = 'core layer, moments'


@pytest.fixture(scope='module')
def tf_layers_report():
  return scan.scan([TF_LAYERS])


def _sites_at(report, line):
  return [s for s in report['batch_norm_sites']
          if s['file'] == _TF_LAYERS_FILE and s['line'] == line]


@pytest.mark.parametrize('line, layer, via, arguments, path', [
    (11, 'tf.layers.batch_normalization', 'tf.layers.batch_normalization',
     {'inputs': '<tensor>', 'training': '<dynamic>'}, _KERNEL_AT_RANK_4),
    # tf.compat.v1.layers is tf.layers; axis 1 is a kernel axis
    (12, 'tf.layers.batch_normalization', 'tf.layers.batch_normalization',
     {'inputs': '<tensor>', 'axis': '1', 'momentum': '0.9',
      'training': 'True'}, _KERNEL_AT_RANK_4),
    # imported under another name
    (13, 'tf.layers.batch_normalization', 'tf.layers.batch_normalization',
     {'inputs': '<tensor>', 'fused': 'False'}, _MOMENTS),
    # positional arguments in TF 1.15's order
    (14, 'tf.layers.batch_normalization', 'tf.layers.batch_normalization',
     {'inputs': '<tensor>', 'axis': '-1', 'momentum': '0.95'},
     _KERNEL_AT_RANK_4),
    # the class: its constructor's arguments
    (15, 'tf.layers.BatchNormalization', 'tf.layers.BatchNormalization',
     {'momentum': '0.9', 'renorm': 'True'}, _MOMENTS),
    (18, 'tf.layers.batch_normalization',
     'functools.partial of tf.layers.batch_normalization (line 17)',
     {'inputs': '<tensor>', 'training': 'True'}, _KERNEL_AT_RANK_4),
    # two axes: no kernel
    (19, 'tf.layers.batch_normalization',
     'normalizer_fn of tf_slim.conv2d, through tf.layers.batch_normalization',
     {'training': 'True', 'axis': '[1, 2]'}, _MOMENTS),
    # contrib's arg_scope does not reach tf.layers
    (23, 'tf.layers.batch_normalization', 'tf.layers.batch_normalization',
     {'inputs': '<tensor>', 'virtual_batch_size': '2'}, _MOMENTS),
    (25, 'tf.layers.batch_normalization', 'tf.layers.batch_normalization',
     {'inputs': '<tensor>', '**kwargs': '<dynamic>'},
     _KERNEL_AT_RANK_4 + ' (unless axis, fused, renorm, adjustment, '
     'virtual_batch_size set elsewhere)'),
    (26, 'tf.layers.batch_normalization', 'tf.layers.batch_normalization',
     {'inputs': '<tensor>', 'renorm': '<dynamic>'},
     'depends on renorm (dynamic)'),
])
def test_tf_layers_call_sites(tf_layers_report, line, layer, via, arguments,
                              path):
  sites = _sites_at(tf_layers_report, line)
  assert len(sites) == 1, sites
  site = sites[0]
  assert (site['layer'], site['via'], site['arguments'], site['path'],
          site['from_arg_scope']) == (layer, via, arguments, path, [])


def test_tf_layers_sites_are_counted_with_contrib_ones(tf_layers_report):
  # Line 16 applies the layer built on line 15: not a call site of its own.
  lines = [(s['line'], s['layer']) for s in
           tf_layers_report['batch_norm_sites']]
  assert lines == [(11, 'tf.layers.batch_normalization'),
                   (12, 'tf.layers.batch_normalization'),
                   (13, 'tf.layers.batch_normalization'),
                   (14, 'tf.layers.batch_normalization'),
                   (15, 'tf.layers.BatchNormalization'),
                   (18, 'tf.layers.batch_normalization'),
                   (19, 'tf.layers.batch_normalization'),
                   (23, 'tf.layers.batch_normalization'),
                   (24, 'tf.contrib.layers.batch_norm'),
                   (25, 'tf.layers.batch_normalization'),
                   (26, 'tf.layers.batch_normalization')]
  contrib = _sites_at(tf_layers_report, 24)[0]
  assert contrib['arguments'] == {'inputs': '<tensor>', 'decay': '0.9'}
  assert contrib['from_arg_scope'] == ['decay']
  # Uses: the two imports, lines 11-15, 17-18, two on 19, two on 21, 23-26;
  # names: both tf.layers ones, tf_slim, its conv2d, arg_scope, batch_norm.
  assert scan.summary(tf_layers_report).startswith(
      'scan: 1 file(s), 17 TF1 use(s) of 6 name(s), 11 batch-norm call '
      'site(s); ')
  text = scan.text(tf_layers_report)
  # The heading names no one layer: the list holds both kinds.
  assert '\nbatch-norm call sites:\n  %s:11  via tf.layers.' % (
      _TF_LAYERS_FILE) in text, text
  assert ('%s:15  via tf.layers.BatchNormalization\n'
          '      arguments: momentum=0.9 renorm=True\n'
          '      TF 1.15 path: %s' % (_TF_LAYERS_FILE, _MOMENTS)) in text


def test_tf_layers_names_get_the_verdicts_of_install(tf_layers_report):
  from contrib_bn.compat import verdicts  # pylint: disable=g-import-not-at-top
  names = _names(tf_layers_report)
  for name in scan_tables.TF_LAYERS_NAMES:
    verdict = verdicts.provides(name)
    assert (names[name]['status'], names[name]['provider']) == (
        verdict.status, verdict.provider), name
    # install() serves both from contrib_bn.layers.
    assert verdict.provider == 'contrib_bn', name
  assert tf_layers_report['ok']
