"""Training-step and configuration-table timing, interleaved.

Every implementation's graph is built and warmed up first, then timed in
interleaved repetitions (see `_bench_stats`); each table row and mode is
measured on its own so that only a few large graphs are alive at once.
"""

import _bench_cases as catalogue
import _bench_stats as stats
import _bench_targets as targets
import _bench_tf1 as steps


def check_paths(shapes, cases):
  """Fails loudly if a benchmark case would not take the path it names."""
  import contrib_bn  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  with tf.Graph().as_default():
    for shape_name, path in cases:
      shape, data_format = shapes[shape_name]
      kwargs = catalogue.path_kwargs(tf, path, shape, data_format)
      chosen = contrib_bn.select_path(
          len(shape), batch_weights=kwargs.get('batch_weights'),
          renorm=kwargs.get('renorm', False),
          zero_debias_moving_mean=kwargs.get('zero_debias_moving_mean', False),
          **({'updates_collections': kwargs['updates_collections']}
             if 'updates_collections' in kwargs else {}))
      if chosen != catalogue.INTERNAL_PATH[path]:
        raise AssertionError('%s/%s takes the %s path, not %s' % (
            shape_name, path, chosen, catalogue.INTERNAL_PATH[path]))


def _steps_per_rep(server, shape_name, options):
  """Steps per timed repetition, from the floor's step time."""
  if options.smoke:
    return 1
  probe = server.handle({'cmd': 'time', 'shape': shape_name,
                         'impl': catalogue.FLOOR, 'iters': 3})['seconds']
  return stats.steps_per_rep(probe, options.rep_seconds)


def bench_steps(shapes, cases, tf1_server, options):
  """Times every case; returns the step rows and their op counts."""
  import contrib_bn  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  local = steps.Server(tf, contrib_bn.batch_norm, shapes, options.threads)
  sides = [('tf2', local)]
  if tf1_server is not None:
    sides.append(('tf1', tf1_server))
  shape_names = [s for s in catalogue.SHAPE_ORDER
                 if any(c[0] == s for c in cases)]
  impls = {s: [catalogue.FLOOR] + [p for (n, p) in cases if n == s]
           for s in shape_names}
  ops = {}
  errors = {}
  runnable = {}
  for shape_name in shape_names:
    runnable[shape_name] = []
    for side, server in sides:
      for impl in impls[shape_name]:
        stats.log('  building %s %s/%s' % (side, shape_name, impl))
        reply = server.handle({'cmd': 'setup', 'shape': shape_name,
                               'impl': impl})
        if reply['ok']:
          ops[(side, shape_name, impl)] = reply['ops']
          runnable[shape_name].append((side, impl))
        else:
          errors[(side, shape_name, impl)] = reply['error']
          stats.log('    unavailable: %s' % reply['error'])
  iters = {}
  for shape_name in shape_names:
    for side, impl in runnable[shape_name]:
      server = dict(sides)[side]
      server.handle({'cmd': 'time', 'shape': shape_name, 'impl': impl,
                     'iters': options.warmup})
    iters[shape_name] = _steps_per_rep(local, shape_name, options)
    stats.log('  %s: %d steps per repetition' % (shape_name, iters[shape_name]))
  times = {}
  for rep in range(options.repeats):
    stats.log('  step repetition %d/%d' % (rep + 1, options.repeats))
    for shape_name in shape_names:
      for side, impl in stats.rotated(runnable[shape_name], rep):
        reply = dict(sides)[side].handle(
            {'cmd': 'time', 'shape': shape_name, 'impl': impl,
             'iters': iters[shape_name]})
        times.setdefault((side, shape_name, impl), []).append(
            reply['seconds'])
  for step in local.graphs.values():
    step.close()
  rows = []
  for shape_name, path in cases:
    shape, data_format = shapes[shape_name]
    row = {'shape_name': shape_name, 'shape': shape,
           'data_format': data_format, 'path': path,
           'internal_path': catalogue.INTERNAL_PATH[path],
           'steps_per_rep': iters[shape_name],
           'target': targets.STEP_TARGETS.get(path)}
    for side, _ in sides:
      own = times.get((side, shape_name, path))
      floor = times.get((side, shape_name, catalogue.FLOOR))
      prefix = '' if side == 'tf2' else 'tf1_'
      row[prefix + 'ms'] = stats.ms(own)
      row[prefix + 'floor_ms'] = stats.ms(floor)
      row[prefix + 'ratio'] = stats.paired_ratio(own, floor)
      row[prefix + 'ratio_of_medians'] = (
          stats.median(own) / stats.median(floor) if own and floor else None)
      row[prefix + 'ratio_spread'] = stats.ratio_spread(own, floor)
      row[prefix + 'samples_ms'] = [t * 1000.0 for t in own or []]
      row[prefix + 'floor_samples_ms'] = [t * 1000.0 for t in floor or []]
      row[prefix + 'ops'] = ops.get((side, shape_name, path))
      row[prefix + 'floor_ops'] = ops.get((side, shape_name, catalogue.FLOOR))
      row[prefix + 'error'] = (errors.get((side, shape_name, path)) or
                               errors.get((side, shape_name, catalogue.FLOOR)))
    if tf1_server is not None and row['ms'] and row.get('tf1_ms'):
      row['vs_tf1'] = row['ms'] / row['tf1_ms']
    else:
      row['vs_tf1'] = None
    rows.append(row)
  return rows


def _table_variants(tf1_server, options):
  """(side, impl, xla) triples timed for each table row and mode."""
  variants = [('tf2', catalogue.FLOOR, False), ('tf2', catalogue.LAYER, False)]
  if options.xla:
    variants += [('tf2', catalogue.FLOOR, True), ('tf2', catalogue.LAYER, True)]
  if tf1_server is not None:
    variants += [('tf1', catalogue.FLOOR, False),
                 ('tf1', catalogue.LAYER, False)]
  return variants


def bench_table(tf1_server, options):
  """Times every configuration-table row and mode; returns its rows.

  Each row and mode is measured on its own (its graphs built, warmed up,
  timed in interleaved repetitions, then closed), so that only a few large
  graphs are alive at once.
  """
  import contrib_bn  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  local = steps.Server(tf, contrib_bn.batch_norm, {}, options.threads,
                       options.smoke, contrib_bn.layers.batch_normalization)
  servers = {'tf2': local, 'tf1': tf1_server}
  rows = []
  for name in options.table_rows:
    for mode in options.modes:
      shape, data_format, dtype, kwargs = catalogue.table_row(
          name, options.smoke)
      row = {'row': name, 'mode': mode, 'shape': shape,
             'data_format': data_format, 'dtype': dtype,
             'kwargs': sorted(kwargs),
             'target': targets.TABLE_TARGETS.get(name, targets.TABLE_TARGET)}
      runnable = []
      for side, impl, xla in _table_variants(tf1_server, options):
        request = {'row': name, 'mode': mode, 'impl': impl, 'xla': xla}
        stats.log('  building %s %s/%s %s%s' % (side, name, mode, impl,
                                           ' xla' if xla else ''))
        reply = servers[side].handle(dict(request, cmd='setup'))
        label = '%s_%s%s' % (side, impl, '_xla' if xla else '')
        if reply['ok']:
          runnable.append((side, request, label))
          row[label + '_ops'] = reply['ops']
          servers[side].handle(dict(request, cmd='time',
                                    iters=options.warmup))
        else:
          row[label + '_error'] = reply['error']
          stats.log('    unavailable: %s' % reply['error'])
      iters = 1
      if not options.smoke and runnable:
        probe = local.handle({'cmd': 'time', 'row': name, 'mode': mode,
                              'impl': catalogue.FLOOR, 'xla': False,
                              'iters': 3})['seconds']
        iters = stats.steps_per_rep(probe, options.rep_seconds)
      times = {}
      for rep in range(options.repeats):
        for side, request, label in stats.rotated(runnable, rep):
          reply = servers[side].handle(dict(request, cmd='time',
                                            iters=iters))
          times.setdefault(label, []).append(reply['seconds'])
      for side, request, _ in runnable:
        servers[side].handle(dict(request, cmd='close'))
      row['steps_per_rep'] = iters
      for label, values in times.items():
        row[label + '_ms'] = stats.ms(values)
      for prefix in ('tf2', 'tf2_xla', 'tf1'):
        side = prefix.split('_')[0]
        suffix = '_xla' if prefix.endswith('xla') else ''
        own = times.get('%s_%s%s' % (side, catalogue.LAYER, suffix))
        floor = times.get('%s_%s%s' % (side, catalogue.FLOOR, suffix))
        row[prefix + '_ratio'] = stats.paired_ratio(own, floor)
        row[prefix + '_ratio_spread'] = stats.ratio_spread(own, floor)
      own = row.get('tf2_layer_ms')
      reference = row.get('tf1_layer_ms')
      row['vs_tf1'] = own / reference if own and reference else None
      stats.log('  %s/%s: ratio %s (XLA %s, TF 1.15 %s)' % (
          name, mode, stats.fmt(row['tf2_ratio']),
          stats.fmt(row['tf2_xla_ratio']),
          stats.fmt(row['tf1_ratio'])))
      rows.append(row)
  return rows
