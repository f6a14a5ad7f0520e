"""What an exported Keras layer is held to: contrib_bn's own inference.

Shared by `test_keras_export.py` and the `export-keras` tests of
`test_cli.py`.
"""

from contrib_bn.conformance import verify_single_device

# Keras evaluates x * rsqrt(var + eps) * gamma + (beta - mean * ...) in
# float32 as TF's unfused inference does; the fused kernel orders the same
# operations differently. Outputs are of magnitude ~3, where a float32 ulp is
# 2.4e-7: a few ulps of rounding, and nothing a wrong statistic would give.
KERAS_ATOL = 1e-6


def contrib_bn_inference(golden):
  """contrib_bn's inference output, restored from the case's checkpoint."""
  outputs = verify_single_device.restore_and_infer(golden, golden.checkpoint_prefix)
  assert len(outputs) == 1
  return outputs[0]
