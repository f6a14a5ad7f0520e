"""TF1's own `BatchNormTest` suite, run against `contrib_bn.batch_norm`.

The suite is the `BatchNormTest` class of `tf_slim/layers/layers_test.py` as
the tf-slim 1.1.0 wheel installs it (`pip install tf-slim==1.1.0`): the tests
TF 1.15 ran on `tf.contrib.layers.batch_norm`. It is imported from the
installed package and run unchanged, with these substitutions made from
outside the module:

  * `tf_slim.layers.layers.batch_norm`, which the tests call as
    `_layers.batch_norm`, is `contrib_bn.batch_norm` (behind a pass-through
    that counts calls, so that every test is seen to reach it). tf-slim's
    own `batch_norm` cannot run on TF 2.16+: it needs `tf_keras`.
  * The module's `arg_scope` is `contrib_bn.arg_scope`, so that
    `testReuseUpdateOps` scopes defaults over our function as TF1 code does
    with `tf.contrib.framework.arg_scope`.
  * The module's `test.is_gpu_available` answers True, so that the ten tests
    TF1 kept for CUDA machines (fused NCHW, float16 fused and the NHWC/NCHW
    comparisons) run their bodies. They ask for `use_gpu=True`, which only
    allows a GPU: on a machine without one they run on the CPU.
  * The module's `np.product`, which NumPy 2 removed, is `np.prod`; two of
    those ten tests use it.

`setUpModule` puts TensorFlow in graph mode for the whole process, so the
suite runs in a child interpreter (this file run as a script), which writes
each test's outcome to a JSON report. Each of the 66 tests is a pytest case
here, and one more case checks that exactly these 66 ran, that the ten
guarded tests ran past their guard, and that the suite is tf-slim 1.1.0's.
The module is skipped only when tf-slim is not installed.
"""

import functools
import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
import types
import unittest

import pytest

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_TF_SLIM_VERSION = '1.1.0'
_INSTALL = 'pip install tf-slim==%s' % _TF_SLIM_VERSION
_SUITE_MODULE = 'tf_slim.layers.layers_test'
_SUITE_CLASS = 'BatchNormTest'

# The test methods that BatchNormTest itself defines in tf-slim 1.1.0.
_TESTS = (
    'testAdjustmentCreated',
    'testBatchNormBeta',
    'testBatchNormCenterFalse',
    'testCreateMovingVars',
    'testCreateOpBetaRegularizerFused',
    'testCreateOpBetaRegularizerNonFused',
    'testCreateOpDefault',
    'testCreateOpFused',
    'testCreateOpFusedFloat16',
    'testCreateOpGammaRegularizerFused',
    'testCreateOpGammaRegularizerNonFused',
    'testCreateVariables',
    'testCustomInitializer',
    'testDelayedUpdateMovingVars',
    'testDelayedUpdateMovingVarsFusedNCHW',
    'testDelayedUpdateMovingVarsFusedNHWC',
    'testDelayedUpdateMovingVarsNCHW',
    'testDelayedUpdateMovingVarsNHWC',
    'testEvalMovingVars',
    'testEvalMovingVarsWithPartitioner',
    'testEvalMovingVarsZeroDebias',
    'testFusedBatchNormFloat16MatchesFloat32',
    'testInvalidDataFormat',
    'testIsTrainingVariableFusedNCHW',
    'testIsTrainingVariableFusedNCHWZeroDebias',
    'testIsTrainingVariableFusedNHWC',
    'testIsTrainingVariableFusedNHWCZeroDebias',
    'testIsTrainingVariableNCHW',
    'testIsTrainingVariableNCHWZeroDebias',
    'testIsTrainingVariableNHWC',
    'testIsTrainingVariableNHWCZeroDebias',
    'testMovingAverageVariables',
    'testMovingAverageVariablesZeroDebias',
    'testNHWCAndNCHWInferenceProduceSameOutput',
    'testNHWCAndNCHWTrainingProduceSameOutput',
    'testNoUpdatesWhenIsTrainingFalse',
    'testNoneUpdatesCollectionIsTrainingVariableFusedNCHW',
    'testNoneUpdatesCollectionIsTrainingVariableFusedNHWC',
    'testNoneUpdatesCollectionIsTrainingVariableNCHW',
    'testNoneUpdatesCollectionIsTrainingVariableNHWC',
    'testNoneUpdatesCollectionNoTraining',
    'testNoneUpdatesCollectionsFusedNCHW',
    'testNoneUpdatesCollectionsFusedNCHWZeroDebias',
    'testNoneUpdatesCollectionsFusedNHWC',
    'testNoneUpdatesCollectionsFusedNHWCZeroDebias',
    'testNoneUpdatesCollectionsNCHW',
    'testNoneUpdatesCollectionsNCHWZeroDebias',
    'testNoneUpdatesCollectionsNHWC',
    'testNoneUpdatesCollectionsNHWCZeroDebias',
    'testReuseUpdateOps',
    'testReuseVariables',
    'testReuseVarsDefault',
    'testReuseVarsDefaultZeroDebias',
    'testReuseVarsFused',
    'testReuseVarsFusedZeroDebias',
    'testTrainMovingVarsFusedNCHW',
    'testTrainMovingVarsFusedNHWC',
    'testTrainMovingVarsNCHW',
    'testTrainMovingVarsNHWC',
    'testUnknownChannelsDimNCHW',
    'testUnknownChannelsDimNHWC',
    'testUnknownShape',
    'testUpdatesCollection',
    'testVariablesAreFloat32',
    'testVariablesCollections',
    'testZeroDebiasMovingMean',
)

# The tests whose bodies run only when `test.is_gpu_available(cuda_only=True)`.
_GPU_GUARDED = (
    'testDelayedUpdateMovingVarsFusedNCHW',
    'testFusedBatchNormFloat16MatchesFloat32',
    'testIsTrainingVariableFusedNCHW',
    'testIsTrainingVariableFusedNCHWZeroDebias',
    'testNHWCAndNCHWInferenceProduceSameOutput',
    'testNHWCAndNCHWTrainingProduceSameOutput',
    'testNoneUpdatesCollectionIsTrainingVariableFusedNCHW',
    'testNoneUpdatesCollectionsFusedNCHW',
    'testNoneUpdatesCollectionsFusedNCHWZeroDebias',
    'testTrainMovingVarsFusedNCHW',
)


# ---------------------------------------------------------------------------
# The child interpreter: runs the suite and writes the report.
# ---------------------------------------------------------------------------


class _ModuleView(types.ModuleType):
  """A module seen through a few replaced attributes."""

  def __init__(self, module, **replaced):
    super(_ModuleView, self).__init__(module.__name__, module.__doc__)
    self.__dict__.update(replaced)
    self._module = module

  def __getattr__(self, name):
    return getattr(self._module, name)


class _Recorder(unittest.TestResult):
  """Collects one outcome per test method, and which test is running."""

  def __init__(self):
    super(_Recorder, self).__init__()
    self.current = None
    self.outcomes = {}

  def _set(self, test, outcome, detail=''):
    name = getattr(test, 'test_case', test)._testMethodName
    record = self.outcomes.setdefault(name, {'outcome': 'passed', 'detail': ''})
    if record['outcome'] == 'passed':
      record['outcome'] = outcome
      record['detail'] = detail
    else:
      record['detail'] += '\n' + detail

  def startTest(self, test):
    super(_Recorder, self).startTest(test)
    self.current = test._testMethodName
    self._set(test, 'passed')

  def stopTest(self, test):
    super(_Recorder, self).stopTest(test)
    self.current = None

  def addError(self, test, err):
    super(_Recorder, self).addError(test, err)
    self._set(test, 'error', self._exc_info_to_string(err, test))

  def addFailure(self, test, err):
    super(_Recorder, self).addFailure(test, err)
    self._set(test, 'failed', self._exc_info_to_string(err, test))

  def addSubTest(self, test, subtest, err):
    super(_Recorder, self).addSubTest(test, subtest, err)
    if err is not None:
      self._set(subtest, 'failed', self._exc_info_to_string(err, test))

  def addSkip(self, test, reason):
    super(_Recorder, self).addSkip(test, reason)
    self._set(test, 'skipped', reason)

  def addExpectedFailure(self, test, err):
    super(_Recorder, self).addExpectedFailure(test, err)
    self._set(test, 'expected failure', self._exc_info_to_string(err, test))

  def addUnexpectedSuccess(self, test):
    super(_Recorder, self).addUnexpectedSuccess(test)
    self._set(test, 'unexpected success')


def _run_suite():
  """Runs BatchNormTest on contrib_bn's batch_norm; returns the report."""
  import numpy as np
  import contrib_bn
  from tf_slim.layers import layers as slim_layers
  suite_module = importlib.import_module(_SUITE_MODULE)
  suite_class = getattr(suite_module, _SUITE_CLASS)

  recorder = _Recorder()
  calls = {}
  guarded = set()

  @functools.wraps(contrib_bn.batch_norm)
  def batch_norm(*args, **kwargs):
    calls[recorder.current] = calls.get(recorder.current, 0) + 1
    return contrib_bn.batch_norm(*args, **kwargs)

  def is_gpu_available(*unused_args, **unused_kwargs):
    guarded.add(recorder.current)
    return True

  slim_layers.batch_norm = batch_norm
  suite_module.arg_scope = contrib_bn.arg_scope
  suite_module.test = _ModuleView(
      suite_module.test, is_gpu_available=is_gpu_available)
  suite_module.np = _ModuleView(np, product=np.prod)

  # The loader also finds `test_session`, which tf.test.TestCase defines and
  # skips as "Not a test."; only the class's own tests are run.
  names = [name for name in unittest.TestLoader().getTestCaseNames(suite_class)
           if name in vars(suite_class)]
  # As the suite's own main runs it: one top-level suite, so `setUpModule`
  # (which disables eager execution) and the class fixtures run.
  unittest.TestSuite(suite_class(name) for name in names).run(recorder)

  for name, record in recorder.outcomes.items():
    record['batch_norm_calls'] = calls.get(name, 0)
  return {
      'suite_file': suite_module.__file__,
      'tf_slim_version': importlib.metadata.version('tf-slim'),
      'discovered': names,
      'gpu_guarded': sorted(guarded - {None}),
      'tests': recorder.outcomes,
  }


def _main(report_path):
  report = _run_suite()
  with open(report_path, 'w') as report_file:
    json.dump(report, report_file, indent=1)
  return 0


# ---------------------------------------------------------------------------
# The pytest side.
# ---------------------------------------------------------------------------

if __name__ != '__main__' and importlib.util.find_spec('tf_slim') is None:
  pytest.skip('tf-slim is not installed; TF1\'s BatchNormTest suite ships in '
              'it: %s' % _INSTALL, allow_module_level=True)


@pytest.fixture(scope='module')
def report(tmp_path_factory):
  """Runs the suite once in a child interpreter; returns its report."""
  version = importlib.metadata.version('tf-slim')
  if version != _TF_SLIM_VERSION:
    pytest.fail('tf-slim %s is installed; this suite is pinned to %s: %s'
                % (version, _TF_SLIM_VERSION, _INSTALL))
  report_path = str(tmp_path_factory.mktemp('tf1_suite') / 'report.json')
  python_path = os.pathsep.join(
      p for p in (_REPO, os.environ.get('PYTHONPATH')) if p)
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', PYTHONPATH=python_path)
  result = subprocess.run(
      [sys.executable, os.path.abspath(__file__), report_path],
      cwd=_REPO, env=env, capture_output=True, text=True, timeout=900)
  if result.returncode != 0 or not os.path.exists(report_path):
    pytest.fail('the %s.%s run did not complete (exit %d):\n%s'
                % (_SUITE_MODULE, _SUITE_CLASS, result.returncode,
                   result.stderr[-6000:]))
  with open(report_path) as report_file:
    return json.load(report_file)


def test_suite_is_tf1_batchnormtest_with_66_tests(report):
  discovered = report['discovered']
  assert report['tf_slim_version'] == _TF_SLIM_VERSION
  assert len(discovered) == len(_TESTS) == 66, (
      '%s.%s has %d tests, expected 66: missing %s, unexpected %s'
      % (_SUITE_MODULE, _SUITE_CLASS, len(discovered),
         sorted(set(_TESTS) - set(discovered)),
         sorted(set(discovered) - set(_TESTS))))
  assert sorted(discovered) == sorted(_TESTS)
  assert sorted(report['tests']) == sorted(_TESTS), 'not every test ran'
  assert report['gpu_guarded'] == sorted(_GPU_GUARDED)


@pytest.mark.parametrize('name', _TESTS)
def test_tf1_batchnorm_case(report, name):
  record = report['tests'].get(name)
  if record is None:
    pytest.fail('%s did not run' % name)
  if record['outcome'] != 'passed':
    pytest.fail('%s.%s.%s %s:\n%s' % (_SUITE_MODULE, _SUITE_CLASS, name,
                                      record['outcome'], record['detail']),
                pytrace=False)
  assert record['batch_norm_calls'] > 0, (
      '%s passed without calling contrib_bn.batch_norm' % name)


if __name__ == '__main__':
  sys.exit(_main(sys.argv[1]))
