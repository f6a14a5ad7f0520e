"""`python -m contrib_bn scan PATH... [--json]`: what in a TF1 code base breaks.

The scanner reads Python sources with `ast`; it never imports or runs them.
It lists every use of `tf.contrib` (attribute chains, `import` and
`from ... import` statements, aliases such as `slim = tf.contrib.slim`), and
for each name says whether `contrib_bn.install()` provides it and, if not,
the TF 2 replacement where one exists. Every `batch_norm` call site (direct,
through `normalizer_fn=`, with arguments from an enclosing `arg_scope`) gets
its arguments, literal values or `<dynamic>`, and the internal path TF 1.15
took where the arguments decide it.

Exit status: 0 when everything used is provided, 1 when a used name is not
provided or cannot be determined (dynamic access), 2 on bad arguments.
Files that do not parse are reported and skipped.

What install() provides is ONE table, the one `contrib_bn.compat.install`
itself uses (`PROVIDED`, or `_PROVIDED`), read at run time and extended by
`contrib_bn.compat.replacements.PROVIDED` when that module exists, so the
report can never disagree with what install() does. Replacements are
`REPLACEMENTS` below, merged with `contrib_bn.compat.replacements.REPLACEMENTS`
when that module exists.

The module is over 400 lines because the one AST visitor keeps aliases,
imports and `arg_scope` nesting in shared state while it walks a file, and
the normalization, tables and report it feeds are read with it; split apart,
each piece would need the visitor's internals.
"""

import ast
import collections
import importlib
import json
import os
import sys

# --- knowledge ---------------------------------------------------------------

# Where the table of names install() makes reachable lives, and the
# attribute names it may have there (public first).
_INSTALL_MODULE = 'contrib_bn.compat.install'
_REPLACEMENTS_MODULE = 'contrib_bn.compat.replacements'
_PROVIDED_ATTRIBUTES = ('PROVIDED', '_PROVIDED')

# Not provided, but TF 2 (or a maintained package) has a replacement.
# Longest matching prefix wins; a replacement ending in '.' gets the rest of
# the name appended. No tf.contrib.layers name is listed: which of them
# install() provides, and the replacement of those it does not, come from
# install's own tables (PROVIDED, built from
# contrib_bn.compat.layers_registry, and contrib_bn.compat.replacements).
REPLACEMENTS = {
    'tf.contrib.slim': 'tf_slim.  (pip install tf_slim)',
    'tf.contrib.framework.get_or_create_global_step':
        'tf.compat.v1.train.get_or_create_global_step',
    'tf.contrib.framework.get_variables': 'tf_slim.get_variables',
    'tf.contrib.framework.get_variables_to_restore':
        'tf_slim.get_variables_to_restore',
    'tf.contrib.rnn': 'tf.compat.v1.nn.rnn_cell',
    'tf.contrib.seq2seq': 'tensorflow_addons.seq2seq',
    'tf.contrib.image': 'tensorflow_addons.image',
    'tf.contrib.opt': 'tensorflow_addons.optimizers',
    'tf.contrib.metrics': 'tf.compat.v1.metrics',
    'tf.contrib.data': 'tf.data.experimental',
    'tf.contrib.distributions': 'tensorflow_probability.distributions',
    'tf.contrib.training.HParams': 'a dict or a dataclass',
    'tf.contrib.tpu': 'tf.distribute.TPUStrategy',
}

BATCH_NORM_NAMES = ('tf.contrib.layers.batch_norm', 'tf.contrib.slim.batch_norm')
ARG_SCOPE_NAMES = ('tf.contrib.framework.arg_scope', 'tf.contrib.slim.arg_scope')

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

DYNAMIC = '<dynamic>'

# contrib_bn.constants path ids -> the words the docs use.
_PATH_LABELS = {'fused': 'fused kernel', 'core': 'core layer',
                'moments': 'moments'}


def _optional_module(name):
  """The module `name`, or None when it does not exist (yet)."""
  try:
    return importlib.import_module(name)
  except ImportError as e:
    # Only the module's own absence is optional; an import failing inside
    # it is a real error.
    if getattr(e, 'name', None) != name:
      raise
    return None


def _name_table(module, attributes):
  """The first of `attributes` on `module` that is a sequence of names."""
  for attribute in attributes:
    exposed = getattr(module, attribute, None)
    if isinstance(exposed, (tuple, list, set, frozenset)):
      return [n for n in exposed if isinstance(n, str)]
  return None


def provided_names():
  """The dotted names install() makes reachable, in both normalized forms.

  Read from `contrib_bn.compat.install` (and `contrib_bn.compat.replacements`
  when present) at every call, so the scan follows whatever install() does.

  Raises:
    RuntimeError: `contrib_bn.compat.install` exposes no table of names.
  """
  install = importlib.import_module(_INSTALL_MODULE)
  table = _name_table(install, _PROVIDED_ATTRIBUTES)
  if table is None:
    raise RuntimeError(
        'scan: %s has none of %s, the table of names install() provides' %
        (_INSTALL_MODULE, ', '.join(_PROVIDED_ATTRIBUTES)))
  extra = _optional_module(_REPLACEMENTS_MODULE)
  if extra is not None:
    table.extend(_name_table(extra, _PROVIDED_ATTRIBUTES) or ())
  names = set()
  for name in table:
    # Legacy module paths stay importable under their own spelling, and
    # their members are the short names.
    names.add(normalize(name, legacy=False))
    names.add(normalize(name))
  return names


def replacements():
  """REPLACEMENTS, merged with contrib_bn.compat.replacements if present."""
  table = dict(REPLACEMENTS)
  module = _optional_module(_REPLACEMENTS_MODULE)
  if module is None:
    return table
  external = getattr(module, 'REPLACEMENTS', None)
  if isinstance(external, dict):
    for name, value in external.items():
      if isinstance(name, str):
        table[name if name.startswith('tf.') else 'tf.' + name] = str(value)
  return table


def normalize(name, legacy=True):
  """'tensorflow.contrib.layers.python.layers.layers.x' -> 'tf.contrib.layers.x'.

  With `legacy=False` the long module paths are kept: an import statement
  needs that exact module to be importable.
  """
  if name == 'tensorflow' or name.startswith('tensorflow.'):
    name = 'tf' + name[len('tensorflow'):]
  for prefix in ('tf.compat.v1.', 'tf.compat.v2.'):
    if name == prefix[:-1]:
      name = 'tf'
    elif name.startswith(prefix):
      name = 'tf.' + name[len(prefix):]
  if not legacy:
    return name
  for old, new in _LEGACY_PREFIXES:
    if name == old[:-1]:
      return new[:-1]
    if name.startswith(old):
      return new + name[len(old):]
  return name


def status(name, provided, table):
  """(state, replacement) for a normalized contrib name.

  state is 'provided', 'namespace' (a module on the way to provided names),
  'dynamic' (cannot be told statically) or 'missing'.
  """
  if DYNAMIC in name:
    return 'dynamic', None
  if name in provided:
    return 'provided', None
  if any(p.startswith(name + '.') for p in provided):
    return 'namespace', None
  best = None
  for prefix in table:
    if name == prefix or name.startswith(prefix + '.'):
      if best is None or len(prefix) > len(best):
        best = prefix
  if best is None:
    return 'missing', None
  replacement = table[best]
  if replacement.split('  ')[0].endswith('.'):
    head, _, note = replacement.partition('  ')
    rest = name[len(best) + 1:]
    replacement = (head + rest if rest else head.rstrip('.')) + (
        '  ' + note if note else '')
  return 'missing', replacement


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
  """Collects the contrib uses and batch_norm call sites of one module."""

  def __init__(self, filename):
    self.filename = filename
    self.aliases = {}  # local name -> dotted name ('tf', 'tf.contrib.slim'...)
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

  def contrib(self, node):
    name = self.dotted(node)
    if name is not None and (name == 'tf.contrib' or
                             name.startswith('tf.contrib.')):
      return name
    return None

  def use(self, node, name, kind):
    self.uses.append(Use(self.filename, node.lineno, name, kind))

  # Imports and aliases.

  def visit_Import(self, node):
    for alias in node.names:
      name = normalize(alias.name)
      if not (name == 'tf' or name.startswith('tf.')):
        continue
      if alias.asname:
        self.aliases[alias.asname] = name
      else:
        # `import tensorflow.contrib.slim` binds `tensorflow`.
        self.aliases[alias.name.split('.')[0]] = 'tf'
      if name.startswith('tf.contrib'):
        self.use(node, normalize(alias.name, legacy=False), 'import')

  def visit_ImportFrom(self, node):
    if node.level or not node.module:
      return
    module = normalize(node.module)
    if not (module == 'tf' or module.startswith('tf.')):
      return
    for alias in node.names:
      if alias.name == '*':
        if module.startswith('tf.contrib'):
          self.use(node, module + '.' + DYNAMIC, 'import *')
        continue
      name = normalize(node.module + '.' + alias.name)
      self.aliases[alias.asname or alias.name] = name
      if name.startswith('tf.contrib'):
        self.use(node, normalize(node.module + '.' + alias.name,
                                 legacy=False), 'import')

  def visit_Assign(self, node):
    name = self.contrib(node.value)
    if name is not None:
      self.use(node, name, 'alias')
      for target in node.targets:
        if isinstance(target, ast.Name):
          self.aliases[target.id] = name
      return
    if isinstance(node.value, ast.Dict):
      for target in node.targets:
        if isinstance(target, ast.Name):
          self.dicts[target.id] = node.value
    self.generic_visit(node)

  # Uses.

  def visit_Attribute(self, node):
    name = self.contrib(node)
    if name is not None:
      self.use(node, name, 'attribute')
      return
    self.generic_visit(node)

  def visit_Name(self, node):
    if isinstance(node.ctx, ast.Load):
      name = self.contrib(node)
      if name is not None:
        self.use(node, name, 'name')

  def visit_Call(self, node):
    name = self.contrib(node.func)
    if name is not None and DYNAMIC not in name and name.split('.')[-1] == (
        'batch_norm') and name in BATCH_NORM_NAMES:
      self.batch_norm_site(node, name)
    for keyword in node.keywords:
      if keyword.arg == 'normalizer_fn' and self.is_batch_norm(keyword.value):
        via = name or _call_name(node)
        if name in ARG_SCOPE_NAMES and node.args and isinstance(
            node.args[0], (ast.List, ast.Tuple)):
          via = 'arg_scope of ' + ', '.join(
              self.contrib(e) or DYNAMIC for e in node.args[0].elts)
        self.normalizer_site(node, node.keywords, via)
    self.generic_visit(node)

  def is_batch_norm(self, node):
    name = self.contrib(node)
    return name in BATCH_NORM_NAMES

  # batch_norm call sites.

  def scoped_arguments(self):
    merged = {}
    dynamic = False
    for kind, arguments in self.arg_scopes:
      if kind == 'dynamic':
        dynamic = True
      else:
        merged.update(arguments)
    return merged, dynamic

  def batch_norm_site(self, node, via):
    arguments, dynamic_scope = self.scoped_arguments()
    from_scope = sorted(arguments)
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
                                if a in arguments], tf1_path(arguments)))

  def normalizer_site(self, node, keywords, via):
    arguments, dynamic_scope = self.scoped_arguments()
    from_scope = sorted(arguments)
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
        arguments, [a for a in from_scope if a in arguments],
        tf1_path(arguments)))

  def visit_With(self, node):
    pushed = 0
    for item in node.items:
      call = item.context_expr
      if not isinstance(call, ast.Call):
        continue
      if self.contrib(call.func) not in ARG_SCOPE_NAMES:
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
      listed = [self.contrib(e) for e in ops.elts]
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
  provided = provided_names()
  table = replacements()
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
  for use in sorted(uses, key=lambda u: (u.name, u.file, u.line)):
    entry = names.get(use.name)
    if entry is None:
      state, replacement = status(use.name, provided, table)
      entry = names[use.name] = {'name': use.name, 'status': state,
                                 'replacement': replacement, 'uses': []}
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


_STATUS_TEXT = {
    'provided': 'provided by install()',
    'namespace': 'provided by install() (namespace)',
    'dynamic': 'CANNOT TELL (dynamic access)',
    'missing': 'NOT PROVIDED',
}


def summary(report):
  names = report['names']
  line = ('scan: %d file(s)%s, %d tf.contrib use(s) of %d name(s), %d '
          'batch_norm call site(s); ' % (
              report['files'],
              ' (%d not parsed)' % len(report['unparsed'])
              if report['unparsed'] else '',
              len(report['uses']), len(names),
              len(report['batch_norm_sites'])))
  if report['ok']:
    return line + 'everything used is provided by contrib_bn.install()'
  return line + '%d name(s) not provided: %s' % (
      len(report['not_provided']), ', '.join(report['not_provided']))


def text(report):
  """The human-readable report."""
  lines = []
  if report['names']:
    lines.append('tf.contrib names used:')
    width = max(len(e['name']) for e in report['names'])
    for entry in report['names']:
      detail = _STATUS_TEXT[entry['status']]
      if entry['replacement']:
        detail += '; TF 2: ' + entry['replacement']
      lines.append('  %-*s  %s' % (width, entry['name'], detail))
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
      'scan', help='list what a TF1 code base uses of tf.contrib',
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
