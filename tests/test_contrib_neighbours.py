"""batch_norm's tf.contrib.layers neighbours on TF 2, against TF 1.15.5 goldens.

After `contrib_bn.install()`, fully_connected, conv2d, conv2d_transpose,
flatten, layer_norm, instance_norm, max_pool2d and dropout are tf_slim's (see
contrib_bn.compat.layers_registry). Each case of
contrib_bn/conformance/neighbours.py is built here from
`tf.compat.v1.contrib.layers` and `tf.contrib.framework.arg_scope`, the
TF 1.15.5 checkpoint of its case is restored, and the variables, collections,
output name, outputs, loss, gradients and one SGD step must match what
TF 1.15.5 recorded (scripts/record_contrib_neighbours.py). Tolerances are
contrib_bn.conformance.matching's (FLOAT32_RTOL of the array's scale).
"""

import os

import pytest
import tensorflow as tf

from contrib_bn.conformance import matching
from contrib_bn.conformance import neighbours
import golden_replay

v1 = tf.compat.v1
CORPUS = golden_replay.Corpus('contrib_neighbours',
                              'record_contrib_neighbours.py')


pytestmark = pytest.mark.usefixtures('installed')


# (TF 1.15.5's output tensor name, TF 2's) where they differ. In training
# mode TF 2's tf.nn.dropout, which tf_slim's dropout calls as TF 1.15's did,
# ends in a SelectV2 where TF 1.15's ended in a Mul; the mask (same seeds,
# same stateful kernel) and the values agree. Code that fetched the TF1
# tensor by name must use the tensor dropout returns instead.
OUTPUT_NAME_DIFFERENCES = {
    'dropout_train_seeded': ('Dropout/dropout_1/mul_1:0',
                             'Dropout/dropout_1/SelectV2:0'),
}


def replay(case_id):
  """(structure, arrays) of a case built and run on TF 2 after install()."""
  case = neighbours.case_by_id(case_id)
  _, golden_arrays = CORPUS.golden(case_id)
  checkpoint = CORPUS.checkpoint(case_id)
  graph = tf.Graph()
  with graph.as_default():
    built = neighbours.build(v1, tf.compat.v1.contrib.layers,
                             tf.compat.v1.contrib.framework.arg_scope, case)
    structure = neighbours.structure(v1, built)
    with v1.Session(graph=graph) as session:
      if v1.global_variables():
        assert os.path.exists(checkpoint + '.index'), (
            'no TF1 checkpoint for %s; %s' % (case_id,
                                              CORPUS.regenerate(case_id)))
        v1.train.Saver().restore(session, checkpoint)
      arrays = neighbours.run(v1, session, built, golden_arrays['input'])
  return structure, arrays


def test_every_case_has_a_golden():
  assert CORPUS.case_ids() == sorted(neighbours.case_ids())


@pytest.mark.parametrize('case_id', neighbours.case_ids())
def test_case_matches_tf1(case_id):
  record, golden_arrays = CORPUS.golden(case_id)
  structure, arrays = replay(case_id)
  expected = record['structure']
  if case_id in OUTPUT_NAME_DIFFERENCES:
    assert (expected['output']['name'], structure['output']['name']) == (
        OUTPUT_NAME_DIFFERENCES[case_id])
    expected = dict(expected, output=dict(
        expected['output'], name=structure['output']['name']))
  golden_replay.assert_matches(case_id, matching.FLOAT32_RTOL, expected,
                               structure, golden_arrays, arrays)


def test_arg_scope_reaches_tf_slim_layers():
  # The wrapper that lets tf.contrib.framework.arg_scope reach tf_slim's
  # layers: without it the arg_scope cases above would be refused.
  record, _ = CORPUS.golden('arg_scope_fc_batch_norm_train')
  names = [v[0] for v in record['structure']['variables']]
  assert 'fc1/BatchNorm/moving_mean' in names
  structure, _ = replay('arg_scope_fc_batch_norm_train')
  assert [v[0] for v in structure['variables']] == names
