"""Replays tf.layers golden cases under XLA, in a fresh interpreter.

Usage: replay_under_xla.py MODE CASE_ID...   (MODE: auto or jit_scope)

`auto` asks for auto-clustering (TF_XLA_FLAGS=--tf_xla_cpu_global_jit, read
before the process's first session, and global_jit_level=ON_1); `jit_scope`
builds each case's graph inside `tf.xla.experimental.jit_scope()` with
auto-clustering off. Each case is built through `tf.compat.v1.layers` after
`contrib_bn.install()`, trained as TF 1.15.5 trained it, and its TF1
checkpoint restored into the inference graph, all in XLA sessions. Prints
one JSON line: case id -> {'compiled': XLA ops in the first training run's
partition graphs, 'problems': differences from the TF 1.15.5 golden beyond
contrib_bn.conformance.matching's tolerance for the case's dtype,
'max_abs_diff'}.
"""

import contextlib
import json
import os
import sys
import types

import tensorflow as tf

import contrib_bn
from contrib_bn.conformance import matching
from contrib_bn.conformance import tf_layers_cases as cases
from contrib_bn.conformance import verify_single_device

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
import golden_replay  # pylint: disable=g-import-not-at-top

v1 = tf.compat.v1
_XLA_OPS = ('_XlaCompile', '_XlaRun', '_XlaMerge', 'XlaLaunch')


def _config(mode):
  config = cases.session_config(v1)
  if mode == 'auto':
    config.graph_options.optimizer_options.global_jit_level = (
        v1.OptimizerOptions.ON_1)
  return config


def _scope(mode):
  if mode == 'jit_scope':
    return tf.xla.experimental.jit_scope()
  return contextlib.suppress()


def _compiled(session, built, feed):
  """XLA ops in the partition graphs of one forward and backward run."""
  metadata = v1.RunMetadata()
  session.run([built.output, built.loss, built.grads], feed,
              options=v1.RunOptions(output_partition_graphs=True),
              run_metadata=metadata)
  return sum(node.op in _XLA_OPS for partition in metadata.partition_graphs
             for node in partition.node)


def replay(mode, corpus, api, case_id):
  record, golden = corpus.golden(case_id)
  case = cases.case_by_id(case_id)
  graph = tf.Graph()
  with graph.as_default():
    with _scope(mode):
      built = cases.build(v1, api, case)
    structure = cases.structure(v1, built)
    with v1.Session(graph=graph, config=_config(mode)) as session:
      session.run(v1.global_variables_initializer())
      feed = {built.x: golden['input'], built.target: golden['target']}
      if built.kind == 'placeholder':
        feed[built.training] = True
      compiled = _compiled(session, built, feed)
      arrays = cases.train(v1, session, built, golden['input'],
                           golden['target'])
  graph = tf.Graph()
  with graph.as_default():
    with _scope(mode):
      built = cases.build(v1, api, case, training_kind='false')
    with v1.Session(graph=graph, config=_config(mode)) as session:
      v1.train.Saver().restore(session, corpus.checkpoint(case_id))
      arrays['inference/output'] = cases.infer(session, built,
                                               golden['input'])
  comparison = matching.Comparison(matching.tolerance_for(case['dtype']))
  comparison.structure(record['structure'], structure)
  comparison.arrays(golden, arrays)
  return {'compiled': compiled, 'problems': comparison.problems,
          'max_abs_diff': float(comparison.max_abs_diff)}


def main(argv):
  mode, case_ids = argv[1], argv[2:]
  if mode == 'auto':
    verify_single_device.enable_xla_auto_clustering()
  elif mode != 'jit_scope':
    raise SystemExit('mode must be auto or jit_scope, got %r' % mode)
  contrib_bn.install()
  api = types.SimpleNamespace(
      batch_normalization=v1.layers.batch_normalization,
      BatchNormalization=v1.layers.BatchNormalization,
      batch_norm=v1.contrib.layers.batch_norm)
  corpus = golden_replay.Corpus('tf_layers', 'record_tf_layers.py')
  print(json.dumps({case_id: replay(mode, corpus, api, case_id)
                    for case_id in case_ids}))


if __name__ == '__main__':
  main(sys.argv)
