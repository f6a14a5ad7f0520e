"""`python -m contrib_bn verify`: the single-device, then the distributed corpus.

Its own module because the distributed verifier builds on the single-device
one (`verify_distributed` imports `verify`), and the subcommand runs both.
"""

from contrib_bn.conformance import verify
from contrib_bn.conformance import verify_distributed

EXIT_OK = 0
EXIT_FAILED = 1


def register(subparsers):
  """Adds `verify` to an argparse subparsers object; sets `func=command`."""
  parser = subparsers.add_parser(
      'verify', help='check contrib_bn against the TF 1.15.5 golden corpora',
      description='Rebuild every golden case of the TF 1.15.5 corpus with '
      'contrib_bn and compare outputs, gradients, variables, graph '
      'structure, errors and inference from the TF1 checkpoint; then the '
      'distributed corpus (MirroredStrategy on two virtual CPUs, and '
      'variable placement under replica_device_setter). Prints one line per '
      'case and a summary; exit code 0 when every selected case matches, 1 '
      'when one does not or none is selected.')
  parser.add_argument('--goldens', default=None,
                      help='single-device corpus directory (default: the '
                      'packaged corpus)')
  parser.add_argument(
      '--distributed-goldens', default=None,
      help='distributed corpus directory (default: the packaged one, checked '
      'after the single-device corpus unless --goldens is given)')
  parser.add_argument('--filter', default=None,
                      help='only case ids matching this regular expression')
  parser.add_argument('--xla', action='store_true',
                      help='run the single-device corpus under XLA '
                      'auto-clustering (graph_options.optimizer_options.'
                      'global_jit_level=ON_1, with TF_XLA_FLAGS='
                      '--tf_xla_cpu_global_jit so CPU graphs cluster too); '
                      'fails if XLA compiles nothing. The distributed corpus '
                      'is then skipped')
  parser.set_defaults(func=command)


def command(args):
  """Carries out a parsed `verify` command; returns the exit code."""
  try:
    results = verify.run(args.goldens, args.filter, xla=args.xla)
  except verify.XlaUnavailableError as e:
    print('error: %s' % e)
    return EXIT_FAILED
  # A custom single-device corpus alone says nothing about the packaged
  # distributed one, so that is only checked by default or when asked for.
  # Under --xla only the single-device corpus runs: the distributed verifier
  # builds its sessions without XLA.
  if not args.xla and (args.goldens is None or
                       args.distributed_goldens is not None):
    more = verify_distributed.run(args.distributed_goldens, args.filter)
    if more:
      results = results + more
      print('%d/%d cases match in total' % (
          sum(1 for r in results if r.ok), len(results)))
  if not results:
    print('no golden case selected')
    return EXIT_FAILED
  return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED
