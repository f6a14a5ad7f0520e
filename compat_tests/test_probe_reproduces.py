"""tests/data/tf1_bad_inputs.json is what TF 1.15.5 does with each bad input."""

import os
import subprocess
import sys

from conftest import ROOT
from conftest import matching
from contrib_bn.conformance import corpus

PROBE = os.path.join(ROOT, 'scripts', 'probe_bad_inputs.py')
COMMITTED = os.path.join(ROOT, 'tests', 'data', 'tf1_bad_inputs.json')


def test_probe_reproduces_committed_record(tmp_path):
  out = str(tmp_path / 'probe.json')
  subprocess.check_call([sys.executable, PROBE, '--out', out],
                        stdout=subprocess.DEVNULL)
  fresh = corpus.read_json(out)
  committed = corpus.read_json(COMMITTED)
  # Observations such as correlations come from BLAS and TF's CPU kernels,
  # which may round differently on another processor; outcomes, error
  # messages and harm verdicts must be identical.
  problems = matching.record_differences(committed['cases'], fresh['cases'])
  assert not problems, '\n'.join(problems[:20])


_IMPORT_CONFORMANCE = '''
import runpy, sys
runpy.run_path(%r)['register']()
from contrib_bn.conformance import bad_inputs, cases, harness
print(' '.join(sorted(m for m in sys.modules if m.startswith('contrib_bn'))))
'''


def test_recorder_modules_import_alone_under_tf115():
  # In a subprocess, which has imported nothing of contrib_bn before.
  loader = os.path.join(ROOT, 'contrib_bn', 'conformance', 'tf1_import.py')
  loaded = subprocess.check_output(
      [sys.executable, '-c', _IMPORT_CONFORMANCE % loader]).decode().split()
  assert loaded == ['contrib_bn', 'contrib_bn.conformance',
                    'contrib_bn.conformance.bad_inputs',
                    'contrib_bn.conformance.cases',
                    'contrib_bn.conformance.harness',
                    'contrib_bn.constants']
