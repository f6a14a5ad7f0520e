"""Shared fixtures of the TF 2.x tests, and the shared helpers' import path.

The helper modules in tests/ (shared contracts such as `bn_behaviour`, case
tables such as `era_checkpoints`) are imported by name; both test trees put
tests/ on the path for that.
"""

import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def copy_golden():
  """`copy(directory, case_id)`: one packaged golden case, checkpoint too."""
  from contrib_bn.conformance import goldens  # pylint: disable=g-import-not-at-top

  def copy(directory, case_id):
    source = goldens.DEFAULT_DIR
    for suffix in ('.json', '.npz'):
      shutil.copy('%s/%s%s' % (source, case_id, suffix), str(directory))
    (directory / 'checkpoints').mkdir()
    for suffix in ('.index', '.data-00000-of-00001'):
      shutil.copy('%s/checkpoints/%s%s' % (source, case_id, suffix),
                  str(directory / 'checkpoints'))

  return copy
