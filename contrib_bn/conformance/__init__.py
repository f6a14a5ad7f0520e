"""Conformance with TF 1.15.5: case catalogues, harness, goldens, verify.

`cases`, `harness`, `bad_inputs` (and its runner) and `distributed` import
only the standard library and NumPy (the TensorFlow module is passed in), so
the TF 1.15 recorders import them without the rest of the package.
"""
