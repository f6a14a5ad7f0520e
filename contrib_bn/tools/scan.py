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

Every batch-norm call site gets its arguments, literal values or
`<dynamic>`, and the internal path TF 1.15 took where the arguments decide
it: `batch_norm`'s (direct, through `normalizer_fn=`, through a
`functools.partial`, with arguments from an enclosing `arg_scope`), and
`tf.layers.batch_normalization`'s (direct, through `normalizer_fn=` or a
partial) and `tf.layers.BatchNormalization`'s (its construction), whose
layer always took the core-layer path, with or without the fused kernel.

Exit status: 0 when every name used is provided after install(), 1 when a
used name is not (or cannot be told: dynamic access such as
`getattr(tf.contrib.layers, name)`), 2 on bad arguments. Files that do not
parse are reported and skipped.
"""

import ast
import collections
import json
import os
import sys

from contrib_bn.compat import verdicts
from contrib_bn.tools import scan_tables
from contrib_bn.tools import scan_visitor


def status(name, judge):
  """The verdict of a normalized name as a dict.

  `judge` is what `verdicts.after_install()` yields.

  Its 'status' is 'provided', 'namespace' (a provided module), 'dynamic'
  (cannot be told statically) or 'missing'; 'provider', 'reason', 'message'
  and 'replacement' come from contrib_bn.compat.verdicts.provides.
  """
  if scan_tables.DYNAMIC in name:
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


# --- the report and the command line ---------------------------------------

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
    scanner = scan_visitor.FileScanner(filename)
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
          'batch-norm call site(s); ' % (
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
    # Sites of tf.contrib.layers.batch_norm and of tf.layers'
    # batch_normalization and BatchNormalization alike.
    lines.append('batch-norm call sites:')
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
