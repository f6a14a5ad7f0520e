"""The TF1 programs of tests/data/scan_programs/, and names as programs reach them.

Shared by the scan tests that build those programs
(tests/test_scan_programs.py) and those that resolve every name `scan` has a
verdict on (tests/test_scan_verdicts.py), also in a process without tf_slim.
"""

import importlib
import os

import tensorflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAMS_DIR = os.path.join(ROOT, 'tests', 'data', 'scan_programs')
FIXTURE = os.path.join(ROOT, 'tests', 'data', 'scan_fixture')


def program(name):
  return os.path.join(PROGRAMS_DIR, name)


def missing_lines(report):
  """Line -> the entries of `report` missing (or dynamic) at that line."""
  found = {}
  for entry in report['names']:
    if entry['status'] in ('missing', 'dynamic'):
      for where in entry['uses']:
        found.setdefault(int(where.rsplit(':', 1)[1]), []).append(entry)
  return found


def resolve(name):
  """`name` as a program reaches it after install(), or the error it gets.

  Attributes from the root module, and where an attribute is missing, the
  submodule an import statement would reach (`tensorflow.contrib.layers.
  python.layers`, `tf_slim.nets.resnet_v1`).
  """
  parts = name.split('.')
  if '.python.' in name:
    # A legacy module path: only import statements reach it, and they get
    # the module where TF 1.15's package attribute was a function
    # (tensorflow.contrib.framework.python.ops.arg_scope).
    path = ['tensorflow'] + parts[1:]
    for end in range(len(path), 1, -1):
      try:
        value = importlib.import_module('.'.join(path[:end]))
      except ImportError:
        continue
      parts = path[end:]
      break
  elif parts[0] == 'tf_slim':
    value, parts = importlib.import_module('tf_slim'), parts[1:]
  elif name.startswith('tf.contrib'):
    value, parts = importlib.import_module('tensorflow'), parts[1:]
  else:
    value, parts = tf.compat.v1, parts[1:]
  for part in parts:
    try:
      value = getattr(value, part)
    except AttributeError as error:
      if getattr(value, '__path__', None) is None:
        raise
      try:
        value = importlib.import_module(value.__name__ + '.' + part)
      except ImportError:
        raise error from None
  return value
