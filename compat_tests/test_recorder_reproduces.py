"""The committed corpus is what TF 1.15.5 records today, run after run."""

import os

import pytest

from conftest import ROOT
from contrib_bn import constants
from contrib_bn.conformance import corpus
import recordings

CORPUS = corpus.directory('tf' + constants.TF1_VERSION)
RECORDER = os.path.join(ROOT, 'scripts', 'record_goldens.py')


@pytest.fixture(scope='module')
def fresh_corpus(tmp_path_factory):
  return recordings.fresh_directory('CONTRIB_BN_FRESH_CORPUS', RECORDER,
                                    tmp_path_factory)


def _ids(directory):
  return corpus.manifest_ids(directory)


def test_same_case_ids(fresh_corpus):
  assert _ids(fresh_corpus) == _ids(CORPUS)


def test_records_reproduce(fresh_corpus):
  recordings.assert_records_reproduce(CORPUS, fresh_corpus, _ids(CORPUS))


def test_arrays_reproduce(fresh_corpus):
  recordings.assert_arrays_reproduce(CORPUS, fresh_corpus, _ids(CORPUS))


def test_checkpoints_recorded(fresh_corpus):
  recordings.assert_same_checkpoints(CORPUS, fresh_corpus, _ids(CORPUS))
