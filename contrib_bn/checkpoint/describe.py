"""The findings of `inspect` as report lines: layers, and a restore plan.

`layer_lines` describes one batch-norm layer of a checkpoint;
`plan_lines` compares a checkpoint with a graph through a `RestorePlan`:
which graph variables the checkpoint lacks, which checkpoint variables the
graph lacks, and whether the restore is complete.
"""

import re

import tensorflow as tf

from contrib_bn.checkpoint.layout import VariableInfo

_TF_LAYERS_NAME = re.compile(r'(^|/)batch_normalization(_\d+)?/')


def describe_variable(info):
  """`name [shape] dtype` of a `VariableInfo`."""
  return '%s %s %s' % (info.name, list(info.shape) if info.shape is not None
                       else '<unknown>', info.dtype)


def layer_lines(layer):
  """One layer of a checkpoint: scope, kind, layout, implied arguments."""
  lines = ['  %s  [%s; %s]' % (layer.scope, layer.kind, layer.layout)]
  implied = layer.implied_arguments()
  lines.append('    implies: ' + ' '.join(
      '%s=%s' % (k, implied[k]) for k in sorted(implied)))
  for role in sorted(layer.variables):
    info = layer.variables[role]
    lines.append('    %-24s %s' % (role, describe_variable(info)))
  return lines


def plan_lines(spec, graph, ckpt_variables, restore_plan):
  """The comparison of a checkpoint with a graph, as report lines."""
  graph_vars = graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)
  by_target = {}
  for ckpt_name, var in restore_plan.saver_map.items():
    by_target[var.op.name] = ckpt_name
  derived = {d.target: d for d in restore_plan.derived}
  missing = set(v.name for v in restore_plan.missing)
  lacking = []
  for var in graph_vars:
    name = var.op.name
    info = VariableInfo(
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
    lacking.append('  %s  (%s)' % (describe_variable(info), note))
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
    info = VariableInfo(name, *ckpt_variables[name])
    notes = []
    if target is not None:
      notes.append('restores ' + target.op.name)
    if name in used_by:
      notes.append('used to derive ' + ', '.join(used_by[name]))
    if name in unused:
      notes.append('unused')
    if not notes:
      notes.append('shape or dtype mismatch')
    extra.append('  %s  (%s)' % (describe_variable(info), '; '.join(notes)))
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
    lines.append('mismatch: checkpoint %s vs graph %s' % (describe_variable(ckpt),
                                                           describe_variable(graph_info)))
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
