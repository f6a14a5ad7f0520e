"""Reading the golden corpus: one `<id>.json` and `<id>.npz` per case."""

import json
import os

import numpy as np

REFERENCE = 'TF 1.15.5'
DEFAULT_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'goldens',
    'tf1.15.5')
REGENERATE_HINT = (
    'regenerate with Python 3.7 and TensorFlow 1.15.5: '
    'python scripts/record_goldens.py --filter "^<case id>$"')


class Golden(object):
  """One recorded case: its record (case, structure or error) and arrays."""

  def __init__(self, directory, case_id):
    self.directory = directory
    self.id = case_id
    json_path = os.path.join(directory, case_id + '.json')
    npz_path = os.path.join(directory, case_id + '.npz')
    for path in (json_path, npz_path):
      if not os.path.exists(path):
        raise FileNotFoundError('golden file %s is missing; %s' %
                                (path, REGENERATE_HINT))
    with open(json_path) as f:
      self.record = json.load(f)
    with np.load(npz_path) as data:
      self.arrays = {key: data[key] for key in data.files}

  @property
  def case(self):
    return self.record['case']

  @property
  def error(self):
    return self.record.get('error')

  @property
  def derived(self):
    return bool(self.record.get('derived'))

  @property
  def checkpoint_prefix(self):
    prefix = os.path.join(self.directory, 'checkpoints', self.id)
    return prefix if os.path.exists(prefix + '.index') else None


def case_ids(directory=DEFAULT_DIR):
  """Case ids listed in the corpus manifest, in catalogue order."""
  with open(os.path.join(directory, 'manifest.json')) as f:
    return list(json.load(f)['cases'])


def load(case_id, directory=DEFAULT_DIR):
  return Golden(directory, case_id)
