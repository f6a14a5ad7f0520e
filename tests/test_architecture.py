"""The package's shape: layers, one-way dependencies, one spelling of things.

Read from the source with `ast`, without importing it, so a lazy import
inside a function counts as much as one at the top of a module:

  facade       contrib_bn/__init__.py, __main__.py, cli.py
  tools        contrib_bn/tools/
  surfaces     contrib_bn/compat/, contrib_bn/checkpoint/, contrib_bn/conformance/
  core         every other module directly in contrib_bn/ (the layer)

A module imports only from its own subpackage or from a lower layer, and the
import graph has no cycle. No module of the package, and no Python file of
tests/, compat_tests/, scripts/ or benchmarks/ (test input in tests/data/
aside), is over 400 lines unless its docstring says why.
"""

import ast
import dataclasses
import importlib
import inspect
import os
import re

import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PACKAGE = os.path.join(_ROOT, 'contrib_bn')

FACADE = ('contrib_bn', 'contrib_bn.__main__', 'contrib_bn.cli')
_RANKS = {'core': 0, 'compat': 1, 'checkpoint': 1, 'conformance': 1,
          'tools': 2, 'facade': 3}
# Imported under Python 3.7 and TF 1.15 (the recorders, compat_tests and
# `regress record`, through conformance/tf1_import.py): only the standard
# library, NumPy and each other.
TF_FREE = ('contrib_bn.conformance.cases', 'contrib_bn.conformance.matching',
           'contrib_bn.conformance.harness',
           'contrib_bn.conformance.corpus',
           'contrib_bn.conformance.tf1_import',
           'contrib_bn.conformance.fetches',
           'contrib_bn.conformance.migration',
           'contrib_bn.conformance.slim_nets',
           'contrib_bn.conformance.contrib_layers_cases',
           'contrib_bn.constants',
           'contrib_bn.compat.arg_scope',
           'contrib_bn.tools.graph_layers',
           'contrib_bn.tools.regress.runner',
           'contrib_bn.conformance.bad_inputs',
           'contrib_bn.conformance.bad_inputs_runner',
           'contrib_bn.conformance.distributed',
           'contrib_bn.conformance.neighbours',
           'contrib_bn.conformance.recording',
           'contrib_bn.conformance.tf_layers_cases',
           'contrib_bn.conformance.tf_layers_grouped_cases',
           'contrib_bn.conformance.tf_layers_harness',
           'contrib_bn.conformance.tf_layers_neighbours',
           'contrib_bn.conformance.tf_layers_neighbour_graphs',
           'contrib_bn.compat.contrib_layers_names',
           'contrib_bn.conformance.xla_flags')
MAX_LINES = 400
_LENGTH_REASON = re.compile(r'over 400 lines because')


def _modules():
  """Module name -> file path, for every module of the package."""
  found = {}
  for root, dirs, files in os.walk(_PACKAGE):
    dirs[:] = [d for d in dirs if d not in ('goldens', '__pycache__')]
    for name in files:
      if not name.endswith('.py'):
        continue
      path = os.path.join(root, name)
      parts = os.path.relpath(path, _ROOT)[:-len('.py')].split(os.sep)
      if parts[-1] == '__init__':
        parts = parts[:-1]
      found['.'.join(parts)] = path
  return found


MODULES = _modules()
# Held to the same length rule as the package; tests/data/ is test input.
_SOURCE_TREES = ('tests', 'compat_tests', 'scripts', 'benchmarks')
_NOT_SOURCE = (os.path.join('tests', 'data'),)


def _source_files():
  """Relative path -> file path, for every Python file of _SOURCE_TREES."""
  found = {}
  for tree in _SOURCE_TREES:
    for root, dirs, files in os.walk(os.path.join(_ROOT, tree)):
      dirs[:] = sorted(
          d for d in dirs if d != '__pycache__' and
          os.path.relpath(os.path.join(root, d), _ROOT) not in _NOT_SOURCE)
      for name in files:
        if name.endswith('.py'):
          path = os.path.join(root, name)
          found[os.path.relpath(path, _ROOT)] = path
  return found


LENGTH_CHECKED = dict(MODULES, **_source_files())


def _imports(path):
  """Every contrib_bn module a file imports, anywhere in it."""
  with open(path) as f:
    tree = ast.parse(f.read(), path)
  targets = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
      names = []
      for alias in node.names:
        submodule = '%s.%s' % (node.module, alias.name)
        names.append(submodule if submodule in MODULES else node.module)
    else:
      continue
    targets.update(n for n in names if n.split('.')[0] == 'contrib_bn')
  return targets


GRAPH = {name: _imports(path) for name, path in MODULES.items()}


def layer_of(module):
  if module in FACADE:
    return 'facade'
  return _subpackage(module) or 'core'


def _subpackage(module):
  """`tools` for `contrib_bn.tools` and its modules; None for core ones."""
  parts = module.split('.')
  is_package = MODULES[module].endswith('__init__.py')
  return parts[1] if len(parts) > 2 or is_package else None


def test_the_graph_is_read():
  # Guards the test itself: a parser that found nothing would pass below.
  assert 'contrib_bn.layer' in GRAPH['contrib_bn.compat.scoped_layer']
  assert 'contrib_bn._dispatch' in GRAPH['contrib_bn.layer']
  assert len(MODULES) > 30


@pytest.mark.parametrize('module', sorted(MODULES))
def test_dependencies_point_down(module):
  rank = _RANKS[layer_of(module)]
  upward = sorted(
      target for target in GRAPH[module]
      if target in MODULES and _RANKS[layer_of(target)] >= rank and
      _subpackage(target) != _subpackage(module) and
      layer_of(module) != 'facade')
  assert not upward, '%s (%s) imports %s' % (module, layer_of(module),
                                              upward)


def _cycle():
  """One import cycle as a list of modules, or None."""
  state = {}
  stack = []

  def visit(module):
    state[module] = 'open'
    stack.append(module)
    for target in sorted(GRAPH.get(module, ())):
      if target not in MODULES or target == module:
        continue
      if state.get(target) == 'open':
        return stack[stack.index(target):] + [target]
      if target not in state:
        found = visit(target)
        if found:
          return found
    stack.pop()
    state[module] = 'done'
    return None

  for module in sorted(MODULES):
    if module not in state:
      found = visit(module)
      if found:
        return found
  return None


def test_no_import_cycle():
  assert _cycle() is None, ' -> '.join(_cycle())


def test_cycle_detection_finds_a_cycle(monkeypatch):
  monkeypatch.setitem(GRAPH, 'contrib_bn._dispatch',
                      GRAPH['contrib_bn._dispatch'] | {'contrib_bn.layer'})
  assert _cycle() is not None


@pytest.mark.parametrize('module', TF_FREE)
def test_recorder_modules_need_no_tensorflow(module):
  with open(MODULES[module]) as f:
    tree = ast.parse(f.read())
  imported = set()
  for node in tree.body:
    if isinstance(node, ast.Import):
      imported.update(alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
      imported.add(node.module)
  assert not any(name.startswith('tensorflow') for name in imported)
  assert GRAPH[module] <= set(TF_FREE), GRAPH[module]


def test_the_length_rule_reads_every_tree():
  assert 'contrib_bn.layer' in LENGTH_CHECKED
  for tree in _SOURCE_TREES:
    assert any(p.startswith(tree + os.sep) for p in LENGTH_CHECKED), tree
  assert os.path.join('tests', 'conftest.py') in LENGTH_CHECKED
  assert not any(p.startswith(_NOT_SOURCE[0] + os.sep)
                 for p in LENGTH_CHECKED)


@pytest.mark.parametrize('module', sorted(LENGTH_CHECKED))
def test_long_modules_say_why(module):
  with open(LENGTH_CHECKED[module]) as f:
    text = f.read()
  if text.count('\n') > MAX_LINES:
    docstring = ast.get_docstring(ast.parse(text)) or ''
    assert _LENGTH_REASON.search(docstring), (
        '%s has %d lines and no reason at its top' % (module,
                                                      text.count('\n')))


def test_arguments_record_matches_the_signature():
  from contrib_bn import _dispatch  # pylint: disable=g-import-not-at-top
  from contrib_bn import layer  # pylint: disable=g-import-not-at-top
  parameters = list(inspect.signature(layer.batch_norm).parameters.values())
  assert parameters[0].name == 'inputs'
  fields = dataclasses.fields(_dispatch.Arguments)
  assert [p.name for p in parameters[1:]] == [f.name for f in fields]
  for parameter, field in zip(parameters[1:], fields):
    # Identity: `updates_collections` is compared by identity, as in TF 1.15.
    assert parameter.default is field.default or (
        parameter.default == field.default and
        type(parameter.default) is type(field.default)), field.name


def test_public_api():
  import contrib_bn  # pylint: disable=g-import-not-at-top
  from contrib_bn import export  # pylint: disable=g-import-not-at-top
  from contrib_bn import keras_export  # pylint: disable=g-import-not-at-top
  from contrib_bn.tools import export as export_tool  # pylint: disable=g-import-not-at-top
  from contrib_bn.tools import keras_export as tool  # pylint: disable=g-import-not-at-top
  assert keras_export is tool and contrib_bn.keras_export is tool
  assert export is export_tool and contrib_bn.export is export_tool
  # The two export tools are attributes of the package, alike: neither is a
  # module of its own under contrib_bn, so neither `import contrib_bn.export`
  # nor `import contrib_bn.keras_export` works.
  for name in ('contrib_bn.export', 'contrib_bn.keras_export'):
    with pytest.raises(ImportError):
      importlib.import_module(name)
  for name in contrib_bn.__all__:
    assert getattr(contrib_bn, name) is not None, name
  assert set(contrib_bn.__all__) <= set(dir(contrib_bn))
  for name in ('inspect', 'plan', 'assignment_map', 'restore',
               'validate_checkpoint', 'derived_moving_stddev'):
    assert callable(getattr(contrib_bn.checkpoint, name)), name
  assert contrib_bn.has_arg_scope(contrib_bn.batch_norm)
  with pytest.raises(AttributeError):
    contrib_bn.no_such_name  # pylint: disable=pointless-statement
