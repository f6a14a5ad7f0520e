"""TF 1.15's batch-norm behaviour, checked on contrib_bn (see bn_behaviour)."""

import pytest
import tensorflow as tf_module

import contrib_bn
from bn_behaviour import *  # pylint: disable=wildcard-import,unused-wildcard-import


@pytest.fixture
def tf():
  return tf_module


@pytest.fixture
def batch_norm():
  return contrib_bn.batch_norm


@pytest.fixture
def nchw_fused_on_cpu():
  return True
