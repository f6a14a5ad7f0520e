#!/usr/bin/env bash
# Runs every test suite of contrib_bn:
#   1. builds the docs site strictly (a broken link or anchor fails it);
#   2. records fresh golden corpora with TensorFlow 1.15.5 (Python 3.7): the
#      single-device, distributed and fetch-pattern ones, each twice,
#      requiring bit-identical results;
#   3. compat_tests/ under TensorFlow 1.15.5: the behaviour tests hold for the
#      real tf.contrib.layers.batch_norm, and the fresh corpora equal the
#      committed ones;
#   4. `python -m contrib_bn verify` against the fresh corpora;
#   5. tests/ under TensorFlow 2.x with contrib_bn installed from this tree;
#   6. tf_slim's shipped net tests after contrib_bn.install()
#      (scripts/run_slim_net_tests.py, its default selection; `--all` runs
#      every shipped net test).
# The TF 2 suites (4 to 6) run twice: with oneDNN off and forced on
# (TF_ENABLE_ONEDNN_OPTS=0 and =1). oneDNN changes the graph TensorFlow runs
# (Grappler's remapper fuses other patterns), and TensorFlow turns it on by
# default only on some processors, so one setting alone would test whichever
# the machine happens to have. Each suite's name says its setting.
# Every suite runs even when an earlier one fails; the script ends with one
# line per suite and exits non-zero if any failed. A failure to set up the
# environments stops it at once.
# Virtual environments are created under .venvs/ (override: CONTRIB_BN_VENVS)
# and reused by later runs. TF_SPEC picks the TensorFlow 2 release
# (default: the newest); CONTRIB_BN_PY37 the Python 3.7 interpreter.
set -uo pipefail
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

set -e
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
"$tf2/bin/pip" install -q --disable-pip-version-check "$tf_spec" "$root[test,docs]"

set +e

fresh="$(mktemp -d)"
logs="$(mktemp -d)"
trap 'rm -rf "$fresh" "$logs"' EXIT
tf2_version="$("$tf2/bin/python" -c 'import tensorflow as tf; print(tf.__version__)' 2>/dev/null)"

names=()
results=()
failed=0

# run_suite NAME SUMMARY_PATTERN COMMAND...: runs the command with its output
# shown and kept, then records its status and the last line matching
# SUMMARY_PATTERN (pytest's closing counts, or the command's own summary).
run_suite() {
  local name="$1" pattern="$2"
  shift 2
  echo "== $name"
  local log="$logs/${#names[@]}.log"
  "$@" 2>&1 | tee "$log"
  local status="${PIPESTATUS[0]}"
  local summary
  summary="$(grep -E "$pattern" "$log" | tail -n 1 | sed -E 's/^=+ //; s/ =+$//')"
  if [ "$status" -ne 0 ]; then
    failed=$((failed + 1))
    summary="FAILED (exit $status)${summary:+: $summary}"
  fi
  names+=("$name")
  results+=("${summary:-ok}")
}

pytest_counts='[0-9]+ (passed|failed|error|errors|skipped|xfailed|xpassed)'

run_suite "docs site (mkdocs build --strict)" 'Documentation built|Aborted' \
  env -C "$root" "$tf2/bin/python" -m mkdocs build --strict --site-dir "$logs/site"

run_suite "record corpus (TF 1.15.5)" 'cases|recorded|determinism' \
  "$tf1/bin/python" "$root/scripts/record_goldens.py" --out "$fresh" \
  --check_determinism

run_suite "record distributed (TF 1.15.5)" 'cases|recorded|determinism' \
  "$tf1/bin/python" "$root/scripts/record_distributed.py" \
  --out "$fresh/distributed" --check_determinism

run_suite "record fetch patterns (TF 1.15.5)" 'recorded|differ' \
  "$tf1/bin/python" "$root/scripts/record_fetches.py" \
  --out "$fresh/fetches" --check_determinism

run_suite "compat_tests (TF 1.15.5)" "$pytest_counts" \
  env -C "$root" CONTRIB_BN_FRESH_CORPUS="$fresh" \
  CONTRIB_BN_FRESH_DISTRIBUTED="$fresh/distributed" \
  CONTRIB_BN_FRESH_FETCHES="$fresh/fetches" \
  "$tf1/bin/python" -m pytest compat_tests -q -p no:cacheprovider

for onednn in 0 1; do
  setting="oneDNN $([ "$onednn" = 1 ] && echo on || echo off)"
  run_suite "verify (TF $tf2_version, $setting)" 'cases match in total' \
    env -C "$root" TF_ENABLE_ONEDNN_OPTS="$onednn" \
    "$tf2/bin/python" -m contrib_bn verify --goldens "$fresh" \
    --distributed-goldens "$fresh/distributed" \
    --fetch-goldens "$fresh/fetches" --tf-layers

  # The second setting leaves out the modules whose checks do not depend on
  # it (tests/conftest.py, SINGLE_SETTING_MODULES).
  selection=()
  [ "$onednn" = 1 ] && selection=(-m "not single_setting")
  run_suite "tests (TF $tf2_version, $setting)" "$pytest_counts" \
    env -C "$root" TF_ENABLE_ONEDNN_OPTS="$onednn" \
    CONTRIB_BN_TF1_PYTHON="$tf1/bin/python" \
    "$tf2/bin/python" -m pytest tests -q -p no:cacheprovider "${selection[@]}"

  run_suite "tf_slim net tests (TF $tf2_version, $setting)" "$pytest_counts" \
    env -C "$root" TF_ENABLE_ONEDNN_OPTS="$onednn" \
    "$tf2/bin/python" scripts/run_slim_net_tests.py
done

echo "== summary"
passed=0
failed_tests=0
for i in "${!names[@]}"; do
  printf '%-48s %s\n' "${names[$i]}" "${results[$i]}"
  n="$(grep -oE '[0-9]+ passed' <<<"${results[$i]}" | awk '{s += $1} END {print s + 0}')"
  passed=$((passed + n))
  n="$(grep -oE '[0-9]+ (failed|errors?)' <<<"${results[$i]}" | awk '{s += $1} END {print s + 0}')"
  failed_tests=$((failed_tests + n))
done
echo "pytest: $passed passed, $failed_tests failed"
if [ "$failed" -ne 0 ]; then
  echo "$failed of ${#names[@]} suites failed"
  exit 1
fi
echo "all ${#names[@]} suites passed"
