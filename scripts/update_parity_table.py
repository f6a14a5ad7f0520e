"""Regenerates README.md's parity table from `python -m contrib_bn verify`.

  python scripts/update_parity_table.py
"""

import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, _ROOT)  # the tree's contrib_bn, installed or not

from contrib_bn.conformance import parity  # pylint: disable=g-import-not-at-top
from contrib_bn.conformance import verify  # pylint: disable=g-import-not-at-top

README = os.path.join(_ROOT, 'README.md')


def main():
  results = verify.run(out=lambda line: None)
  with open(README) as f:
    text = f.read()
  # Written beside README.md and renamed over it, so an interrupted run
  # leaves the old README whole.
  partial = README + '.partial'
  with open(partial, 'w') as f:
    f.write(parity.replace_in(text, parity.table(results)))
  os.replace(partial, README)
  print(parity.table(results))
  return 0 if all(r.ok for r in results) else 1


if __name__ == '__main__':
  sys.exit(main())
