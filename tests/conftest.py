"""Shared fixtures of the TF 2.x tests, and the shared helpers' import path.

The helper modules in tests/ (shared contracts such as `bn_behaviour`, case
tables such as `era_checkpoints`) are imported by name; both test trees put
tests/ on the path for that.
"""

import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def _size_the_cpu_thread_pool():
  """Opens the process's first session with one intra-op thread.

  TensorFlow sizes the CPU device's intra-op thread pool once per process,
  from its first session's config. The corpora were recorded with one thread
  and are replayed with one; with two, oneDNN splits its reductions and a
  replayed loss moved by 1.2x its tolerance (tf_layers rank4_fused_true), so
  which test happened to run first decided a result. Inter-op threads are
  left to TensorFlow (distribution tests need several).
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  graph = tf.Graph()
  with graph.as_default():
    one = tf.constant(1.0)
  config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=1)
  with tf.compat.v1.Session(graph=graph, config=config) as session:
    session.run(one)


_size_the_cpu_thread_pool()


@pytest.fixture
def copy_golden():
  """`copy(directory, case_id)`: one packaged golden case, checkpoint too."""
  from contrib_bn.conformance import goldens  # pylint: disable=g-import-not-at-top

  def copy(directory, case_id):
    source = goldens.DEFAULT_DIR
    for suffix in ('.json', '.npz'):
      shutil.copy('%s/%s%s' % (source, case_id, suffix), str(directory))
    (directory / 'checkpoints').mkdir()
    for suffix in ('.index', '.data-00000-of-00001'):
      shutil.copy('%s/checkpoints/%s%s' % (source, case_id, suffix),
                  str(directory / 'checkpoints'))

  return copy


@pytest.fixture
def installed():
  """`contrib_bn.install()` for the test, `uninstall()` after it.

  A module whose every test runs installed says so once:
  `pytestmark = pytest.mark.usefixtures('installed')`.
  """
  import contrib_bn  # pylint: disable=g-import-not-at-top
  contrib_bn.install()
  yield
  contrib_bn.uninstall()


# Test tiers (docs/development.md says which to run when). Modules are marked
# here, in one place, rather than test by test:
#   slow        a module that takes over about ten seconds on a 2-core
#               machine: it runs the whole corpus, builds full-size nets,
#               thousand-layer graphs or the benchmark, or starts processes;
#   subprocess  starts Python processes (fresh TensorFlow imports);
#   tf1         needs the TF 1.15.5 interpreter (CONTRIB_BN_TF1_PYTHON);
#   single_setting  run under one oneDNN setting (see below).
# `pytest -m "not slow"` is the fast tier; scripts/test.sh runs everything.
SLOW_MODULES = frozenset([
    'test_bench_smoke', 'test_checkpoint_eras', 'test_cli_startup',
    'test_cluster', 'test_export', 'test_export_forms', 'test_goldens',
    'test_install', 'test_migration', 'test_properties', 'test_regress',
    'test_release', 'test_scale', 'test_scan_programs', 'test_slim_compat',
    'test_slim_nets', 'test_tf1_batchnorm_suite', 'test_xla',
    'test_distributed_goldens', 'test_keras_export', 'test_tf_layers',
    'test_tf_layers_update_ops', 'test_tf_layers_export', 'test_tf_layers_xla',
    'test_tf_layers_regress',
])
SUBPROCESS_MODULES = frozenset([
    'test_bench_smoke', 'test_cli_startup', 'test_contrib_layers_names',
    'test_export', 'test_export_forms', 'test_install', 'test_migration',
    'test_regress', 'test_release', 'test_remapper_patterns', 'test_scan',
    'test_scan_programs', 'test_slim_compat', 'test_slim_nets',
    'test_tf1_batchnorm_suite', 'test_tf_layers', 'test_xla',
    'test_tf_layers_xla', 'test_tf_layers_regress',
])
TF1_MODULES = frozenset(['test_bench_smoke', 'test_regress', 'test_slim_nets',
                         'test_tf_layers_regress'])
# Run under one oneDNN setting only (scripts/test.sh runs the rest under both):
# what they check does not depend on the graph TensorFlow runs (imports,
# source scanning, packaging, start-up log lines), or `verify` covers it under
# both settings (test_goldens replays the corpus `verify` checks).
SINGLE_SETTING_MODULES = frozenset([
    'test_architecture', 'test_scan', 'test_scan_programs',
    'test_scan_verdicts', 'test_release', 'test_cli_startup', 'test_goldens',
])


def pytest_collection_modifyitems(config, items):
  del config
  for item in items:
    module = item.module.__name__.rsplit('.', 1)[-1]
    for marker, modules in (('slow', SLOW_MODULES),
                            ('subprocess', SUBPROCESS_MODULES),
                            ('tf1', TF1_MODULES),
                            ('single_setting', SINGLE_SETTING_MODULES)):
      if module in modules:
        item.add_marker(getattr(pytest.mark, marker))
