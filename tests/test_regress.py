"""The regression harness end to end: TF 1.15 recordings, TF 2 comparisons.

Recording needs the TF 1.15 interpreter: $CONTRIB_BN_TF1_PYTHON (set by
scripts/test.sh). Each model is recorded once per module, with few steps.
"""

import io
import json
import os
import shutil
import subprocess
import tempfile

import numpy as np
import pytest

from contrib_bn import cli
from contrib_bn.tools.regress import compare
from contrib_bn.tools.regress import record
from contrib_bn.tools.regress import html_report
from contrib_bn.tools.regress import setup_tf1
from contrib_bn.tools.regress import text_report

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, 'tests', 'data', 'regress_models')
LEGACY = os.path.join(ROOT, 'examples', 'legacy_net.py') + ':build_graph'
TF1_STYLE = os.path.join(MODELS, 'tf1_style_net.py') + ':build'
DIVERGENT = os.path.join(MODELS, 'tf1_style_net.py') + ':build_divergent'
BROKEN = os.path.join(MODELS, 'broken.py')
OWN_PLACEHOLDER = os.path.join(MODELS, 'own_placeholder.py') + ':build'
LEGACY_SHAPES = ['images=8,8,8,3;labels=8']
STEPS = 3
TF1_PYTHON = os.environ.get('CONTRIB_BN_TF1_PYTHON')
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')

pytestmark = pytest.mark.skipif(
    not TF1_PYTHON,
    reason='LOUD SKIP: CONTRIB_BN_TF1_PYTHON (a Python with TensorFlow 1.15) '
    'is not set; scripts/test.sh sets it')


@pytest.fixture(scope='module')
def workdir():
  directory = tempfile.mkdtemp(prefix='regress-test-')
  yield directory
  shutil.rmtree(directory, ignore_errors=True)


def _record(target, out, shapes=(), **kwargs):
  log = io.StringIO()
  manifest = record.record(target, out, TF1_PYTHON, STEPS, 0, list(shapes),
                           stderr=log, **kwargs)
  return manifest, log.getvalue()


@pytest.fixture(scope='module')
def legacy_recording(workdir):
  out = os.path.join(workdir, 'legacy')
  manifest, log = _record(LEGACY, out, LEGACY_SHAPES, int_range=(0, 4))
  return out, manifest, log


@pytest.fixture(scope='module')
def tf1_style_recording(workdir):
  out = os.path.join(workdir, 'tf1_style')
  return out, _record(TF1_STYLE, out)[0]


@pytest.fixture(scope='module')
def divergent_recording(workdir):
  out = os.path.join(workdir, 'divergent')
  return out, _record(DIVERGENT, out)[0]


def test_recording_holds_everything(legacy_recording):
  out, manifest, log = legacy_recording
  assert manifest['tensorflow'] == '1.15.5'
  assert [l['scope'] for l in manifest['layers']] == [
      'conv1/BatchNorm', 'conv2/BatchNorm', 'conv3/BatchNorm']
  assert 'step %d/%d' % (STEPS, STEPS) in log  # progress was shown
  # TF 1.15 ran with its own (v1) behaviour even though this process runs
  # TF 2: its fused kernel is visible in the graph, not in a function body.
  kernels = {l['scope']: l['fused_kernels'] for l in manifest['layers']}
  assert kernels == {'conv1/BatchNorm': ['FusedBatchNormV3'],
                     'conv2/BatchNorm': [],
                     'conv3/BatchNorm': ['FusedBatchNormV3']}
  assert os.path.isfile(os.path.join(out, 'checkpoint', 'model.index'))
  with np.load(os.path.join(out, 'run.npz')) as run, \
      np.load(os.path.join(out, 'ulp.npz')) as ulp:
    keys = set(run.files)
    for step in range(STEPS):
      for layer in manifest['layers']:
        assert 'step%d/layer/%s' % (step, layer['scope']) in keys
      assert 'step%d/loss' % step in keys
    assert {'initial/conv1/weights', 'final/conv1/weights',
            'inference/output/logits'} <= keys
    # Training moved the moving statistics away from their initial values.
    assert np.any(run['final/conv1/BatchNorm/moving_mean'] != 0.0)
    # The sensitivity run started exactly one ULP above every float value.
    initial = run['initial/conv1/weights']
    np.testing.assert_array_equal(ulp['initial/conv1/weights'],
                                  np.nextafter(initial, np.float32(np.inf)))
    assert not np.array_equal(ulp['step1/layer/conv1/BatchNorm'],
                              run['step1/layer/conv1/BatchNorm'])
  with np.load(os.path.join(out, 'inputs.npz')) as inputs:
    assert inputs['step0/images'].shape == (8, 8, 8, 3)
    assert set(np.unique(inputs['step0/labels'])) <= {0, 1, 2, 3}


def test_legacy_net_agrees(legacy_recording, workdir, capsys):
  out = legacy_recording[0]
  html = os.path.join(workdir, 'legacy.html')
  code = cli.main(['regress', 'compare', LEGACY, out, '--report', html])
  printed = capsys.readouterr().out
  assert code == 0, printed
  last = printed.strip().splitlines()[-1]
  assert last.startswith('regress: PASS: 3 batch-norm layer(s) x 3 step(s)')
  for name in ('conv2/BatchNorm', 'restored layer', 'variable final'):
    assert name in printed
  assert os.path.isfile(html)


def test_tf1_import_style_model_agrees(tf1_style_recording):
  out, manifest = tf1_style_recording
  result = compare.compare_recording(TF1_STYLE, out)
  assert result.ok, text_report.table(result)
  assert result.layer_order == ['dense1/BatchNorm', 'dense2/BatchNorm']
  groups = {e.group for e in result.entries}
  assert {'layer', 'moving', 'output', 'loss', 'variable final',
          'inference layer', 'restored output'} <= groups
  assert len([e for e in result.entries if e.group == 'layer']) == 2 * STEPS
  # Built with TF 2's own control flow the numbers agree just as well.
  result_v2 = compare.compare_recording(TF1_STYLE, out, control_flow_v2=True)
  assert result_v2.ok, text_report.table(result_v2)


def test_model_keeping_its_placeholder_runs_inference_on_both_sides(
    workdir):
  out = os.path.join(workdir, 'own_placeholder')
  manifest, _ = _record(OWN_PLACEHOLDER, out)
  assert manifest['mode_placeholders'] == ['is_training:0']
  assert not manifest['has_is_training']
  with np.load(os.path.join(out, 'run.npz')) as run:
    # Training mode adds 100 (the model's own conditional); inference not.
    assert np.min(run['step0/output/y']) > 50.0
    assert np.max(np.abs(run['inference/output/y'])) < 50.0
  result = compare.compare_recording(OWN_PLACEHOLDER, out)
  assert result.ok, text_report.table(result)
  restored = [e for e in result.entries if e.group == 'restored output']
  assert restored and not any(e.diverged for e in restored)


def test_injected_divergence_names_the_layer(divergent_recording, workdir,
                                             capsys):
  out = divergent_recording[0]
  code = cli.main(['regress', 'compare', DIVERGENT, out, '--json'])
  assert code == 1
  data = json.loads(capsys.readouterr().out)
  first = data['first_divergence']
  assert (first['group'], first['name'], first['step']) == (
      'layer', 'dense2/BatchNorm', 0)
  assert data['hints'][0] == (
      'epsilon: the fused kernel of dense2/BatchNorm used epsilon [0.001] on '
      'TF 1.15 and [0.01] on TF 2')
  # The layer before it agrees at step 0; later steps differ only because
  # training went on from different gradients.
  dense1 = [e for e in data["entries"]
            if e["key"] == "step0/layer/dense1/BatchNorm"]
  assert len(dense1) == 1 and not dense1[0]['diverged']
  assert dense1[0]['divergence'] <= compare.FLOAT_TOLERANCE
  result = compare.compare_recording(DIVERGENT, out)
  summary = text_report.summary(result)
  assert summary.startswith(
      'regress: DIVERGED: first at layer dense2/BatchNorm at step 0')


@pytest.mark.parametrize('variant, first, hint', [
    # No UPDATE_OPS block on TF 2: training outputs agree at first, the
    # moving statistics stop moving.
    ('unwired', ('moving', 'dense1/BatchNorm/moving_mean', 1),
     'update ops not run: dense1/BatchNorm moving statistics changed on TF '
     '1.15 but stayed at their initial values on TF 2'),
    # is_training wired to a constant True on TF 2: every training step
    # agrees, inference does not.
    ('static_training', ('inference layer', 'dense1/BatchNorm', None),
     'is_training wiring or moving statistics: every training step agrees '
     'but inference does not'),
])
def test_planted_mistakes_get_their_likely_cause(tf1_style_recording,
                                                monkeypatch, variant, first,
                                                hint):
  # The same recording of `build`; only the TF 2 side changes.
  monkeypatch.setenv('REGRESS_TEST_VARIANT', variant)
  result = compare.compare_recording(TF1_STYLE, tf1_style_recording[0])
  assert not result.ok
  assert (result.first.group, result.first.name, result.first.step) == first
  assert any(h.startswith(hint) for h in result.hints), result.hints
  if variant == 'unwired':
    assert result.unwired == ['dense1/BatchNorm', 'dense2/BatchNorm']


def _screenshot(html_path, png_path):
  profile = tempfile.mkdtemp(prefix='chromium-profile-')
  try:
    subprocess.run(
        [CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu',
         '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync',
         '--user-data-dir=' + profile, '--screenshot=' + png_path,
         '--window-size=1100,800', 'file://' + html_path],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
        check=True)
  finally:
    shutil.rmtree(profile, ignore_errors=True)
  import matplotlib.image  # pylint: disable=g-import-not-at-top
  return matplotlib.image.imread(png_path)


def _on_ci():
  """True when the CI environment variable is set (to anything but false)."""
  return os.environ.get('CI', '').strip().lower() not in ('', '0', 'false')


def _require_chromium():
  """Skips loudly without chromium; on CI its absence is a failure."""
  if CHROMIUM is not None:
    return
  if _on_ci():
    pytest.fail('chromium is missing, but CI is set: the report rendering '
                'test must run on CI; apt-get install -y chromium')
  pytest.skip('LOUD SKIP: no chromium (or chromium-browser) on PATH; '
              'apt-get install -y chromium to run this test')


def test_report_renders_in_headless_chromium(divergent_recording, workdir):
  _require_chromium()
  result = compare.compare_recording(DIVERGENT, divergent_recording[0])
  html_path = os.path.join(workdir, 'divergent.html')
  html_report.write(result, DIVERGENT, html_path)
  with open(html_path) as f:
    page = f.read()
  # Self-contained: no script and nothing fetched from elsewhere.
  assert '<svg' in page and '<script' not in page
  assert 'src=' not in page and 'href=' not in page
  pixels = _screenshot(html_path, os.path.join(workdir, 'divergent.png'))
  rgb = (pixels[..., :3] * 255).round().astype(int)
  colours = {tuple(p) for p in rgb.reshape(-1, 3)[::7]}
  assert len(colours) > 20
  # The diverged points are drawn in red (#d62728), the band in light blue.
  def has(colour):
    return np.any(np.all(np.abs(rgb - np.array(colour)) <= 8, axis=-1))
  assert has((0xd6, 0x27, 0x28))
  assert has((0xcf, 0xe3, 0xf7))


# --- bad input: clear errors, nothing half-written ---------------------------


def _leftovers(parent):
  return [n for n in os.listdir(parent) if n.startswith('.')]


@pytest.mark.parametrize('target, shapes, message', [
    (BROKEN + ':no_such_function', (), "has no function 'no_such_function'"),
    (BROKEN + ':without_inputs', (), "without 'inputs'"),
    (BROKEN + ':unknown_dimensions', (), '--input-shapes x='),
    (BROKEN + ':fails_while_building', (),
     'the model failed under TensorFlow 1.15'),
])
def test_bad_models_are_refused_with_nothing_written(target, shapes, message):
  parent = tempfile.mkdtemp(prefix='regress-bad-')
  try:
    out = os.path.join(parent, 'out')
    with pytest.raises(record.RecordError) as raised:
      _record(target, out, shapes)
    assert message in str(raised.value)
    if target.endswith('fails_while_building'):
      # The model's own traceback, down to its line.
      assert 'Traceback' in str(raised.value)
      assert 'broken.py' in str(raised.value)
      assert 'fails_while_building' in str(raised.value)
    assert not os.path.exists(out)
    assert _leftovers(parent) == []
  finally:
    shutil.rmtree(parent, ignore_errors=True)


def test_out_holding_another_recording_is_refused(legacy_recording):
  out = legacy_recording[0]
  before = {n: os.path.getmtime(os.path.join(out, n)) for n in os.listdir(out)}
  with pytest.raises(record.RecordError, match='different recording'):
    _record(TF1_STYLE, out)
  with pytest.raises(record.RecordError, match='steps'):
    record.record(LEGACY, out, TF1_PYTHON, STEPS + 1, 0, LEGACY_SHAPES,
                  int_range=(0, 4))
  after = {n: os.path.getmtime(os.path.join(out, n)) for n in os.listdir(out)}
  assert before == after
  assert _leftovers(os.path.dirname(out)) == []


def test_out_holding_other_files_is_refused(workdir):
  out = os.path.join(workdir, 'not_a_recording')
  os.makedirs(out)
  with open(os.path.join(out, 'notes.txt'), 'w') as f:
    f.write('mine')
  with pytest.raises(record.RecordError, match='holds no recording'):
    _record(TF1_STYLE, out)


@pytest.mark.parametrize('argv, message', [
    (['--tf1-python', '/nonexistent/python'], 'not an executable'),
    (['--steps', '0'], '--steps must be at least 1'),
    (['--input-shapes', 'x=a,b'], 'dimensions must be integers'),
])
def test_bad_record_arguments(argv, message, capsys, workdir):
  args = ['regress', 'record', TF1_STYLE, '--out',
          os.path.join(workdir, 'never')]
  if '--tf1-python' not in argv:
    args += ['--tf1-python', TF1_PYTHON]
  assert cli.main(args + argv) == 2
  assert message in capsys.readouterr().err
  assert not os.path.exists(os.path.join(workdir, 'never'))


def test_compare_without_recording(workdir, capsys):
  empty = os.path.join(workdir, 'empty')
  os.makedirs(empty, exist_ok=True)
  assert cli.main(['regress', 'compare', TF1_STYLE, empty]) == 2
  assert 'holds no recording' in capsys.readouterr().err


@pytest.mark.parametrize('python, message', [
    ('/nonexistent/python3.7', "no Python interpreter '/nonexistent/python3.7'"),
    ('SELF', 'has wheels for Python 3.5 to 3.7 only'),
])
def test_setup_tf1_names_what_is_missing(python, message, workdir):
  import sys  # pylint: disable=g-import-not-at-top
  if python == 'SELF':
    python = sys.executable
  with pytest.raises(setup_tf1.SetupError, match=message):
    setup_tf1.setup(python, os.path.join(workdir, 'venv'), log=lambda m: None)
  assert not os.path.exists(os.path.join(workdir, 'venv'))
