"""The single-device golden corpus: one `<id>.json` and `<id>.npz` per case.

Read through `contrib_bn.conformance.corpus`, as every corpus is.
"""

from contrib_bn import constants
from contrib_bn.conformance import corpus

REFERENCE = 'TF ' + constants.TF1_VERSION
DEFAULT_DIR = corpus.directory('tf' + constants.TF1_VERSION)
REGENERATE_HINT = (
    'regenerate with Python 3.7 and TensorFlow %s: '
    'python scripts/record_goldens.py --filter "^<case id>$"'
    % constants.TF1_VERSION)


class Golden(corpus.Case):
  """One recorded case: its record (case, structure or error) and arrays."""

  def __init__(self, directory, case_id):
    super(Golden, self).__init__(directory, case_id, REGENERATE_HINT)

  @property
  def derived(self):
    return bool(self.record.get('derived'))


def case_ids(directory=DEFAULT_DIR):
  """Case ids listed in the corpus manifest, in catalogue order."""
  return corpus.manifest_ids(directory)


def load(case_id, directory=DEFAULT_DIR):
  return Golden(directory, case_id)
