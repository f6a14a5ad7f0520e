"""Inference build mode: every contrib_bn batch norm built in it is static.

```python
with contrib_bn.inference_mode():
  model = build_graph()    # any is_training, placeholder or not
```

While the context is open, `batch_norm` (contrib_bn's, `tf.contrib.layers`'
after `install()`, tf_slim's after `install()` or `compat.slim.repair()`)
validates its `is_training` exactly as TF 1.15 did, so a value TF 1.15
refused is still refused with the same error, and then builds the layer with
a static `is_training=False`: the moving statistics normalize, and no
conditional, no batch statistics and no update op is created. A placeholder
passed as `is_training` is then read by no batch norm; what else reads it
(a `tf.cond` around dropout, the model's own conditionals) is the caller's
to resolve (`tools/mode_placeholders.py` does that for the export).

Any layer can consult the switch: call `active()` while building and treat
a true result as `is_training=False`. The mode is on

  * in the thread that opened the context, in any graph it builds into
    (so `with inference_mode(): with tf.Graph().as_default(): ...` works);
  * in every thread building into the graph that was the default when the
    context opened, or a function graph inside it (the replica threads of
    `MirroredStrategy.run` build there).

Contexts nest and are counted; leaving the last one switches the mode off.
"""

import contextlib
import threading
import weakref

import tensorflow as tf

_local = threading.local()
_lock = threading.Lock()
# Graph -> number of open contexts entered while it was the default graph.
_graphs = weakref.WeakKeyDictionary()


def _thread_depth():
  return getattr(_local, 'depth', 0)


def _marked(graph):
  """Whether `graph`, or a graph it is nested in, is marked."""
  seen = 0
  while graph is not None and seen < 64:
    if _graphs.get(graph):
      return True
    graph = getattr(graph, 'outer_graph', None)
    seen += 1
  return False


def active():
  """Whether batch norms built now are built with `is_training=False`.

  Returns:
    True inside `inference_mode()` (see the module docstring for which
    threads and graphs that covers), else False.
  """
  if _thread_depth():
    return True
  with _lock:
    if not _graphs:
      return False
    return _marked(tf.compat.v1.get_default_graph())


@contextlib.contextmanager
def inference_mode():
  """Builds every contrib_bn batch norm inside it with `is_training=False`.

  `is_training` is still validated as TF 1.15 validated it (None, strings
  and non-bool tensors raise TF 1.15's errors), then replaced by a static
  False: no conditional, training-mode kernel, batch statistics or update
  op is built. Variables are created and reused as in any other mode, so a
  checkpoint written in training restores into the graph.

  Yields:
    None.
  """
  graph = tf.compat.v1.get_default_graph()
  with _lock:
    _graphs[graph] = _graphs.get(graph, 0) + 1
  _local.depth = _thread_depth() + 1
  try:
    yield
  finally:
    _local.depth = _thread_depth() - 1
    with _lock:
      remaining = _graphs.get(graph, 1) - 1
      if remaining:
        _graphs[graph] = remaining
      else:
        _graphs.pop(graph, None)
