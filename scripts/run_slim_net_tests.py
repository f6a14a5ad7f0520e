"""Runs tf_slim's own shipped net tests on TF 2.x after `contrib_bn.install()`.

  python scripts/run_slim_net_tests.py [--all] [--list] [--json] [-- PYTEST_ARGS]

The tf-slim wheel ships its tests beside the nets (tf_slim/nets/*_test.py).
This runner calls `contrib_bn.install()` and then runs the chosen test
modules with pytest in the same process, so every `tf_slim.batch_norm` the
nets reach is contrib_bn's. The exit status is pytest's (0: all passed).

By default it runs DEFAULT_MODULES (resnet_v1's tests), a selection CI runs
in about 3 minutes; LEFT_OUT says why each other module is not run by
default, and `--list` prints it. `--all` runs every shipped test module.
"""

import argparse
import json
import os
import sys
import time

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The default selection, held to about 3 minutes on 2 cores so CI can run
# it: resnet_v1's nets reach tf_slim.batch_norm through resnet_arg_scope,
# in training and inference, which is what contrib_bn changes.
DEFAULT_MODULES = (
    'resnet_v1_test',
)

_CI_TIME = ('uses batch_norm, but left out of the default run to keep CI '
            'to about 3 minutes on 2 cores; run it with --all')

# Not run by default, and why.
LEFT_OUT = {
    'resnet_v2_test': _CI_TIME + '; same resnet_arg_scope batch_norm use as '
                      'resnet_v1_test',
    'inception_v1_test': _CI_TIME,
    'inception_v2_test': _CI_TIME,
    'inception_v3_test': _CI_TIME,
    'alexnet_test': 'no batch_norm: contrib_bn changes nothing for it',
    'overfeat_test': 'no batch_norm: contrib_bn changes nothing for it',
    'vgg_test': 'no batch_norm: contrib_bn changes nothing for it',
}


def _nets_directory():
  import tf_slim.nets  # pylint: disable=g-import-not-at-top
  return os.path.dirname(tf_slim.nets.__file__)


def main(argv=None):
  parser = argparse.ArgumentParser(
      description="Run tf_slim's shipped net tests (tf_slim/nets/*_test.py) "
      'on TF 2.x after contrib_bn.install(). Default: a selection CI runs in '
      'about 3 minutes (resnet_v1); --list shows the choice and why each '
      'other module is left out; --all runs them all.')
  parser.add_argument('--all', action='store_true',
                      help='also run the modules left out by default')
  parser.add_argument('--list', action='store_true',
                      help='print what would run and what is left out, then '
                      'exit')
  parser.add_argument('--json', action='store_true',
                      help='print the selection and the result as JSON on '
                      'the last line')
  parser.add_argument('pytest_args', nargs='*',
                      help='extra pytest arguments (after --)')
  args = parser.parse_args(argv)
  try:
    directory = _nets_directory()
  except ImportError:
    print('tf_slim is not installed: pip install tf-slim', file=sys.stderr)
    return 2
  shipped = sorted(name[:-3] for name in os.listdir(directory)
                   if name.endswith('_test.py'))
  chosen = [m for m in shipped if args.all or m in DEFAULT_MODULES]
  left_out = {m: LEFT_OUT.get(m, 'not in the default selection')
              for m in shipped if m not in chosen}
  missing = [m for m in DEFAULT_MODULES if m not in shipped]
  if args.list or not args.json:
    print('shipped with tf_slim: %s' % ', '.join(shipped))
    print('running: %s' % ', '.join(chosen))
    for module, reason in sorted(left_out.items()):
      print('left out: %s (%s)' % (module, reason))
    if missing:
      print('expected but not shipped: %s' % ', '.join(missing))
  if args.list:
    return 0
  if missing:
    print('this tf_slim does not ship %s' % ', '.join(missing),
          file=sys.stderr)
    return 2
  sys.path.insert(0, _ROOT)
  import contrib_bn  # pylint: disable=g-import-not-at-top
  import pytest  # pylint: disable=g-import-not-at-top
  contrib_bn.install()
  start = time.time()
  status = pytest.main(
      [os.path.join(directory, m + '.py') for m in chosen] +
      ['-q', '-p', 'no:cacheprovider', '--rootdir', directory] +
      list(args.pytest_args))
  elapsed = time.time() - start
  if args.json:
    print(json.dumps({'ran': chosen, 'left_out': left_out,
                      'pytest_exit_status': int(status),
                      'seconds': round(elapsed, 1)}))
  else:
    print('slim net tests: pytest exit status %d after %.0f s' %
          (int(status), elapsed))
  return int(status)


if __name__ == '__main__':
  sys.exit(main())
