"""check_update_ops and warn_on_unwired_updates on the classic mistakes."""

import warnings

import numpy as np
import pytest
import tensorflow as tf

import contrib_bn
from contrib_bn.tools import update_ops

tf1 = tf.compat.v1


class _ControlFlow(object):
  """Builds under one while-loop implementation, then restores the other."""

  def __init__(self, version):
    self.version = version

  def __enter__(self):
    self.was_v2 = tf1.control_flow_v2_enabled()
    if self.version == 'v2':
      tf1.enable_control_flow_v2()
    else:
      tf1.disable_control_flow_v2()

  def __exit__(self, *exc_info):
    if self.was_v2:
      tf1.enable_control_flow_v2()
    else:
      tf1.disable_control_flow_v2()


def _bn(x, scope, **kwargs):
  return contrib_bn.batch_norm(x, is_training=True, scope=scope, **kwargs)


def _update_collection():
  return tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)


def _build(mistake):
  """Builds a two-layer model with `mistake`; returns (train_op, moving_mean
  variables by scope)."""
  x = tf1.random_normal([4, 6], seed=1) + 3.0
  optimizer = tf1.train.GradientDescentOptimizer(0.1)
  if mistake in ('map_fn', 'map_fn_inline'):
    kwargs = {'updates_collections': None} if mistake == 'map_fn_inline' else {}
    y = tf.map_fn(lambda row: _bn(row[None], 'loop_bn', **kwargs)[0], x)
  elif mistake in ('while_loop', 'while_loop_inline'):
    kwargs = ({'updates_collections': None}
              if mistake == 'while_loop_inline' else {})
    _, y = tf1.while_loop(
        lambda i, a: i < 2,
        lambda i, a: (i + 1, _bn(a, 'loop_bn', **kwargs)), [0, x])
  else:
    y = _bn(x, 'bn1', updates_collections=(
        None if mistake == 'inline' else tf1.GraphKeys.UPDATE_OPS))
  weight = tf1.get_variable('w', [6, 6])
  y = _bn(tf.matmul(y, weight), 'bn2')
  loss = tf.reduce_sum(tf.square(y))
  if mistake in ('no_control_dependencies', 'map_fn', 'while_loop',
                 'map_fn_inline', 'while_loop_inline'):
    train_op = optimizer.minimize(loss)
  elif mistake == 'created_after':
    with tf.control_dependencies(_update_collection()):
      train_op = optimizer.minimize(loss)
    _bn(y, 'bn_late')
  else:
    with tf.control_dependencies(_update_collection()):
      train_op = optimizer.minimize(loss)
  means = {v.op.name[:-len('/moving_mean')]: v for v in tf1.global_variables()
           if v.op.name.endswith('/moving_mean')}
  return train_op, means


# mistake -> (scope reported, reason); None: every layer wired.
CASES = {
    'correct': None,
    'inline': None,
    'no_control_dependencies': (['bn1', 'bn2'], update_ops.REASON_NOT_DEPENDENCY),
    'created_after': (['bn_late'], update_ops.REASON_CREATED_AFTER),
    'map_fn': (['loop_bn', 'bn2'], None),
    # Inline updates inside the loop body run with each iteration, under
    # either control flow: the moving mean must move.
    'map_fn_inline': (['bn2'], update_ops.REASON_NOT_DEPENDENCY),
    'while_loop': (['loop_bn', 'bn2'], None),
    'while_loop_inline': (['bn2'], update_ops.REASON_NOT_DEPENDENCY),
}


# Loops are built differently by control flow v1 (Enter/Exit ops in the
# graph) and v2 (a function-bodied While op); both are checked.
_LOOPS = ('map_fn', 'map_fn_inline', 'while_loop', 'while_loop_inline')


@pytest.mark.parametrize('mistake, flow', [
    (m, f) for m in sorted(CASES)
    for f in (('v1', 'v2') if m in _LOOPS else ('v1',))])
def test_check_update_ops_names_unwired_layers(mistake, flow):
  with tf.Graph().as_default(), _ControlFlow(flow):
    train_op, means = _build(mistake)
    found = contrib_bn.check_update_ops(train_op)
    expected = CASES[mistake]
    if expected is None:
      assert found == []
    else:
      scopes, reason = expected
      assert sorted(l.scope for l in found) == sorted(scopes)
      for layer in found:
        if layer.scope == 'loop_bn':
          assert layer.reason == update_ops.REASON_IN_LOOP
        elif reason is not None:
          assert layer.reason == reason
        elif layer.scope == 'bn2':
          assert layer.reason == update_ops.REASON_NOT_DEPENDENCY
        assert set(layer.statistics) == {'moving_mean', 'moving_variance'}
        assert layer.update_ops
    # The verdict is what a training step really does: reported layers keep
    # their moving mean at 0, the others move it.
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      sess.run(train_op)
      after = {s: sess.run(v) for s, v in means.items()}
    reported = {l.scope for l in found}
    for scope, value in after.items():
      if scope in reported:
        np.testing.assert_array_equal(value, 0.0, err_msg=scope)
      else:
        assert np.any(value != 0.0), scope


def test_static_inference_layers_are_not_reported():
  with tf.Graph().as_default():
    x = tf1.random_normal([4, 3])
    y = contrib_bn.batch_norm(x, is_training=False, scope='frozen')
    w = tf1.get_variable('w', [])
    train_op = tf1.train.GradientDescentOptimizer(0.1).minimize(
        tf.reduce_sum(y * w))
    assert contrib_bn.check_update_ops(train_op) == []


def test_raise_and_warn():
  with tf.Graph().as_default():
    train_op, _ = _build('no_control_dependencies')
    with pytest.raises(update_ops.UnwiredUpdatesError) as raised:
      contrib_bn.check_update_ops(train_op, on_unwired='raise')
    assert 'bn1' in str(raised.value) and 'bn2' in str(raised.value)
    assert 'control_dependencies' in str(raised.value)
    assert [l.scope for l in raised.value.layers] == ['bn1', 'bn2']
    with pytest.warns(update_ops.UnwiredUpdatesWarning, match='bn1'):
      contrib_bn.check_update_ops(train_op, on_unwired='warn')


@pytest.mark.parametrize('bad, error', [
    ('train', TypeError), ([], ValueError)])
def test_bad_train_op(bad, error):
  with pytest.raises(error, match='train_op'):
    contrib_bn.check_update_ops(bad)


def test_bad_on_unwired():
  with tf.Graph().as_default():
    train_op, _ = _build('correct')
    with pytest.raises(ValueError, match=r"on_unwired.*'loudly'"):
      contrib_bn.check_update_ops(train_op, on_unwired='loudly')


def _run_steps(train_op, extra_fetches=()):
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter('always')
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      for fetch in extra_fetches:
        sess.run(fetch)
      for _ in range(3):
        sess.run(train_op)
  return [w for w in caught
          if issubclass(w.category, update_ops.UnwiredUpdatesWarning)]


@pytest.mark.parametrize('mistake', ['correct', 'no_control_dependencies'])
def test_warn_on_unwired_updates_warns_once_per_train_op(mistake):
  original = vars(tf1.Session).get('run')
  with tf.Graph().as_default():
    train_op, _ = _build(mistake)
    with contrib_bn.warn_on_unwired_updates():
      assert tf1.Session.run is not original
      caught = _run_steps(train_op)
  if mistake == 'correct':
    assert caught == []
  else:
    assert len(caught) == 1
    assert 'bn1' in str(caught[0].message)
  assert vars(tf1.Session).get('run') is original


def test_warn_on_unwired_updates_off_by_default_and_restored():
  with tf.Graph().as_default():
    train_op, _ = _build('no_control_dependencies')
    assert _run_steps(train_op) == []
    handle = contrib_bn.warn_on_unwired_updates()
    inner = contrib_bn.warn_on_unwired_updates()
    inner.disable()
    inner.disable()  # a second disable of one handle changes nothing
    assert len(_run_steps(train_op)) == 1
    handle.disable()
  with tf.Graph().as_default():
    train_op, _ = _build('no_control_dependencies')
    assert _run_steps(train_op) == []
  assert 'run' not in vars(tf1.Session)
  assert 'run' not in vars(tf1.InteractiveSession)


def test_warn_ignores_ops_that_do_not_train():
  with tf.Graph().as_default():
    train_op, _ = _build('no_control_dependencies')
    with contrib_bn.warn_on_unwired_updates():
      with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        with tf1.Session() as sess:
          sess.run(tf1.global_variables_initializer())
          sess.run(tf1.local_variables_initializer())
      assert not [w for w in caught
                  if issubclass(w.category, update_ops.UnwiredUpdatesWarning)]
