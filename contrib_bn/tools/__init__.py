"""Tools built on the layer: model files, export, regression harness, scanner."""
