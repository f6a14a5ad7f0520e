"""The XLA flag that lets auto-clustering compile CPU graphs.

TensorFlow reads TF_XLA_FLAGS once, when it first initializes its devices
(a first session, or a device listing such as the command line's quiet
start-up). Without `--tf_xla_cpu_global_jit` a session's
`global_jit_level=ON_1` clusters nothing on CPU. Standard library only, so the
command line can set the flag before it loads TensorFlow.
"""

import os

XLA_CPU_FLAG = '--tf_xla_cpu_global_jit'


def request_cpu_clustering(environ=None):
  """Adds the CPU flag to TF_XLA_FLAGS, keeping any flags already there."""
  environ = os.environ if environ is None else environ
  flags = environ.get('TF_XLA_FLAGS', '')
  if XLA_CPU_FLAG not in flags.split():
    environ['TF_XLA_FLAGS'] = (flags + ' ' + XLA_CPU_FLAG).strip()


def requested_on_command_line(argv):
  """Whether `python -m contrib_bn` arguments ask for `verify --xla`."""
  return bool(argv) and argv[0] == 'verify' and '--xla' in argv[1:]
