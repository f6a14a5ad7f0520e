"""The committed fetch-pattern corpus is what TF 1.15.5 records today."""

import os

import pytest

from conftest import ROOT
from conftest import matching
from contrib_bn.conformance import fetches
import recordings

CORPUS = fetches.DEFAULT_DIR
RECORDER = os.path.join(ROOT, 'scripts', 'record_fetches.py')


@pytest.fixture(scope='module')
def fresh_corpus(tmp_path_factory):
  return recordings.fresh_directory('CONTRIB_BN_FRESH_FETCHES', RECORDER,
                                    tmp_path_factory)


def test_fetch_patterns_reproduce(fresh_corpus):
  problems = matching.record_differences(
      fetches.load(CORPUS), fetches.load(fresh_corpus))
  assert not problems, '\n'.join(problems[:20])


def _moved(record, fetch):
  after = record['after'][fetch]
  return sorted(k for k, v in after.items() if v != record['initial'][k])


def test_the_two_forced_placements_differ_on_gradient_fetches(fresh_corpus):
  # The point of the corpus: TF 1.15's fused path forced its updates around
  # the output, its moments path around the batch statistics, and a gradient
  # of a loss linear in the output tells them apart.
  records = {r['id']: r for r in fetches.load(fresh_corpus)['records']}
  assert not _moved(records['forced_fused_r4'], 'input_grad')
  assert _moved(records['forced_unfused_r4'], 'input_grad')
  assert _moved(records['forced_unfused_r4'], 'param_grads')
  assert not _moved(records['update_ops_r4'], 'loss')
  assert _moved(records['update_ops_r4'], 'train_op')
