"""Interleaved repetitions and the statistics of their samples.

Repetitions of the implementations being compared are interleaved (A, B, C,
A, B, C, ..., each repetition starting one further along) so that drift in
machine load affects all of them alike; figures are medians, and a ratio
against the floor is the median of per-repetition ratios.
"""

import math
import os
import statistics
import sys
import time

_START = time.time()


def log(message):
  print('[%6.1fs] %s' % (time.time() - _START, message), file=sys.stderr,
        flush=True)


def rotated(items, start):
  start %= max(len(items), 1)
  return items[start:] + items[:start]


def median(values):
  return statistics.median(values) if values else None


def load_average():
  """1-minute load average, or None where the OS does not tell."""
  try:
    return os.getloadavg()[0]
  except OSError:
    return None


def ms(seconds):
  return None if not seconds else median(seconds) * 1000.0


def paired_ratio(own, floor):
  # Each repetition of a path is paired with the floor of the same
  # repetition, so slow drift cancels out of the ratio.
  if not own or not floor:
    return None
  return median([a / b for a, b in zip(own, floor)])


def ratio_spread(own, floor):
  """Half the interquartile range of the paired ratios (0 for < 4 pairs)."""
  if not own or not floor:
    return None
  ratios = sorted(a / b for a, b in zip(own, floor))
  if len(ratios) < 4:
    return 0.0
  quartiles = statistics.quantiles(ratios, n=4)
  return (quartiles[2] - quartiles[0]) / 2.0


def steps_per_rep(seconds_per_step, rep_seconds):
  """Steps in one timed repetition of about `rep_seconds`."""
  return int(min(2000, max(1, math.ceil(
      rep_seconds / max(seconds_per_step, 1e-6)))))


def fmt(value, digits=3):
  if value is None:
    return 'n/a'
  if isinstance(value, float):
    return '%.*f' % (digits, value)
  return str(value)
