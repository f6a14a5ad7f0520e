"""Does the train op run the batch-norm moving-statistics updates?

The most reported batch-norm bug of TF1: `batch_norm` puts its moving-mean and
moving-variance updates into `tf.GraphKeys.UPDATE_OPS`, and nothing runs them
unless the train op depends on them. The moving mean then stays at 0, the
moving variance at 1, and the model evaluates (`is_training=False`) with
those. Training looks fine; inference is wrong.

`check_update_ops(train_op)` follows everything that running `train_op` runs
(data inputs and control dependencies, through `tf.cond` and
`tf.while_loop`) and lists the layers whose updates are not among them.
Layers built with `updates_collections=None` run their updates as part of
their output, so they pass as soon as the loss depends on them.

`warn_on_unwired_updates()` does the same check, once per train op, the first
time a session runs it.
"""

import collections
import threading
import warnings
import weakref

import tensorflow as tf

from contrib_bn.tools import graph_layers

__all__ = ['UnwiredLayer', 'UnwiredUpdatesError', 'UnwiredUpdatesWarning',
           'check_update_ops', 'warn_on_unwired_updates']

_ON_UNWIRED = ('return', 'warn', 'raise')

REASON_NOT_DEPENDENCY = 'not a dependency of the train op'
REASON_CREATED_AFTER = 'created after the train op'
REASON_IN_LOOP = 'built inside a while_loop/map_fn'

_ADVICE = {
    REASON_NOT_DEPENDENCY: (
        'build the train op under `with tf.control_dependencies('
        'tf.get_collection(tf.GraphKeys.UPDATE_OPS)):`'),
    REASON_CREATED_AFTER: (
        'build every batch-norm layer before collecting UPDATE_OPS for the '
        'train op'),
    REASON_IN_LOOP: (
        'ops inside a loop cannot be control dependencies of ops outside it; '
        'pass `updates_collections=None` to batch_norm inside the loop so the '
        'updates run with its output'),
}

UnwiredLayer = collections.namedtuple(
    'UnwiredLayer', ['scope', 'statistics', 'update_ops', 'reason'])
UnwiredLayer.__doc__ = """A batch-norm layer whose updates the train op skips.

Attributes:
  scope: the layer's variable scope, e.g. 'conv1/BatchNorm'.
  statistics: tuple of the moving statistics left unchanged
    ('moving_mean', 'moving_variance').
  update_ops: tuple of the `tf.Operation`s that would update them.
  reason: one of 'not a dependency of the train op', 'created after the
    train op', 'built inside a while_loop/map_fn'.
"""


class UnwiredUpdatesError(ValueError):
  """Raised by `check_update_ops(..., on_unwired='raise')`."""

  def __init__(self, message, layers):
    super(UnwiredUpdatesError, self).__init__(message)
    self.layers = layers


class UnwiredUpdatesWarning(UserWarning):
  """Warned by `check_update_ops(..., on_unwired='warn')` and by
  `warn_on_unwired_updates()`."""


def _as_ops(train_op):
  """The ops `train_op` names: an op, a tensor, or a list/tuple of them."""
  items = train_op if isinstance(train_op, (list, tuple)) else [train_op]
  ops = []
  for item in items:
    if isinstance(item, tf.Operation):
      ops.append(item)
    elif isinstance(item, (tf.Tensor, tf.Variable)):
      ops.append(item.op)
    else:
      raise TypeError(
          'check_update_ops: train_op must be a tf.Operation, a tf.Tensor or '
          'a list of them, got %r' % (item,))
  if not ops:
    raise ValueError('check_update_ops: train_op is an empty list')
  graph = ops[0].graph
  if any(op.graph is not graph for op in ops):
    raise ValueError('check_update_ops: train_op %r mixes ops of different '
                     'graphs' % (train_op,))
  return ops, graph


def _reason(updates, train_position, positions):
  if any(u.in_loop for u in updates):
    return REASON_IN_LOOP
  if all(positions[u.op.name] > train_position for u in updates):
    return REASON_CREATED_AFTER
  return REASON_NOT_DEPENDENCY


def _unwired(ops, graph, ancestry):
  operations = graph.get_operations()
  positions = {op.name: i for i, op in enumerate(operations)}
  train_position = max(positions[op.name] for op in ops)
  found = []
  for layer in graph_layers.find_layers(graph):
    skipped = []
    skipped_updates = []
    for statistic in graph_layers.MOVING_STATISTICS:
      updates = layer.updates[statistic]
      # No updates at all: an inference-mode (is_training=False) or
      # non-trainable layer, whose statistics are meant to stay.
      if updates and not any(u.op.name in ancestry for u in updates):
        skipped.append(statistic)
        skipped_updates.extend(updates)
    if skipped:
      found.append(UnwiredLayer(
          layer.scope, tuple(skipped),
          tuple(u.op for u in skipped_updates),
          _reason(skipped_updates, train_position, positions)))
  found.extend(_function_body_updates(graph, found))
  return found


def _function_body_updates(graph, found):
  """Layers whose UPDATE_OPS entries live in a while_v2/map_fn body.

  With control flow v2 a loop body is a function graph: its ops cannot be
  control dependencies of the train op, and the ancestry walk cannot look
  inside the loop op. Their collection entries are what is left to see.
  """
  reported = {layer.scope for layer in found}
  scopes = [layer.scope for layer in graph_layers.find_layers(graph)]
  inner = collections.OrderedDict()
  for item in graph.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS):
    op = item if isinstance(item, tf.Operation) else getattr(item, 'op', None)
    if op is None or op.graph is graph:
      continue
    matching = [s for s in scopes if op.name.startswith(s + '/')]
    scope = max(matching, key=len) if matching else op.name
    if scope not in reported:
      inner.setdefault(scope, []).append(op)
  return [UnwiredLayer(scope, graph_layers.MOVING_STATISTICS, tuple(ops),
                       REASON_IN_LOOP) for scope, ops in inner.items()]


def describe(layers, train_op_name):
  """A readable, multi-line account of unwired layers and how to fix them."""
  lines = ['train op %r does not run the moving-statistics updates of %d '
           'batch-norm layer(s); their moving mean/variance will keep their '
           'initial values and inference (is_training=False) will use those:'
           % (train_op_name, len(layers))]
  for layer in layers:
    lines.append('  %s: %s (%s) -- %s' % (
        layer.scope, '/'.join(layer.statistics), layer.reason,
        _ADVICE[layer.reason]))
  return '\n'.join(lines)


def check_update_ops(train_op, on_unwired='return'):
  """Lists the batch-norm layers whose moving statistics `train_op` leaves.

  A layer is wired when running `train_op` runs at least one update of its
  moving mean and of its moving variance: as a control dependency (the
  `tf.control_dependencies(UPDATE_OPS)` block) or on the data path
  (`updates_collections=None`). Layers without update ops (built with
  `is_training=False` or `trainable=False`) are never reported.

  Args:
    train_op: the `tf.Operation` (or tensor, or list of them) a training
      step runs.
    on_unwired: 'return' to only return the layers; 'warn' to also warn
      `UnwiredUpdatesWarning`; 'raise' to raise `UnwiredUpdatesError` when
      any layer is unwired.

  Returns:
    A list of `UnwiredLayer`, in the order the layers were built; empty when
    every layer is wired.

  Raises:
    UnwiredUpdatesError: with `on_unwired='raise'` and an unwired layer.
    TypeError, ValueError: `train_op` or `on_unwired` is invalid.
  """
  if on_unwired not in _ON_UNWIRED:
    raise ValueError('check_update_ops: on_unwired must be one of %s, got %r'
                     % (', '.join(repr(o) for o in _ON_UNWIRED), on_unwired))
  ops, graph = _as_ops(train_op)
  layers = _unwired(ops, graph, graph_layers.ancestors(ops))
  if layers and on_unwired != 'return':
    message = describe(layers, ', '.join(op.name for op in ops))
    if on_unwired == 'raise':
      raise UnwiredUpdatesError(message, layers)
    warnings.warn(message, UnwiredUpdatesWarning, stacklevel=2)
  return layers


# --- opt-in: warn the first time a session runs an unwired train op ---------

_LOCK = threading.Lock()
_enabled = 0
# Session classes whose `run` is wrapped -> the `run` in the class's own
# __dict__ before wrapping, or _INHERITED if it only inherited one.
_saved = {}
_INHERITED = object()
# Graph -> names of fetched ops already checked, so each train op is checked
# (and warned about) once.
_checked = weakref.WeakKeyDictionary()


def _session_classes():
  return (tf.compat.v1.Session, tf.compat.v1.InteractiveSession)


def _fetched_ops(graph, fetches):
  ops = []
  for item in tf.nest.flatten(fetches):
    if isinstance(item, tf.Operation):
      ops.append(item)
    elif isinstance(item, str):
      try:
        element = graph.as_graph_element(item)
      except (KeyError, ValueError, TypeError):
        continue
      ops.append(element if isinstance(element, tf.Operation) else element.op)
  return [op for op in ops if op.graph is graph]


def _check_fetches(session, fetches):
  graph = session.graph
  with _LOCK:
    done = _checked.setdefault(graph, set())
    ops = [op for op in _fetched_ops(graph, fetches) if op.name not in done]
    done.update(op.name for op in ops)
  for op in ops:
    ancestry = graph_layers.ancestors([op])
    if not graph_layers.is_train_op(graph, ancestry):
      continue
    layers = _unwired([op], graph, ancestry)
    if layers:
      warnings.warn(describe(layers, op.name), UnwiredUpdatesWarning,
                    stacklevel=3)


def _wrap(original):
  def run(self, *args, **kwargs):
    if _enabled:
      fetches = args[0] if args else kwargs.get('fetches')
      try:
        _check_fetches(self, fetches)
      except (TypeError, ValueError):
        # The session itself reports malformed fetches, with its own words.
        pass
    return original(self, *args, **kwargs)
  run.__wrapped__ = original
  run.__doc__ = original.__doc__
  return run


class _Enabled(object):
  """Handle returned by `warn_on_unwired_updates()`: a context manager."""

  def __init__(self):
    self._active = True

  def disable(self):
    """Stops warning (for this handle); restores `Session.run` if last."""
    global _enabled
    with _LOCK:
      if not self._active:
        return
      self._active = False
      _enabled -= 1
      if _enabled:
        return
      for cls, previous in _saved.items():
        if previous is _INHERITED:
          del cls.run
        else:
          cls.run = previous
      _saved.clear()

  def __enter__(self):
    return self

  def __exit__(self, *exc_info):
    self.disable()
    return False


def warn_on_unwired_updates():
  """Warns the first time a session runs a train op that skips BN updates.

  While enabled, `tf.compat.v1.Session.run` (and `InteractiveSession.run`)
  check each fetched op once: if it applies gradients with an optimizer and
  `check_update_ops` finds unwired batch-norm layers, an
  `UnwiredUpdatesWarning` names them. Nothing else about the run changes.

  Use it as a context manager, or keep the handle and call `disable()`:

    with contrib_bn.warn_on_unwired_updates():
      ... training loop ...

  Calls nest; `Session.run` is restored when the last handle is disabled.

  Returns:
    A handle with `disable()`, usable as a context manager.
  """
  global _enabled
  with _LOCK:
    if not _enabled:
      for cls in _session_classes():
        _saved[cls] = vars(cls).get('run', _INHERITED)
        cls.run = _wrap(cls.run)
    _enabled += 1
  return _Enabled()
