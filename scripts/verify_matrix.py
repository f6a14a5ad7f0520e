"""Runs `verify` on several TensorFlow 2 releases, with oneDNN off and on.

  python scripts/verify_matrix.py PYTHON [PYTHON ...] [--json FILE]

Each PYTHON is an interpreter with one TensorFlow 2 release and contrib_bn
installed (for example the virtual environments `tox -e tf216-onednn0` makes,
or `.venvs/tf216/bin/python`). For each, `python -m contrib_bn verify --json`
runs twice, with TF_ENABLE_ONEDNN_OPTS=0 and =1; the script prints one
Markdown row per run (release, oneDNN as verify read it from the graph,
cases matched, the largest absolute difference, seconds) and exits 1 if any
run did not match every case.
"""

import argparse
import json
import os
import subprocess
import sys
import time

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SETTINGS = ('0', '1')


def run_one(python, setting):
  """`verify --json` under one oneDNN setting; (report or None, seconds)."""
  env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=setting)
  started = time.time()
  done = subprocess.run([python, '-m', 'contrib_bn', 'verify', '--json'],
                        cwd=_ROOT, env=env, stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL, universal_newlines=True)
  seconds = time.time() - started
  try:
    return json.loads(done.stdout), seconds
  except ValueError:
    return None, seconds


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('pythons', nargs='+', help='interpreters, one per '
                      'TensorFlow release')
  parser.add_argument('--json', default=None,
                      help='also write every run\'s summary to this file')
  args = parser.parse_args(argv)
  rows, failed = [], 0
  print('| TensorFlow | oneDNN (TF_ENABLE_ONEDNN_OPTS) | cases matched | '
        'max abs diff | seconds |')
  print('|---|---|---:|---:|---:|')
  for python in args.pythons:
    for setting in SETTINGS:
      sys.stderr.write('verify with %s, TF_ENABLE_ONEDNN_OPTS=%s\n' % (
          python, setting))
      report, seconds = run_one(python, setting)
      if report is None:
        failed += 1
        row = {'python': python, 'setting': setting, 'error': True}
        print('| %s | ? (%s) | did not run | | %.0f |' % (python, setting,
                                                          seconds))
      else:
        env = report['environment']
        ok = report['matched'] == report['total'] and report['total'] > 0
        failed += 0 if ok else 1
        mismatched = [c for c in report['cases'] if not c['ok']]
        row = {'python': python, 'setting': setting,
               'tensorflow': env['tensorflow'], 'onednn': env['onednn'],
               'matched': report['matched'], 'total': report['total'],
               'max_abs_diff': report['max_abs_diff'], 'seconds': seconds,
               'mismatched': mismatched}
        for case in mismatched:
          sys.stderr.write('  %s: %s\n' % (case['id'],
                                          '; '.join(case['problems'][:3])))
        print('| %s | %s (%s) | %d/%d | %.2g | %.0f |' % (
            env['tensorflow'], 'on' if env['onednn'] else 'off', setting,
            report['matched'], report['total'], report['max_abs_diff'] or 0,
            seconds))
      sys.stdout.flush()
      rows.append(row)
  if args.json:
    staging = args.json + '.tmp'
    with open(staging, 'w') as f:
      json.dump(rows, f, indent=1)
    os.replace(staging, args.json)
  return 1 if failed else 0


if __name__ == '__main__':
  sys.exit(main())
