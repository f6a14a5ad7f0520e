"""What a verification ran on: TensorFlow, Python, oneDNN, XLA and the CPU.

oneDNN changes the graph TensorFlow runs (Grappler's remapper fuses other op
patterns with it on), and TensorFlow turns it on by default by processor, so a
report that does not say whether it was on does not say what was checked.
Whether it is on is read from the graph TensorFlow really runs: with oneDNN
its CPU kernels are `_Mkl*` ops in the partition graphs.
"""

import os
import platform

import tensorflow as tf

from contrib_bn.conformance import harness

ONEDNN_VARIABLE = 'TF_ENABLE_ONEDNN_OPTS'
# /proc/cpuinfo flag -> the name TensorFlow's start-up log gives the feature.
_FEATURES = (('avx2', 'AVX2'), ('avx512f', 'AVX512F'),
             ('avx512_vnni', 'AVX512_VNNI'), ('avx512_bf16', 'AVX512_BF16'),
             ('amx_tile', 'AMX'))


def onednn_enabled():
  """Whether TensorFlow's CPU kernels run through oneDNN in this process."""
  graph = tf.Graph()
  with graph.as_default():
    x = tf.compat.v1.placeholder(tf.float32, [1, 1, 1, 1])
    y = tf.nn.conv2d(x, tf.ones([1, 1, 1, 1]), 1, 'SAME')
    metadata = tf.compat.v1.RunMetadata()
    # The process's CPU thread pool is sized by its first session, and this
    # probe may be the first: it asks for the single thread the corpus was
    # recorded and replayed with, so that it changes no later arithmetic.
    with tf.compat.v1.Session(graph=graph,
                              config=harness.session_config(tf)) as sess:
      sess.run(y, {x: [[[[1.0]]]]},
               options=tf.compat.v1.RunOptions(output_partition_graphs=True),
               run_metadata=metadata)
  return any(node.op.startswith('_Mkl')
             for partition in metadata.partition_graphs
             for node in partition.node)


def _cpuinfo():
  """(model name, flags) from /proc/cpuinfo, or what `platform` knows."""
  model, flags = platform.processor() or platform.machine(), set()
  try:
    with open('/proc/cpuinfo') as f:
      for line in f:
        key, _, value = line.partition(':')
        key = key.strip()
        if key == 'model name' and value.strip():
          model = value.strip()
        elif key == 'flags':
          flags = set(value.split())
        if flags and key == '':
          break
  except OSError:
    pass
  return model, flags


def describe(xla=False):
  """A dict of what this run checks with (also printed by `header`)."""
  model, flags = _cpuinfo()
  return {
      'tensorflow': tf.__version__,
      'python': platform.python_version(),
      'onednn': onednn_enabled(),
      'onednn_setting': os.environ.get(ONEDNN_VARIABLE, 'default'),
      'xla': bool(xla),
      'cpu': model,
      'cpu_features': [name for flag, name in _FEATURES if flag in flags],
  }


def header(description):
  """One line naming the versions, oneDNN, XLA and the CPU's features."""
  return ('TensorFlow %s, Python %s; oneDNN %s (%s=%s); XLA %s; CPU %s '
          '[%s]' % (description['tensorflow'], description['python'],
                    'on' if description['onednn'] else 'off',
                    ONEDNN_VARIABLE, description['onednn_setting'],
                    'on' if description['xla'] else 'off',
                    description['cpu'],
                    ' '.join(description['cpu_features']) or 'none of AVX2, '
                    'AVX-512, VNNI, BF16, AMX'))
