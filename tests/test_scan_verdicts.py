"""`scan`'s verdict on each name against what install() serves.

Every name the scan fixtures and programs use, every tf.contrib.layers
registry name and every name the replacements give is resolved after
install() the way a program reaches it (importing the longest module path it
names, then attributes): a name called provided resolves (and a layer builds
once in graph mode), a name called missing raises the very error in its
verdict. What install() grows to serve changes the verdict with no change to
`scan`.
"""

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
from tf1_programs import FIXTURE
from tf1_programs import program as _program
from tf1_programs import PROGRAMS_DIR
from tf1_programs import resolve


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

