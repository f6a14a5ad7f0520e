"""Placement under replica_device_setter, on TF 1.15.5's own layers.

The source of the expected devices in tests/ps_placement.py.
"""

import pytest
import tensorflow as tf_module

from ps_placement import PsPlacementContract


class TestTf115Placement(PsPlacementContract):
  """The contract on `tf.compat.v1.layers` and `tf.contrib.layers`."""

  @pytest.fixture
  def tf(self):
    return tf_module

  @pytest.fixture
  def layers(self):
    return tf_module.compat.v1.layers

  @pytest.fixture
  def contrib_batch_norm(self):
    return tf_module.contrib.layers.batch_norm
