"""The shared behaviour tests, run against TF 1.15.5's own contrib layer."""

import pytest
import tensorflow as tf_module

from bn_behaviour import BatchNormContract


class TestTf115Contrib(BatchNormContract):
  """The shared contract, on `tf.contrib.layers.batch_norm` of TF 1.15.5."""

  @pytest.fixture
  def tf(self):
    return tf_module

  @pytest.fixture
  def batch_norm(self):
    return tf_module.contrib.layers.batch_norm

  @pytest.fixture
  def nchw_fused_on_cpu(self):
    return False
