"""Tests of `contrib_bn.arg_scope`.

The shared cases in `arg_scope_cases.py` are the TF1 behaviour; the same cases
run against TF 1.15 in `compat_tests/test_arg_scope_compat.py`. The tests
after them cover what contrib_bn does differently on purpose: a per-thread
scope stack, an intact stack after a rejected scope, and
`arg_scoped_arguments` reporting the parameters that have defaults.
"""

import ast
import contextlib
import importlib
import threading

import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import arg_scope_cases as cases

# Through importlib because the package re-exports the function `arg_scope`
# under the submodule's name.
scoping = importlib.import_module('contrib_bn.compat.arg_scope')


@pytest.mark.parametrize('shared_case', cases.CASES,
                         ids=[c.__name__ for c in cases.CASES])
def test_shared_case(shared_case):
  shared_case(scoping)


def test_source_is_python37_syntax():
  with open(scoping.__file__) as source:
    ast.parse(source.read(), feature_version=(3, 7))


def test_not_decorated_message_names_the_function():

  def plain(x, a=1):
    return x + a

  with pytest.raises(ValueError) as info:
    with scoping.arg_scope([plain], a=2):
      pass
  assert str(info.value) == ('%r is not decorated with @add_arg_scope' %
                             ((__name__, 'plain'),))


def test_name_tuple_in_op_list_rejected():
  op = cases.make_op(scoping)
  name = (op.__module__, op.__name__)
  with pytest.raises(ValueError) as info:
    with scoping.arg_scope([name], a=2):
      pass
  assert str(info.value) == ('%r is not decorated with @add_arg_scope' %
                             (name,))


def _plain(x, a=1):
  return x + a


@pytest.mark.parametrize('bad_args, bad_kwargs, error', [
    ([_plain], {'a': 6}, ValueError),
    ([('some.module', 'op')], {'a': 6}, ValueError),
    (_plain, {'a': 6}, TypeError),
    ({}, {'a': 6}, ValueError),
], ids=['undecorated', 'name_tuple', 'not_a_list', 'dict_with_kwargs'])
def test_rejected_scope_leaves_enclosing_scope(bad_args, bad_kwargs, error):
  op = cases.make_op(scoping)
  with scoping.arg_scope([op], a=5) as outer:
    with pytest.raises(error):
      with scoping.arg_scope(bad_args, **bad_kwargs):
        pass
    assert scoping.current_arg_scope() is outer
    assert op(0)['a'] == 5
  assert op(0)['a'] == 1


def _with_everything(x, y=2, *args, a=1, b, **kwargs):
  unused = (args, kwargs)
  return x, y, a, b, unused


@pytest.mark.parametrize('func, expected', [
    (cases.with_locals, ('a',)),
    (cases.with_var_keywords, ('a',)),
    (cases.without_defaults, ()),
    (cases.with_keyword_only, ('a',)),
    (_with_everything, ('y', 'a')),
])
def test_arg_scoped_arguments_are_defaulted_parameters(func, expected):
  # TF1 returns other names for all of these functions; see
  # compat_tests/test_arg_scope_compat.py.
  assert scoping.arg_scoped_arguments(scoping.add_arg_scope(func)) == expected


def test_new_thread_starts_without_scopes():
  op = cases.make_op(scoping)
  seen = []

  def worker():
    seen.append((op(0)['a'], scoping.current_arg_scope()))

  with scoping.arg_scope([op], a=5):
    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert op(0)['a'] == 5
  assert seen == [(1, {})]


@scoping.add_arg_scope
def recording_layer(inputs, scale=1.0, shift=0.0, name=None):
  """Builds `inputs * scale + shift` and reports the arguments received."""
  output = tf.add(tf.multiply(inputs, scale), shift, name=name)
  return output, {'scale': scale, 'shift': shift, 'name': name}


def _build(index, barrier=None):
  """Builds and runs one graph under arg scopes that depend on `index`.

  With a barrier, every thread waits after entering each scope, so all of
  them are inside their scopes before any of them builds a layer.

  Args:
    index: Which variant of the scopes to use.
    barrier: Optional `threading.Barrier` shared by the concurrent builds.

  Returns:
    The arguments each layer call received, the graph's (name, type) nodes
    and the fetched values.
  """

  def sync():
    if barrier is not None:
      barrier.wait(timeout=60)

  graph = tf.Graph()
  received = []
  with graph.as_default():
    x = tf.compat.v1.constant([1.0, 2.0], name='x')
    with scoping.arg_scope([recording_layer], scale=float(index + 2),
                           name='scaled_%d' % index):
      sync()
      y, got = recording_layer(x)
      received.append(got)
      with scoping.arg_scope([recording_layer], shift=float(10 * index),
                             name='shifted'):
        sync()
        z, got = recording_layer(y)
        received.append(got)
        sync()
      w, got = recording_layer(z, name='explicit')
      received.append(got)
      sync()
    v, got = recording_layer(w)
    received.append(got)
    sync()
    with tf.compat.v1.Session(graph=graph) as session:
      values = session.run([y, z, w, v])
  nodes = [(node.name, node.op) for node in graph.as_graph_def().node]
  return received, nodes, [value.tolist() for value in values]


@pytest.mark.parametrize('round_index', range(3))
def test_concurrent_graphs_match_sequential(round_index):
  del round_index  # Each round is another chance for interleaving to show.
  count = 4
  expected = [_build(i) for i in range(count)]
  assert len(set(repr(e) for e in expected)) == count

  barrier = threading.Barrier(count)
  results = [None] * count
  errors = []

  def worker(i):
    try:
      results[i] = _build(i, barrier)
    except BaseException as e:  # pylint: disable=broad-except
      errors.append(e)
      # Releases the other threads at once instead of at the timeout.
      barrier.abort()

  threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
  for thread in threads:
    thread.start()
  for thread in threads:
    thread.join()
  assert not errors, errors
  assert results == expected


_OPS = 3
_PARAMETERS = ('a', 'b', 'c')


@st.composite
def _scope_levels(draw):
  levels = []
  for _ in range(draw(st.integers(0, 5))):
    ops = draw(st.lists(st.integers(0, _OPS - 1), max_size=_OPS))
    kwargs = draw(
        st.dictionaries(st.sampled_from(_PARAMETERS), st.integers(-9, 9)))
    levels.append((ops, kwargs))
  return levels


@settings(max_examples=60, deadline=None)
@given(levels=_scope_levels(),
       explicit=st.dictionaries(st.sampled_from(_PARAMETERS),
                                st.integers(100, 109)))
def test_nested_scopes_match_a_merge_model(levels, explicit):
  ops = [cases.make_op(scoping) for _ in range(_OPS)]
  expected = [{'x': 0, 'a': 1, 'b': 2, 'c': 3} for _ in range(_OPS)]
  with contextlib.ExitStack() as stack:
    for op_indices, kwargs in levels:
      stack.enter_context(
          scoping.arg_scope([ops[i] for i in op_indices], **kwargs))
      for i in set(op_indices):
        expected[i].update(kwargs)
    for op, values in zip(ops, expected):
      assert op(0) == values
      assert op(0, **explicit) == dict(values, **explicit)
  for op in ops:
    assert op(0) == {'x': 0, 'a': 1, 'b': 2, 'c': 3}
