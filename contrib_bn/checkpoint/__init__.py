"""Reading and restoring batch-norm checkpoints of every TF 1.x release.

`inspect` lists the batch-norm layers of a checkpoint (`layout`);
`assignment_map` pairs checkpoint names with the variables of a graph built
with `contrib_bn.batch_norm`, for `tf.compat.v1.train.Saver(var_list=...)`
(`planner`); `restore` runs that Saver and then assigns the graph variables that
have no checkpoint counterpart but can be derived exactly from ones that do,
and `validate_checkpoint` refuses a checkpoint that does not fit a graph
(`restorer`). `report` words the findings for the `inspect` command.
"""

from contrib_bn.checkpoint.layout import BETA
from contrib_bn.checkpoint.layout import checkpoint_variables
from contrib_bn.checkpoint.layout import DEBIAS_BIASED
from contrib_bn.checkpoint.layout import DEBIAS_LOCAL_STEP
from contrib_bn.checkpoint.layout import find_layers
from contrib_bn.checkpoint.layout import GAMMA
from contrib_bn.checkpoint.layout import inspect
from contrib_bn.checkpoint.layout import LAYOUT_PLAIN
from contrib_bn.checkpoint.layout import LAYOUT_RENORM_PARTIAL
from contrib_bn.checkpoint.layout import LAYOUT_RENORM_TF1_14
from contrib_bn.checkpoint.layout import LAYOUT_RENORM_TF1_15
from contrib_bn.checkpoint.layout import MOVING_MEAN
from contrib_bn.checkpoint.layout import MOVING_STDDEV
from contrib_bn.checkpoint.layout import MOVING_VARIANCE
from contrib_bn.checkpoint.layout import RENORM_MEAN
from contrib_bn.checkpoint.layout import RENORM_MEAN_WEIGHT
from contrib_bn.checkpoint.layout import RENORM_STDDEV
from contrib_bn.checkpoint.layout import RENORM_STDDEV_WEIGHT
from contrib_bn.checkpoint.layout import StoredLayer
from contrib_bn.checkpoint.layout import VariableInfo
from contrib_bn.checkpoint.planner import assignment_map
from contrib_bn.checkpoint.planner import DEFAULT_EPSILON
from contrib_bn.checkpoint.planner import Derivation
from contrib_bn.checkpoint.planner import plan
from contrib_bn.checkpoint.planner import RestorePlan
from contrib_bn.checkpoint.restorer import derived_moving_stddev
from contrib_bn.checkpoint.restorer import restore
from contrib_bn.checkpoint.restorer import validate_checkpoint

__all__ = [
    'assignment_map', 'checkpoint_variables', 'derived_moving_stddev',
    'Derivation', 'find_layers', 'inspect', 'plan', 'restore', 'RestorePlan',
    'StoredLayer', 'validate_checkpoint', 'VariableInfo',
]
