"""The committed goldens of tf.layers' neighbours are what TF 1.15.5 records today."""

import os

import pytest

from conftest import ROOT
import recordings

CORPUS = os.path.join(ROOT, 'contrib_bn', 'goldens', 'tf_layers_neighbours')
RECORDER = os.path.join(ROOT, 'scripts', 'record_tf_layers_neighbours.py')


@pytest.fixture(scope='module')
def fresh(tmp_path_factory):
  return recordings.fresh_directory('CONTRIB_BN_FRESH_TF_LAYERS_NEIGHBOURS', RECORDER,
                                    tmp_path_factory)


def _ids(directory, suffix='.json'):
  return sorted(n[:-len(suffix)] for n in os.listdir(directory)
                if n.endswith(suffix))


def test_same_cases(fresh):
  assert _ids(fresh) == _ids(CORPUS)
  assert len(_ids(CORPUS)) >= 45
  # Cases that raise have a record and nothing else, in both.
  assert _ids(fresh, '.npz') == _ids(CORPUS, '.npz')


def test_records_reproduce(fresh):
  recordings.assert_records_reproduce(CORPUS, fresh, _ids(CORPUS))


def test_arrays_reproduce(fresh):
  recordings.assert_arrays_reproduce(CORPUS, fresh, _ids(CORPUS, '.npz'))


def test_checkpoints_reproduce(fresh):
  recordings.assert_same_checkpoints(CORPUS, fresh, _ids(CORPUS))
