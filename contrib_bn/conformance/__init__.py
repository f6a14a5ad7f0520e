"""Conformance with TF 1.15.5: case catalogues, harness, goldens, verify.

What the TF 1.15 recorders run (`cases`, `harness`, `bad_inputs` and its
runner, `distributed`, `fetches`, `migration`, `slim_nets`, ...) and
`corpus`, which reads and writes every golden, import only the standard
library and NumPy (the TensorFlow module is passed in, or imported when
called); under TF 1.15 they are imported after `tf1_import.register()`,
without the rest of the package.
"""
