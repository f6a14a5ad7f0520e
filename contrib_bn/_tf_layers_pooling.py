"""TF 1.15's `tf.layers` max and average pooling, 1-D to 3-D, and classes.

Served by contrib_bn.layers (and, after `install()`, `tf.compat.v1.layers`).
No variables; a unique `max_pooling2d`, `average_pooling1d`, ... name scope.
As TF 1.15 did on CPU, 1-D pooling runs as 2-D pooling of a width-1 image
and channels-first 1-D and 3-D inputs are pooled channels-last between
transposes; 2-D channels-first pooling is handed to the kernel as NCHW,
which TF 1.15's CPU kernels refused when run.
"""

import tensorflow as tf

from contrib_bn import _tf_layer_base

__all__ = ['AveragePooling1D', 'AveragePooling2D', 'AveragePooling3D',
           'MaxPooling1D', 'MaxPooling2D', 'MaxPooling3D',
           'average_pooling1d', 'average_pooling2d', 'average_pooling3d',
           'max_pooling1d', 'max_pooling2d', 'max_pooling3d']

_POOL_2D = {'max': tf.compat.v1.nn.max_pool, 'avg': tf.compat.v1.nn.avg_pool}
_POOL_3D = {'max': tf.nn.max_pool3d, 'avg': tf.nn.avg_pool3d}


class _Pooling(_tf_layer_base.Layer):
  """`RANK`-D pooling (`MODE`: 'max' or 'avg') with TF 1.15's API.

  Args:
    pool_size: an int or `RANK` ints.
    strides: an int or `RANK` ints.
    padding: 'valid' or 'same', any case.
    data_format: 'channels_last' or 'channels_first'.
    name: the layer's name.
    **kwargs: as `_tf_layer_base.Layer`.
  """

  RANK = None
  MODE = None

  def __init__(self, pool_size, strides, padding='valid',
               data_format='channels_last', name=None, **kwargs):
    super(_Pooling, self).__init__(name=name, **kwargs)
    self.pool_size = _tf_layer_base.normalize_tuple(
        pool_size, self.RANK, 'pool_size')
    self.strides = _tf_layer_base.normalize_tuple(
        strides, self.RANK, 'strides')
    self.padding = _tf_layer_base.normalize_padding(padding)
    self.data_format = _tf_layer_base.normalize_data_format(data_format)

  @property
  def NDIM(self):  # pylint: disable=invalid-name
    return self.RANK + 2

  def call(self, inputs):
    first = self.data_format == 'channels_first'
    padding = self.padding.upper()
    if self.RANK == 2:
      if first:
        ksize, strides = (1, 1) + self.pool_size, (1, 1) + self.strides
      else:
        ksize, strides = (1,) + self.pool_size + (1,), (
            (1,) + self.strides + (1,))
      return _POOL_2D[self.MODE](inputs, ksize, strides, padding,
                                 data_format='NCHW' if first else 'NHWC')
    if first:
      inputs = tf.transpose(inputs, [0] + list(range(2, self.RANK + 2)) + [1])
    if self.RANK == 1:
      image = tf.expand_dims(inputs, 2)
      outputs = _POOL_2D[self.MODE](
          image, (1,) + self.pool_size + (1, 1),
          (1,) + self.strides + (1, 1), padding)
      outputs = tf.squeeze(outputs, [2])
    else:
      outputs = _POOL_3D[self.MODE](
          inputs, (1,) + self.pool_size + (1,), (1,) + self.strides + (1,),
          padding)
    if first:
      outputs = tf.transpose(outputs, [0, self.RANK + 1] +
                             list(range(1, self.RANK + 1)))
    return outputs


def _pooling_class(class_name, base_name, rank, mode):
  doc = _Pooling.__doc__.replace('`RANK`', str(rank)).replace(
      '`MODE`', repr(mode))
  return type(class_name, (_Pooling,), {
      '__doc__': doc, 'BASE_NAME': base_name, 'RANK': rank, 'MODE': mode,
      '__module__': __name__})


MaxPooling1D = _pooling_class('MaxPooling1D', 'max_pooling1d', 1, 'max')
MaxPooling2D = _pooling_class('MaxPooling2D', 'max_pooling2d', 2, 'max')
MaxPooling3D = _pooling_class('MaxPooling3D', 'max_pooling3d', 3, 'max')
AveragePooling1D = _pooling_class('AveragePooling1D', 'average_pooling1d', 1,
                                  'avg')
AveragePooling2D = _pooling_class('AveragePooling2D', 'average_pooling2d', 2,
                                  'avg')
AveragePooling3D = _pooling_class('AveragePooling3D', 'average_pooling3d', 3,
                                  'avg')


def _functional(cls, function_name):
  """The functional form of pooling class `cls`."""
  def pool(inputs, pool_size, strides, padding='valid',
           data_format='channels_last', name=None):
    return cls(pool_size, strides, padding=padding, data_format=data_format,
               name=name).apply(inputs)
  pool.__name__ = pool.__qualname__ = function_name
  pool.__doc__ = 'Applies a new `%s`.' % cls.__name__
  return pool


max_pooling1d = _functional(MaxPooling1D, 'max_pooling1d')
max_pooling2d = _functional(MaxPooling2D, 'max_pooling2d')
max_pooling3d = _functional(MaxPooling3D, 'max_pooling3d')
average_pooling1d = _functional(AveragePooling1D, 'average_pooling1d')
average_pooling2d = _functional(AveragePooling2D, 'average_pooling2d')
average_pooling3d = _functional(AveragePooling3D, 'average_pooling3d')
