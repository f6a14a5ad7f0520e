"""The golden corpora on disk: how every kind is read and written.

Everything under contrib_bn/goldens/ is JSON (cases, structure, records)
beside NumPy `.npz` archives (values), with TF1 checkpoints saved by prefix
(`<prefix>.index`, `<prefix>.data-00000-of-00001`). Most corpora hold one
case per file: `<id>.json`, `<id>.npz` (absent for a case recorded raising,
in the corpora that record no inputs for those) and `checkpoints/<id>.*`,
some with a `manifest.json` listing the case ids in catalogue order. The
fetch patterns, tf.contrib.layers, and migration corpora are a JSON file and
an archive each.

TF-free (standard library and NumPy) and written for Python 3.6 as well:
the TF 1.15.5 recorders, and the era recorder under older 1.x releases,
write through it; `verify` and the tests read through it. Every write goes
to a temporary file in the target's directory and is renamed into place
(`os.replace`), so a reader never sees half a file. Each corpus keeps the
JSON layout it was first committed in (sorted keys or insertion order, a
final newline or none) and compressed or plain archives, so re-recording the
same values leaves its files unchanged.
"""

import json
import os
import shutil
import tempfile

import numpy as np

GOLDENS_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'goldens')
CHECKPOINT_SUFFIXES = ('.index', '.data-00000-of-00001')
MANIFEST = 'manifest.json'


def directory(*parts):
  """A corpus directory under contrib_bn/goldens/."""
  return os.path.join(GOLDENS_DIR, *parts)


def _write_atomically(path, write):
  """Calls `write(binary file)` on a temporary file, then renames it to `path`."""
  handle, staged = tempfile.mkstemp(
      dir=os.path.dirname(os.path.abspath(path)),
      prefix='.' + os.path.basename(path) + '.')
  try:
    with os.fdopen(handle, 'wb') as f:
      write(f)
    os.chmod(staged, 0o644)
    os.replace(staged, path)
  except BaseException:
    if os.path.exists(staged):
      os.remove(staged)
    raise


def write_json(path, value, sort_keys=True, trailing_newline=True):
  """Writes `value` to `path` as JSON indented by one space."""
  text = json.dumps(value, indent=1, sort_keys=sort_keys)
  if trailing_newline:
    text += '\n'
  _write_atomically(path, lambda f: f.write(text.encode('utf-8')))


def write_arrays(path, arrays, compressed=True):
  """Writes the dict `arrays` to `path` as an `.npz` archive."""
  save = np.savez_compressed if compressed else np.savez
  _write_atomically(path, lambda f: save(f, **arrays))


def _missing(path, hint):
  return FileNotFoundError('golden file %s is missing%s' % (
      path, '; ' + hint if hint else ''))


def read_json(path, hint=None):
  """The JSON value in `path`; a missing file's error says `hint`."""
  if not os.path.exists(path):
    raise _missing(path, hint)
  with open(path) as f:
    return json.load(f)


def read_arrays(path, hint=None):
  """The arrays of the `.npz` archive `path`, as a dict."""
  if not os.path.exists(path):
    raise _missing(path, hint)
  with np.load(path) as data:
    return {key: data[key] for key in data.files}


def checkpoint_prefix(corpus_dir, case_id):
  """The prefix of a case's TF1 checkpoint (which may not exist)."""
  return os.path.join(corpus_dir, 'checkpoints', case_id)


def checkpoint_exists(prefix):
  return os.path.exists(prefix + '.index')


def case_files(case_id):
  """The files of one case, relative to its corpus directory."""
  return [case_id + '.json', case_id + '.npz'] + [
      os.path.join('checkpoints', case_id + suffix)
      for suffix in CHECKPOINT_SUFFIXES]


def recorded_ids(corpus_dir, suffix='.json'):
  """The ids of the cases with a `suffix` file in `corpus_dir`, sorted."""
  return sorted(name[:-len(suffix)] for name in os.listdir(corpus_dir)
                if name.endswith(suffix))


def manifest_ids(corpus_dir):
  """The case ids `manifest.json` lists, in catalogue order."""
  return list(read_json(os.path.join(corpus_dir, MANIFEST))['cases'])


def update_manifest(corpus_dir, catalogue_ids, recorded, fields):
  """Adds the `recorded` ids, and sets `fields`, in `manifest.json`.

  Args:
    corpus_dir: the corpus directory.
    catalogue_ids: every case id of the catalogue, in its order.
    recorded: the ids just recorded; ids listed before stay listed.
    fields: the other entries (reference, TensorFlow version, ...).
  """
  path = os.path.join(corpus_dir, MANIFEST)
  manifest = read_json(path) if os.path.exists(path) else {}
  known = set(manifest.get('cases', [])) | set(recorded)
  manifest.update(fields)
  manifest['cases'] = [i for i in catalogue_ids if i in known]
  write_json(path, manifest)


class Case(object):
  """One recorded case of a one-case-per-file corpus.

  Attributes:
    id: the case id.
    record: its JSON record.
    arrays: its arrays, or None for a case recorded raising without any.
    checkpoint_prefix: its TF1 checkpoint's prefix, or None if it has none.
  """

  def __init__(self, corpus_dir, case_id, hint=None):
    """Reads `case_id` of `corpus_dir`; a missing file's error says `hint`."""
    self.directory = corpus_dir
    self.id = case_id
    base = os.path.join(corpus_dir, case_id)
    self.record = read_json(base + '.json', hint)
    self.arrays = None
    if os.path.exists(base + '.npz') or 'error' not in self.record:
      self.arrays = read_arrays(base + '.npz', hint)
    prefix = checkpoint_prefix(corpus_dir, case_id)
    self.checkpoint_prefix = prefix if checkpoint_exists(prefix) else None

  @property
  def case(self):
    return self.record['case']

  @property
  def error(self):
    return self.record.get('error')


class Staging(object):
  """Files recorded into a hidden directory inside `out`, then moved in.

  Used as a context manager, which removes whatever was not moved:

    with corpus.Staging(out) as staging:
      ... write into staging.path(name) ...
      staging.commit(names)

  Staging inside `out` keeps each move a rename on one file system.
  """

  def __init__(self, out):
    os.makedirs(out, exist_ok=True)
    self.out = out
    self.directory = tempfile.mkdtemp(prefix='.staging_', dir=out)

  def path(self, *parts):
    """A path in the staging directory; its parent directory exists."""
    path = os.path.join(self.directory, *parts)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path

  def commit(self, names):
    """Moves each staged `names` into `out`; removes targets not staged.

    A case that raises now, or has no variables, leaves no stale file.
    """
    for name in names:
      staged = os.path.join(self.directory, name)
      target = os.path.join(self.out, name)
      if os.path.exists(staged):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.replace(staged, target)
      elif os.path.exists(target):
        os.remove(target)

  def __enter__(self):
    return self

  def __exit__(self, *unused_exc_info):
    shutil.rmtree(self.directory, ignore_errors=True)


def array_differences(first, second):
  """Keys whose arrays are not bit-identical (missing keys included)."""
  different = sorted(set(first) ^ set(second))
  for key in sorted(set(first) & set(second)):
    x, y = np.asarray(first[key]), np.asarray(second[key])
    if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
      different.append(key)
  return sorted(different)


def checkpoint_differences(prefix, other):
  """The suffixes whose checkpoint files differ between two prefixes."""
  different = []
  for suffix in CHECKPOINT_SUFFIXES:
    with open(prefix + suffix, 'rb') as f, open(other + suffix, 'rb') as g:
      if f.read() != g.read():
        different.append(suffix)
  return different
