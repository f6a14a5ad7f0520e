"""`scan`'s walk of one module: the TF1 names it uses and its batch-norm calls.

`FileScanner` visits a module's syntax tree once. It keeps, while it walks,
the local names bound to TF1 modules and functions (`import ... as`,
`from ... import`, `slim = tf.contrib.slim`), the `functools.partial`s of
them, dict literals later passed as `normalizer_params`, and the stack of
enclosing `arg_scope`s; it records each use of a name in the TF1 namespaces
(`Use`) and each batch-norm call site with its arguments (`CallSite`): of
the contrib layer, of `tf.layers.batch_normalization` (also as a
`normalizer_fn` or through a partial) and of the `BatchNormalization`
class. The
names and paths it knows come from `scan_tables`.
"""

import ast
import collections

from contrib_bn.compat import verdicts
from contrib_bn.tools import scan_tables as tables

Use = collections.namedtuple('Use', ['file', 'line', 'name', 'kind'])
# `layer` is the batch-norm layer called (one of `scan_tables.LAYER_NAMES`),
# `via` how the call reaches it.
CallSite = collections.namedtuple(
    'CallSite', ['file', 'line', 'via', 'arguments', 'from_arg_scope', 'path',
                 'layer'])


def _literal(node, resolve):
  """A node's literal value as text, or `DYNAMIC`."""
  dotted = resolve(node)
  if dotted is not None:
    if dotted.endswith('GraphKeys.UPDATE_OPS'):
      return 'UPDATE_OPS'
    return dotted
  try:
    return repr(ast.literal_eval(node))
  except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
    return tables.DYNAMIC


class FileScanner(ast.NodeVisitor):
  """Collects the TF1-namespace uses and batch-norm call sites of one module."""

  def __init__(self, filename):
    self.filename = filename
    # local name -> dotted name ('tf', 'tf.contrib.slim', 'tf_slim'...)
    self.aliases = {}
    # local name -> (dotted name, {argument: text}, line) of a partial
    self.partials = {}
    self.dicts = {}    # local name -> latest dict literal assigned to it
    self.uses = []
    self.sites = []
    self.arg_scopes = []  # stack of (kind, {arg: text}) for batch_norm

  # Names and chains.

  def dotted(self, node):
    """The normalized dotted name an expression denotes, or None."""
    parts = []
    while isinstance(node, ast.Attribute):
      parts.append(node.attr)
      node = node.value
    if isinstance(node, ast.Call) and _call_name(node) == 'getattr':
      # getattr(tf.contrib, name): the scanner cannot follow the name.
      base = self.dotted(node.args[0]) if node.args else None
      if base is None:
        return None
      key = node.args[1] if len(node.args) > 1 else None
      if isinstance(key, ast.Constant) and isinstance(key.value, str):
        parts.append(key.value)
      else:
        parts.append(tables.DYNAMIC)
      return tables.normalize('.'.join([base] + list(reversed(parts))))
    if not isinstance(node, ast.Name) or node.id not in self.aliases:
      return None
    return tables.normalize('.'.join([self.aliases[node.id]] +
                              list(reversed(parts))))

  def tracked(self, node):
    """The dotted name of `node` if it lies in a TF1 namespace, else None."""
    name = self.dotted(node)
    if name is not None and verdicts.covers(
        name.replace(tables.DYNAMIC, 'x')):
      return name
    return None

  def use(self, node, name, kind):
    self.uses.append(Use(self.filename, node.lineno, name, kind))

  def bind(self, local, name, partial=None):
    self.aliases[local] = name
    if partial is None:
      self.partials.pop(local, None)
    else:
      self.partials[local] = partial

  # Imports and aliases.

  def visit_Import(self, node):
    for alias in node.names:
      root = alias.name.split('.')[0]
      if root not in tables.ROOTS:
        continue
      name = tables.normalize(alias.name)
      if alias.asname:
        self.bind(alias.asname, name)
      else:
        # `import tensorflow.contrib.slim` binds `tensorflow`.
        self.bind(root, tables.normalize(root))
      exact = tables.normalize(alias.name, legacy=False)
      if verdicts.covers(exact):
        self.use(node, exact, 'import')

  def visit_ImportFrom(self, node):
    if node.level or not node.module or (
        node.module.split('.')[0] not in tables.ROOTS):
      return
    module = tables.normalize(node.module)
    for alias in node.names:
      if alias.name == '*':
        if verdicts.covers(module):
          self.use(node, module + '.' + tables.DYNAMIC, 'import *')
        continue
      self.bind(alias.asname or alias.name,
                tables.normalize(node.module + '.' + alias.name))
      exact = tables.normalize(node.module + '.' + alias.name, legacy=False)
      if verdicts.covers(exact):
        self.use(node, exact, 'import')

  def visit_Assign(self, node):
    names = [t.id for t in node.targets if isinstance(t, ast.Name)]
    value = node.value
    name = self.dotted(value)
    if name is not None:
      # `slim = tf.contrib.slim`, `conv = tf.layers.conv2d`, `v1 = tf.compat.v1`.
      if verdicts.covers(name.replace(tables.DYNAMIC, 'x')):
        self.use(node, name, 'alias')
      for local in names:
        self.bind(local, name)
      return
    partial = self.partial_of(value)
    for local in names:
      self.aliases.pop(local, None)
      self.partials.pop(local, None)
      if partial is not None:
        self.bind(local, partial[0], partial)
      if isinstance(value, ast.Dict):
        self.dicts[local] = value
    self.generic_visit(node)

  def partial_of(self, node):
    """(name, {argument: text}, line) for `functools.partial(f, ...)` of a
    TF1 name f, else None."""
    if not (isinstance(node, ast.Call) and node.args and
            self.dotted(node.func) == tables.PARTIAL):
      return None
    name = self.tracked(node.args[0])
    if name is None:
      return None
    arguments = {}
    for keyword in node.keywords:
      if keyword.arg is None:
        arguments['**kwargs'] = tables.DYNAMIC
      else:
        arguments[keyword.arg] = _literal(keyword.value, self.dotted)
    if len(node.args) > 1:
      arguments['*args'] = tables.DYNAMIC
    return name, arguments, node.lineno

  # Uses.

  def visit_Attribute(self, node):
    name = self.tracked(node)
    if name is not None:
      self.use(node, name, 'attribute')
      return
    self.generic_visit(node)

  def visit_Name(self, node):
    if isinstance(node.ctx, ast.Load):
      name = self.tracked(node)
      if name is not None:
        self.use(node, name, 'name')

  def visit_Call(self, node):
    name = self.tracked(node.func)
    target = self.batch_norm_of(node.func, classes=True)
    if target is not None:
      self.batch_norm_site(node, *target)
    for keyword in node.keywords:
      if keyword.arg != 'normalizer_fn':
        continue
      normalizer = self.batch_norm_of(keyword.value)
      if normalizer is None:
        continue
      layer, normalizer = normalizer[0], normalizer[1:]
      via = name or _call_name(node)
      if name in tables.ARG_SCOPE_NAMES and node.args and isinstance(
          node.args[0], (ast.List, ast.Tuple)):
        via = 'arg_scope of ' + ', '.join(
            self.tracked(e) or tables.DYNAMIC for e in node.args[0].elts)
      if normalizer[0] not in tables.BATCH_NORM_NAMES:
        via = '%s, through %s' % (via or '?', normalizer[0])
      self.normalizer_site(node, node.keywords, layer, via, normalizer[1])
    self.generic_visit(node)

  def batch_norm_of(self, node, classes=False):
    """(layer, via, {argument: text} bound by a partial) if `node` is a
    batch-norm layer: a function, or with `classes` also a layer class."""
    layers = tables.LAYER_NAMES if classes else tuple(
        n for n in tables.LAYER_NAMES if n != tables.TF_LAYERS_CLASS)
    partial = self.partial_of(node)
    if partial is None and isinstance(node, ast.Name):
      partial = self.partials.get(node.id)
    if partial is not None:
      name, arguments, line = partial
      if name in layers:
        return (name, 'functools.partial of %s (line %d)' % (name, line),
                dict(arguments))
      return None
    name = self.tracked(node)
    if name in layers:
      return name, name, {}
    return None

  # Batch-norm call sites.

  def scoped_arguments(self, layer, bound):
    merged = {}
    dynamic = False
    # arg_scope reaches only the functions it lists: contrib's batch_norm.
    scopes = self.arg_scopes if layer in tables.BATCH_NORM_NAMES else []
    for kind, arguments in scopes:
      if kind == 'dynamic':
        dynamic = True
      else:
        merged.update(arguments)
    from_scope = sorted(merged)
    # A partial's arguments win over arg_scope's, as a call's own do.
    merged.update(bound)
    return merged, from_scope, dynamic

  def batch_norm_site(self, node, layer, via, bound):
    arguments, from_scope, dynamic_scope = self.scoped_arguments(layer, bound)
    parameters = tables.parameters(layer)
    for index, arg in enumerate(node.args):
      if isinstance(arg, ast.Starred):
        arguments['*args'] = tables.DYNAMIC
        break
      if index < len(parameters):
        arguments[parameters[index]] = (
            '<tensor>' if parameters[index] == 'inputs' else
            _literal(arg, self.dotted))
    for keyword in node.keywords:
      if keyword.arg is None:
        arguments['**kwargs'] = tables.DYNAMIC
      else:
        arguments[keyword.arg] = (
            '<tensor>' if keyword.arg == 'inputs' else
            _literal(keyword.value, self.dotted))
    if dynamic_scope:
      arguments['arg_scope'] = tables.DYNAMIC
    self.sites.append(CallSite(self.filename, node.lineno, via, arguments,
                               [a for a in from_scope
                                if a in arguments and a not in bound],
                               tables.layer_path(layer, arguments), layer))

  def normalizer_site(self, node, keywords, layer, via, bound):
    arguments, from_scope, dynamic_scope = self.scoped_arguments(layer, bound)
    params = [k.value for k in keywords if k.arg == 'normalizer_params']
    if params:
      value = params[0]
      if isinstance(value, ast.Name) and value.id in self.dicts:
        value = self.dicts[value.id]
      if isinstance(value, ast.Dict):
        for key, item in zip(value.keys, value.values):
          if isinstance(key, ast.Constant) and isinstance(key.value, str):
            arguments[key.value] = _literal(item, self.dotted)
          else:
            arguments['**'] = tables.DYNAMIC
      else:
        arguments['normalizer_params'] = tables.DYNAMIC
    if dynamic_scope:
      arguments['arg_scope'] = tables.DYNAMIC
    self.sites.append(CallSite(
        self.filename, node.lineno, 'normalizer_fn of %s' % (via or '?'),
        arguments, [a for a in from_scope
                    if a in arguments and a not in bound],
        tables.layer_path(layer, arguments), layer))

  def visit_With(self, node):
    pushed = 0
    for item in node.items:
      call = item.context_expr
      if not isinstance(call, ast.Call):
        continue
      if self.tracked(call.func) not in tables.ARG_SCOPE_NAMES:
        continue
      ops = call.args[0] if call.args else None
      keywords = {k.arg: k.value for k in call.keywords if k.arg}
      if ops is None or (call.args[1:] and not keywords) or any(
          k.arg is None for k in call.keywords):
        # arg_scope(some_scope_dict) or **kwargs: values unknown here.
        self.arg_scopes.append(('dynamic', {}))
        pushed += 1
        continue
      if not isinstance(ops, (ast.List, ast.Tuple)):
        self.arg_scopes.append(('dynamic', {}))
        pushed += 1
        continue
      listed = [self.tracked(e) for e in ops.elts]
      if any(n in tables.BATCH_NORM_NAMES for n in listed):
        self.arg_scopes.append(('batch_norm', {
            k: _literal(v, self.dotted) for k, v in keywords.items()}))
        pushed += 1
    for item in node.items:
      self.visit(item.context_expr)
    for statement in node.body:
      self.visit(statement)
    for _ in range(pushed):
      self.arg_scopes.pop()


def _call_name(node):
  return node.func.id if isinstance(node.func, ast.Name) else None
