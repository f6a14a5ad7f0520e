"""`python -m contrib_bn verify`: every corpus, under a header saying what ran.

Its own module because it runs four verifiers (single-device, distributed,
fetch patterns and the two `tf.layers` corpora), the others building on the
first.
"""

import json
import os
import sys

from contrib_bn import constants
from contrib_bn.conformance import environment
from contrib_bn.conformance import verify_single_device
from contrib_bn.conformance import verify_distributed
from contrib_bn.conformance import verify_fetches
from contrib_bn.conformance import verify_tf_layers


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
      'train op alone does to the moving statistics), and the tf.layers '
      'corpora (tf.compat.v1.layers.batch_normalization and '
      'BatchNormalization; dense, convolutions, pooling, dropout and '
      'flatten), each case replayed with contrib_bn.layers and its TF1 '
      'checkpoint restored. A header names the '
      'TensorFlow and Python versions, whether oneDNN and XLA were on, and '
      'the CPU and its vector features. Prints one line per case and a '
      'summary; exit code 0 when every selected case matches, 1 when one '
      'does not or none is selected, 2 when a corpus directory given does '
      'not exist.')
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
  parser.add_argument(
      '--tf-layers', action='store_true',
      help='also check the packaged tf.layers corpora when --goldens is '
      'given (without --goldens they are always checked)')
  parser.add_argument('--filter', default=None,
                      help='only case ids matching this regular expression '
                      '(fetch-pattern cases are named fetch/<configuration>, '
                      'tf.layers cases tf_layers/<id> and '
                      'tf_layers_neighbours/<id>)')
  parser.add_argument('--xla', action='store_true',
                      help='run the single-device corpus under XLA '
                      'auto-clustering (graph_options.optimizer_options.'
                      'global_jit_level=ON_1, with TF_XLA_FLAGS='
                      '--tf_xla_cpu_global_jit so CPU graphs cluster too); '
                      'fails if XLA compiles nothing. The distributed and '
                      'fetch-pattern corpora are then skipped')
  parser.add_argument('--json', action='store_true',
                      help='print one JSON document (environment, every '
                      'case with its problems, the totals and each '
                      'corpus\'s) on stdout; the '
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
  for flag, directory in (('--goldens', args.goldens),
                          ('--distributed-goldens', args.distributed_goldens),
                          ('--fetch-goldens', args.fetch_goldens)):
    if directory is not None and not os.path.isdir(directory):
      sys.stderr.write('verify: error: %s %s is not a directory\n' % (
          flag, directory))
      return constants.EXIT_USAGE
  if args.xla:
    try:
      verify_single_device.enable_xla_auto_clustering()
    except verify_single_device.XlaUnavailableError as e:
      out('error: %s' % e)
      return constants.EXIT_FAILED
  description = environment.describe(args.xla)
  out(environment.header(description))
  corpora = [('single device', verify_single_device.run(
      args.goldens, args.filter, out=out, xla=args.xla))]
  # A custom single-device corpus alone says nothing about the packaged
  # distributed, fetch-pattern and tf.layers ones, so those are only checked
  # by default or when asked for (CI asks for the tf.layers corpora beside
  # its freshly recorded ones). Under --xla only the single-device corpus
  # runs: the other verifiers build their sessions without XLA.
  if not args.xla:
    if args.goldens is None or args.distributed_goldens is not None:
      corpora.append(('distributed', verify_distributed.run(
          args.distributed_goldens, args.filter, out=out)))
    if args.goldens is None or args.fetch_goldens is not None:
      corpora.append(('fetch patterns', verify_fetches.run(
          args.fetch_goldens, args.filter, out=out)))
    if args.goldens is None or args.tf_layers:
      corpora.extend(verify_tf_layers.run(args.filter, out=out))
  corpora = [(label, found) for label, found in corpora if found]
  results = [r for _, found in corpora for r in found]
  matched = sum(1 for r in results if r.ok)
  if results:
    out('%d/%d cases match in total: %s (%s)' % (
        matched, len(results), ', '.join(
            '%s %d/%d' % (label, sum(1 for r in found if r.ok), len(found))
            for label, found in corpora),
        environment.header(description)))
  else:
    out('no golden case selected')
  if args.json:
    diffs = [r.max_abs_diff for r in results if r.max_abs_diff is not None]
    json.dump({'environment': description,
               'matched': matched, 'total': len(results),
               'corpora': {label: {'matched': sum(1 for r in found if r.ok),
                                   'total': len(found)}
                           for label, found in corpora},
               'max_abs_diff': max(diffs) if diffs else None,
               'cases': [_result_json(r) for r in results]},
              sys.stdout, indent=1)
    sys.stdout.write('\n')
  if not results:
    return constants.EXIT_FAILED
  return constants.EXIT_OK if matched == len(results) else (
      constants.EXIT_FAILED)
