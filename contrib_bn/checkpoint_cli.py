"""Command line for checkpoints: `inspect` and `export-keras`.

  python -m contrib_bn inspect CHECKPOINT [--graph module:callable]
      [--scope-map OLD=NEW ...] [--layers-to-contrib] [--epsilon E] [--json]
  python -m contrib_bn export-keras CHECKPOINT --scope SCOPE --output F.keras
      [--data-format NHWC|NCHW] [--rank R] [--epsilon E] [--decay D]
      [--inference-only]

`register(subparsers)` adds both subcommands to an argparse subparsers
object; `run(args)` carries out the parsed command and returns the exit code.
"""

import argparse
import importlib
import json
import re
import sys

COMMANDS = ('inspect', 'export-keras')

EXIT_OK = 0
# `inspect --graph`: some graph variables would keep no checkpoint value, or
# paired variables differ in shape or dtype.
EXIT_INCOMPLETE = 1
EXIT_USAGE = 2

_TF_LAYERS_NAME = re.compile(r'(^|/)batch_normalization(_\d+)?/')


def register(subparsers):
  """Adds `inspect` and `export-keras` to an argparse subparsers object."""
  inspect = subparsers.add_parser(
      'inspect', help='list the batch-norm layers of a TF1 checkpoint',
      description='List the batch-norm layers of a TF1 checkpoint, with the '
      'batch_norm arguments they imply; with --graph, compare it with a '
      'graph built with contrib_bn.')
  inspect.add_argument('checkpoint',
                       help='checkpoint prefix, or a directory')
  inspect.add_argument(
      '--graph', default=None, metavar='MODULE:CALLABLE',
      help='a callable that builds the graph to restore into (in a fresh '
      'default graph, or returning a tf.Graph)')
  _add_mapping_options(inspect)
  inspect.add_argument('--json', action='store_true',
                       help='print the findings as JSON')
  export = subparsers.add_parser(
      'export-keras', help='write one layer as a Keras 3 .keras file',
      description='Write one batch-norm layer of a TF1 checkpoint as a '
      'native Keras 3 BatchNormalization layer (.keras file).')
  export.add_argument('checkpoint', help='checkpoint prefix, or a directory')
  export.add_argument('--scope', required=True,
                      help='the layer scope in the checkpoint, e.g. BatchNorm')
  export.add_argument('--output', required=True, help='the .keras file')
  export.add_argument('--data-format', default='NHWC',
                      choices=['NHWC', 'NCHW'])
  export.add_argument('--rank', type=int, default=4,
                      help='rank of the layer inputs (default 4)')
  export.add_argument('--epsilon', type=float, default=0.001)
  export.add_argument('--decay', type=float, default=0.999)
  export.add_argument('--inference-only', action='store_true',
                      help='export a renorm layer for inference')


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
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
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


def _fmt(info):
  return '%s %s %s' % (info.name, list(info.shape) if info.shape is not None
                       else '<unknown>', info.dtype)


def _layer_lines(layer):
  lines = ['  %s  [%s; %s]' % (layer.scope, layer.kind, layer.layout)]
  implied = layer.implied_arguments()
  lines.append('    implies: ' + ' '.join(
      '%s=%s' % (k, implied[k]) for k in sorted(implied)))
  for role in sorted(layer.variables):
    info = layer.variables[role]
    lines.append('    %-24s %s' % (role, _fmt(info)))
  return lines


def _inspect_report(args, out):
  from contrib_bn import checkpoint as checkpoint_lib  # pylint: disable=g-import-not-at-top
  variables = checkpoint_lib.checkpoint_variables(args.checkpoint)
  layers = checkpoint_lib.find_layers(variables)
  in_layers = set(info.name for layer in layers
                  for info in layer.variables.values())
  others = [checkpoint_lib.VariableInfo(n, *variables[n])
            for n in sorted(variables) if n not in in_layers]
  report = {'checkpoint': args.checkpoint,
            'layers': [layer.to_dict() for layer in layers],
            'other_variables': [list(v) for v in others]}
  lines = ['checkpoint: %s' % args.checkpoint,
           'batch-norm layers: %d' % len(layers)]
  for layer in layers:
    lines.extend(_layer_lines(layer))
  lines.append('other variables: %d' % len(others))
  lines.extend('  ' + _fmt(v) for v in others)
  code = EXIT_OK
  if args.graph:
    graph = load_graph(args.graph)
    restore_plan = checkpoint_lib.plan(
        args.checkpoint, graph, _scope_map(args.scope_map),
        args.layers_to_contrib, args.epsilon)
    report['graph'] = args.graph
    report['plan'] = restore_plan.to_dict()
    lines.extend(_plan_lines(args.graph, graph, variables, restore_plan))
    report['complete'] = restore_plan.complete
    if not restore_plan.complete:
      code = EXIT_INCOMPLETE
  if args.json:
    out(json.dumps(report, indent=1, sort_keys=True))
  else:
    for line in lines:
      out(line)
  return code


def _plan_lines(spec, graph, ckpt_variables, restore_plan):
  """The comparison of a checkpoint with a graph, as report lines."""
  from contrib_bn import checkpoint as checkpoint_lib  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  graph_vars = graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)
  by_target = {}
  for ckpt_name, var in restore_plan.saver_map.items():
    by_target[var.op.name] = ckpt_name
  derived = {d.target: d for d in restore_plan.derived}
  missing = set(v.name for v in restore_plan.missing)
  lacking = []
  for var in graph_vars:
    name = var.op.name
    info = checkpoint_lib.VariableInfo(
        name, var.shape.as_list() if var.shape.rank is not None else None,
        var.dtype.base_dtype.name)
    if by_target.get(name) == name:
      continue
    if name in derived:
      note = 'derived on restore: ' + derived[name].formula
    elif name in by_target:
      note = 'restored from ' + by_target[name]
    elif name in missing:
      note = 'NOT RESTORED: no checkpoint value'
    else:
      note = 'NOT RESTORED: shape or dtype mismatch'
    lacking.append('  %s  (%s)' % (_fmt(info), note))
  used_by = {}
  for derivation in restore_plan.derived:
    for source in derivation.sources:
      used_by.setdefault(source, []).append(derivation.target)
  unused = set(v.name for v in restore_plan.unused)
  extra = []
  for name in sorted(ckpt_variables):
    target = restore_plan.saver_map.get(name)
    if target is not None and target.op.name == name:
      continue
    info = checkpoint_lib.VariableInfo(name, *ckpt_variables[name])
    notes = []
    if target is not None:
      notes.append('restores ' + target.op.name)
    if name in used_by:
      notes.append('used to derive ' + ', '.join(used_by[name]))
    if name in unused:
      notes.append('unused')
    if not notes:
      notes.append('shape or dtype mismatch')
    extra.append('  %s  (%s)' % (_fmt(info), '; '.join(notes)))
  lines = ['graph: %s (%d global variables)' % (spec, len(graph_vars))]
  if restore_plan.scope_map:
    lines.append('layer scopes mapped: ' + ', '.join(
        '%s -> %s' % item for item in restore_plan.scope_map.items()))
  lines.append('graph variables the checkpoint lacks (no same-named stored '
               'value): %d' % len(lacking))
  lines.extend(lacking)
  lines.append('checkpoint variables the graph lacks (not restored as '
               'stored under their own name): %d' % len(extra))
  lines.extend(extra)
  for ckpt, graph_info in restore_plan.mismatched:
    lines.append('mismatch: checkpoint %s vs graph %s' % (_fmt(ckpt),
                                                           _fmt(graph_info)))
  if restore_plan.complete:
    lines.append('restore: complete (%d restored, %d derived)' % (
        len(restore_plan.saver_map), len(restore_plan.derived)))
  else:
    lines.append('restore: INCOMPLETE (%d graph variables without a value, '
                 '%d mismatched)' % (len(restore_plan.missing),
                                     len(restore_plan.mismatched)))
    if any(_TF_LAYERS_NAME.search(v.name) for v in restore_plan.unused):
      lines.append('hint: --layers-to-contrib restores tf.layers scopes '
                   'batch_normalization[_N] into BatchNorm[_N]')
  return lines


def _export(args, out):
  from contrib_bn import keras_export  # pylint: disable=g-import-not-at-top
  layer = keras_export.to_keras(
      args.checkpoint, args.scope, data_format=args.data_format,
      epsilon=args.epsilon, decay=args.decay, rank=args.rank,
      inference_only=args.inference_only)
  keras_export.save(layer, args.output)
  out('wrote %s: keras.layers.BatchNormalization(axis=%s, momentum=%s, '
      'epsilon=%s, center=%s, scale=%s) from %s' % (
          args.output, layer.axis, layer.momentum, layer.epsilon,
          layer.center, layer.scale, args.scope))
  return EXIT_OK


def run(args, out=print, err=None):
  """Carries out a parsed `inspect` or `export-keras` command.

  Args:
    args: the argparse namespace; `args.command` names the subcommand.
    out: where report lines go.
    err: where error messages go (default: standard error).

  Returns:
    The exit code: 0 on success, 1 when `inspect --graph` finds graph
    variables that would keep no checkpoint value (or mismatched ones), 2
    for unreadable input or arguments the command cannot honour.
  """
  err = err or (lambda line: print(line, file=sys.stderr))
  try:
    if args.command == 'inspect':
      return _inspect_report(args, out)
    if args.command == 'export-keras':
      return _export(args, out)
  except (ValueError, ImportError, AttributeError) as e:
    err('error: %s' % e)
    return EXIT_USAGE
  err('error: unknown command %r' % (args.command,))
  return EXIT_USAGE


def main(argv=None):
  """Stand-alone entry point, until `python -m contrib_bn` registers these."""
  parser = argparse.ArgumentParser(prog='python -m contrib_bn.checkpoint_cli')
  register(parser.add_subparsers(dest='command'))
  args = parser.parse_args(argv)
  if args.command not in COMMANDS:
    parser.print_help()
    return EXIT_USAGE
  return run(args)


if __name__ == '__main__':
  sys.exit(main())
