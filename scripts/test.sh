#!/usr/bin/env bash
# Runs every test suite of contrib_bn:
#   1. records a fresh golden corpus with TensorFlow 1.15.5 (Python 3.7), twice,
#      requiring bit-identical results;
#   2. compat_tests/ under TensorFlow 1.15.5: the behaviour tests hold for the
#      real tf.contrib.layers.batch_norm, and the fresh corpus equals the
#      committed one;
#   3. tests/ under TensorFlow 2.x with contrib_bn installed from this tree;
#   4. `python -m contrib_bn verify` against the fresh corpus.
# Virtual environments are created under .venvs/ (override: CONTRIB_BN_VENVS)
# and reused by later runs. TF_SPEC picks the TensorFlow 2 release
# (default: the newest); CONTRIB_BN_PY37 the Python 3.7 interpreter.
set -euo pipefail
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venvs="${CONTRIB_BN_VENVS:-$root/.venvs}"
tf_spec="${TF_SPEC:-tensorflow>=2.16}"
py3="${PYTHON:-python3}"
if [ -z "${CONTRIB_BN_PY37:-}" ]; then
  CONTRIB_BN_PY37="$(PYENV_VERSION=3.7.16 pyenv which python3.7 2>/dev/null || command -v python3.7 || true)"
fi
if [ -z "$CONTRIB_BN_PY37" ]; then
  echo "test.sh: no Python 3.7 found for the TensorFlow 1.15 suites;" \
       "set CONTRIB_BN_PY37" >&2
  exit 2
fi

mkdir -p "$venvs"
tf1="$venvs/tf115"
tf2="$venvs/tf2"
if [ ! -x "$tf1/bin/python" ]; then
  "$CONTRIB_BN_PY37" -m venv "$tf1"
fi
"$tf1/bin/pip" install -q --disable-pip-version-check \
  'tensorflow==1.15.5' 'protobuf<3.21' 'numpy<1.19' 'h5py<3' absl-py pytest
if [ ! -x "$tf2/bin/python" ]; then
  "$py3" -m venv "$tf2"
fi
"$tf2/bin/pip" install -q --disable-pip-version-check --upgrade pip
"$tf2/bin/pip" install -q --disable-pip-version-check "$tf_spec" "$root[test]"

fresh="$(mktemp -d)"
trap 'rm -rf "$fresh"' EXIT

echo "== recording a fresh corpus with TensorFlow 1.15.5"
"$tf1/bin/python" "$root/scripts/record_goldens.py" --out "$fresh" \
  --check_determinism | tail -n 1

echo "== recording a fresh distributed corpus with TensorFlow 1.15.5"
"$tf1/bin/python" "$root/scripts/record_distributed.py" \
  --out "$fresh/distributed" --check_determinism | tail -n 1

echo "== compat_tests on TensorFlow 1.15.5"
(cd "$root" && CONTRIB_BN_FRESH_CORPUS="$fresh" \
  CONTRIB_BN_FRESH_DISTRIBUTED="$fresh/distributed" \
  "$tf1/bin/python" -m pytest compat_tests -q -p no:cacheprovider)

echo "== contrib_bn verify against the fresh corpora"
(cd "$root" && "$tf2/bin/python" -m contrib_bn verify --goldens "$fresh" \
  --distributed-goldens "$fresh/distributed" | tail -n 3)

export CONTRIB_BN_TF1_PYTHON="$tf1/bin/python"
echo "== tests on $("$tf2/bin/python" -c 'import tensorflow as tf; print("TensorFlow", tf.__version__)')"
(cd "$root" && "$tf2/bin/python" -m pytest tests -q -p no:cacheprovider)
