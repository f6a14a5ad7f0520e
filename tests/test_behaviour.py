"""TF 1.15's batch-norm behaviour, checked on contrib_bn (see bn_behaviour)."""

import numpy as np
import pytest
import tensorflow as tf_module

import contrib_bn
from bn_behaviour import BatchNormContract


class TestContribBn(BatchNormContract):
  """The shared contract, on `contrib_bn.batch_norm` under TF 2.x."""

  @pytest.fixture
  def tf(self):
    return tf_module

  @pytest.fixture
  def batch_norm(self):
    return contrib_bn.batch_norm

  @pytest.fixture
  def nchw_fused_on_cpu(self):
    return True


@pytest.mark.parametrize('rank', [2, 3])
def test_zero_debias_under_a_partitioner(rank):
  """TF 1.15 partitioned the zero-debias state here and failed to build."""
  x = np.ones([4, 3] if rank == 2 else [4, 2, 3], np.float32)
  with tf_module.Graph().as_default():
    partitioner = tf_module.compat.v1.fixed_size_partitioner(3)
    with tf_module.compat.v1.variable_scope('p', partitioner=partitioner):
      contrib_bn.batch_norm(tf_module.constant(x),
                            zero_debias_moving_mean=True)
    names = [v.op.name for v in tf_module.compat.v1.global_variables()]
  assert 'p/BatchNorm/p/BatchNorm/moving_mean/biased' in names
  assert 'p/BatchNorm/p/BatchNorm/moving_mean/local_step' in names
