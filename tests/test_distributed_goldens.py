"""contrib_bn against the distributed corpus TF 1.15.5 recorded."""

import numpy as np
import pytest

from contrib_bn.conformance import distributed
from contrib_bn.conformance import verify_distributed

CASE_IDS = verify_distributed.case_ids()
PLACEMENT = verify_distributed.placement_goldens()


def test_corpus_lists_every_case():
  assert CASE_IDS == distributed.case_ids()
  assert sorted(PLACEMENT) == sorted(
      c['id'] for c in distributed.PLACEMENT_CASES)


@pytest.mark.parametrize('case_id', CASE_IDS)
def test_distributed_case(case_id, tmp_path):
  golden = verify_distributed.Golden(verify_distributed.DEFAULT_DIR, case_id)
  result = verify_distributed.verify_case(golden, str(tmp_path))
  assert result.ok, '\n'.join(result.problems)


@pytest.mark.parametrize('case_id', sorted(PLACEMENT))
def test_ps_placement(case_id):
  assert verify_distributed.verify_placement(case_id, PLACEMENT[case_id]) == []


def test_perturbed_copy_is_reported(tmp_path):
  golden = verify_distributed.Golden(verify_distributed.DEFAULT_DIR,
                                     'dist_fused_r2')
  key = 'trained/var/bn/moving_mean/copy1'
  golden.arrays[key] = golden.arrays[key] + np.float32(1e-3)
  result = verify_distributed.verify_case(golden, str(tmp_path))
  assert any(key in p for p in result.problems)


def test_moved_variable_is_reported():
  recorded = dict(PLACEMENT['ps_fused_zd_r4'])
  placement = {'variables': dict(recorded['placement']['variables']),
               'writes': recorded['placement']['writes']}
  placement['variables']['bn/bn/moving_mean/biased'] = '/job:ps/task:7'
  problems = verify_distributed.verify_placement(
      'ps_fused_zd_r4', {'case': recorded['case'], 'placement': placement})
  assert any('biased' in p for p in problems)
