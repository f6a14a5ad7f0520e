"""Keeps TensorFlow's C++ start-up log off the command line's output.

TensorFlow prints lines about CUDA drivers, oneDNN and CPU features to the
process's stderr (file descriptor 2) while it loads and when it first lists
devices, partly before its own log-level setting is read. A user who typed
`python -m contrib_bn verify` should see contrib_bn's output first. The CLI
therefore loads TensorFlow with descriptor 2 pointed at a temporary file, and
shows what was captured only if loading failed. Nothing changes when the user
set TF_CPP_MIN_LOG_LEVEL: then they asked for TensorFlow's own logging.
"""

import os
import sys
import tempfile

# Hides TensorFlow's INFO and WARNING lines after start-up too; errors still
# show.
_CLI_LOG_LEVEL = '2'


def load_tensorflow_quietly():
  """Imports TensorFlow and lists its devices with stderr captured."""
  if 'TF_CPP_MIN_LOG_LEVEL' in os.environ or 'tensorflow' in sys.modules:
    return
  os.environ['TF_CPP_MIN_LOG_LEVEL'] = _CLI_LOG_LEVEL
  sys.stderr.flush()
  saved = os.dup(2)
  with tempfile.TemporaryFile() as captured:
    os.dup2(captured.fileno(), 2)
    try:
      import tensorflow as tf  # pylint: disable=g-import-not-at-top
      tf.config.list_physical_devices()
    except BaseException:
      os.dup2(saved, 2)
      captured.seek(0)
      sys.stderr.write(captured.read().decode('utf-8', 'replace'))
      raise
    finally:
      os.dup2(saved, 2)
      os.close(saved)
