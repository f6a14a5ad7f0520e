"""Likely causes of a regression divergence, read from the recorded arrays.

`compare.compare_recording` asks these for the batch-norm layer of the first
divergence: a different dtype or internal path (fused kernel or not), a
different epsilon (and TF 1.15's floor on the fused kernel's), different
scalar constants, update ops that did not run, and, from the first
moving-average update, a different decay or a Bessel-corrected variance;
then for what the whole run shows (training agrees but inference does not,
update ops the train op skips). Each hint is one line naming the scope.
"""

import numpy as np

# How closely the per-channel (1 - decay) implied by an n/(n-1) scaling must
# agree to name Bessel's correction: float32 rounding of small updates only.
BESSEL_RATIO_TOLERANCE = 1e-2
# Relative difference of first updates below which they count as equal:
# float32 rounding of an update of size ~1e-3 stays far below it.
UPDATE_RATIO_TOLERANCE = 1e-3


def _numbers(values):
  return '[%s]' % ', '.join('%.6g' % v for v in values)


def layer_hints(scope, tf1_layer, tf2_layer, tf1, tf2, steps):
  """Likely causes for one diverging batch-norm layer."""
  hints = []
  if tf2_layer is None:
    return ['%s: contrib_bn built no layer there' % scope]
  if tf1_layer['dtype'] != tf2_layer['dtype']:
    hints.append('dtype: %s outputs %s on TF 1.15 and %s on TF 2' % (
        scope, tf1_layer['dtype'], tf2_layer['dtype']))
  if bool(tf1_layer['fused_kernels']) != bool(tf2_layer['fused_kernels']):
    hints.append('path: %s: TF 1.15 ran %s, contrib_bn ran %s (check '
                 'fused=, renorm=, zero_debias_moving_mean=, '
                 'updates_collections=)' % (
                     scope,
                     'the fused kernel' if tf1_layer['fused_kernels'] else
                     'the non-fused ops',
                     'the fused kernel' if tf2_layer['fused_kernels'] else
                     'the non-fused ops'))
  elif tf1_layer['fused_epsilons'] != tf2_layer['fused_epsilons']:
    floor = 1.001e-5
    at_floor = any(abs(e - floor) < 1e-9 for e in
                   tf1_layer['fused_epsilons'] + tf2_layer['fused_epsilons'])
    hints.append('%s: the fused kernel of %s used epsilon %s on TF 1.15 and %s '
                 'on TF 2%s' % (
                     'epsilon floor' if at_floor else 'epsilon', scope,
                     _numbers(tf1_layer['fused_epsilons']),
                     _numbers(tf2_layer['fused_epsilons']),
                     ' (TF 1.15 raises epsilon to at least 1.001e-5 there)'
                     if at_floor else ''))
  only1 = sorted(set(tf1_layer['scalar_constants']) -
                 set(tf2_layer['scalar_constants']))
  only2 = sorted(set(tf2_layer['scalar_constants']) -
                 set(tf1_layer['scalar_constants']))
  if only1 or only2:
    hints.append('arguments: scalar constants of %s differ, TF 1.15 only %s, '
                 'TF 2 only %s (epsilon, decay or renorm clipping?)' % (
                     scope, _numbers(only1), _numbers(only2)))
  mean_key = 'moving/%s/moving_mean' % scope
  if steps >= 2:
    m0 = 'step0/' + mean_key
    last = 'step%d/' % (steps - 1)
    moved1 = moved2 = True
    if m0 in tf1 and last + mean_key in tf1 and last + mean_key in tf2:
      moved1 = not np.array_equal(tf1[m0], tf1[last + mean_key])
      moved2 = not np.array_equal(tf2[m0], tf2[last + mean_key])
      if moved1 and not moved2:
        hints.append('update ops not run: %s moving statistics changed on TF '
                     '1.15 but stayed at their initial values on TF 2' % scope)
      elif moved2 and not moved1:
        hints.append('update ops: %s moving statistics stayed on TF 1.15 but '
                     'changed on TF 2' % scope)
    if moved1 and moved2:
      hints.extend(update_hints(scope, tf1, tf2))
  return hints


def update_hints(scope, tf1, tf2):
  """Decay and Bessel-correction hints from the first moving-average update.

  An update moves a statistic by c * (batch value - old) with c = 1 - decay.
  Both sides start from the same old values and, at step 0, see the same
  batch. Equal decays give equal moving-mean updates. With equal decays, a
  batch variance scaled by f = n/(n-1) on one side fits one common c for
  every channel: c = (d2 - f d1) / (old (f - 1)).
  """
  keys = {}
  for statistic in ('moving_mean', 'moving_variance'):
    key = 'moving/%s/%s' % (scope, statistic)
    if not all('step%d/%s' % (i, key) in run for i in (0, 1)
               for run in (tf1, tf2)):
      return []
    keys[statistic] = key
  old_mean = tf1['step0/' + keys['moving_mean']].astype(np.float64)
  dm1 = tf1['step1/' + keys['moving_mean']] - old_mean
  dm2 = tf2['step1/' + keys['moving_mean']] - old_mean
  usable = np.abs(dm1) > 1e-6
  if np.any(usable):
    ratio = float(np.median(dm2[usable] / dm1[usable]))
    if abs(ratio - 1.0) > UPDATE_RATIO_TOLERANCE:
      return ['decay: the first moving-mean update of %s is %.4g times the '
              'TF 1.15 one, so (1 - decay) differs by that factor' %
              (scope, ratio)]
  old = tf1['step0/' + keys['moving_variance']].astype(np.float64)
  d1 = tf1['step1/' + keys['moving_variance']] - old
  d2 = tf2['step1/' + keys['moving_variance']] - old
  if np.allclose(d1, d2, rtol=UPDATE_RATIO_TOLERANCE, atol=1e-7):
    return []
  output_key = 'step0/layer/' + scope
  if output_key not in tf1 or not old.size or np.any(old == 0.0):
    return []
  n = tf1[output_key].size // old.size
  if n < 2:
    return []
  for f, name in ((n / (n - 1.0), 'n/(n-1)'), ((n - 1.0) / n, '(n-1)/n')):
    c = (d2 - f * d1) / (old * (f - 1.0))
    if np.all(c > 0.0) and np.all(c < 1.0) and (
        np.ptp(c) <= BESSEL_RATIO_TOLERANCE * np.max(c)):
      return ['Bessel correction: the first moving-variance update of %s '
              'fits a batch variance scaled by %s (n=%d) on TF 2, as the '
              'fused kernel does; the moving-mean update agrees' %
              (scope, name, n)]
  return ['variance: the moving-mean update of %s agrees but the '
          'moving-variance update differs' % scope]


def global_hints(result_entries, unwired):
  """Likely causes read from the whole comparison.

  Args:
    result_entries: the compared arrays (`compare.Entry` records).
    unwired: scopes whose update ops the TF 2 train op does not run.

  Returns:
    A list of hint strings.
  """
  hints = []
  training = [e for e in result_entries
              if e.group in ('layer', 'output', 'loss')]
  inference = [e for e in result_entries if e.group.startswith('inference')]
  if training and inference and not any(e.diverged for e in training) and any(
      e.diverged for e in inference):
    hints.append('is_training wiring or moving statistics: every training '
                 'step agrees but inference does not; check that is_training '
                 'reaches every batch_norm and that the update ops run')
  if unwired:
    hints.append('update ops not run: on TF 2 the train op skips the updates '
                 'of %s (see contrib_bn.check_update_ops)' %
                 ', '.join(unwired))
  return hints
