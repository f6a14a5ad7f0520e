"""`regress compare`'s text: one row per compared quantity and a summary line.

Each row is the worst divergence of a quantity over the steps, with its
1-ULP sensitivity, its threshold and the step it first diverged at; the
summary line says PASS, or where the first divergence is and its likely
cause (`hints`). `html_report` draws the same rows.
"""

import collections

from contrib_bn.tools.regress import compare


def _format(value):
  return '%.3g' % value if value != float('inf') else 'inf'


def table_rows(result):
  """[(what, name, divergence, sensitivity, threshold, status)], worst per
  quantity over the steps."""
  rows = collections.OrderedDict()
  for e in result.entries:
    row = rows.setdefault((e.group, e.name), {'worst': None, 'first': None})
    ratio = e.divergence / e.threshold
    if row['worst'] is None or ratio > row['worst'][0]:
      row['worst'] = (ratio, e)
    if e.diverged and (row['first'] is None or (
        e.step is not None and row['first'].step is not None and
        e.step < row['first'].step)):
      row['first'] = e
  result_rows = []
  for (group, name), row in rows.items():
    e = row['worst'][1]
    status = 'ok'
    if row['first'] is not None:
      status = 'DIVERGED' + (' from step %d' % row['first'].step
                             if row['first'].step is not None else '')
    result_rows.append((group, name, _format(e.divergence),
                        _format(e.sensitivity), _format(e.threshold), status))
  return result_rows


def table(result):
  """The comparison as text: one row per quantity, then one summary line."""
  rows = table_rows(result)
  width = max([len(row[1]) for row in rows] + [4])
  layout = '%-16s %-' + str(width) + 's %11s %11s %11s  %s'
  lines = [layout % ('what', 'name', 'divergence', 'sensitivity', 'threshold',
                     'status')]
  lines.extend(layout % row for row in rows)
  for problem in result.problems:
    lines.append('problem: ' + problem)
  for hint in result.hints:
    lines.append('likely cause: ' + hint)
  lines.append(summary(result))
  return '\n'.join(lines)


def summary(result):
  """One line: PASS or the first divergence."""
  m = result.manifest
  layers = len(result.layer_order)
  worst = max((e.divergence / e.threshold for e in result.entries),
              default=0.0)
  if result.ok:
    return ('regress: PASS: %d batch-norm layer(s) x %d step(s), outputs, '
            'variables, inference and the restored checkpoint agree with TF '
            '%s (worst divergence %.2g of its threshold)' % (
                layers, result.steps, m['tensorflow'], worst))
  first = result.first
  if first is None:
    return 'regress: FAIL: %d problem(s): %s' % (len(result.problems),
                                                 result.problems[0])
  where = ('layer %s at step %d' % (first.name, first.step)
           if first.group == 'layer' else
           '%s %s%s' % (first.group, first.name,
                        '' if first.step is None else ' at step %d' %
                        first.step))
  cause = ('; likely cause: ' + result.hints[0]) if result.hints else ''
  return ('regress: DIVERGED: first at %s: divergence %.3g > threshold %.3g '
          '(float tolerance %.0e, 1-ULP sensitivity %.3g x %g)%s' % (
              where, first.divergence, first.threshold, compare.FLOAT_TOLERANCE,
              first.sensitivity, compare.SENSITIVITY_MARGIN, cause))
