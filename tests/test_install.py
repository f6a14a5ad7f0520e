"""Tests of `contrib_bn.install`: the TF1 `tf.contrib` names on TF 2.x."""

import importlib
import importlib.util
import os
import subprocess
import sys
import textwrap
import types

import pytest
import tensorflow as tf

# The package exports the function `install` under the submodule's name.
installer = importlib.import_module('contrib_bn.compat.install')

# Through importlib because the package re-exports the function `arg_scope`
# under the submodule's name.
scoping = importlib.import_module('contrib_bn.compat.arg_scope')
layer = importlib.import_module('contrib_bn.compat.scoped_layer')
registry = importlib.import_module('contrib_bn.compat.layers_registry')

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_PROVIDED = (
    'tf.contrib.layers.batch_norm',
    'tf.contrib.framework.arg_scope',
    'tf.contrib.framework.add_arg_scope',
    'tf.contrib.framework.current_arg_scope',
)

# Ways TF1 code reaches the API module that should carry `contrib`.
_ACCESS = {
    'tensorflow': lambda: tf,
    'tf.compat.v1': lambda: tf.compat.v1,
    'import tensorflow.compat.v1': (
        lambda: importlib.import_module('tensorflow.compat.v1')),
}


def _modules():
  return [get() for get in _ACCESS.values()]


@pytest.fixture(autouse=True)
def not_installed():
  """Runs each test from, and returns to, the uninstalled state."""
  installer.uninstall()
  assert not any(hasattr(m, 'contrib') for m in _modules())
  yield
  installer.uninstall()


@pytest.mark.parametrize('access', sorted(_ACCESS))
def test_provided_names_resolve(access):
  installer.install()
  module = _ACCESS[access]()
  assert module.contrib.layers.batch_norm is layer.batch_norm
  assert module.contrib.framework.arg_scope is scoping.arg_scope
  assert module.contrib.framework.add_arg_scope is scoping.add_arg_scope
  assert module.contrib.framework.current_arg_scope is (
      scoping.current_arg_scope)


def test_all_access_paths_share_one_namespace():
  namespace = installer.install()
  assert all(m.contrib is namespace for m in _modules())
  assert isinstance(namespace, types.ModuleType)
  assert isinstance(namespace.layers, types.ModuleType)
  assert isinstance(namespace.framework, types.ModuleType)


@pytest.mark.parametrize('path', [
    'rnn',
    'learn',
    'layers.dense',
    'layers.batch_norm_v2',
    'framework.list_variables',
    'framework.arg_scoped_arguments',
])
@pytest.mark.parametrize('access', sorted(_ACCESS))
def test_other_contrib_names_raise(access, path):
  installer.install()
  namespace = _ACCESS[access]().contrib
  *parents, name = path.split('.')
  for parent in parents:
    namespace = getattr(namespace, parent)
  with pytest.raises(AttributeError) as info:
    getattr(namespace, name)
  message = str(info.value)
  assert message.startswith('tf.contrib.%s is not available' % path)
  for provided in _PROVIDED:
    assert provided in message
  assert 'the rest of tf.contrib is not part of contrib_bn' in message
  # Names with a TF 2 replacement end with where it is
  # (tests/test_slim_compat.py); these have none.
  assert message.endswith('the rest of tf.contrib is not part of contrib_bn.')
  assert not hasattr(namespace, name)


@pytest.mark.parametrize('dotted', installer.PROVIDED)
def test_every_provided_name_resolves(dotted):
  # PROVIDED is the table other tools (the scanner) read: each entry must be
  # reachable after install(); tf.contrib.slim needs tf_slim, which the test
  # environment has (setup.py's `test` extra).
  assert dotted.startswith('tf.contrib.'), dotted
  installer.install()
  value = tf
  for part in dotted.split('.')[1:]:
    value = getattr(value, part)
  assert value is not None
  if dotted == 'tf.contrib.layers.batch_norm':
    assert value is layer.batch_norm


def test_provided_table_lists_the_neighbourhood():
  # The message for a missing name and the public table name the same set.
  assert set(_PROVIDED) <= set(installer.PROVIDED)
  assert 'tf.contrib.layers.xavier_initializer' in installer.PROVIDED
  assert 'tf.contrib.slim' in installer.PROVIDED
  assert len(set(installer.PROVIDED)) == len(installer.PROVIDED)


def test_dunder_lookup_gets_plain_module_error():
  namespace = installer.install()
  with pytest.raises(AttributeError, match='has no attribute'):
    namespace.__wrapped__  # pylint: disable=pointless-statement


# With tf_slim (the test extra), every TF 1.15 name that has a provider
# (tests/test_contrib_layers_names.py walks them); contrib_bn's own always.
_CONTRIB_LAYERS = sorted(
    registry.provided_names() if importlib.util.find_spec('tf_slim') else
    registry.provided_names(registry.CONTRIB_BN))
# tf.contrib.slim is a member when tf_slim is installed (test extra).
_CONTRIB_MEMBERS = ['framework', 'layers'] + (
    ['slim'] if importlib.util.find_spec('tf_slim') else [])


@pytest.mark.parametrize('path, names', [
    ('', _CONTRIB_MEMBERS),
    ('layers', _CONTRIB_LAYERS),
    ('framework', ['add_arg_scope', 'arg_scope', 'current_arg_scope']),
])
def test_namespaces_list_their_members(path, names):
  namespace = installer.install()
  if path:
    namespace = getattr(namespace, path)
  assert namespace.__all__ == names
  assert set(names) <= set(dir(namespace))
  if path == 'layers':
    assert {'apply_regularization', 'batch_norm', 'l1_l2_regularizer',
            'l1_regularizer', 'l2_regularizer', 'sum_regularizer',
            'variance_scaling_initializer', 'xavier_initializer',
            'xavier_initializer_conv2d'} <= set(names)


def test_install_is_idempotent():
  first = installer.install()
  second = installer.install()
  assert first is second
  installer.uninstall()
  assert not any(hasattr(m, 'contrib') for m in _modules())


def test_uninstall_without_install_does_nothing():
  before = [dict(vars(m)) for m in _modules()]
  installer.uninstall()
  after = [dict(vars(m)) for m in _modules()]
  assert before == after


def _snapshot():
  snapshot = []
  for module in _modules():
    attributes = {name: id(value) for name, value in vars(module).items()}
    listed = list(getattr(module, '__all__', []))
    snapshot.append((attributes, listed))
  return snapshot


def test_uninstall_restores_module_contents():
  # A first round performs the one-time import of `tensorflow.compat.v1`.
  installer.install()
  installer.uninstall()
  before = _snapshot()
  installer.install()
  assert _snapshot() != before
  installer.uninstall()
  assert _snapshot() == before


def test_uninstall_restores_previous_contrib(monkeypatch):
  previous = types.SimpleNamespace(name='someone else')
  for module in _modules():
    monkeypatch.setattr(module, 'contrib', previous, raising=False)
  namespace = installer.install()
  assert all(m.contrib is namespace for m in _modules())
  installer.uninstall()
  assert all(m.contrib is previous for m in _modules())


def test_uninstall_keeps_contrib_reassigned_after_install():
  installer.install()
  later = types.SimpleNamespace(name='assigned later')
  tf.contrib = later
  try:
    installer.uninstall()
    assert tf.contrib is later
    assert not hasattr(tf.compat.v1, 'contrib')
  finally:
    del tf.contrib


def test_batch_norm_is_resolved_at_install_time(monkeypatch):

  def stand_in(inputs, decay=0.999, scale=False):
    return inputs, decay, scale

  stand_in = scoping.add_arg_scope(stand_in)
  fake_layer = types.ModuleType('contrib_bn.compat.scoped_layer')
  fake_layer.batch_norm = stand_in
  monkeypatch.setitem(sys.modules, 'contrib_bn.compat.scoped_layer',
                      fake_layer)
  installer.install()
  assert tf.contrib.layers.batch_norm is stand_in
  with tf.contrib.framework.arg_scope([tf.contrib.layers.batch_norm],
                                      scale=True):
    assert tf.compat.v1.contrib.layers.batch_norm('x') == ('x', 0.999, True)


def test_tf1_style_model_code_runs():
  installer.install()
  v1 = importlib.import_module('tensorflow.compat.v1')
  graph = tf.Graph()
  with graph.as_default():
    inputs = v1.placeholder(tf.float32, [None, 4])
    with v1.contrib.framework.arg_scope([v1.contrib.layers.batch_norm],
                                        scale=True) as sc:
      assert v1.contrib.framework.current_arg_scope() is sc
      v1.contrib.layers.batch_norm(inputs)
    names = [v.op.name for v in v1.global_variables()]
  assert 'BatchNorm/gamma' in names


_FRESH_PROCESS = textwrap.dedent("""
    import tensorflow as tf
    early = tf.compat.v1
    if {import_first}:
      import tensorflow.compat.v1
    import contrib_bn
    from contrib_bn.compat.scoped_layer import batch_norm
    contrib_bn.install()
    import tensorflow.compat.v1 as late
    modules = [tf, early, late, tf.compat.v1]
    for module in modules:
      assert module.contrib.layers.batch_norm is batch_norm, module
    contrib_bn.uninstall()
    for module in modules:
      assert not hasattr(module, 'contrib'), module
    print('checked %d distinct modules' % len(set(map(id, modules))))
""")


@pytest.mark.parametrize('import_first', [False, True],
                         ids=['install_first', 'import_first'])
def test_compat_v1_import_order(import_first):
  # TensorFlow rebinds `tf.compat.v1` on the first `import
  # tensorflow.compat.v1`; only a fresh interpreter shows both orders.
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', PYTHONPATH=_REPO)
  result = subprocess.run(
      [sys.executable, '-c',
       _FRESH_PROCESS.format(import_first=import_first)],
      cwd=_REPO, env=env, capture_output=True, text=True, timeout=300,
      check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'checked' in result.stdout


def test_import_statements_resolve_while_installed():
  installer.install()
  from tensorflow.contrib import layers  # pylint: disable=g-import-not-at-top
  from tensorflow.contrib.framework import arg_scope  # pylint: disable=g-import-not-at-top
  import tensorflow.contrib.layers as contrib_layers  # pylint: disable=g-import-not-at-top
  from contrib_bn.compat.scoped_layer import batch_norm  # pylint: disable=g-import-not-at-top
  assert layers.batch_norm is batch_norm
  assert contrib_layers is layers
  assert arg_scope is tf.contrib.framework.arg_scope
  installer.uninstall()
  with pytest.raises(ImportError):
    importlib.import_module('tensorflow.contrib.layers')


def test_import_of_other_contrib_modules_explains():
  installer.install()
  try:
    with pytest.raises(ImportError) as info:
      importlib.import_module('tensorflow.contrib.rnn')
    assert 'contrib_bn provides only' in str(info.value)
    assert 'tf.contrib.rnn' in str(info.value)
  finally:
    installer.uninstall()
  assert not any(type(f).__name__ == '_MissingContribFinder'
                 for f in sys.meta_path)
