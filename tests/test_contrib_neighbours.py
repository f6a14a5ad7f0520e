"""batch_norm's tf.contrib.layers neighbours on TF 2, against TF 1.15.5 goldens.

After `contrib_bn.install()`, fully_connected, conv2d, conv2d_transpose,
flatten, layer_norm, instance_norm, max_pool2d and dropout are tf_slim's (see
contrib_bn.compat.layers_registry). Each case of
contrib_bn/conformance/neighbours.py is built here from
`tf.compat.v1.contrib.layers` and `tf.contrib.framework.arg_scope`, the
TF 1.15.5 checkpoint of its case is restored, and the variables, collections,
output name, outputs, loss, gradients and one SGD step must match what
TF 1.15.5 recorded (scripts/record_contrib_neighbours.py). Tolerances are
contrib_bn.conformance.compare's (FLOAT32_RTOL of the array's scale).
"""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

import contrib_bn
from contrib_bn.conformance import compare
from contrib_bn.conformance import neighbours

v1 = tf.compat.v1
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDENS = os.path.join(_ROOT, 'contrib_bn', 'goldens', 'contrib_neighbours')
_REGENERATE = ('regenerate with: .venvs/tf115/bin/python '
               'scripts/record_contrib_neighbours.py --filter ^%s$ '
               '--check_determinism')


@pytest.fixture(autouse=True)
def installed():
  contrib_bn.install()
  yield
  contrib_bn.uninstall()


# (TF 1.15.5's output tensor name, TF 2's) where they differ. In training
# mode TF 2's tf.nn.dropout, which tf_slim's dropout calls as TF 1.15's did,
# ends in a SelectV2 where TF 1.15's ended in a Mul; the mask (same seeds,
# same stateful kernel) and the values agree. Code that fetched the TF1
# tensor by name must use the tensor dropout returns instead.
OUTPUT_NAME_DIFFERENCES = {
    'dropout_train_seeded': ('Dropout/dropout_1/mul_1:0',
                             'Dropout/dropout_1/SelectV2:0'),
}


def _golden(case_id):
  json_path = os.path.join(GOLDENS, case_id + '.json')
  npz_path = os.path.join(GOLDENS, case_id + '.npz')
  for path in (json_path, npz_path):
    assert os.path.exists(path), 'missing golden %s; %s' % (
        path, _REGENERATE % case_id)
  with open(json_path) as f:
    record = json.load(f)
  with np.load(npz_path) as arrays:
    return record, {k: arrays[k] for k in arrays.files}


def replay(case_id):
  """(structure, arrays) of a case built and run on TF 2 after install()."""
  case = neighbours.case_by_id(case_id)
  _, golden_arrays = _golden(case_id)
  checkpoint = os.path.join(GOLDENS, 'checkpoints', case_id)
  graph = tf.Graph()
  with graph.as_default():
    built = neighbours.build(v1, tf.compat.v1.contrib.layers,
                             tf.compat.v1.contrib.framework.arg_scope, case)
    structure = neighbours.structure(v1, built)
    with v1.Session(graph=graph) as session:
      if v1.global_variables():
        assert os.path.exists(checkpoint + '.index'), (
            'no TF1 checkpoint for %s; %s' % (case_id,
                                              _REGENERATE % case_id))
        v1.train.Saver().restore(session, checkpoint)
      arrays = neighbours.run(v1, session, built, golden_arrays['input'])
  return structure, arrays


def test_every_case_has_a_golden():
  recorded = sorted(name[:-len('.json')] for name in os.listdir(GOLDENS)
                    if name.endswith('.json'))
  assert recorded == sorted(neighbours.case_ids())


@pytest.mark.parametrize('case_id', neighbours.case_ids())
def test_case_matches_tf1(case_id):
  record, golden_arrays = _golden(case_id)
  structure, arrays = replay(case_id)
  comparison = compare.Comparison(compare.FLOAT32_RTOL)
  expected = record['structure']
  if case_id in OUTPUT_NAME_DIFFERENCES:
    assert (expected['output']['name'], structure['output']['name']) == (
        OUTPUT_NAME_DIFFERENCES[case_id])
    expected = dict(expected, output=dict(
        expected['output'], name=structure['output']['name']))
  comparison.structure(expected, structure)
  comparison.arrays(golden_arrays, arrays)
  assert not comparison.problems, '%s:\n%s' % (
      case_id, '\n'.join(comparison.problems))
  print('%s: max abs diff %.3g' % (case_id, comparison.max_abs_diff))


def test_arg_scope_reaches_tf_slim_layers():
  # The wrapper that lets tf.contrib.framework.arg_scope reach tf_slim's
  # layers: without it the arg_scope cases above would be refused.
  record, _ = _golden('arg_scope_fc_batch_norm_train')
  names = [v[0] for v in record['structure']['variables']]
  assert 'fc1/BatchNorm/moving_mean' in names
  structure, _ = replay('arg_scope_fc_batch_norm_train')
  assert [v[0] for v in structure['variables']] == names
