"""`python -m contrib_bn scan PATH... [--json]`: what in a TF1 code base breaks.

The scanner reads Python sources with `ast`; it never imports or runs them.
It lists every use of the TF1 namespaces legacy code reaches: `tf.contrib.*`
(attribute chains, `import tensorflow.contrib...` and `from ... import`
lines), `tf.layers.*` and `tf.nn.rnn_cell.*` (also spelled
`tf.compat.v1.` or `tensorflow.`), and tf_slim under any alias
(`tf.contrib.slim`, `import tensorflow.contrib.slim as slim`,
`import tf_slim as slim`). It follows `import ... as`, `from ... import`,
assignments of a module or function to a local name (`slim =
tf.contrib.slim`, `conv = tf.layers.conv2d`) and `functools.partial(...)`
of one; a use reached through them is listed at its own line.

Each name gets the verdict of `contrib_bn.compat.verdicts`: with install()
in effect (the scan installs it for the duration, and uninstalls after), the
name is looked up as the program will look it up, so the report says what
the program meets after install(): provided (by contrib_bn, by tf_slim when
it is installed, or by TensorFlow), or NOT PROVIDED with the reason
(TensorFlow 2.21: "`conv2d` is not available with Keras 3"; without
tf_slim: "needs tf_slim (pip install tf-slim)") and the TF 2 replacement
from contrib_bn.compat.replacements where there is one.

Every `batch_norm` call site (direct, through `normalizer_fn=`, through a
`functools.partial`, with arguments from an enclosing `arg_scope`) gets its
arguments, literal values or `<dynamic>`, and the internal path TF 1.15
took where the arguments decide it.

Exit status: 0 when every name used is provided after install(), 1 when a
used name is not (or cannot be told: dynamic access such as
`getattr(tf.contrib.layers, name)`), 2 on bad arguments. Files that do not
parse are reported and skipped.

The module is over 400 lines because the one AST visitor keeps aliases,
imports, partials and `arg_scope` nesting in shared state while it walks a
file, and the normalization and report it feeds are read with it; split
apart, each piece would need the visitor's internals.
"""

import ast
import collections
import json
import os
import sys

from contrib_bn.compat import verdicts

# --- knowledge ---------------------------------------------------------------

BATCH_NORM_NAMES = ('tf.contrib.layers.batch_norm', 'tf.contrib.slim.batch_norm',
                    'tf_slim.batch_norm', 'tf_slim.layers.batch_norm',
                    'tf_slim.layers.layers.batch_norm')
ARG_SCOPE_NAMES = ('tf.contrib.framework.arg_scope', 'tf.contrib.slim.arg_scope',
                   'tf_slim.arg_scope', 'tf_slim.ops.arg_scope.arg_scope')
_PARTIAL = 'functools.partial'

# `tf.contrib.layers.batch_norm`'s parameters in TF 1.15's order.
BATCH_NORM_PARAMETERS = (
    'inputs', 'decay', 'center', 'scale', 'epsilon', 'activation_fn',
    'param_initializers', 'param_regularizers', 'updates_collections',
    'is_training', 'reuse', 'variables_collections', 'outputs_collections',
    'trainable', 'batch_weights', 'fused', 'data_format',
    'zero_debias_moving_mean', 'scope', 'renorm', 'renorm_clipping',
    'renorm_decay', 'adjustment')
# The arguments that choose TF 1.15's internal path, with their defaults.
_PATH_DEFAULTS = collections.OrderedDict([
    ('fused', None), ('batch_weights', None), ('renorm', False),
    ('adjustment', None), ('zero_debias_moving_mean', False),
    ('updates_collections', 'UPDATE_OPS')])

# Module paths that hold the same names under a longer spelling.
_LEGACY_PREFIXES = (
    ('tf.contrib.layers.python.layers.layers.', 'tf.contrib.layers.'),
    ('tf.contrib.layers.python.layers.initializers.', 'tf.contrib.layers.'),
    ('tf.contrib.layers.python.layers.regularizers.', 'tf.contrib.layers.'),
    ('tf.contrib.layers.python.layers.', 'tf.contrib.layers.'),
    ('tf.contrib.framework.python.ops.arg_scope.', 'tf.contrib.framework.'),
    ('tf.contrib.framework.python.ops.variables.', 'tf.contrib.framework.'),
    ('tf.contrib.framework.python.ops.', 'tf.contrib.framework.'),
)

# Roots of the dotted names the scanner follows.
_ROOTS = ('tensorflow', 'tf_slim', 'functools')

DYNAMIC = '<dynamic>'

# contrib_bn.constants path ids -> the words the docs use.
_PATH_LABELS = {'fused': 'fused kernel', 'core': 'core layer',
                'moments': 'moments'}


def normalize(name, legacy=True):
  """'tensorflow.contrib.layers.python.layers.layers.x' -> 'tf.contrib.layers.x'.

  `tensorflow.compat.v1.` is `tf.`; tf_slim names stay as written. With
  `legacy=False` the long module paths are kept: an import statement needs
  that exact module to be importable.
  """
  name = verdicts.spelling(name)
  if not legacy:
    return name
  for old, new in _LEGACY_PREFIXES:
    if name == old[:-1]:
      return new[:-1]
    if name.startswith(old):
      return new + name[len(old):]
  return name


def status(name, judge):
  """The verdict of a normalized name as a dict.

  `judge` is what `verdicts.after_install()` yields.

  Its 'status' is 'provided', 'namespace' (a provided module), 'dynamic'
  (cannot be told statically) or 'missing'; 'provider', 'reason', 'message'
  and 'replacement' come from contrib_bn.compat.verdicts.provides.
  """
  if DYNAMIC in name:
    return {'status': 'dynamic', 'provider': None,
            'reason': 'computed at run time', 'replacement': None,
            'message': '%s: the name is computed at run time, so the scan '
                       'cannot tell whether install() provides it; spell '
                       'it out' % name}
  verdict = judge(name)
  state = verdict.status
  if state == verdicts.PROVIDED and verdict.module:
    state = 'namespace'
  return {'status': state, 'provider': verdict.provider,
          'reason': verdict.reason, 'message': verdict.message,
          'replacement': verdict.replacement}


# --- the walk ----------------------------------------------------------------

Use = collections.namedtuple('Use', ['file', 'line', 'name', 'kind'])
CallSite = collections.namedtuple(
    'CallSite', ['file', 'line', 'via', 'arguments', 'from_arg_scope', 'path'])


def _literal(node, resolve):
  """A node's literal value as text, or DYNAMIC."""
  dotted = resolve(node)
  if dotted is not None:
    if dotted.endswith('GraphKeys.UPDATE_OPS'):
      return 'UPDATE_OPS'
    return dotted
  try:
    return repr(ast.literal_eval(node))
  except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
    return DYNAMIC


class _FileScanner(ast.NodeVisitor):
  """Collects the TF1-namespace uses and batch_norm call sites of one module."""

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
        parts.append(DYNAMIC)
      return normalize('.'.join([base] + list(reversed(parts))))
    if not isinstance(node, ast.Name) or node.id not in self.aliases:
      return None
    return normalize('.'.join([self.aliases[node.id]] +
                              list(reversed(parts))))

  def tracked(self, node):
    """The dotted name of `node` if it lies in a TF1 namespace, else None."""
    name = self.dotted(node)
    if name is not None and verdicts.covers(name.replace(DYNAMIC, 'x')):
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
      if root not in _ROOTS:
        continue
      name = normalize(alias.name)
      if alias.asname:
        self.bind(alias.asname, name)
      else:
        # `import tensorflow.contrib.slim` binds `tensorflow`.
        self.bind(root, normalize(root))
      exact = normalize(alias.name, legacy=False)
      if verdicts.covers(exact):
        self.use(node, exact, 'import')

  def visit_ImportFrom(self, node):
    if node.level or not node.module or (
        node.module.split('.')[0] not in _ROOTS):
      return
    module = normalize(node.module)
    for alias in node.names:
      if alias.name == '*':
        if verdicts.covers(module):
          self.use(node, module + '.' + DYNAMIC, 'import *')
        continue
      self.bind(alias.asname or alias.name,
                normalize(node.module + '.' + alias.name))
      exact = normalize(node.module + '.' + alias.name, legacy=False)
      if verdicts.covers(exact):
        self.use(node, exact, 'import')

  def visit_Assign(self, node):
    names = [t.id for t in node.targets if isinstance(t, ast.Name)]
    value = node.value
    name = self.dotted(value)
    if name is not None:
      # `slim = tf.contrib.slim`, `conv = tf.layers.conv2d`, `v1 = tf.compat.v1`.
      if verdicts.covers(name.replace(DYNAMIC, 'x')):
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
            self.dotted(node.func) == _PARTIAL):
      return None
    name = self.tracked(node.args[0])
    if name is None:
      return None
    arguments = {}
    for keyword in node.keywords:
      if keyword.arg is None:
        arguments['**kwargs'] = DYNAMIC
      else:
        arguments[keyword.arg] = _literal(keyword.value, self.dotted)
    if len(node.args) > 1:
      arguments['*args'] = DYNAMIC
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
    target = self.batch_norm_of(node.func)
    if target is not None:
      self.batch_norm_site(node, *target)
    for keyword in node.keywords:
      if keyword.arg != 'normalizer_fn':
        continue
      normalizer = self.batch_norm_of(keyword.value)
      if normalizer is None:
        continue
      via = name or _call_name(node)
      if name in ARG_SCOPE_NAMES and node.args and isinstance(
          node.args[0], (ast.List, ast.Tuple)):
        via = 'arg_scope of ' + ', '.join(
            self.tracked(e) or DYNAMIC for e in node.args[0].elts)
      if normalizer[0] not in BATCH_NORM_NAMES:
        via = '%s, through %s' % (via or '?', normalizer[0])
      self.normalizer_site(node, node.keywords, via, normalizer[1])
    self.generic_visit(node)

  def batch_norm_of(self, node):
    """(via, {argument: text} bound by a partial) if `node` is batch_norm."""
    partial = self.partial_of(node)
    if partial is None and isinstance(node, ast.Name):
      partial = self.partials.get(node.id)
    if partial is not None:
      name, arguments, line = partial
      if name in BATCH_NORM_NAMES:
        return ('functools.partial of %s (line %d)' % (name, line),
                dict(arguments))
      return None
    name = self.tracked(node)
    if name in BATCH_NORM_NAMES:
      return name, {}
    return None

  # batch_norm call sites.

  def scoped_arguments(self, bound):
    merged = {}
    dynamic = False
    for kind, arguments in self.arg_scopes:
      if kind == 'dynamic':
        dynamic = True
      else:
        merged.update(arguments)
    from_scope = sorted(merged)
    # A partial's arguments win over arg_scope's, as a call's own do.
    merged.update(bound)
    return merged, from_scope, dynamic

  def batch_norm_site(self, node, via, bound):
    arguments, from_scope, dynamic_scope = self.scoped_arguments(bound)
    for index, arg in enumerate(node.args):
      if isinstance(arg, ast.Starred):
        arguments['*args'] = DYNAMIC
        break
      if index < len(BATCH_NORM_PARAMETERS):
        arguments[BATCH_NORM_PARAMETERS[index]] = (
            _literal(arg, self.dotted) if index else '<tensor>')
    for keyword in node.keywords:
      if keyword.arg is None:
        arguments['**kwargs'] = DYNAMIC
      else:
        arguments[keyword.arg] = (
            '<tensor>' if keyword.arg == 'inputs' else
            _literal(keyword.value, self.dotted))
    if dynamic_scope:
      arguments['arg_scope'] = DYNAMIC
    self.sites.append(CallSite(self.filename, node.lineno, via, arguments,
                               [a for a in from_scope
                                if a in arguments and a not in bound],
                               tf1_path(arguments)))

  def normalizer_site(self, node, keywords, via, bound):
    arguments, from_scope, dynamic_scope = self.scoped_arguments(bound)
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
            arguments['**'] = DYNAMIC
      else:
        arguments['normalizer_params'] = DYNAMIC
    if dynamic_scope:
      arguments['arg_scope'] = DYNAMIC
    self.sites.append(CallSite(
        self.filename, node.lineno, 'normalizer_fn of %s' % (via or '?'),
        arguments, [a for a in from_scope
                    if a in arguments and a not in bound],
        tf1_path(arguments)))

  def visit_With(self, node):
    pushed = 0
    for item in node.items:
      call = item.context_expr
      if not isinstance(call, ast.Call):
        continue
      if self.tracked(call.func) not in ARG_SCOPE_NAMES:
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
      if any(n in BATCH_NORM_NAMES for n in listed):
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


def tf1_path(arguments):
  """The internal path TF 1.15 took for these batch_norm arguments."""
  decisive = collections.OrderedDict()
  unknown = []
  for name, default in _PATH_DEFAULTS.items():
    value = arguments.get(name)
    if value is None:
      if '**kwargs' in arguments or '**' in arguments or (
          arguments.get('arg_scope') == DYNAMIC):
        unknown.append(name)
      decisive[name] = default
    elif value == DYNAMIC:
      unknown.append(name)
    else:
      decisive[name] = value
  if [n for n in unknown if n in arguments and arguments[n] == DYNAMIC]:
    return 'depends on %s (dynamic)' % ', '.join(
        n for n in unknown if arguments.get(n) == DYNAMIC)
  from contrib_bn._dispatch import select_path  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top

  def value(name):
    text = decisive[name]
    if name == 'updates_collections':
      return (tf.compat.v1.GraphKeys.UPDATE_OPS if text == 'UPDATE_OPS' else
              text)
    if text in (None, 'None'):
      return None
    if isinstance(text, str):
      try:
        return ast.literal_eval(text)
      except (ValueError, SyntaxError):
        return text  # a name: not None
    return text
  kwargs = {n: value(n) for n in decisive}
  by_rank = collections.OrderedDict()
  for rank, label in ((4, 'rank 4'), (2, 'rank 2'), (3, 'other ranks')):
    by_rank.setdefault(select_path(rank, **kwargs), []).append(label)
  if len(by_rank) == 1:
    path = _PATH_LABELS.get(next(iter(by_rank)), next(iter(by_rank)))
  else:
    path = '; '.join('%s for %s' % (_PATH_LABELS.get(p, p), ', '.join(r))
                     for p, r in by_rank.items())
  if unknown:
    path += ' (unless %s set elsewhere)' % ', '.join(unknown)
  return path


# --- files, report, command line -------------------------------------------

_SKIP_DIRECTORIES = ('__pycache__', 'node_modules', 'site-packages')


def python_files(paths):
  """Every .py file under `paths`, sorted; raises ValueError for a bad path."""
  found = []
  for path in paths:
    if os.path.isfile(path):
      found.append(path)
    elif os.path.isdir(path):
      for root, directories, files in os.walk(path):
        directories[:] = sorted(
            d for d in directories
            if not d.startswith('.') and d not in _SKIP_DIRECTORIES)
        found.extend(os.path.join(root, f) for f in sorted(files)
                     if f.endswith('.py'))
    else:
      raise ValueError('scan: %r is neither a file nor a directory' % (path,))
  return found


def scan(paths):
  """Scans `paths`; returns the report as a dict (what --json prints)."""
  uses, sites, unparsed = [], [], []
  files = python_files(paths)
  for filename in files:
    try:
      with open(filename, 'rb') as f:
        source = f.read()
      tree = ast.parse(source, filename=filename)
    except (SyntaxError, ValueError, UnicodeDecodeError) as e:
      unparsed.append({'file': filename, 'line': getattr(e, 'lineno', None),
                       'error': '%s: %s' % (type(e).__name__,
                                            getattr(e, 'msg', None) or e)})
      continue
    scanner = _FileScanner(filename)
    scanner.visit(tree)
    uses.extend(scanner.uses)
    sites.extend(scanner.sites)
  names = collections.OrderedDict()
  with verdicts.after_install() as judge:
    for use in sorted(uses, key=lambda u: (u.name, u.file, u.line)):
      entry = names.get(use.name)
      if entry is None:
        entry = names[use.name] = dict(status(use.name, judge),
                                       name=use.name, uses=[])
      entry['uses'].append('%s:%d' % (use.file, use.line))
  blocking = [n for n, e in names.items() if e['status'] in ('missing',
                                                             'dynamic')]
  return {
      'files': len(files),
      'unparsed': unparsed,
      'uses': [u._asdict() for u in sorted(uses, key=lambda u: (u.file,
                                                                  u.line))],
      'names': list(names.values()),
      'batch_norm_sites': [s._asdict() for s in sorted(
          sites, key=lambda s: (s.file, s.line))],
      'not_provided': blocking,
      'ok': not blocking,
  }


_PROVIDER_TEXT = {
    'contrib_bn': 'provided by install() (contrib_bn)',
    'tf_slim': 'provided by install() (tf_slim)',
    'tensorflow': 'provided by TensorFlow',
}


def _detail(entry):
  """The verdict of one name, as the text report says it."""
  if entry['status'] == 'dynamic':
    return 'CANNOT TELL (dynamic access)'
  if entry['status'] == 'missing':
    detail = 'NOT PROVIDED: %s' % entry['reason']
    if entry['replacement']:
      detail += '; TF 2: ' + entry['replacement']
    return detail
  detail = _PROVIDER_TEXT[entry['provider']]
  if entry['status'] == 'namespace':
    detail += ', namespace'
  return detail


def summary(report):
  names = report['names']
  line = ('scan: %d file(s)%s, %d TF1 use(s) of %d name(s), %d '
          'batch_norm call site(s); ' % (
              report['files'],
              ' (%d not parsed)' % len(report['unparsed'])
              if report['unparsed'] else '',
              len(report['uses']), len(names),
              len(report['batch_norm_sites'])))
  if report['ok']:
    return line + 'everything used is provided after contrib_bn.install()'
  return line + '%d name(s) not provided: %s' % (
      len(report['not_provided']), ', '.join(report['not_provided']))


def text(report):
  """The human-readable report."""
  lines = []
  if report['names']:
    lines.append('TF1 names used:')
    width = max(len(e['name']) for e in report['names'])
    for entry in report['names']:
      lines.append('  %-*s  %s' % (width, entry['name'], _detail(entry)))
      for where in entry['uses']:
        lines.append('      %s' % where)
  if report['batch_norm_sites']:
    lines.append('batch_norm call sites:')
    for site in report['batch_norm_sites']:
      lines.append('  %s:%d  via %s' % (site['file'], site['line'],
                                        site['via']))
      arguments = ' '.join(
          '%s=%s%s' % (k, v, ' (arg_scope)' if k in site['from_arg_scope']
                       else '')
          for k, v in sorted(site['arguments'].items()))
      lines.append('      arguments: %s' % (arguments or '(defaults)'))
      lines.append('      TF 1.15 path: %s' % site['path'])
  if report['unparsed']:
    lines.append('files not parsed (skipped):')
    for item in report['unparsed']:
      lines.append('  %s:%s  %s' % (item['file'], item['line'],
                                    item['error']))
  lines.append(summary(report))
  return '\n'.join(lines)


def register(subparsers):
  """Adds the `scan` subcommand; sets `func`."""
  parser = subparsers.add_parser(
      'scan', help='list what a TF1 code base uses of tf.contrib, tf.layers, '
      'tf.nn.rnn_cell and tf_slim, and whether it works after install()',
      description=__doc__.split('\n\n', 1)[1],
      formatter_class=__import__('argparse').RawDescriptionHelpFormatter)
  parser.add_argument('paths', nargs='+', metavar='PATH',
                      help='Python files or directories (searched for *.py)')
  parser.add_argument('--json', action='store_true',
                      help='print the report as JSON')
  parser.set_defaults(func=run)
  return parser


def run(args):
  try:
    report = scan(args.paths)
  except ValueError as e:
    sys.stderr.write('%s\n' % e)
    return 2
  if args.json:
    print(json.dumps(report, indent=1, sort_keys=True))
  else:
    print(text(report))
  return 0 if report['ok'] else 1
