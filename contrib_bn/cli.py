"""The command line of contrib_bn: one registry of subcommands.

  python -m contrib_bn verify [--goldens DIR] [--distributed-goldens DIR]
                              [--filter RE] [--xla]
  python -m contrib_bn inspect CHECKPOINT [--graph MODULE:CALLABLE] ...
  python -m contrib_bn export-keras CHECKPOINT --scope SCOPE --output F.keras
  python -m contrib_bn export FILE.py:FUNCTION CHECKPOINT --saved-model DIR ...
  python -m contrib_bn scan PATH... [--json]
  python -m contrib_bn regress record|compare|setup-tf1 ...

Every subcommand registers itself the same way: its module has a
`register(subparsers)` that adds its parser and sets `func`, a callable
taking the parsed arguments and returning the exit code. A new subcommand is
one more module in `SUBCOMMANDS`.
"""

import argparse
import sys

from contrib_bn import _quiet_startup
from contrib_bn import constants
from contrib_bn.conformance import xla_flags

# TensorFlow reads its XLA flags when it first lists devices, which the quiet
# start-up below does, so `verify --xla` sets its flag first.
if xla_flags.requested_on_command_line(sys.argv[1:]):
  xla_flags.request_cpu_clustering()
# Before the subcommand modules bring in TensorFlow: its C++ start-up log
# would otherwise be the first thing on the terminal.
_quiet_startup.load_tensorflow_quietly()

from contrib_bn.conformance import verify_command  # pylint: disable=g-import-not-at-top,wrong-import-position
from contrib_bn.tools import export
from contrib_bn.tools import inspect_checkpoint
from contrib_bn.tools import keras_export
from contrib_bn.tools import regress
from contrib_bn.tools import scan

# The modules whose `register(subparsers)` adds a subcommand, in help order.
SUBCOMMANDS = (verify_command, inspect_checkpoint, keras_export, export, scan,
               regress)

EXIT_USAGE = constants.EXIT_USAGE


def build_parser():
  """The argparse parser with every registered subcommand."""
  parser = argparse.ArgumentParser(
      prog='python -m contrib_bn',
      description="Tools of contrib_bn, TF 1.15's tf.contrib.layers."
      'batch_norm on TensorFlow 2.x. Run a subcommand with --help for its '
      'options; every subcommand exits 0 on success.')
  subparsers = parser.add_subparsers(dest='command', metavar='COMMAND')
  for module in SUBCOMMANDS:
    module.register(subparsers)
  return parser


def main(argv=None):
  """Parses `argv` (default: `sys.argv[1:]`), runs the subcommand.

  Returns:
    The subcommand's exit code; 2 when no subcommand is given.
  """
  parser = build_parser()
  args = parser.parse_args(argv)
  func = getattr(args, 'func', None)
  if func is None:
    parser.print_help()
    return EXIT_USAGE
  return func(args)


if __name__ == '__main__':
  sys.exit(main())
