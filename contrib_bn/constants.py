"""Names and numbers shared by every part of contrib_bn."""

DATA_FORMAT_NHWC = 'NHWC'
DATA_FORMAT_NCHW = 'NCHW'
DATA_FORMATS = (DATA_FORMAT_NCHW, DATA_FORMAT_NHWC)

DEFAULT_SCOPE = 'BatchNorm'

# The TensorFlow release every golden corpus is recorded from.
TF1_VERSION = '1.15.5'

# Exit codes of the command-line tools: success, a check that failed, and
# arguments that could not be used.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

# TF 1.15's `nn.fused_batch_norm` silently raised any smaller epsilon to this
# floor (a cuDNN requirement); TF 2.x passes epsilon through unchanged.
FUSED_MIN_EPSILON = 1.001e-5

# The three internal paths of TF 1.15's `tf.contrib.layers.batch_norm`.
PATH_FUSED = 'fused'
PATH_CORE = 'core'
PATH_MOMENTS = 'moments'

# Variable names a batch-norm layer may own, as TF 1.15 named them.
BETA = 'beta'
GAMMA = 'gamma'
MOVING_MEAN = 'moving_mean'
MOVING_VARIANCE = 'moving_variance'
MOVING_STDDEV = 'moving_stddev'
RENORM_MEAN = 'renorm_mean'
RENORM_STDDEV = 'renorm_stddev'
DEBIAS_BIASED = 'biased'
DEBIAS_LOCAL_STEP = 'local_step'

# The keys `param_initializers` and `variables_collections` take, and those
# `param_regularizers` takes, in the order TF 1.15's messages list them.
PARAMETERS = (BETA, GAMMA, MOVING_MEAN, MOVING_VARIANCE)
REGULARIZED_PARAMETERS = (BETA, GAMMA)

RENORM_CLIPPING_KEYS = ['rmax', 'rmin', 'dmax']
