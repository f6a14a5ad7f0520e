"""Checks the shared arg_scope expectations against TF 1.15 itself.

Run with the TF 1.15 interpreter:

  python -m pytest compat_tests/test_arg_scope_compat.py

Every case of `tests/arg_scope_cases.py` passes against
`tf.contrib.framework`, which shows that `contrib_bn.arg_scope` encodes TF1
behaviour. The tests below the shared ones pin down the TF1 behaviours that
`contrib_bn.arg_scope` deliberately does not reproduce, so the divergences are
known and stay known.

Only contrib_bn's TF-free modules import under TensorFlow 1.x: the shared
cases also run against `contrib_bn/compat/arg_scope.py` on this interpreter.
"""

import importlib
import threading

import pytest

tf = pytest.importorskip('tensorflow')

if not tf.__version__.startswith('1.'):
  pytest.skip('compat tests need TensorFlow 1.x, found %s' % tf.__version__,
              allow_module_level=True)

import arg_scope_cases as cases  # pylint: disable=g-import-not-at-top,wrong-import-position
# contrib_bn's implementation on this interpreter, which shows that the file
# itself runs on Python 3.7 (conftest registers the TF-free modules).
from contrib_bn.compat import arg_scope as OURS  # pylint: disable=g-import-not-at-top,wrong-import-position

# The module that defines the public functions; it also holds
# `arg_scope_func_key` and the global stack, which `tf.contrib.framework`
# does not export.
TF1 = importlib.import_module(
    'tensorflow.contrib.framework.python.ops.arg_scope')


@pytest.fixture(autouse=True)
def clean_tf1_stack():
  """Gives each test an empty TF1 scope stack, whatever earlier tests did."""
  saved = list(TF1._ARGSTACK)  # pylint: disable=protected-access
  TF1._ARGSTACK[:] = [{}]  # pylint: disable=protected-access
  yield
  TF1._ARGSTACK[:] = saved  # pylint: disable=protected-access


def test_public_names_are_the_tested_module():
  framework = tf.contrib.framework
  for name in ('arg_scope', 'add_arg_scope', 'current_arg_scope',
               'has_arg_scope', 'arg_scoped_arguments'):
    assert getattr(framework, name) is getattr(TF1, name)


@pytest.mark.parametrize('shared_case', cases.CASES,
                         ids=[c.__name__ for c in cases.CASES])
def test_shared_case(shared_case):
  shared_case(TF1)


@pytest.mark.parametrize('shared_case', cases.CASES,
                         ids=[c.__name__ for c in cases.CASES])
def test_shared_case_on_contrib_bn_under_this_python(shared_case):
  shared_case(OURS)


# TF1 behaviours that contrib_bn does not reproduce.


def test_tf1_name_tuple_in_op_list_fails_with_attribute_error():
  op = cases.make_op(TF1)
  with pytest.raises(AttributeError, match='__module__'):
    with TF1.arg_scope([(op.__module__, op.__name__)], a=2):
      pass


def test_tf1_not_decorated_message_keeps_format_arguments_apart():
  def plain(x, a=1):
    return x + a

  with pytest.raises(ValueError) as info:
    with TF1.arg_scope([plain], a=2):
      pass
  assert info.value.args == ('%s is not decorated with @add_arg_scope',
                             (__name__, 'plain'))


def test_tf1_undecorated_op_pops_enclosing_scope():
  op = cases.make_op(TF1)

  def plain(x, a=1):
    return x + a

  with TF1.arg_scope([op], a=5):
    with pytest.raises(ValueError):
      with TF1.arg_scope([plain], a=6):
        pass
    # The enclosing scope's value is gone although its block is still open.
    assert op(0)['a'] == 1


@pytest.mark.parametrize('func, tf1_result, contrib_bn_result', [
    (cases.with_locals, (), ('a',)),
    (cases.with_var_keywords, (), ('a',)),
    (cases.without_defaults, ('x', 'y'), ()),
    (cases.with_keyword_only, ('x',), ('a',)),
])
def test_tf1_arg_scoped_arguments_miscounts(func, tf1_result,
                                            contrib_bn_result):
  del contrib_bn_result  # Documents what tests/test_arg_scope.py expects.
  assert TF1.arg_scoped_arguments(TF1.add_arg_scope(func)) == tf1_result


def test_tf1_scope_stack_is_shared_between_threads():
  op = cases.make_op(TF1)
  seen = []
  with TF1.arg_scope([op], a=5):
    worker = threading.Thread(target=lambda: seen.append(op(0)['a']))
    worker.start()
    worker.join()
  assert seen == [5]
