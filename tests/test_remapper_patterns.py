"""No op pattern that Grappler's remapper fuses wrongly, on any path.

With oneDNN on (TensorFlow's default on CPUs with AVX512_VNNI, AVX512_BF16 or
AMX, and on any x86 CPU with TF_ENABLE_ONEDNN_OPTS=1), the remapper fuses a
`FusedBatchNorm*` op with an activation (Relu, Relu6, Elu, LeakyRelu) or a
side-input Add that follows it into one kernel whose activation applies to
`y`. It does so even when the activation reads the batch mean or variance:
`relu(fused_batch_norm(x)[2])` then returns a tensor shaped like `x`. So no
op of those types may read any output of the kernel but `y`. The graph audit
fails on any processor; the run below checks the result with oneDNN forced on.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from contrib_bn import batch_norm

# Op types the remapper fuses into a preceding FusedBatchNorm* kernel.
_FUSABLE = {'Relu', 'Relu6', 'Elu', 'LeakyRelu', 'Add', 'AddV2', 'AddN',
            'BiasAdd'}

_R4, _R3, _R2, _R5 = [4, 5, 5, 3], [4, 5, 3], [8, 3], [2, 3, 4, 5, 3]
# name -> (shape, is_training, kwargs): every path that runs the kernel.
CONFIGURATIONS = {
    'fused_forced_r4': (_R4, True, dict(updates_collections=None)),
    'fused_forced_r2': (_R2, True, dict(updates_collections=None)),
    'fused_zero_debias_r4': (_R4, True, dict(zero_debias_moving_mean=True)),
    'fused_custom_r4': (_R4, True, dict(updates_collections=['custom'])),
    'fused_forced_ph_r4': (_R4, None, dict(updates_collections=None)),
    'core_kernel_r4': (_R4, True, {}),
    'core_kernel_ph_r4': (_R4, None, {}),
    'core_unfused_r4': (_R4, True, dict(fused=False)),
    'core_r3': (_R3, True, {}),
    'core_r5': (_R5, True, {}),
    'core_r2_unfused': (_R2, True, dict(fused=False)),
    'core_adjustment_r4': (_R4, True, dict(
        adjustment=lambda shape: (tf.ones([3]), tf.zeros([3])))),
    'moments_forced_r3': (_R3, True, dict(updates_collections=None)),
    'moments_forced_unfused_r4': (_R4, True, dict(updates_collections=None,
                                                  fused=False)),
    'moments_forced_ph_r3': (_R3, None, dict(updates_collections=None)),
    'moments_zero_debias_r5': (_R5, True, dict(zero_debias_moving_mean=True)),
    'moments_nchw_r5': (_R5, True, dict(data_format='NCHW',
                                        updates_collections=None)),
}


def _build(shape, is_training, kwargs):
  graph = tf.Graph()
  with graph.as_default():
    x = tf.compat.v1.placeholder(tf.float32, shape)
    if is_training is None:
      is_training = tf.compat.v1.placeholder(tf.bool, [])
    y = batch_norm(x, is_training=is_training, scale=True, **kwargs)
    tf.compat.v1.gradients(tf.reduce_sum(y * y), x)
  return graph


def _statistics_readers(graph):
  """(kernel, output, reader type) for every reader of a kernel output but y.

  Walks the graph and the bodies of its functions (a conditional on a
  placeholder builds its branches as functions, which Grappler inlines
  before remapping). A graph node names another's output as `node:index`;
  a function body names it as `node:output_name:index`.
  """
  graph_def = graph.as_graph_def()
  bodies = [(graph_def.node, False)] + [
      (function.node_def, True) for function in graph_def.library.function]
  found = []
  for nodes, in_function in bodies:
    kernels = {node.name for node in nodes
               if node.op.startswith('FusedBatchNorm') and
               not node.op.endswith('Grad')}
    for node in nodes:
      for ref in node.input:
        parts = ref.lstrip('^').split(':')
        if ref.startswith('^') or parts[0] not in kernels or len(parts) < 2:
          continue
        statistic = parts[1] != 'y' if in_function else parts[1] != '0'
        if statistic:
          found.append((parts[0], ':'.join(parts[1:]), node.op))
  return found


@pytest.mark.parametrize('name', sorted(CONFIGURATIONS))
def test_no_fusable_op_reads_the_kernels_statistics(name):
  graph = _build(*CONFIGURATIONS[name])
  readers = _statistics_readers(graph)
  kernels = {kernel for kernel, _, _ in readers}
  assert kernels, 'no FusedBatchNorm kernel with a read statistic in %s' % name
  fusable = [r for r in readers if r[2] in _FUSABLE]
  assert not fusable, fusable


_FORCED_ONEDNN_RUN = textwrap.dedent('''
    import numpy as np
    import tensorflow as tf
    tf.compat.v1.disable_eager_execution()
    from contrib_bn import batch_norm
    x = tf.compat.v1.placeholder(tf.float32, [4, 5, 5, 3])
    y = batch_norm(x, updates_collections=None, decay=0.5)
    moving = [v for v in tf.compat.v1.global_variables()
              if 'moving' in v.op.name]
    data = np.random.RandomState(0).normal(2.0, 3.0, [4, 5, 5, 3])
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      sess.run(y, {x: data})
      mean, variance = sess.run(moving)
    np.save(OUT, np.stack([mean, variance]))
''')


def test_forced_updates_run_with_onednn_forced_on(tmp_path):
  out = str(tmp_path / 'moving.npy')
  env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS='1', TF_CPP_MIN_LOG_LEVEL='2')
  subprocess.run([sys.executable, '-c', 'OUT = %r\n' % out +
                  _FORCED_ONEDNN_RUN], env=env, check=True)
  mean, variance = np.load(out)
  data = np.random.RandomState(0).normal(2.0, 3.0, [4, 5, 5, 3])
  flat = data.reshape(-1, 3)
  # decay 0.5 from (0, 1): half the batch mean, and half of one plus the
  # fused path's Bessel-corrected batch variance.
  np.testing.assert_allclose(mean, 0.5 * flat.mean(0), rtol=1e-5)
  np.testing.assert_allclose(
      variance, 0.5 * (1.0 + flat.var(0, ddof=1)), rtol=1e-5)
