"""Every golden case of TF 1.15.5 reproduced by contrib_bn, one test per case."""

import os
import shutil

import numpy as np
import pytest

from contrib_bn.conformance import goldens
from contrib_bn.conformance import parity
from contrib_bn.conformance import verify_single_device
from contrib_bn.conformance import verify_tf_layers

CASE_IDS = goldens.case_ids()


def test_corpus_is_complete():
  from contrib_bn.conformance import cases  # pylint: disable=g-import-not-at-top
  assert CASE_IDS == [c['id'] for c in cases.all_cases()]
  assert len(CASE_IDS) >= 80 + 40 + 15


@pytest.fixture(scope='module')
def results():
  """Every case verified once; the per-case tests report their own."""
  return {r.case_id: r for r in verify_single_device.run(out=lambda line: None)}


@pytest.mark.parametrize('case_id', CASE_IDS)
def test_golden_case(results, case_id):
  result = results[case_id]
  assert result.ok, '\n'.join(result.problems)


@pytest.fixture(scope='module')
def tf_layers_results():
  """The tf.layers corpora, which the parity table counts too (test_tf_layers
  and test_tf_layers_neighbours verify them case by case)."""
  return [r for _, found in verify_tf_layers.run(out=lambda line: None)
          for r in found]


@pytest.mark.parametrize('page', ['README.md', 'docs/parity.md'])
def test_published_parity_table_is_current(results, tf_layers_results, page):
  path = os.path.join(os.path.dirname(os.path.dirname(
      os.path.abspath(__file__))), page)
  with open(path) as f:
    published = parity.extract(f.read())
  generated = parity.table(list(results.values()) + tf_layers_results)
  assert parity.counts_only(published) == parity.counts_only(generated), (
      '%s parity table is stale: run scripts/update_parity_table.py' % page)


def test_perturbed_golden_is_reported(tmp_path, copy_golden):
  case_id = 'default_r4_nhwc'
  copy_golden(tmp_path, case_id)
  path = tmp_path / (case_id + '.npz')
  with np.load(str(path)) as data:
    arrays = {k: data[k] for k in data.files}
  arrays['var/BatchNorm/moving_mean'] = (
      arrays['var/BatchNorm/moving_mean'] + np.float32(1e-3))
  np.savez(str(path), **arrays)
  result = verify_single_device.verify_case(goldens.Golden(str(tmp_path), case_id))
  assert not result.ok
  assert any('var/BatchNorm/moving_mean' in p for p in result.problems)


def test_missing_checkpoint_is_reported(tmp_path, copy_golden):
  case_id = 'default_r2_nhwc'
  copy_golden(tmp_path, case_id)
  shutil.rmtree(str(tmp_path / 'checkpoints'))
  result = verify_single_device.verify_case(goldens.Golden(str(tmp_path), case_id))
  assert any('checkpoint missing' in p for p in result.problems)


def test_missing_golden_names_regeneration(tmp_path):
  with pytest.raises(FileNotFoundError, match='record_goldens.py'):
    goldens.Golden(str(tmp_path), 'no_such_case')
