"""The single-device corpus of `verify`: every golden case rebuilt with contrib_bn.

For each case of the corpus it builds the same graph as the recorder, with
`contrib_bn.batch_norm` in place of `tf.contrib.layers.batch_norm`, and
compares outputs, gradients, variables, regularization losses and the graph
structure; then it restores the case's TF1 checkpoint into a fresh contrib_bn
graph and compares the inference outputs. Error cases must raise TF 1.15's
exception type and message.

The `verify` subcommand itself, which runs this and the other verifiers under
one header, is `verify_command`.
"""

import re
import traceback

import tensorflow as tf

from contrib_bn import _dispatch
from contrib_bn import _outside_xla
from contrib_bn import layer
from contrib_bn.conformance import matching
from contrib_bn.conformance import goldens
from contrib_bn.conformance import harness
from contrib_bn.conformance import xla_flags


# Set by `verify --verbose`: a case that raised reports its whole message and
# traceback, not one line.
VERBOSE = False


_TRACE_LINE = re.compile(
    r'^(Graph execution error:|Detected at node |Node: |File "|\[\[)')


def one_line(error):
  """`Type at node NAME: first line of the message` for an exception.

  A TensorFlow run error's text carries the graph's construction trace, tens
  of lines per case; the type, the failing node and the message's first line
  say what failed. `--verbose` gives the rest.
  """
  message = getattr(error, 'message', None) or str(error)
  lines = [line.strip() for line in message.splitlines() if line.strip()]
  # TF 2 opens a run error with its construction trace; the error is the
  # first line that is none of it.
  said = [line for line in lines if not _TRACE_LINE.match(line)]
  first = (said or lines or [''])[0]
  if first in ('in user code:', 'in converted code:'):
    # AutoGraph puts the error itself last, after the user's frames.
    first = said[-1]
  name = type(error).__name__
  if first.startswith(name + ': '):
    first = first[len(name) + 2:]
  op = getattr(error, 'op', None)
  node = getattr(op, 'name', None)
  where = ' at node %s' % node if node else ''
  summary = '%s%s: %s' % (name, where, first)
  if VERBOSE:
    summary += '\n' + ''.join(traceback.format_exception(
        type(error), error, error.__traceback__))
  return summary


class CaseResult(object):
  """The outcome of one case."""

  def __init__(self, case_id, path, comparison=None, problems=None,
               note='', dtype=None):
    self.case_id = case_id
    self.dtype = dtype
    self.path = path
    self.comparison = comparison
    self.problems = list(problems or [])
    if comparison is not None:
      self.problems.extend(comparison.problems)
    self.note = note

  @property
  def ok(self):
    return not self.problems

  @property
  def max_abs_diff(self):
    return None if self.comparison is None else self.comparison.max_abs_diff


def path_of(case):
  """The internal path contrib_bn takes for a case, for reporting."""
  shape = case['input_shape']
  rank = None if shape == 'unknown_rank' else len(shape)
  kwargs = case['kwargs']
  updates = kwargs.get('updates_collections', harness.UPDATE_OPS_MARKER)
  if updates == harness.UPDATE_OPS_MARKER:
    updates = tf.compat.v1.GraphKeys.UPDATE_OPS
  path = _dispatch.select_path(
      rank, kwargs.get('fused'), kwargs.get('batch_weights'),
      kwargs.get('renorm', False), kwargs.get('adjustment'),
      kwargs.get('zero_debias_moving_mean', False), updates)
  if path == 'core' and _dispatch.uses_fused_kernel(
      path, rank, kwargs.get('fused'), kwargs.get('renorm', False),
      kwargs.get('adjustment')):
    return 'core+kernel'
  return path


def _verify_error(golden, path):
  expected = golden.error
  try:
    harness.build(tf, layer.batch_norm, golden.case)
  except Exception as e:  # pylint: disable=broad-except
    if expected['stage'] == 'run':
      # TF 1.15 only failed when the graph ran; contrib_bn must refuse it
      # while building, with a clear argument error.
      if isinstance(e, (ValueError, TypeError)):
        return CaseResult(golden.id, path, note='build-time error')
      return CaseResult(golden.id, path, problems=[
          'expected a ValueError/TypeError at build time, got %s: %s' %
          (type(e).__name__, e)])
    got = (type(e).__name__, str(e))
    if got != (expected['type'], expected['message']):
      return CaseResult(golden.id, path, problems=[
          'raised %s: %s; TF 1.15 raised %s: %s' % (
              got[0], got[1], expected['type'], expected['message'])])
    return CaseResult(golden.id, path, note='same error')
  return CaseResult(golden.id, path, problems=[
      'built without error; TF 1.15 raised %s: %s' % (
          expected['type'], expected['message'])])


def verify_case(golden, xla=False):
  """Verifies one golden case (under XLA auto-clustering if `xla`)."""
  case = golden.case
  path = path_of(case)
  if golden.error is not None:
    result = _verify_error(golden, path)
    result.dtype = case['dtype']
    return result
  comparison = matching.Comparison(matching.tolerance_for(case['dtype']))
  data, target = golden.arrays['input'], golden.arrays['target']
  try:
    # Under XLA the harness's loss, not the layer's, stays out of XLA: it
    # cancels (tiny_epsilon_fused_zd's step-1 loss is 0.71, the difference of
    # two sums near 45, on the absolute scale of 1 that values below 1 get),
    # and XLA's order of summation alone moved it by 1.5e-5, four float32
    # ulps of those sums, against 1e-5 allowed, while the layer matched.
    built = harness.build(tf, layer.batch_norm, case,
                          loss_scope=_outside_xla.scope if xla else None)
    ours = harness.run(tf, built, data, target, xla=xla)
    structure = harness.structure(tf, built, case)
  except Exception as e:  # pylint: disable=broad-except
    return CaseResult(golden.id, path, problems=['failed: ' + one_line(e)])
  comparison.structure(golden.record['structure'], structure)
  comparison.arrays(golden.arrays, ours)
  note = 'derived NHWC golden' if golden.derived else ''
  prefix = golden.checkpoint_prefix
  if prefix is None:
    comparison.problem('TF1 checkpoint missing; ' + goldens.REGENERATE_HINT)
  else:
    try:
      restored = restore_and_infer(golden, prefix, xla)
    except Exception as e:  # pylint: disable=broad-except
      comparison.problem('restoring the TF1 checkpoint failed: ' +
                         one_line(e))
      return CaseResult(golden.id, path, comparison, note=note,
                        dtype=case['dtype'])
    keys = sorted(k for k in golden.arrays if k.startswith('inference/'))
    comparison.arrays(golden.arrays, dict(zip(keys, restored)), keys)
  return CaseResult(golden.id, path, comparison, note=note,
                    dtype=case['dtype'])


def restore_and_infer(golden, checkpoint_prefix, xla=False):
  """Inference outputs of a fresh contrib_bn graph restored from TF1."""
  built = harness.build(tf, layer.batch_norm, golden.case)
  data, target = golden.arrays['input'], golden.arrays['target']
  config = harness.session_config(tf, xla) if xla else None
  with built.graph.as_default():
    with tf.compat.v1.Session(graph=built.graph, config=config) as sess:
      built.saver.restore(sess, checkpoint_prefix)
      return harness.infer(built, sess, data, target)


def _format_diff(result):
  if result.max_abs_diff is None:
    return '-'
  return '%.2e' % result.max_abs_diff


def report(result, out=print):
  """Prints one row of the verification table, and the first problems."""
  status = 'match' if result.ok else 'MISMATCH'
  if result.note:
    status += ' (%s)' % result.note
  out('%-44s %-12s %-10s %s' % (result.case_id, result.path,
                                _format_diff(result), status))
  for problem in result.problems[:5]:
    for line in problem.splitlines():
      out('    ' + line)


XLA_CPU_FLAG = xla_flags.XLA_CPU_FLAG


class XlaUnavailableError(RuntimeError):
  """XLA auto-clustering compiled nothing, so an XLA run would prove nothing."""


def enable_xla_auto_clustering():
  """Asks TensorFlow to auto-cluster CPU graphs too; checks that it does.

  Raises:
    XlaUnavailableError: when a graph run with `global_jit_level=ON_1` still
      contains no XLA-compiled cluster (for example because a session ran
      before the flag was set, or this TensorFlow has no XLA).
  """
  xla_flags.request_cpu_clustering()
  if not xla_compiles():
    raise XlaUnavailableError(
        'XLA auto-clustering compiled no cluster; set TF_XLA_FLAGS=%s '
        'before TensorFlow initializes its devices (its first session or '
        'device listing)' % XLA_CPU_FLAG)


def xla_compiles():
  """Whether a small batch-norm graph runs through XLA under ON_1."""
  graph = tf.Graph()
  with graph.as_default():
    x = tf.compat.v1.placeholder(tf.float32, [4, 3, 5])
    y = layer.batch_norm(x, fused=False, is_training=True)
    loss = tf.reduce_sum(tf.square(y))
    grad = tf.compat.v1.gradients(loss, x)
    init = tf.compat.v1.global_variables_initializer()
    with tf.compat.v1.Session(
        graph=graph, config=harness.session_config(tf, xla=True)) as sess:
      sess.run(init)
      metadata = tf.compat.v1.RunMetadata()
      sess.run(grad, {x: [[[1.0] * 5] * 3] * 4},
               options=tf.compat.v1.RunOptions(output_partition_graphs=True),
               run_metadata=metadata)
  return any(node.op == '_XlaCompile'
             for partition in metadata.partition_graphs
             for node in partition.node)


def run(directory=None, pattern=None, out=print, xla=False):
  """Verifies the corpus; returns the list of `CaseResult`s.

  Args:
    directory: the corpus directory (default: the packaged one).
    pattern: optional regular expression selecting case ids.
    out: where progress lines go.
    xla: run every session under XLA auto-clustering (`global_jit_level`
      ON_1), after checking that XLA really compiles.

  Raises:
    XlaUnavailableError: `xla` was asked for and XLA compiled nothing.
  """
  if xla:
    enable_xla_auto_clustering()
    out('XLA auto-clustering: on (global_jit_level=ON_1, %s)' % XLA_CPU_FLAG)
  directory = directory or goldens.DEFAULT_DIR
  ids = goldens.case_ids(directory)
  if pattern:
    regex = re.compile(pattern)
    ids = [i for i in ids if regex.search(i)]
  tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
  results = []
  out('%-44s %-12s %-10s %s' % ('case', 'path', 'max|diff|', 'status'))
  for case_id in ids:
    try:
      result = verify_case(goldens.load(case_id, directory), xla)
    except FileNotFoundError as e:
      result = CaseResult(case_id, '?', problems=[str(e)])
    results.append(result)
    report(result, out)
  matched = sum(1 for r in results if r.ok)
  diffs = [r.max_abs_diff for r in results if r.max_abs_diff is not None]
  if diffs:
    out('max abs diff over all compared arrays: %.3g' % max(diffs))
  out('%d/%d golden cases match %s' % (matched, len(results),
                                        goldens.REFERENCE))
  return results
