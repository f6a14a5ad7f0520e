"""The plumbing shared by the TF 1.15.5 recorders of one-case-per-file corpora.

TF-free (stdlib and NumPy, Python 3.7): scripts/record_tf_layers.py,
record_tf_layers_neighbours.py and record_contrib_neighbours.py import it
under TF 1.15.5 and pass their TensorFlow module in. Each recorder names its
case catalogue, its output directory and how one case is recorded; this
module parses the common flags, checks the TensorFlow release, stages every
case's `<id>.json`, `<id>.npz` and `checkpoints/<id>` (twice over with
--check_determinism) and moves them into place only when all recorded,
through `contrib_bn.conformance.corpus`.
"""

import argparse
import os
import re
import sys

from contrib_bn import constants
from contrib_bn.conformance import corpus
from contrib_bn.conformance import matching


def parse_flags(doc, default_out, argv, compared='results'):
  """(parser, args): the flags --out, --filter and --check_determinism.

  Args:
    doc: the recorder's docstring, whose first line describes it.
    default_out: the committed golden directory the recorder writes to.
    argv: the arguments, or None for sys.argv's.
    compared: what --check_determinism requires identical, for its help.

  Returns:
    The `argparse.ArgumentParser` and the parsed flags.
  """
  parser = argparse.ArgumentParser(description=doc.split('\n')[0])
  parser.add_argument('--out', default=default_out,
                      help='output directory (default: %(default)s)')
  parser.add_argument('--filter', default=None,
                      help='only record case ids matching this regex')
  parser.add_argument('--check_determinism', action='store_true',
                      help='record every case twice and require identical '
                      '%s; nothing is written otherwise' % compared)
  return parser, parser.parse_args(argv)


def run(parser, args, tf_root, catalogue, record_case):
  """Checks `tf_root`, records the cases of `catalogue` --filter selects.

  Args:
    parser: the recorder's parser, to exit through.
    args: its parsed flags.
    tf_root: the `tensorflow` module, which must be TF 1.15.5.
    catalogue: every case of the corpus.
    record_case: `record_case(tf_root, case, checkpoint_prefix)`, as
      `record_all` calls it without `tf_root`.

  Returns:
    The exit code.
  """
  check_tensorflow(parser, tf_root)
  return record_all(lambda case, prefix: record_case(tf_root, case, prefix),
                    select(parser, catalogue, args.filter), args.out,
                    args.check_determinism)


def check_tensorflow(parser, tf_root):
  """Exits through `parser` unless `tf_root` is TF 1.15.5; quiets its log."""
  if tf_root.__version__ != constants.TF1_VERSION:
    parser.error('goldens come from TensorFlow %s; this is %s' %
                 (constants.TF1_VERSION, tf_root.__version__))
  tf_root.compat.v1.logging.set_verbosity(tf_root.compat.v1.logging.ERROR)


def select(parser, cases, pattern):
  """The cases whose id matches `pattern` (all if None); exits if none."""
  if pattern:
    cases = [c for c in cases if re.search(pattern, c['id'])]
  if not cases:
    parser.error('no case matches --filter %r' % pattern)
  return cases


def infer_restored(tf, cases, api, case, data, checkpoint_prefix):
  """The output of the case's inference graph (`training_kind='false'`).

  Args:
    tf: `tf.compat.v1` of TF 1.15.5 or TF 2.
    cases: the case catalogue module (`build`, `session_config`, `infer`).
    api: the layer names the case is built from.
    case: the case.
    data: its input.
    checkpoint_prefix: the checkpoint restored first; None when the case has
      no variables.

  Returns:
    The output array.
  """
  graph = tf.Graph()
  with graph.as_default():
    built = cases.build(tf, api, case, training_kind='false')
    with tf.Session(graph=graph, config=cases.session_config(tf)) as session:
      if checkpoint_prefix is not None:
        tf.train.Saver().restore(session, checkpoint_prefix)
      return cases.infer(session, built, data)


def same_recording(first, second):
  """Whether two (record, arrays or None) recordings are identical."""
  (record, arrays), (again_record, again) = first, second
  return again_record == record and (
      (arrays is None and again is None) or
      (arrays is not None and again is not None and
       matching.arrays_identical(arrays, again)))


def record_all(record_case, cases, out, check_determinism):
  """Records `cases` into `out`; returns the exit code.

  Args:
    record_case: `record_case(case, checkpoint_prefix)` -> (record, arrays),
      arrays None when the case raises (its record says what); it saves the
      case's TF1 checkpoint, if any, under `checkpoint_prefix`.
    cases: the selected case dicts, each with an 'id'.
    out: the output directory.
    check_determinism: record every case twice and write nothing unless
      both recordings are identical.

  Returns:
    0, or 1 when two recordings differed (then nothing was written).
  """
  with corpus.Staging(out) as staging:
    problems = []
    for case in cases:
      record, arrays = record_case(
          case, staging.path('checkpoints', case['id']))
      if check_determinism:
        again = record_case(case, staging.path('again', case['id']))
        if not same_recording((record, arrays), again):
          problems.append('%s: two recordings differ' % case['id'])
      if arrays is not None:
        corpus.write_arrays(staging.path(case['id'] + '.npz'), arrays)
      corpus.write_json(staging.path(case['id'] + '.json'), record)
      print('%s recorded%s' % (case['id'], ' (error)' if arrays is None
                               else ''))
    if problems:
      print('\n'.join(problems), file=sys.stderr)
      return 1
    for case in cases:
      staging.commit(corpus.case_files(case['id']))
  print('%d case(s) recorded into %s' % (len(cases), out))
  return 0
