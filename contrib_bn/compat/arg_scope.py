"""Scoped default keyword arguments, as in TF1's `tf.contrib.framework`.

A function decorated with `add_arg_scope` looks up default keyword arguments
in the innermost active `arg_scope` each time it is called:

  @add_arg_scope
  def dense(inputs, units, activation=None, use_bias=True):
    ...

  with arg_scope([dense], activation=tf.nn.relu) as sc:
    h = dense(x, 64)                   # activation=tf.nn.relu
    y = dense(h, 10, activation=None)  # an explicit argument wins

  with arg_scope(sc):                  # re-enters the saved defaults
    z = dense(x, 64)                   # activation=tf.nn.relu

The behaviour follows TF 1.15:

  * A scope is a dict from an op key to a dict of keyword defaults. The key of
    a function is `arg_scope_func_key(func)`: the decorated function carries
    it as `_key_op`, and it is `str()` of the undecorated function, so two
    distinct functions never share a key even when their module and name
    match. The undecorated function has the same key as its decorated
    version and may stand for it in a scope's op list.
  * Entering a scope with a list or tuple of ops copies the enclosing scope
    and merges the new defaults over it, op by op.
  * Entering a scope with a dict (one yielded earlier by `arg_scope`)
    replaces the active defaults with a copy of that dict; the enclosing
    scope does not show through.
  * Keyword arguments given in the call override scope defaults. A default
    for a parameter that the call also passes positionally makes Python
    raise `TypeError` for multiple values, exactly as in TF1.
  * Errors keep TF1's types and wording: `TypeError` for an op list that is
    neither a list, a tuple nor a dict, `ValueError` for a dict combined with
    keyword arguments, `ValueError` naming an op that was never decorated.

Deliberate differences from TF1:

  * The stack of active scopes is per thread. Threads that build separate
    graphs concurrently each see only their own scopes, and a new thread
    starts with no defaults rather than with whatever another thread
    happened to have active.
  * An op list naming an undecorated function leaves the stack untouched.
    TF1 popped the enclosing scope in that case, so catching the error inside
    another `arg_scope` silently discarded that scope's defaults.
  * An op list entry that is neither decorated nor a function, such as a
    `(module, name)` tuple, raises the same `ValueError` as an undecorated
    function; TF1 failed with an incidental `AttributeError` while building
    its message.
  * `arg_scoped_arguments` reports the parameters that have default values.
    TF1 derived the names from code-object offsets, which gave wrong answers
    for functions with local variables, `*args`/`**kwargs`, keyword-only
    parameters or no defaults at all.
"""

import contextlib
import functools
import inspect
import threading

__all__ = [
    'add_arg_scope',
    'arg_scope',
    'arg_scope_func_key',
    'arg_scoped_arguments',
    'current_arg_scope',
    'has_arg_scope',
]

# Keys of every function passed to `add_arg_scope`, mapped to the names that
# `arg_scoped_arguments` reports. Membership is decided by key rather than by
# function object so that, as in TF1, the undecorated function shares the
# registration of its decorated version.
_REGISTERED = {}


class _ThreadScopes(threading.local):
  """Per-thread stack of active scopes; the bottom entry holds no defaults."""

  def __init__(self):
    super(_ThreadScopes, self).__init__()
    self.stack = [{}]


_SCOPES = _ThreadScopes()


def _stack():
  return _SCOPES.stack


def current_arg_scope():
  """Returns the innermost active scope of the calling thread.

  Returns:
    The scope dict itself, mapping op keys to dicts of keyword defaults. It is
    the same object that the innermost `arg_scope` yielded, so it can be saved
    and re-entered later with `arg_scope(scope)`.
  """
  return _stack()[-1]


def arg_scope_func_key(op):
  """Returns the key under which scopes store the defaults of `op`.

  Args:
    op: A function, decorated with `add_arg_scope` or not.

  Returns:
    The `_key_op` attribute of a decorated function, otherwise `str(op)`.
  """
  return getattr(op, '_key_op', str(op))


def has_arg_scope(func):
  """Tells whether `func` can be listed in an `arg_scope`.

  Args:
    func: A function.

  Returns:
    True if `func` was decorated with `add_arg_scope`, or is the undecorated
    function that was.
  """
  return arg_scope_func_key(func) in _REGISTERED


def arg_scoped_arguments(func):
  """Returns the names of the parameters of `func` that have defaults.

  Args:
    func: A function decorated with `add_arg_scope`.

  Returns:
    A tuple of parameter names in declaration order, keyword-only parameters
    included.

  Raises:
    AssertionError: If `func` is not decorated with `add_arg_scope`.
  """
  if not has_arg_scope(func):
    raise AssertionError('%s is not decorated with @add_arg_scope' %
                         (_describe(func),))
  return _REGISTERED[arg_scope_func_key(func)]


def _describe(op):
  module = getattr(op, '__module__', None)
  name = getattr(op, '__name__', None)
  if module is None or name is None:
    return repr(op)
  return repr((module, name))


def _defaulted_parameters(func):
  try:
    parameters = inspect.signature(func).parameters.values()
  except (TypeError, ValueError):
    # Some builtins and extension callables have no introspectable
    # signature; they can still be scoped, there is just nothing to report.
    return ()
  return tuple(p.name for p in parameters if p.default is not p.empty)


@contextlib.contextmanager
def arg_scope(list_ops_or_scope, **kwargs):
  """Sets default keyword arguments of decorated ops within a `with` block.

  Args:
    list_ops_or_scope: Either a list or tuple of ops decorated with
      `add_arg_scope`, whose defaults become `kwargs` merged over the
      enclosing scope, or a scope dict yielded earlier by `arg_scope`, which
      becomes the active scope as it was saved.
    **kwargs: Default keyword arguments for every op in the list. Must be
      empty when a scope dict is given.

  Yields:
    The active scope dict, mapping op keys to dicts of keyword defaults.

  Raises:
    TypeError: If `list_ops_or_scope` is neither a list, a tuple nor a dict.
    ValueError: If a scope dict comes with keyword arguments, or if an op in
      the list is not decorated with `add_arg_scope`.
  """
  if isinstance(list_ops_or_scope, dict):
    if kwargs:
      # The missing space is TF1's wording, which callers may match on.
      raise ValueError('When attempting to re-use a scope by suppling a'
                       'dictionary, kwargs must be empty.')
    scope = list_ops_or_scope.copy()
  else:
    if not isinstance(list_ops_or_scope, (list, tuple)):
      raise TypeError('list_ops_or_scope must either be a list/tuple or '
                      'reused scope (i.e. dict)')
    scope = current_arg_scope().copy()
    for op in list_ops_or_scope:
      if not has_arg_scope(op):
        raise ValueError('%s is not decorated with @add_arg_scope' %
                         (_describe(op),))
      key = arg_scope_func_key(op)
      merged = dict(scope.get(key, {}))
      merged.update(kwargs)
      scope[key] = merged

  # Validation happens before the push so that a rejected scope cannot
  # unbalance the stack. The stack is captured here because a generator's
  # exit may in principle run on another thread than its entry.
  stack = _stack()
  stack.append(scope)
  try:
    yield scope
  finally:
    for index in range(len(stack) - 1, -1, -1):
      if stack[index] is scope:
        del stack[index]
        break


def add_arg_scope(func):
  """Makes `func` take default keyword arguments from the active scope.

  Args:
    func: The function to decorate.

  Returns:
    A wrapper with the name, docstring, module and signature of `func`, and
    with a `_key_op` attribute holding its scope key. Defaults from the
    active scope are passed as keyword arguments, and keyword arguments given
    in the call override them.
  """
  key = arg_scope_func_key(func)
  _REGISTERED[key] = _defaulted_parameters(func)

  @functools.wraps(func)
  def func_with_args(*args, **kwargs):
    defaults = current_arg_scope().get(key)
    if defaults:
      # Merge into a copy: the scope's own dict must not pick up the
      # arguments of this call.
      call_kwargs = dict(defaults)
      call_kwargs.update(kwargs)
      kwargs = call_kwargs
    return func(*args, **kwargs)

  func_with_args._key_op = key  # pylint: disable=protected-access
  return func_with_args
