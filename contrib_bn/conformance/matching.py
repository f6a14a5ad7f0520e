"""Comparison of a contrib_bn run against one golden case."""

import numpy as np

# float32: TF 1.15 and TF 2.x evaluate the same formulas, but reduction order
# inside Eigen kernels differs between releases; 1e-5 of the array's scale
# leaves ample room for that and none for a wrong formula.
FLOAT32_RTOL = 1e-5
# float16: inputs and outputs carry 11 significant bits (ULP 2**-10 ~ 1e-3);
# a different rounding of one intermediate moves an output by one or two ULPs.
FLOAT16_RTOL = 4e-3
# float64: reduction-order differences only, near 1e-15 of the scale.
FLOAT64_RTOL = 1e-9
# Arrays whose values are all below 1 are compared on an absolute scale of 1,
# so near-zero gradients do not turn rounding noise into a relative failure.
SCALE_FLOOR = 1.0

# A recording made again by the same TF release on another processor: BLAS,
# oneDNN and Eigen pick kernels by CPU feature, so reductions may round
# differently in the last bits (a float64 correlation moved from ...465 to
# ...475 between two machines). 1e-6 of max(1, |value|) absorbs that by six
# orders of magnitude and still fails a real change, such as 1e-4 relative on
# a statistic. Bit-identity is required only within one machine
# (`record_goldens.py --check_determinism`).
REPRODUCE_RTOL = 1e-6
# Half-precision arrays are rounded from wider intermediates, so a last-bit
# difference there can flip one rounding: two ULPs of the array's own dtype.
REPRODUCE_LOW_PRECISION_ULPS = 2

_RTOL = {'float16': FLOAT16_RTOL, 'bfloat16': FLOAT16_RTOL,
         'float32': FLOAT32_RTOL, 'float64': FLOAT64_RTOL}
_INPUT_KEYS = ('input', 'target')


def tolerance_for(case_dtype):
  return _RTOL.get(case_dtype, FLOAT32_RTOL)


def _array_tolerance(rtol, dtype):
  # The least precise of the case's input dtype and the array's own dtype
  # bounds the error: a float32 loss of a float64 case, float32 statistics of
  # a float16 case.
  return max(rtol, _RTOL.get(np.dtype(dtype).name, FLOAT32_RTOL))


class Comparison(object):
  """Accumulates array differences and structural mismatches of one case."""

  def __init__(self, rtol):
    self.rtol = rtol
    self.max_abs_diff = 0.0
    self.problems = []

  def problem(self, message):
    self.problems.append(message)

  def arrays(self, golden, ours, keys=None):
    """Compares `keys` (default: every golden array, and no extra ones)."""
    check_extra = keys is None
    if keys is None:
      keys = [k for k in golden if k not in _INPUT_KEYS]
    for key in keys:
      if key not in ours:
        self.problem('missing array %s' % key)
        continue
      self.array(key, golden[key], ours[key])
    if not check_extra:
      return
    for key in ours:
      if key not in golden and key not in _INPUT_KEYS:
        self.problem('unexpected array %s' % key)

  def array(self, key, expected, actual):
    expected = np.asarray(expected)
    actual = np.asarray(actual)
    if expected.shape != actual.shape:
      self.problem('%s: shape %s, TF1 %s' % (key, actual.shape,
                                              expected.shape))
      return
    if expected.dtype != actual.dtype:
      self.problem('%s: dtype %s, TF1 %s' % (key, actual.dtype,
                                              expected.dtype))
      return
    if expected.size == 0:
      return
    e = expected.astype(np.float64)
    a = actual.astype(np.float64)
    if not np.array_equal(np.isnan(e), np.isnan(a)):
      self.problem('%s: NaN pattern differs' % key)
      return
    finite = ~np.isnan(e)
    diff = float(np.max(np.abs(e[finite] - a[finite]), initial=0.0))
    scale = max(float(np.max(np.abs(e[finite]), initial=0.0)), SCALE_FLOOR)
    self.max_abs_diff = max(self.max_abs_diff, diff)
    rtol = _array_tolerance(self.rtol, expected.dtype)
    if diff > rtol * scale:
      self.problem('%s: max abs diff %.3g exceeds %.1g x scale %.3g' % (
          key, diff, rtol, scale))

  def structure(self, expected, actual):
    for key in sorted(set(expected) | set(actual)):
      if expected.get(key) != actual.get(key):
        self.problem('structure %s: contrib_bn %r, TF1 %r' % (
            key, actual.get(key), expected.get(key)))


def arrays_identical(a, b):
  """Whether two recordings ({key: array}) hold the same keys and bytes.

  For a recorder's `--check_determinism`, two recordings on one machine:
  across machines, use `reproduce_tolerance` instead.
  """
  if sorted(a) != sorted(b):
    return False
  for key in a:
    x, y = np.asarray(a[key]), np.asarray(b[key])
    if x.shape != y.shape or x.dtype != y.dtype or x.tobytes() != y.tobytes():
      return False
  return True


def reproduce_tolerance(expected, rtol=REPRODUCE_RTOL):
  """Absolute tolerance for re-recording `expected` on another processor."""
  expected = np.asarray(expected)
  if expected.dtype.kind == 'f' and expected.dtype.itemsize < 4:
    rtol = max(rtol, REPRODUCE_LOW_PRECISION_ULPS *
               float(np.finfo(expected.dtype).eps))
  values = expected.astype(np.float64)
  finite = values[np.isfinite(values)]
  return rtol * max(float(np.max(np.abs(finite), initial=0.0)), SCALE_FLOOR)


def record_differences(expected, actual, rtol=REPRODUCE_RTOL, path=''):
  """Differences between two JSON records, floats compared with a tolerance.

  Strings, ints, bools, None, dict keys and list lengths must be equal; a
  float (or an int beside a float) may differ by `rtol` of max(1, |expected|).
  NaN equals NaN and infinities must match exactly.

  Args:
    expected: the committed record (parsed JSON).
    actual: the fresh record.
    rtol: relative tolerance for floats.
    path: where in the record this is, for messages.

  Returns:
    A list of human-readable differences; empty when the records agree.
  """
  here = path or '<record>'
  numbers = (int, float)
  if (isinstance(expected, float) or isinstance(actual, float)) and (
      isinstance(expected, numbers) and isinstance(actual, numbers) and
      not isinstance(expected, bool) and not isinstance(actual, bool)):
    e, a = float(expected), float(actual)
    if np.isnan(e) or np.isnan(a):
      same = np.isnan(e) and np.isnan(a)
    elif np.isinf(e) or np.isinf(a):
      same = e == a
    else:
      same = abs(e - a) <= rtol * max(abs(e), SCALE_FLOOR)
    return [] if same else ['%s: %r, recorded %r' % (here, actual, expected)]
  if type(expected) is not type(actual):
    return ['%s: %s %r, recorded %s %r' % (
        here, type(actual).__name__, actual, type(expected).__name__,
        expected)]
  if isinstance(expected, dict):
    problems = []
    for key in sorted(set(expected) | set(actual), key=str):
      where = '%s/%s' % (path, key)
      if key not in actual:
        problems.append('%s: missing' % where)
      elif key not in expected:
        problems.append('%s: not in the recording' % where)
      else:
        problems.extend(
            record_differences(expected[key], actual[key], rtol, where))
    return problems
  if isinstance(expected, list):
    if len(expected) != len(actual):
      return ['%s: %d items, recorded %d' % (here, len(actual),
                                             len(expected))]
    problems = []
    for index, (e, a) in enumerate(zip(expected, actual)):
      problems.extend(
          record_differences(e, a, rtol, '%s[%d]' % (path, index)))
    return problems
  return [] if expected == actual else [
      '%s: %r, recorded %r' % (here, actual, expected)]
