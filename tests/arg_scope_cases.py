"""Behavioural expectations shared by the arg_scope tests of both releases.

`tests/test_arg_scope.py` runs every case against `contrib_bn.arg_scope`, and
`compat_tests/test_arg_scope_compat.py` runs the same cases against TF 1.15's
`tf.contrib.framework`, so each expectation is shown to be TF1 behaviour.

A case is a function taking `api`, an object with the attributes `arg_scope`,
`add_arg_scope`, `current_arg_scope`, `has_arg_scope`, `arg_scoped_arguments`
and `arg_scope_func_key`. Cases create their own decorated functions, so they
do not depend on each other or on any layer. This module imports neither
TensorFlow nor contrib_bn and is valid Python 3.7.
"""

import inspect

import pytest

CASES = []

# TF1's exact wording, including its missing space, which callers match on.
DICT_WITH_KWARGS_MESSAGE = ('When attempting to re-use a scope by suppling '
                            'adictionary, kwargs must be empty.')
NOT_A_LIST_MESSAGE = ('list_ops_or_scope must either be a list/tuple or '
                      'reused scope (i.e. dict)')
NOT_DECORATED_WORDING = 'is not decorated with @add_arg_scope'


def case(fn):
  CASES.append(fn)
  return fn


def make_op(api):
  """Returns a fresh decorated op that reports the arguments it received.

  Every call creates a distinct function with the same module, name and
  qualified name, which lets cases tell keys per function from keys per name.
  """

  def op(x, a=1, b=2, c=3):
    """Reports its arguments."""
    return {'x': x, 'a': a, 'b': b, 'c': c}

  return api.add_arg_scope(op)


@case
def scope_supplies_defaults(api):
  op = make_op(api)
  with api.arg_scope([op], a=10):
    assert op(0) == {'x': 0, 'a': 10, 'b': 2, 'c': 3}
  assert op(0) == {'x': 0, 'a': 1, 'b': 2, 'c': 3}


@case
def explicit_keyword_wins(api):
  op = make_op(api)
  with api.arg_scope([op], a=10, b=20):
    assert op(0, a=11) == {'x': 0, 'a': 11, 'b': 20, 'c': 3}


@case
def positional_argument_without_scope_value(api):
  op = make_op(api)
  with api.arg_scope([op], b=20):
    assert op(0, 7) == {'x': 0, 'a': 7, 'b': 20, 'c': 3}


@case
def positional_argument_colliding_with_scope_value(api):
  # Scope values are passed as keywords, so Python rejects a parameter that
  # the call also fills positionally.
  op = make_op(api)
  with api.arg_scope([op], a=10):
    with pytest.raises(TypeError, match='multiple values'):
      op(0, 5)


@case
def scope_values_reach_calls_in_other_functions(api):
  op = make_op(api)

  def build():
    return op(0)

  with api.arg_scope([op], c=30):
    assert build()['c'] == 30


@case
def one_scope_for_several_ops(api):
  op1, op2, op3 = make_op(api), make_op(api), make_op(api)
  with api.arg_scope([op1, op2], a=5):
    assert op1(0)['a'] == 5
    assert op2(0)['a'] == 5
    assert op3(0)['a'] == 1
  with api.arg_scope((op1, op3), b=6):
    assert (op1(0)['b'], op2(0)['b'], op3(0)['b']) == (6, 2, 6)


@case
def op_listed_twice(api):
  op = make_op(api)
  with api.arg_scope([op, op], a=5):
    assert op(0)['a'] == 5


@case
def nested_scopes_merge_inner_over_outer(api):
  op = make_op(api)
  with api.arg_scope([op], a=10, b=20):
    with api.arg_scope([op], b=30, c=40):
      assert op(0) == {'x': 0, 'a': 10, 'b': 30, 'c': 40}
    assert op(0) == {'x': 0, 'a': 10, 'b': 20, 'c': 3}
  assert op(0) == {'x': 0, 'a': 1, 'b': 2, 'c': 3}


@case
def nested_scope_for_another_op_keeps_outer_values(api):
  op1, op2 = make_op(api), make_op(api)
  with api.arg_scope([op1], a=5):
    with api.arg_scope([op2], a=7):
      assert (op1(0)['a'], op2(0)['a']) == (5, 7)
    assert (op1(0)['a'], op2(0)['a']) == (5, 1)


@case
def empty_op_list_inherits_enclosing_scope(api):
  op = make_op(api)
  with api.arg_scope([op], a=5) as outer:
    with api.arg_scope([]) as inner:
      assert op(0)['a'] == 5
      assert inner == outer
      assert inner is not outer


@case
def yielded_scope_is_the_current_scope(api):
  op = make_op(api)
  before = api.current_arg_scope()
  with api.arg_scope([op], a=5) as sc:
    assert sc is api.current_arg_scope()
    assert sc == {op._key_op: {'a': 5}}  # pylint: disable=protected-access
  assert api.current_arg_scope() is before


@case
def yielded_scope_is_live(api):
  op = make_op(api)
  with api.arg_scope([op], a=5) as sc:
    sc[op._key_op]['a'] = 6  # pylint: disable=protected-access
    assert op(0)['a'] == 6


@case
def keys_come_from_arg_scope_func_key(api):
  op = make_op(api)
  key = api.arg_scope_func_key(op)
  assert key == op._key_op  # pylint: disable=protected-access
  assert key == str(op.__wrapped__)
  assert api.arg_scope_func_key(op.__wrapped__) == key


@case
def hand_built_scope_dict(api):
  op = make_op(api)
  with api.arg_scope({op._key_op: {'a': 42}}):  # pylint: disable=protected-access
    assert op(0)['a'] == 42


@case
def keys_are_per_function_not_per_name(api):
  op1, op2 = make_op(api), make_op(api)
  assert (op1.__module__, op1.__qualname__) == (op2.__module__,
                                                op2.__qualname__)
  assert op1._key_op != op2._key_op  # pylint: disable=protected-access
  with api.arg_scope([op1], a=5):
    assert (op1(0)['a'], op2(0)['a']) == (5, 1)


@case
def undecorated_function_stands_for_decorated(api):
  op = make_op(api)
  raw = op.__wrapped__
  assert api.has_arg_scope(raw)
  with api.arg_scope([raw], a=3):
    assert op(0)['a'] == 3


@case
def reentered_scope_restores_saved_values(api):
  op = make_op(api)
  with api.arg_scope([op], a=5) as saved:
    pass
  assert op(0)['a'] == 1
  with api.arg_scope(saved):
    assert op(0)['a'] == 5
  assert op(0)['a'] == 1


@case
def reentered_scope_replaces_enclosing_scope(api):
  op1, op2 = make_op(api), make_op(api)
  with api.arg_scope([op1], a=5) as saved:
    pass
  with api.arg_scope([op2], b=9):
    with api.arg_scope(saved):
      assert op1(0)['a'] == 5
      assert op2(0)['b'] == 2
    assert op2(0)['b'] == 9


@case
def reentered_scope_is_a_copy(api):
  op1, op2 = make_op(api), make_op(api)
  with api.arg_scope([op1], a=5) as saved:
    pass
  snapshot = dict(saved)
  with api.arg_scope(saved) as sc:
    assert sc == saved
    assert sc is not saved
    with api.arg_scope([op1, op2], b=8):
      assert op1(0) == {'x': 0, 'a': 5, 'b': 8, 'c': 3}
  assert saved == snapshot


@case
def scope_popped_when_body_raises(api):
  op = make_op(api)
  before = api.current_arg_scope()
  with pytest.raises(RuntimeError):
    with api.arg_scope([op], a=5):
      raise RuntimeError('body failed')
  assert api.current_arg_scope() is before
  assert op(0)['a'] == 1


@case
def callee_mutating_kwargs_leaves_scope_alone(api):

  def greedy(x, **kwargs):
    taken = kwargs.pop('a', None)
    kwargs['a'] = 'changed'
    return taken

  greedy = api.add_arg_scope(greedy)
  with api.arg_scope([greedy], a=5) as sc:
    assert greedy(0) == 5
    assert greedy(0) == 5
    assert sc[greedy._key_op] == {'a': 5}  # pylint: disable=protected-access


@case
def unknown_scope_keyword_fails_at_call_time(api):
  op = make_op(api)
  with api.arg_scope([op], not_a_parameter=1):
    with pytest.raises(TypeError, match='unexpected keyword'):
      op(0)


@case
def decorated_method(api):

  class Model(object):

    @api.add_arg_scope
    def call(self, x, scale=1):
      return x * scale

  with api.arg_scope([Model.call], scale=4):
    assert Model().call(2) == 8
  assert Model().call(2) == 2


@case
def undecorated_function_rejected(api):

  def plain(x, a=1):
    return x + a

  with pytest.raises(ValueError, match=NOT_DECORATED_WORDING) as info:
    with api.arg_scope([plain], a=2):
      pass
  assert 'plain' in str(info.value)


@case
def non_sequence_rejected(api):
  op = make_op(api)
  for bad in (op, {op}, 'op', (o for o in [op]), None):
    with pytest.raises(TypeError) as info:
      with api.arg_scope(bad, a=2):
        pass
    assert str(info.value) == NOT_A_LIST_MESSAGE


@case
def scope_dict_with_kwargs_rejected(api):
  op = make_op(api)
  with api.arg_scope([op], a=5) as saved:
    pass
  with pytest.raises(ValueError) as info:
    with api.arg_scope(saved, a=6):
      pass
  assert str(info.value) == DICT_WITH_KWARGS_MESSAGE


@case
def has_arg_scope_tells_decorated_apart(api):

  def plain(x, a=1):
    return x + a

  assert api.has_arg_scope(make_op(api))
  assert not api.has_arg_scope(plain)


@case
def arg_scoped_arguments_lists_defaulted_parameters(api):
  assert api.arg_scoped_arguments(make_op(api)) == ('a', 'b', 'c')


@case
def arg_scoped_arguments_of_undecorated_function(api):

  def plain(x, a=1):
    return x + a

  with pytest.raises(AssertionError):
    api.arg_scoped_arguments(plain)


@case
def decorated_function_keeps_metadata(api):

  def layer(inputs, units, use_bias=True, name=None):
    """Stands in for a layer."""
    return inputs, units, use_bias, name

  decorated = api.add_arg_scope(layer)
  assert decorated.__wrapped__ is layer
  for attribute in ('__name__', '__qualname__', '__module__', '__doc__'):
    assert getattr(decorated, attribute) == getattr(layer, attribute)
  assert inspect.signature(decorated) == inspect.signature(layer)
  assert str(inspect.signature(decorated)) == (
      '(inputs, units, use_bias=True, name=None)')


# Functions whose arg-scoped arguments TF 1.15 miscounted (it read them from
# code-object offsets); both test trees check them.
def with_locals(x, a=1):
  total = x + a
  return total


def with_var_keywords(x, a=1, **kwargs):
  return x, a, kwargs


def without_defaults(x, y):
  return x, y


def with_keyword_only(x, *, a=1):
  return x, a
