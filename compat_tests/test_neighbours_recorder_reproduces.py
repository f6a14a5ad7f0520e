"""The committed contrib-neighbours goldens are what TF 1.15.5 records today."""

import os

from conftest import ROOT
from contrib_bn.conformance import corpus
import recordings

CORPUS = corpus.directory('contrib_neighbours')
RECORDER = os.path.join(ROOT, 'scripts', 'record_contrib_neighbours.py')


def _ids(directory):
  return corpus.recorded_ids(directory)


def _fresh(tmp_path_factory):
  return recordings.fresh_directory('CONTRIB_BN_FRESH_NEIGHBOURS', RECORDER,
                                    tmp_path_factory)


def test_neighbours_reproduce(tmp_path_factory):
  fresh = _fresh(tmp_path_factory)
  assert _ids(fresh) == _ids(CORPUS)
  assert len(_ids(CORPUS)) >= 17
  recordings.assert_records_reproduce(CORPUS, fresh, _ids(CORPUS))
  recordings.assert_arrays_reproduce(CORPUS, fresh, _ids(CORPUS))
  recordings.assert_same_checkpoints(CORPUS, fresh, _ids(CORPUS))
