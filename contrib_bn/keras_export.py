"""`contrib_bn.keras_export`: the Keras export tool under its public name.

The tool lives in `contrib_bn.tools.keras_export`; this alias keeps
`import contrib_bn.keras_export` and `from contrib_bn import keras_export`
working, and both give that very module.
"""

import sys

from contrib_bn.tools import keras_export as _tool

sys.modules[__name__] = _tool
