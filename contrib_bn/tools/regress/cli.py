"""`python -m contrib_bn regress record|compare|setup-tf1`."""

import argparse
import json
import os
import sys

from contrib_bn import constants

EXIT_OK = constants.EXIT_OK
EXIT_DIVERGED = constants.EXIT_FAILED
EXIT_ERROR = constants.EXIT_USAGE

_DESCRIPTION = """\
Regression-test your own model against TensorFlow 1.15.

Your model is one Python file and a function in it (FILE.py:FUNCTION) that
builds the graph into the default graph and returns a dict:
  inputs       required: name -> placeholder
  outputs      required: name -> tensor
  loss, train_op, is_training (a bool placeholder)   optional
A bool placeholder the model makes but does not return is found when it
decides a conditional (batch norm, dropout): training steps feed it True,
inference False. The file may use `import tensorflow as tf` or `import
tensorflow.compat.v1 as tf`, with its tf.contrib calls unchanged.

  record     runs it under TF 1.15 (--tf1-python) and stores a recording:
             seeded inputs, every variable's initial value, N training steps
             (every batch-norm layer's output and moving statistics, outputs,
             loss), variables after training, inference, a TF1 checkpoint,
             and a second run started one ULP away (the model's own
             sensitivity to float noise).
  compare    runs it on TF 2 with contrib_bn from the recorded initial values,
             compares layer by layer and step by step, restores the TF1
             checkpoint, prints a table and one summary line; exit status 1
             on divergence, 2 on bad input.
  setup-tf1  creates a TF 1.15.5 virtual environment from a Python 3.7.
"""


def _int_range(text):
  try:
    low, high = [int(v) for v in text.split(':')]
  except ValueError:
    raise argparse.ArgumentTypeError('expected LOW:HIGH, got %r' % text)
  return low, high


def register(subparsers):
  """Adds `regress` and its subcommands; sets `func` on each."""
  regress = subparsers.add_parser(
      'regress', help='regression-test your model against TF 1.15',
      description=_DESCRIPTION,
      formatter_class=argparse.RawDescriptionHelpFormatter)
  commands = regress.add_subparsers(dest='regress_command')
  regress.set_defaults(func=lambda args: (regress.print_help(), EXIT_ERROR)[1])

  record = commands.add_parser(
      'record', help='record the model under TF 1.15',
      description='Record FILE.py:FUNCTION under TensorFlow 1.15 into --out. '
      'Nothing is written unless the whole recording succeeds; an --out '
      'holding a different recording is refused.')
  record.add_argument('target', metavar='FILE.py:FUNCTION')
  record.add_argument('--out', required=True, help='recording directory')
  record.add_argument(
      '--tf1-python', default=os.environ.get('CONTRIB_BN_TF1_PYTHON'),
      help='Python running TensorFlow 1.15 (default: $CONTRIB_BN_TF1_PYTHON; '
      'regress setup-tf1 makes one)')
  record.add_argument('--steps', type=int, default=5,
                      help='training steps (default 5)')
  record.add_argument('--seed', type=int, default=0,
                      help='seed of the generated inputs (default 0)')
  record.add_argument(
      '--input-shapes', action='append', default=[], metavar='NAME=D1,D2,..',
      help='shape of an input whose placeholder has unknown dimensions; '
      'repeat, or separate with ";" (e.g. "images=8,32,32,3;labels=8")')
  record.add_argument(
      '--int-range', type=_int_range, default=(0, 2), metavar='LOW:HIGH',
      help='integer inputs (labels) are drawn from [LOW, HIGH) (default 0:2)')
  record.set_defaults(func=run_record)

  compare = commands.add_parser(
      'compare', help='compare TF 2 + contrib_bn with a recording',
      description='Run FILE.py:FUNCTION on TF 2 with contrib_bn from the '
      'recorded initial values and compare with the recording in DIR. Exit '
      'status: 0 agree, 1 diverged, 2 bad input.')
  compare.add_argument('target', metavar='FILE.py:FUNCTION')
  compare.add_argument('directory', metavar='DIR', help='recording directory')
  compare.add_argument('--report', metavar='FILE.html',
                       help='also write a self-contained HTML report')
  compare.add_argument('--json', action='store_true',
                       help='print the result as JSON instead of a table')
  compare.add_argument(
      '--control-flow-v2', action='store_true',
      help='build tf.cond/tf.while_loop with TF 2 control flow (the default '
      'in a TF 2 process unless tf.disable_v2_behavior() is called) instead '
      'of the TF 1.15 kind; cause hints are weaker then')
  compare.set_defaults(func=run_compare)

  setup = commands.add_parser(
      'setup-tf1', help='create a TF 1.15.5 virtual environment',
      description='Create a virtual environment with TensorFlow 1.15.5 '
      '(tensorflow==1.15.5, protobuf<3.21, numpy<1.19, h5py<3) from a Python '
      '3.7 and print the interpreter to pass as --tf1-python.')
  setup.add_argument('--python', default='python3.7',
                     help='Python 3.5-3.7 interpreter (default python3.7)')
  from contrib_bn.tools.regress import setup_tf1  # pylint: disable=g-import-not-at-top
  setup.add_argument('--venv', default=setup_tf1.DEFAULT_VENV,
                     help='where to create it (default %(default)s)')
  setup.set_defaults(func=run_setup)
  return regress


def _error(message):
  sys.stderr.write('regress: error: %s\n' % message)
  return EXIT_ERROR


def run_record(args):
  from contrib_bn.tools.regress import record  # pylint: disable=g-import-not-at-top
  try:
    manifest = record.record(args.target, args.out, args.tf1_python,
                             args.steps, args.seed, args.input_shapes,
                             args.int_range)
  except record.RecordError as e:
    return _error(str(e))
  print('recorded %s with TensorFlow %s into %s: %d step(s), %d batch-norm '
        'layer(s), %d variable(s)' % (
            args.target, manifest['tensorflow'], os.path.abspath(args.out),
            manifest['identity']['steps'], len(manifest['layers']),
            len(manifest['variables'])))
  return EXIT_OK


def run_compare(args):
  from contrib_bn.tools import model_file  # pylint: disable=g-import-not-at-top
  from contrib_bn.tools.regress import compare  # pylint: disable=g-import-not-at-top
  from contrib_bn.tools.regress import html_report  # pylint: disable=g-import-not-at-top
  from contrib_bn.tools.regress import runner  # pylint: disable=g-import-not-at-top
  from contrib_bn.tools.regress import text_report  # pylint: disable=g-import-not-at-top

  def progress(message):
    sys.stderr.write('[compare] %s\n' % message)
    sys.stderr.flush()

  try:
    result = compare.compare_recording(args.target, args.directory, progress,
                                       args.control_flow_v2)
  except (compare.RecordingError, model_file.ModelFileError,
          runner.InputError) as e:
    return _error(str(e))
  if args.report:
    html_report.write(result, args.target, args.report)
    progress('report written to %s' % os.path.abspath(args.report))
  if args.json:
    print(json.dumps(result.as_json(), indent=1, sort_keys=True))
  else:
    print(text_report.table(result))
  return EXIT_OK if result.ok else EXIT_DIVERGED


def run_setup(args):
  from contrib_bn.tools.regress import setup_tf1  # pylint: disable=g-import-not-at-top
  try:
    python = setup_tf1.setup(args.python, args.venv,
                             log=lambda m: sys.stderr.write(m + '\n'))
  except setup_tf1.SetupError as e:
    return _error(str(e))
  print(python)
  return EXIT_OK
