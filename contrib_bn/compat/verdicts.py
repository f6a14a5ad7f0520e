"""What a TF1 name meets after `install()`: `provides(dotted_name) -> Verdict`.

The answer is kept in no table of its own. `after_install()` puts install()
in effect (installing for the duration when it is not installed, and
uninstalling after), and the name is looked up the way the program will look
it up: `tf.contrib` names through the import system and the namespaces
install() registered, tf_slim names through tf_slim (which install()
repairs in place), and every other name through `tensorflow.compat.v1` as
install() left it. A name is provided when the look-up succeeds; when it
fails, the verdict carries the very error the program gets. So whatever
install() serves, by whatever means (the `tf.contrib` namespaces, names
set into TensorFlow's own `tf.compat.v1.layers`, a tf_slim missing), is
what the verdict says, and when install() grows, the verdict follows with
no change here or in the scanner.

The TF1 namespaces judged (`NAMESPACES`) are `tf.contrib`, the two TF 2.21
with Keras 3 lists but refuses, `tf.layers` and `tf.nn.rnn_cell`
(`tf.compat.v1.layers.conv2d` raises "`conv2d` is not available with Keras
3"), and tf_slim imported under its own name. Names are judged as
`tensorflow.compat.v1` spells them: `tensorflow.`, `tensorflow.compat.v1.`
and `tf.compat.v1.` are all `tf.`.

Without tf_slim, the names install() serves from it (`tf.contrib.slim.*`,
most of `tf.contrib.layers`) and `import tf_slim` are missing, with the
reason "needs tf_slim (pip install tf-slim)": the program fails until it is
installed.
"""

import collections
import contextlib
import importlib
import types

from contrib_bn.compat import contrib_namespaces
from contrib_bn.compat import install as installer
from contrib_bn.compat import layers_registry
from contrib_bn.compat import replacements

__all__ = ['MISSING', 'NAMESPACES', 'PROVIDED', 'Verdict', 'after_install',
           'covers', 'provides', 'spelling']

PROVIDED = 'provided'
MISSING = 'missing'

_SLIM = 'tf_slim'
_CONTRIB = 'tf.contrib'
_LAYERS = 'tf.contrib.layers.'

# Every TF1 namespace `provides` answers for.
NAMESPACES = (_CONTRIB, 'tf.layers', 'tf.nn.rnn_cell', _SLIM)

NEEDS_SLIM = 'needs tf_slim (pip install tf-slim)'

Verdict = collections.namedtuple('Verdict', [
    'name',         # the name judged, spelled 'tf.x' or 'tf_slim.x'
    'status',       # PROVIDED or MISSING
    'provider',     # 'contrib_bn', 'tf_slim' or 'tensorflow'; None if missing
    'module',       # whether the name is a module (a namespace)
    'reason',       # why it is missing, in a few words; None if provided
    'message',      # the error the program gets, with the fix; or None
    'replacement',  # where TF 2 code finds it (replacements.py), or None
])


def spelling(dotted_name):
  """'tensorflow.compat.v1.layers.x' -> 'tf.layers.x'; tf_slim names as is."""
  name = dotted_name
  if name == 'tensorflow' or name.startswith('tensorflow.'):
    name = 'tf' + name[len('tensorflow'):]
  for prefix in ('tf.compat.v1', 'tf.compat.v2'):
    if name == prefix:
      name = 'tf'
    elif name.startswith(prefix + '.'):
      name = 'tf' + name[len(prefix):]
  return name


def covers(dotted_name):
  """Whether `dotted_name` lies in one of the TF1 `NAMESPACES`."""
  name = spelling(dotted_name)
  return any(name == n or name.startswith(n + '.') for n in NAMESPACES)


@contextlib.contextmanager
def after_install():
  """Yields `provides` to call with install() in effect.

  Installs when install() is not in effect, and uninstalls on the way out;
  an install() already in effect is left as it is.
  """
  tensorflow = importlib.import_module('tensorflow')
  before = vars(tensorflow).get('contrib')
  namespace = installer.install()
  try:
    yield _judge
  finally:
    if before is not namespace:
      installer.uninstall()


def provides(dotted_name):
  """What `dotted_name` is after install(): a Verdict, or None if not covered.

  Args:
    dotted_name: A name as the program spells it, after aliases are
      followed: 'tf.contrib.layers.flatten', 'tensorflow.contrib.slim',
      'tf.compat.v1.layers.conv2d', 'tf_slim.arg_scope', or a module path
      from an import statement
      ('tensorflow.contrib.layers.python.layers.layers').

  Returns:
    A Verdict, or None when the name is in none of `NAMESPACES` (there is
    nothing to say here about `tf.nn.relu`). Judging many names, use
    `after_install()`, which installs once.
  """
  with after_install() as judge:
    return judge(dotted_name)


def _judge(dotted_name):
  name = spelling(dotted_name)
  if not covers(name):
    return None
  parts = name.split('.')
  if parts[0] == _SLIM:
    try:
      start = importlib.import_module(_SLIM)
    except ImportError as error:
      return _missing(name, NEEDS_SLIM, '%s: %s; %s needs the tf_slim '
                      'package: pip install tf-slim' % (name, error, name))
    return _walk(name, start, parts[1:], _SLIM)
  if name == _CONTRIB or name.startswith(_CONTRIB + '.'):
    # Import statements reach module paths (the legacy
    # tensorflow.contrib.layers.python.layers) that attributes do not.
    path = ['tensorflow'] + parts[1:]
    for end in range(len(path), 1, -1):
      try:
        start = importlib.import_module('.'.join(path[:end]))
      except ImportError:
        continue
      return _walk(name, start, path[end:], 'contrib_bn')
  tensorflow = importlib.import_module('tensorflow')
  return _walk(name, tensorflow.compat.v1, parts[1:], 'tensorflow')


def _walk(name, value, rest, provider):
  """Looks `rest` up from `value` as the program will; the Verdict."""
  provider = _provider(value, provider)
  for part in rest:
    holder = value
    try:
      value = getattr(holder, part)
    except (AttributeError, ImportError) as error:
      value = _submodule(holder, part)
      if value is None:
        return _missing(name, _reason(holder, part, error),
                        _message(name, error))
    provider = _provider(value, provider)
  public = _public(name)
  if public.startswith(_LAYERS) and public[len(_LAYERS):] in (
      layers_registry.PUBLIC_NAMES):
    provider = layers_registry.provider(public[len(_LAYERS):])
  return Verdict(name, PROVIDED, provider,
                 isinstance(value, types.ModuleType), None, None, None)


def _submodule(package, part):
  """The submodule `part` an import statement reaches, or None."""
  if not isinstance(package, types.ModuleType) or getattr(
      package, '__path__', None) is None:
    return None  # Keras 3's lazy loaders raise even for __path__.
  try:
    return importlib.import_module(package.__name__ + '.' + part)
  except ImportError:
    return None


def _is_contrib_bn_namespace(value):
  return isinstance(value, types.ModuleType) and type(
      value).__module__.startswith('contrib_bn.')


def _provider(value, default):
  """Who serves `value`: 'contrib_bn', 'tf_slim' or 'tensorflow'."""
  if _is_contrib_bn_namespace(value):
    return 'contrib_bn'
  if isinstance(value, types.ModuleType):
    origin = getattr(value, '__name__', None)
  else:
    origin = getattr(value, '__module__', None)
  if not isinstance(origin, str):
    return default  # a constant: its module's provider
  for root in ('contrib_bn', _SLIM, 'tensorflow'):
    if origin == root or origin.startswith(root + '.'):
      return root
  return 'tensorflow' if origin.startswith('keras') else default


def _reason(holder, part, error):
  """Why `part` is missing from `holder`, in a few words."""
  if isinstance(error, ImportError) and getattr(error, 'name', None) == _SLIM:
    return NEEDS_SLIM
  if _is_contrib_bn_namespace(holder):
    return 'contrib_bn does not serve it'
  holder_name = getattr(holder, '__name__', None) or ''
  if holder_name == _SLIM or holder_name.startswith(_SLIM + '.'):
    return '%s has no %s' % (holder_name, part)
  tensorflow = importlib.import_module('tensorflow')
  return 'TensorFlow %s: %s' % (tensorflow.__version__,
                                str(error).rstrip('.'))


def _message(name, error):
  """The program's error, led by the name when it does not say it."""
  text = str(error)
  return text if name in text else '%s: %s' % (name, text)


def _missing(name, reason, message):
  replacement = replacements.replacement_for(_public(name))
  if replacement is not None:
    if replacement not in message:
      message += ' On TF 2.x use %s.' % replacement
  elif 'contrib_bn' not in message and 'tf-slim' not in message:
    # TensorFlow's own refusal ("not available with Keras 3") names no way
    # out; say that there is none here either.
    message += (' contrib_bn.install() does not provide it, and knows no TF 2 '
                'replacement that runs in tf.compat.v1 graph mode.')
  return Verdict(name, MISSING, None, False, reason, message, replacement)


def _public(name):
  """A legacy module path's name as its public module spells it."""
  if not name.startswith(_CONTRIB + '.'):
    return name
  for segment in contrib_namespaces.LEGACY_SEGMENTS:
    name = name.replace(segment, '')
  return name
