"""Probes what TF 1.15's `tf.contrib.layers.batch_norm` does with bad inputs.

Run with Python 3.7 and TensorFlow 1.15.5:

  /work/venvs/tf115/bin/python scripts/probe_bad_inputs.py \
      [--out tests/data/tf1_bad_inputs.json] [--filter REGEX]

Runs every probe of the catalogue in `contrib_bn/conformance/bad_inputs.py`
against the real layer and writes what happened (see that module) as JSON,
printing one line per probe. The JSON is the reference for
`tests/test_bad_inputs.py`: regenerate it with this script, never edit it by
hand. Exit code 0 once written; 1 under another TensorFlow release.
"""

import argparse
import os
import re
import runpy
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# This tree's contrib_bn, for its TF-free modules (the rest needs TF 2).
runpy.run_path(os.path.join(_ROOT, 'contrib_bn', 'conformance',
                            'tf1_import.py'))['register']()

from contrib_bn import constants  # pylint: disable=g-import-not-at-top,wrong-import-position
from contrib_bn.conformance import bad_inputs  # pylint: disable=g-import-not-at-top,wrong-import-position
from contrib_bn.conformance import bad_inputs_runner  # pylint: disable=g-import-not-at-top,wrong-import-position
from contrib_bn.conformance import corpus  # pylint: disable=g-import-not-at-top,wrong-import-position

DEFAULT_OUT = os.path.join(_ROOT, 'tests', 'data', 'tf1_bad_inputs.json')


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--out', default=DEFAULT_OUT,
                      help='the JSON file written (default: %(default)s)')
  parser.add_argument('--filter', default=None,
                      help='only probe ids matching this regular expression; '
                      'other records of an existing --out are kept')
  args = parser.parse_args(argv)
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if tf.__version__ != constants.TF1_VERSION:
    sys.exit('Probe with TensorFlow %s; this is %s.' % (
        constants.TF1_VERSION, tf.__version__))
  tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
  batch_norm = tf.contrib.layers.batch_norm
  selected = bad_inputs.cases()
  if args.filter:
    pattern = re.compile(args.filter)
    selected = [c for c in selected if pattern.search(c.id)]
  records = {}
  if args.filter and os.path.exists(args.out):
    records = corpus.read_json(args.out)['cases']
  for case in selected:
    record = bad_inputs_runner.run_case(tf, batch_norm, case)
    records[case.id] = record
    summary = record['outcome']
    if 'error' in record:
      summary += ' %s: %s' % (record['error']['type'],
                              record['error']['message'][:100])
    elif record['harm']:
      summary += ' HARM: ' + '; '.join(record['harm'])
    print('%-50s %s' % (case.id, summary))
    sys.stdout.flush()
  order = [c.id for c in bad_inputs.cases()]
  result = {
      'reference': 'tf.contrib.layers.batch_norm',
      'tensorflow_version': tf.__version__,
      'generator': 'scripts/probe_bad_inputs.py',
      'cases': {i: records[i] for i in order if i in records},
  }
  os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
  corpus.write_json(args.out, result, sort_keys=False)
  print('%d probe case(s) written to %s' % (len(result['cases']), args.out))
  return 0


if __name__ == '__main__':
  sys.exit(main())
