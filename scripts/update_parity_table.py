"""Regenerates the parity table from `python -m contrib_bn verify`.

The table stands in README.md and on the docs site's parity page; both are
rewritten from one run of the single-device corpus and the two `tf.layers`
corpora (the batch_normalization cases and its neighbours).

  python scripts/update_parity_table.py

The difference columns depend on the processor and the oneDNN setting, which
the table names; the counts do not, and tests/test_goldens.py checks them.
"""

import argparse
import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, _ROOT)  # the tree's contrib_bn, installed or not

from contrib_bn.conformance import environment  # pylint: disable=g-import-not-at-top
from contrib_bn.conformance import parity  # pylint: disable=g-import-not-at-top
from contrib_bn.conformance import verify_single_device  # pylint: disable=g-import-not-at-top
from contrib_bn.conformance import verify_tf_layers  # pylint: disable=g-import-not-at-top

PAGES = (os.path.join(_ROOT, 'README.md'),
         os.path.join(_ROOT, 'docs', 'parity.md'))


def main(argv=None):
  argparse.ArgumentParser(
      description='Run the single-device and tf.layers corpora of `verify` '
      'and rewrite the parity table in README.md and docs/parity.md. Exits '
      '0 when every case matched, 1 otherwise (the table is written '
      'either way).').parse_args(argv)
  onednn = environment.onednn_enabled()
  results = verify_single_device.run(out=lambda line: None)
  for _, found in verify_tf_layers.run(out=lambda line: None):
    results += found
  for page in PAGES:
    with open(page) as f:
      text = f.read()
    # Written beside the page and renamed over it, so an interrupted run
    # leaves the old page whole.
    partial = page + '.partial'
    with open(partial, 'w') as f:
      f.write(parity.replace_in(text, parity.table(results, onednn)))
    os.replace(partial, page)
  print(parity.table(results, onednn))
  return 0 if all(r.ok for r in results) else 1


if __name__ == '__main__':
  sys.exit(main())
