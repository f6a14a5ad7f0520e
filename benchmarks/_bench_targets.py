"""The benchmark's bounds, as ratios against the floor of the same run."""

import _bench_cases as catalogue


# Targets, as ratios against the floor of the same run.
FUSED_TARGET = 1.02


CORE_TARGET = 1.10


GRAPH_TARGET = 1.10


# Objects a layer keeps alive for the garbage collector to walk, per layer.
OBJECTS_TARGET = 1.10


GROWTH_TARGET = 4.5


MEMORY_TARGET = 1.05


STEP_TARGETS = {
    catalogue.FUSED: FUSED_TARGET,
    catalogue.FUSED_DEBIAS: FUSED_TARGET,
    catalogue.CORE: CORE_TARGET,
    catalogue.RENORM: CORE_TARGET,
}


MEMORY_SHAPE = 'nhwc'


# The configuration table's bounds (training and inference, plain): every row
# within 1.10x of the floor except batch weights, whose weighted moments no
# kernel computes.
TABLE_TARGET = 1.10


TABLE_TARGETS = {'batch_weights': 1.5}


def evaluate_targets(step_rows, graph_rows, growth, memory_rows,
                     table_rows=()):
  """One row per target: what was measured and whether it is met."""
  targets = []
  for row in table_rows:
    targets.append(_target(
        'table %s/%s' % (row['row'], row['mode']),
        'ratio vs floor <= %.2f' % row['target'], row.get('tf2_ratio'),
        _at_most(row.get('tf2_ratio'), row['target'])))
  for row in step_rows:
    name = 'step %s/%s' % (row['shape_name'], row['path'])
    if row['path'] in STEP_TARGETS:
      limit = STEP_TARGETS[row['path']]
      targets.append(_target(name, 'ratio vs floor <= %.2f' % limit,
                             row['ratio'], _at_most(row['ratio'], limit)))
    elif row['path'] == catalogue.MOMENTS:
      if row.get('tf1_ms'):
        targets.append(_target(
            name, 'ms <= TF 1.15 moments ms (%.3f)' % row['tf1_ms'],
            row['ms'], row['ms'] <= row['tf1_ms']))
      else:
        targets.append(_target(name, 'ms <= TF 1.15 moments ms', row['ms'],
                               None))
  for row in graph_rows:
    if row['impl'] != catalogue.FLOOR:
      targets.append(_target(
          'graph %s per layer at %d layers' % (row['impl'], row['layers']),
          'ratio vs floor <= %.2f (garbage collector apart)' % GRAPH_TARGET,
          row['ratio'], row['ratio'] <= GRAPH_TARGET))
  for row in graph_rows:
    if (row['impl'] != catalogue.FLOOR and
        row['layers'] == graph_rows[0]['layers']):
      targets.append(_target(
          'graph %s live objects per layer' % row['impl'],
          'ratio vs floor <= %.2f' % OBJECTS_TARGET, row['objects_ratio'],
          row['objects_ratio'] <= OBJECTS_TARGET))
  for row in growth:
    if row['impl'] != catalogue.FLOOR:
      targets.append(_target(
          'graph %s total %d vs %d layers' % (row['impl'], row['large'],
                                              row['middle']),
          'total ratio <= %.1f' % GROWTH_TARGET, row['total_growth'],
          row['total_growth'] <= GROWTH_TARGET))
  for row in memory_rows:
    if row['impl'] != catalogue.FLOOR:
      targets.append(_target(
          'peak memory %s/%s' % (row['shape_name'], row['impl']),
          'peak vs floor <= %.2f' % MEMORY_TARGET, row['ratio'],
          _at_most(row['ratio'], MEMORY_TARGET)))
  return targets


def _target(name, criterion, value, met):
  # A measurement that could not be taken is neither met nor missed.
  return {'name': name, 'criterion': criterion, 'value': value,
          'met': None if value is None else met}


def _at_most(value, limit):
  return None if value is None else value <= limit
