"""`python -m contrib_bn inspect`: the batch-norm layers of a TF1 checkpoint.

  python -m contrib_bn inspect CHECKPOINT [--graph module:callable]
      [--scope-map OLD=NEW ...] [--layers-to-contrib] [--epsilon E] [--json]

Lists the layers with the `batch_norm` arguments their variables imply; with
`--graph`, also plans a restore into that graph and reports what it lacks.
"""

import importlib
import json
import sys

import tensorflow as tf

from contrib_bn import checkpoint as checkpoint_lib
from contrib_bn import constants
from contrib_bn.checkpoint import describe

EXIT_OK = constants.EXIT_OK
# `inspect --graph`: some graph variables would keep no checkpoint value, or
# paired variables differ in shape or dtype.
EXIT_INCOMPLETE = constants.EXIT_FAILED
EXIT_USAGE = constants.EXIT_USAGE


def register(subparsers):
  """Adds `inspect` to an argparse subparsers object; sets `func=run`."""
  inspect = subparsers.add_parser(
      'inspect', help='list the batch-norm layers of a TF1 checkpoint',
      description='List the batch-norm layers of a TF1 checkpoint, with the '
      'batch_norm arguments they imply; with --graph, compare it with a '
      'graph built with contrib_bn. Exit code 0 on success, 1 when the '
      'graph would keep variables without a checkpoint value (or with a '
      'mismatched one), 2 for unreadable input.')
  inspect.add_argument('checkpoint',
                       help='checkpoint prefix, or a directory')
  inspect.add_argument(
      '--graph', default=None, metavar='MODULE:CALLABLE',
      help='a callable that builds the graph to restore into (in a fresh '
      'default graph, or returning a tf.Graph)')
  _add_mapping_options(inspect)
  inspect.add_argument('--json', action='store_true',
                       help='print the findings as JSON')
  inspect.set_defaults(func=run)


def _add_mapping_options(parser):
  parser.add_argument(
      '--scope-map', action='append', default=[], metavar='OLD=NEW',
      help='restore checkpoint scope OLD (and scopes nested in it) into '
      'graph scope NEW; repeatable')
  parser.add_argument(
      '--layers-to-contrib', action='store_true',
      help='map tf.layers scopes batch_normalization[_N] to BatchNorm[_N]')
  parser.add_argument(
      '--epsilon', type=float, default=None,
      help='epsilon of the graph layers, to derive moving_stddev '
      '(default 0.001)')


def _scope_map(pairs):
  mapping = {}
  for pair in pairs:
    old, sep, new = pair.partition('=')
    if not sep or not old or not new:
      raise ValueError('--scope-map takes OLD=NEW, not %r' % pair)
    mapping[old] = new
  return mapping


def load_graph(spec):
  """Builds the graph named by `module:callable`.

  Args:
    spec: `package.module:function` (the function may be a dotted attribute
      path); it is called with no arguments inside a fresh default graph and
      may return a `tf.Graph` to use instead.

  Returns:
    The `tf.Graph`.
  """
  module_name, sep, attribute = spec.partition(':')
  if not sep or not module_name or not attribute:
    raise ValueError('--graph takes module:callable, not %r' % spec)
  target = importlib.import_module(module_name)
  for part in attribute.split('.'):
    target = getattr(target, part)
  graph = tf.Graph()
  with graph.as_default():
    result = target()
  return result if isinstance(result, tf.Graph) else graph


def _inspect_report(args, out):
  variables = checkpoint_lib.checkpoint_variables(args.checkpoint)
  layers = checkpoint_lib.find_layers(variables)
  in_layers = set(info.name for layer in layers
                  for info in layer.variables.values())
  others = [checkpoint_lib.VariableInfo(n, *variables[n])
            for n in sorted(variables) if n not in in_layers]
  findings = {'checkpoint': args.checkpoint,
              'layers': [layer.to_dict() for layer in layers],
              'other_variables': [list(v) for v in others]}
  lines = ['checkpoint: %s' % args.checkpoint,
           'batch-norm layers: %d' % len(layers)]
  for layer in layers:
    lines.extend(describe.layer_lines(layer))
  lines.append('other variables: %d' % len(others))
  lines.extend('  ' + describe.describe_variable(v) for v in others)
  code = EXIT_OK
  if args.graph:
    graph = load_graph(args.graph)
    restore_plan = checkpoint_lib.plan(
        args.checkpoint, graph, _scope_map(args.scope_map),
        args.layers_to_contrib, args.epsilon)
    findings['graph'] = args.graph
    findings['plan'] = restore_plan.to_dict()
    lines.extend(describe.plan_lines(args.graph, graph, variables, restore_plan))
    findings['complete'] = restore_plan.complete
    if not restore_plan.complete:
      code = EXIT_INCOMPLETE
  if args.json:
    out(json.dumps(findings, indent=1, sort_keys=True))
  else:
    for line in lines:
      out(line)
  return code


def run(args, out=print, err=None):
  """Carries out a parsed `inspect` command; returns the exit code.

  Args:
    args: the argparse namespace.
    out: where report lines go.
    err: where error messages go (default: standard error).

  Returns:
    0 on success, 1 when `--graph` finds graph variables that would keep no
    checkpoint value (or mismatched ones), 2 for unreadable input or
    arguments the command cannot honour.
  """
  err = err or (lambda line: print(line, file=sys.stderr))
  try:
    return _inspect_report(args, out)
  except (ValueError, ImportError, AttributeError) as e:
    err('error: %s' % e)
    return EXIT_USAGE
