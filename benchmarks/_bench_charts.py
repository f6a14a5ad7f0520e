"""Bar charts of the ratios against the floor (matplotlib, when installed)."""

import os

import _bench_targets as targets


def table_chart(rows, meta, path):
  """Writes the configuration table's ratios as a bar chart."""
  try:
    import matplotlib  # pylint: disable=g-import-not-at-top
    matplotlib.use('Agg')
    from matplotlib import pyplot  # pylint: disable=g-import-not-at-top
  except ImportError:
    return False
  labels = ['%s\n%s' % (r['row'], r['mode']) for r in rows]
  series = [('contrib_bn, TF %s' % meta['tf_version'], 'tf2_ratio'),
            ('contrib_bn under XLA (vs XLA floor)', 'tf2_xla_ratio'),
            ('tf.contrib, TF 1.15', 'tf1_ratio')]
  series = [s for s in series if any(r.get(s[1]) for r in rows)]
  width = 0.8 / max(len(series), 1)
  figure, axes = pyplot.subplots(figsize=(max(8, 0.75 * len(rows)), 4.5))
  for i, (name, key) in enumerate(series):
    xs = [k + (i - (len(series) - 1) / 2.0) * width for k in range(len(rows))]
    present = [(x, r[key]) for x, r in zip(xs, rows) if r.get(key)]
    axes.bar([p[0] for p in present], [p[1] for p in present], width,
             label=name)
  axes.axhline(1.0, color='black', linewidth=0.8)
  axes.axhline(targets.TABLE_TARGET, color='grey', linewidth=0.6,
               linestyle='--')
  axes.set_xticks(range(len(rows)))
  axes.set_xticklabels(labels, fontsize=7)
  axes.set_ylabel('step time / floor of the same TF')
  axes.set_xlim(-0.6, len(rows) - 0.4)
  axes.set_title('Configurations against fused_batch_norm (+ assigns), %s'
                 % meta['date'])
  axes.legend(fontsize=8)
  figure.tight_layout()
  partial = path + '.partial.png'
  figure.savefig(partial, dpi=120)
  pyplot.close(figure)
  os.replace(partial, path)
  return True


def chart(results, path):
  """Writes the step-time bar chart; returns False without matplotlib."""
  try:
    import matplotlib  # pylint: disable=g-import-not-at-top
    matplotlib.use('Agg')
    from matplotlib import pyplot  # pylint: disable=g-import-not-at-top
  except ImportError:
    return False
  rows = results['step']
  labels = ['%s\n%s' % (r['shape_name'], r['path']) for r in rows]
  series = [('contrib_bn, TF %s' % results['meta']['tf_version'],
             [r['ratio'] for r in rows])]
  if results['meta'].get('tf1_version'):
    series.append(('tf.contrib, TF %s' % results['meta']['tf1_version'],
                   [r.get('tf1_ratio') for r in rows]))
  width = 0.8 / len(series)
  figure, axes = pyplot.subplots(figsize=(max(8, 0.7 * len(rows)), 4.5))
  for i, (name, values) in enumerate(series):
    xs = [k + (i - (len(series) - 1) / 2.0) * width for k in range(len(rows))]
    present = [(x, v) for x, v in zip(xs, values) if v is not None]
    axes.bar([p[0] for p in present], [p[1] for p in present], width,
             label=name)
    for x, v in zip(xs, values):
      if v is None:
        axes.text(x, 0.05, 'n/a', ha='center', va='bottom', fontsize=7,
                  rotation=90)
  axes.axhline(1.0, color='black', linewidth=0.8)
  for limit in (targets.FUSED_TARGET, targets.CORE_TARGET):
    axes.axhline(limit, color='grey', linewidth=0.6, linestyle='--')
  axes.set_xticks(range(len(rows)))
  axes.set_xticklabels(labels, fontsize=7)
  axes.set_ylabel('step time / floor of the same TF')
  axes.set_xlim(-0.6, len(rows) - 0.4)
  axes.set_title('Training-step time relative to fused_batch_norm + assigns')
  axes.legend(fontsize=8)
  figure.tight_layout()
  figure.savefig(path, dpi=120)
  pyplot.close(figure)
  return True
