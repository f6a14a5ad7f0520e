"""tests/data/tf1_bad_inputs.json is what TF 1.15.5 does with each bad input."""

import json
import os
import subprocess
import sys

from conftest import ROOT
from conftest import matching

PROBE = os.path.join(ROOT, 'scripts', 'probe_bad_inputs.py')
COMMITTED = os.path.join(ROOT, 'tests', 'data', 'tf1_bad_inputs.json')


def test_probe_reproduces_committed_record(tmp_path):
  out = str(tmp_path / 'probe.json')
  subprocess.check_call([sys.executable, PROBE, '--out', out],
                        stdout=subprocess.DEVNULL)
  with open(out) as f:
    fresh = json.load(f)
  with open(COMMITTED) as f:
    committed = json.load(f)
  # Observations such as correlations come from BLAS and TF's CPU kernels,
  # which may round differently on another processor; outcomes, error
  # messages and harm verdicts must be identical.
  problems = matching.record_differences(committed['cases'], fresh['cases'])
  assert not problems, '\n'.join(problems[:20])


_IMPORT_CONFORMANCE = '''
import sys
sys.path.insert(0, %r)
from contrib_bn.conformance import bad_inputs, cases, harness
print(' '.join(sorted(m for m in sys.modules if m.startswith('contrib_bn'))))
'''


def test_recorder_modules_import_alone_under_tf115():
  # In a subprocess: this process must not import contrib_bn at all.
  loaded = subprocess.check_output(
      [sys.executable, '-c', _IMPORT_CONFORMANCE % ROOT]).decode().split()
  assert loaded == ['contrib_bn', 'contrib_bn.conformance',
                    'contrib_bn.conformance.bad_inputs',
                    'contrib_bn.conformance.cases',
                    'contrib_bn.conformance.harness']
