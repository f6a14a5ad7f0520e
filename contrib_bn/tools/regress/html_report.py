"""`regress compare --report`: one self-contained HTML page.

The page needs nothing but itself: no script, no style sheet, no font or
image from elsewhere. The plot is inline SVG drawn here: one panel per
batch-norm layer, its divergence per training step (log scale) over the band
it may move in (the float tolerance or the model's own 1-ULP sensitivity
times the margin, whichever is larger).
"""

import html
import math
import os
import tempfile

from contrib_bn.tools.regress import compare
from contrib_bn.tools.regress import text_report

# Divergences of exactly 0 are drawn at this floor of the log axis.
PLOT_FLOOR = 1e-12
_PANEL_WIDTH = 320
_PANEL_HEIGHT = 190
_MARGIN = {'left': 52, 'right': 12, 'top': 26, 'bottom': 34}
_COLUMNS = 3


def _log(value):
  return math.log10(max(value, PLOT_FLOOR)) if value != float('inf') else 3.0


def _panel(scope, series, x0, y0, y_min, y_max):
  """SVG of one layer's panel at (x0, y0)."""
  width = _PANEL_WIDTH - _MARGIN['left'] - _MARGIN['right']
  height = _PANEL_HEIGHT - _MARGIN['top'] - _MARGIN['bottom']
  left = x0 + _MARGIN['left']
  top = y0 + _MARGIN['top']
  steps = [s for s, _, _ in series] or [0]
  last = max(max(steps), 1)

  def px(step):
    return left + width * step / float(last)

  def py(value):
    fraction = (_log(value) - y_min) / float(y_max - y_min)
    return top + height * (1.0 - min(max(fraction, 0.0), 1.0))

  parts = ['<g class="panel">',
           '<rect x="%d" y="%d" width="%d" height="%d" fill="#ffffff" '
           'stroke="#999999"/>' % (left, top, width, height),
           '<text x="%d" y="%d" font-size="12" font-weight="bold">%s</text>' %
           (left, y0 + 16, html.escape(scope))]
  for decade in range(int(math.ceil(y_min)), int(math.floor(y_max)) + 1, 2):
    y = py(10.0 ** decade)
    parts.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eeeeee"/>'
                 % (left, left + width, y, y))
    parts.append('<text x="%d" y="%.1f" font-size="10" text-anchor="end">'
                 '1e%d</text>' % (left - 4, y + 3, decade))
  if series:
    band = ['%.1f,%.1f' % (px(s), py(t)) for s, _, t in series]
    band += ['%.1f,%.1f' % (px(s), top + height) for s, _, _ in
             reversed(series)]
    parts.append('<polygon class="band" points="%s" fill="#cfe3f7" '
                 'stroke="#7aa9d6"/>' % ' '.join(band))
    parts.append('<polyline class="divergence" points="%s" fill="none" '
                 'stroke="#333333" stroke-width="1.5"/>' % ' '.join(
                     '%.1f,%.1f' % (px(s), py(d)) for s, d, _ in series))
    for s, d, t in series:
      colour = '#d62728' if d > t else '#2ca02c'
      parts.append('<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s">'
                   '<title>step %d: divergence %.3g, threshold %.3g</title>'
                   '</circle>' % (px(s), py(d), colour, s, d, t))
  for s in sorted(set(steps)):
    if last <= 10 or s % max(1, last // 10) == 0:
      parts.append('<text x="%.1f" y="%d" font-size="10" text-anchor="middle">'
                   '%d</text>' % (px(s), top + height + 14, s))
  parts.append('<text x="%d" y="%d" font-size="10" text-anchor="middle">'
               'training step</text>' % (left + width // 2,
                                         top + height + 28))
  parts.append('</g>')
  return '\n'.join(parts)


def plot_svg(result):
  """Inline SVG: divergence per layer and step against the band."""
  series = result.layer_series()
  values = [v for s in series.values() for _, d, t in s for v in (d, t)]
  y_min = math.floor(min([_log(v) for v in values] + [-9.0]))
  y_max = math.ceil(max([_log(v) for v in values] + [-3.0]))
  if y_max <= y_min:
    y_max = y_min + 1
  panels = []
  names = list(series) or ['(no batch-norm layer)']
  for index, scope in enumerate(names):
    x0 = (index % _COLUMNS) * _PANEL_WIDTH
    y0 = (index // _COLUMNS) * _PANEL_HEIGHT
    panels.append(_panel(scope, series.get(scope, []), x0, y0, y_min, y_max))
  rows = (len(names) + _COLUMNS - 1) // _COLUMNS
  width = _PANEL_WIDTH * min(len(names), _COLUMNS)
  return ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
          'viewBox="0 0 %d %d" font-family="sans-serif" role="img" '
          'aria-label="divergence per batch-norm layer and step">\n%s\n</svg>'
          % (width, rows * _PANEL_HEIGHT, width, rows * _PANEL_HEIGHT,
             '\n'.join(panels)))


def render(result, target):
  """The report page as a string."""
  ok = result.ok
  rows = []
  for cells in text_report.table_rows(result):
    colour = '#fde0e0' if 'DIVERGED' in cells[5] else '#ffffff'
    rows.append('<tr style="background:%s">%s</tr>' % (colour, ''.join(
        '<td>%s</td>' % html.escape(c) for c in cells)))
  problems = ''.join('<li>%s</li>' % html.escape(p) for p in result.problems)
  hints = ''.join('<li>%s</li>' % html.escape(h) for h in result.hints)
  m = result.manifest
  return """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>contrib_bn regress: {target}</title>
<style>
body {{ font-family: sans-serif; margin: 24px; color: #222; }}
.summary {{ padding: 10px 14px; border-radius: 4px; font-weight: bold;
  background: {summary_bg}; }}
table {{ border-collapse: collapse; font-size: 12px; }}
td, th {{ border: 1px solid #ccc; padding: 3px 8px; text-align: left; }}
.legend span {{ display: inline-block; margin-right: 18px; }}
</style></head><body>
<h1>Regression: {target}</h1>
<p>TensorFlow {tf1} (recorded) against TensorFlow 2 with contrib_bn;
{steps} training step(s), seed {seed}.</p>
<p class="summary">{summary}</p>
{hints_block}{problems_block}
<h2>Divergence per batch-norm layer and step</h2>
<p class="legend"><span>&#9632; <b style="color:#7aa9d6">band</b>: max(float
tolerance {tol:g}, {margin:g} &times; the model's own 1-ULP sensitivity)</span>
<span style="color:#2ca02c">&#9679; within</span>
<span style="color:#d62728">&#9679; diverged</span></p>
{svg}
<h2>Every compared quantity</h2>
<table><tr><th>what</th><th>name</th><th>divergence</th><th>sensitivity</th>
<th>threshold</th><th>status</th></tr>
{rows}
</table>
</body></html>
""".format(
      target=html.escape(target), tf1=html.escape(m.get('tensorflow', '?')),
      steps=result.steps, seed=m['identity']['seed'],
      summary_bg='#dff3df' if ok else '#fde0e0',
      summary=html.escape(text_report.summary(result)),
      hints_block=('<h2>Likely cause</h2><ul>%s</ul>' % hints) if hints else '',
      problems_block=('<h2>Problems</h2><ul>%s</ul>' % problems)
      if problems else '',
      tol=compare.FLOAT_TOLERANCE, margin=compare.SENSITIVITY_MARGIN,
      svg=plot_svg(result), rows='\n'.join(rows))


def write(result, target, path):
  """Writes the page to `path` atomically."""
  path = os.path.abspath(path)
  directory = os.path.dirname(path)
  os.makedirs(directory, exist_ok=True)
  handle, temporary = tempfile.mkstemp(prefix='.report-', suffix='.html',
                                       dir=directory)
  try:
    with os.fdopen(handle, 'w', encoding='utf-8') as f:
      f.write(render(result, target))
    os.replace(temporary, path)
  except BaseException:
    if os.path.exists(temporary):
      os.remove(temporary)
    raise
