"""Command line of contrib_bn.

  python -m contrib_bn verify [--goldens DIR] [--distributed-goldens DIR] [--filter RE]
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
  verify.add_argument(
      '--distributed-goldens', default=None,
      help='distributed corpus directory (default: the packaged one, '
           'checked after the single-device corpus unless --goldens is given)')
  from contrib_bn import checkpoint_cli  # pylint: disable=g-import-not-at-top
  checkpoint_cli.register(commands)
  args = parser.parse_args(argv)
  if args.command in checkpoint_cli.COMMANDS:
    return checkpoint_cli.run(args)
  if args.command == 'verify':
    from contrib_bn.corpus import verify as verify_module  # pylint: disable=g-import-not-at-top
    results = verify_module.run(args.goldens, args.filter)
    if args.goldens is None or args.distributed_goldens is not None:
      from contrib_bn.corpus import verify_distributed  # pylint: disable=g-import-not-at-top
      more = verify_distributed.run(args.distributed_goldens, args.filter)
      if more:
        results = results + more
        print('%d/%d cases match in total' % (
            sum(1 for r in results if r.ok), len(results)))
    if not results:
      print('no golden case selected')
      return 1
    return 0 if all(r.ok for r in results) else 1
  parser.print_help()
  return 2


if __name__ == '__main__':
  sys.exit(main())
