"""`python -m contrib_bn`: see `contrib_bn.cli`."""

import sys

from contrib_bn.cli import main

if __name__ == '__main__':
  sys.exit(main())
