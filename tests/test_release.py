"""The built wheel works on its own: package, corpus and command line."""

import os
import subprocess
import sys
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS_FILES = 1 + 276 * 2  # manifest, then a record and arrays per case


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
  """The wheel built from this tree, unpacked into an empty directory."""
  dist = tmp_path_factory.mktemp('dist')
  subprocess.check_call(
      [sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation',
       '-q', '-w', str(dist), ROOT])
  wheels = [p for p in os.listdir(str(dist)) if p.endswith('.whl')]
  assert len(wheels) == 1, wheels
  wheel = os.path.join(str(dist), wheels[0])
  target = tmp_path_factory.mktemp('site')
  with zipfile.ZipFile(wheel) as archive:
    archive.extractall(str(target))
  return wheel, str(target)


def test_wheel_ships_the_corpus(installed):
  wheel, _ = installed
  with zipfile.ZipFile(wheel) as archive:
    names = archive.namelist()
  corpus = [n for n in names if n.startswith('contrib_bn/goldens/tf1.15.5/')
            and '/checkpoints/' not in n]
  assert len(corpus) == CORPUS_FILES
  assert any(n.startswith('contrib_bn/goldens/tf1.15.5/checkpoints/')
             for n in names)
  assert not any(n.startswith(('tests/', 'scripts/', 'compat_tests/'))
                 for n in names)


def test_installed_package_verifies_from_elsewhere(installed, tmp_path):
  _, site = installed
  env = dict(os.environ, PYTHONPATH=site, TF_CPP_MIN_LOG_LEVEL='3')
  result = subprocess.run(
      [sys.executable, '-c',
       'import contrib_bn, sys; print(contrib_bn.__file__); '
       'from contrib_bn.__main__ import main; '
       'sys.exit(main(["verify", "--filter", "^(default_r4_nchw|'
       'zero_debias_r3_nhwc|error_renorm_zero_debias)$"]))'],
      cwd=str(tmp_path), env=env, capture_output=True, text=True,
      check=False)
  assert result.returncode == 0, result.stdout + result.stderr[-2000:]
  assert result.stdout.splitlines()[0].startswith(site)
  assert '3/3 golden cases match TF 1.15.5' in result.stdout
