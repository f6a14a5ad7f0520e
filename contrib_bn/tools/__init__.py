"""Tools built on the layer: model files, checkpoint inspection, export, regression harness, scanner; each command-line subcommand lives with its tool."""
