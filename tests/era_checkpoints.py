"""Checkpoints recorded by several TF 1.x releases, and graphs to restore into.

Shared by `test_checkpoint_eras.py` and the `inspect` tests of
`test_cli.py`. The goldens under contrib_bn/goldens/eras/tf<version>/ were
written by scripts/record_era_checkpoints.py under each release.
"""

import glob
import os

import pytest
import tensorflow as tf

from contrib_bn import batch_norm
from contrib_bn.conformance import corpus

ERAS_DIR = corpus.directory('eras')


def version_of(directory):
  text = os.path.basename(directory)[len('tf'):]
  return tuple(int(p) for p in text.split('.')[:2])


def era_dirs():
  return sorted(glob.glob(os.path.join(ERAS_DIR, 'tf1.*')), key=version_of)


def _era_cases():
  params = []
  for directory in era_dirs():
    for case_id in corpus.recorded_ids(directory):
      params.append(pytest.param(directory, case_id,
                                 id='%s-%s' % (os.path.basename(directory),
                                               case_id)))
  return params


ERA_CASES = _era_cases()


class Era(object):
  """One recorded case of one release."""

  def __init__(self, directory, case_id):
    golden = corpus.Case(directory, case_id,
                         'record it with scripts/record_era_checkpoints.py')
    self.directory = directory
    self.version = version_of(directory)
    self.record = golden.record
    self.arrays = golden.arrays
    self.case = self.record['case']
    self.prefix = corpus.checkpoint_prefix(directory, case_id)

  @property
  def contrib_kwargs(self):
    return dict(self.case.get('contrib_bn_kwargs', self.case['kwargs']))

  @property
  def scope_map(self):
    return self.case.get('scope_map')

  @property
  def epsilon(self):
    return self.contrib_kwargs.get('epsilon', 0.001)


def build_graph(case, kwargs=None):
  """The recorded graph, rebuilt with contrib_bn: (graph, x, inference)."""
  kwargs = dict(case.get('contrib_bn_kwargs', case['kwargs'])
                if kwargs is None else kwargs)
  layers = case.get('layers', 1)
  graph = tf.Graph()
  with graph.as_default():
    x = tf.compat.v1.placeholder(tf.float32, case['shape'], name='x')
    train = x
    for index in range(layers):
      if index:
        train = tf.nn.relu(train)
      train = batch_norm(train, is_training=True, **kwargs)
    infer = x
    for index in range(layers):
      if index:
        infer = tf.nn.relu(infer)
      scope = 'BatchNorm_%d' % index if index else 'BatchNorm'
      infer = batch_norm(infer, is_training=False, reuse=True, scope=scope,
                         **kwargs)
    graph.add_to_collection('train_output', train)
  return graph, x, infer
