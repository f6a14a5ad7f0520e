"""Command line of contrib_bn.

  python -m contrib_bn verify [--goldens DIR] [--filter RE] [--xla]
  python -m contrib_bn inspect CHECKPOINT [--graph MODULE:CALLABLE] ...
  python -m contrib_bn export-keras CHECKPOINT --scope SCOPE --output F.keras
"""

import argparse
import sys


def main(argv=None):
  parser = argparse.ArgumentParser(prog='python -m contrib_bn')
  commands = parser.add_subparsers(dest='command')
  verify = commands.add_parser(
      'verify', help='check contrib_bn against the TF 1.15.5 golden corpus')
  verify.add_argument('--goldens', default=None,
                      help='corpus directory (default: the packaged corpus)')
  verify.add_argument('--filter', default=None,
                      help='only case ids matching this regular expression')
  verify.add_argument('--xla', action='store_true',
                      help='run every case under XLA auto-clustering '
                      '(graph_options.optimizer_options.global_jit_level='
                      'ON_1, with TF_XLA_FLAGS=--tf_xla_cpu_global_jit so '
                      'CPU graphs cluster too); fails if XLA compiles '
                      'nothing')
  from contrib_bn import checkpoint_cli  # pylint: disable=g-import-not-at-top
  checkpoint_cli.register(commands)
  args = parser.parse_args(argv)
  if args.command in checkpoint_cli.COMMANDS:
    return checkpoint_cli.run(args)
  if args.command == 'verify':
    from contrib_bn.corpus import verify as verify_module  # pylint: disable=g-import-not-at-top
    try:
      results = verify_module.run(args.goldens, args.filter, xla=args.xla)
    except verify_module.XlaUnavailableError as e:
      print('error: %s' % e)
      return 1
    if not results:
      print('no golden case selected')
      return 1
    return 0 if all(r.ok for r in results) else 1
  parser.print_help()
  return 2


if __name__ == '__main__':
  sys.exit(main())
