"""Placement under replica_device_setter, checked on contrib_bn.

TF 1.15.5's placement (see ps_placement) of `contrib_bn.layers`, which
`install()` serves as `tf.compat.v1.layers`, and of `contrib_bn.batch_norm`.
"""

import pytest
import tensorflow as tf_module

import contrib_bn
from ps_placement import PsPlacementContract


class TestContribBnPlacement(PsPlacementContract):
  """The contract on `contrib_bn.layers` and `contrib_bn.batch_norm`."""

  @pytest.fixture
  def tf(self):
    return tf_module

  @pytest.fixture
  def layers(self):
    return contrib_bn.layers

  @pytest.fixture
  def contrib_batch_norm(self):
    return contrib_bn.batch_norm
