"""`python -m contrib_bn verify`: every corpus, under a header saying what ran.

Its own module because it runs three verifiers (single-device, distributed
and fetch patterns), the latter two building on the first.
"""

import json
import sys

from contrib_bn import constants
from contrib_bn.conformance import environment
from contrib_bn.conformance import verify_single_device
from contrib_bn.conformance import verify_distributed
from contrib_bn.conformance import verify_fetches


def register(subparsers):
  """Adds `verify` to an argparse subparsers object; sets `func=command`."""
  parser = subparsers.add_parser(
      'verify', help='check contrib_bn against the TF 1.15.5 golden corpora',
      description='Rebuild every golden case of the TF 1.15.5 corpus with '
      'contrib_bn and compare outputs, gradients, variables, graph '
      'structure, errors and inference from the TF1 checkpoint; then the '
      'distributed corpus (MirroredStrategy on two virtual CPUs, and '
      'variable placement under replica_device_setter), and the fetch '
      'patterns (what fetching the output, the loss, the gradients or the '
      'train op alone does to the moving statistics). A header names the '
      'TensorFlow and Python versions, whether oneDNN and XLA were on, and '
      'the CPU and its vector features. Prints one line per case and a '
      'summary; exit code 0 when every selected case matches, 1 when one '
      'does not or none is selected.')
  parser.add_argument('--goldens', default=None,
                      help='single-device corpus directory (default: the '
                      'packaged corpus)')
  parser.add_argument(
      '--distributed-goldens', default=None,
      help='distributed corpus directory (default: the packaged one, checked '
      'after the single-device corpus unless --goldens is given)')
  parser.add_argument(
      '--fetch-goldens', default=None,
      help='fetch-pattern corpus directory (default: the packaged one, '
      'checked unless --goldens is given)')
  parser.add_argument('--filter', default=None,
                      help='only case ids matching this regular expression '
                      '(fetch-pattern cases are named fetch/<configuration>)')
  parser.add_argument('--xla', action='store_true',
                      help='run the single-device corpus under XLA '
                      'auto-clustering (graph_options.optimizer_options.'
                      'global_jit_level=ON_1, with TF_XLA_FLAGS='
                      '--tf_xla_cpu_global_jit so CPU graphs cluster too); '
                      'fails if XLA compiles nothing. The distributed and '
                      'fetch-pattern corpora are then skipped')
  parser.add_argument('--json', action='store_true',
                      help='print one JSON document (environment, every '
                      'case with its problems, the totals) on stdout; the '
                      'per-case lines go to stderr as progress')
  parser.add_argument('--verbose', action='store_true',
                      help='print the full message and traceback of a case '
                      'that raised, not just its one-line summary')
  parser.set_defaults(func=command)


def _result_json(result):
  return {'id': result.case_id, 'path': result.path, 'dtype': result.dtype,
          'ok': result.ok, 'max_abs_diff': result.max_abs_diff,
          'note': result.note, 'problems': result.problems}


def command(args):
  """Carries out a parsed `verify` command; returns the exit code."""
  stream = sys.stderr if args.json else sys.stdout

  def out(line=''):
    stream.write(line + '\n')
    stream.flush()

  verify_single_device.VERBOSE = args.verbose
  if args.xla:
    try:
      verify_single_device.enable_xla_auto_clustering()
    except verify_single_device.XlaUnavailableError as e:
      out('error: %s' % e)
      return constants.EXIT_FAILED
  description = environment.describe(args.xla)
  out(environment.header(description))
  results = verify_single_device.run(args.goldens, args.filter, out=out, xla=args.xla)
  # A custom single-device corpus alone says nothing about the packaged
  # distributed and fetch-pattern ones, so those are only checked by default
  # or when asked for. Under --xla only the single-device corpus runs: the
  # other verifiers build their sessions without XLA.
  if not args.xla:
    if args.goldens is None or args.distributed_goldens is not None:
      results = results + verify_distributed.run(
          args.distributed_goldens, args.filter, out=out)
    if args.goldens is None or args.fetch_goldens is not None:
      results = results + verify_fetches.run(
          args.fetch_goldens, args.filter, out=out)
  matched = sum(1 for r in results if r.ok)
  if results:
    out('%d/%d cases match in total (%s)' % (
        matched, len(results), environment.header(description)))
  else:
    out('no golden case selected')
  if args.json:
    diffs = [r.max_abs_diff for r in results if r.max_abs_diff is not None]
    json.dump({'environment': description,
               'matched': matched, 'total': len(results),
               'max_abs_diff': max(diffs) if diffs else None,
               'cases': [_result_json(r) for r in results]},
              sys.stdout, indent=1)
    sys.stdout.write('\n')
  if not results:
    return constants.EXIT_FAILED
  return constants.EXIT_OK if matched == len(results) else (
      constants.EXIT_FAILED)
