"""The committed distributed corpus is what TF 1.15.5 records today."""

import os

import pytest

from conftest import ROOT
from conftest import matching
from contrib_bn.conformance import corpus
import recordings

CORPUS = corpus.directory('distributed')
RECORDER = os.path.join(ROOT, 'scripts', 'record_distributed.py')


@pytest.fixture(scope='module')
def fresh_corpus(tmp_path_factory):
  return recordings.fresh_directory('CONTRIB_BN_FRESH_DISTRIBUTED', RECORDER,
                                    tmp_path_factory)


def _ids(directory):
  return corpus.manifest_ids(directory)


def test_same_cases(fresh_corpus):
  assert (recordings.load_json(fresh_corpus, 'manifest.json') ==
          recordings.load_json(CORPUS, 'manifest.json'))


def test_placement_reproduces(fresh_corpus):
  problems = matching.record_differences(
      recordings.load_json(CORPUS, 'placement.json'),
      recordings.load_json(fresh_corpus, 'placement.json'))
  assert not problems, '\n'.join(problems[:20])


def test_records_reproduce(fresh_corpus):
  recordings.assert_records_reproduce(CORPUS, fresh_corpus, _ids(CORPUS))


def test_arrays_reproduce(fresh_corpus):
  recordings.assert_arrays_reproduce(CORPUS, fresh_corpus, _ids(CORPUS))


def test_checkpoints_recorded(fresh_corpus):
  recordings.assert_same_checkpoints(CORPUS, fresh_corpus, _ids(CORPUS))
