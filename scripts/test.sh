#!/usr/bin/env bash
# The whole test suite: the one command the README gives and .ci/run calls.
#   regenerate protocol (fail on diff) → type-check → format → lint → core tests on Bun and
#   Deno → real-client compatibility tests → binary build and install tests.
# Counts tests as the runners report them (bun test: "N pass", "N fail", "N skip", "N todo";
# deno test: "ok | N passed | N failed | N ignored"); a step that is not a test run counts as one
# test. A step whose tests all skipped (or that ran none) counts as skipped, not passed. Ends with one line
# "N passed, N failed, N skipped"; exits non-zero if any step failed. Under CI=true (.ci/run) a
# real-client test whose client is missing fails instead of skipping (tests/support/skips.ts).
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
export NO_COLOR=1

if [ ! -x node_modules/.bin/bun ] || [ ! -x node_modules/.bin/deno ]; then
  npm install --no-fund --no-audit
fi
bash scripts/install_test_deps.sh || exit 1
# librdkafka 2.12 for the KIP-848 tests: built once into ~/.cache (minutes the first time).
bash scripts/install_node_rdkafka.sh >/dev/null || exit 1

passed=0
failed=0
skipped=0
failures=()
all_skipped=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Sums, over the step's log, the number that group 1 of the line pattern $1 captures.
sum() {
  sed -nE "s/$1/\1/p" "$log" | awk '{s+=$1} END {print s+0}'
}

# Runs one step and counts its tests as the runner reports them, else counts the step itself.
step() {
  local name=$1
  shift
  echo "=== $name: $*"
  local start=$SECONDS
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local p=0 f=0 s=0 reported=false
  # bun test: " 12 pass", " 0 fail", " 3 skip", " 1 todo", then "Ran 16 tests across 4 files."
  if grep -aqE '^Ran [0-9]+ tests? across' "$log"; then
    reported=true
    p=$(sum '^ *([0-9]+) pass$')
    f=$(sum '^ *([0-9]+) fail$')
    s=$(($(sum '^ *([0-9]+) skip$') + $(sum '^ *([0-9]+) todo$')))
  fi
  # deno test: "ok | 12 passed | 0 failed | 3 ignored (1s)" or "FAILED | …".
  if grep -aqE '^(ok|FAILED) \| [0-9]+ passed' "$log"; then
    reported=true
    p=$(sum '^[A-Za-z]+ \| ([0-9]+) passed .*')
    f=$(sum '^[A-Za-z]+ \| [0-9]+ passed \| ([0-9]+) failed.*')
    s=$(sum '^[A-Za-z]+ \| [0-9]+ passed \| [0-9]+ failed \| ([0-9]+) ignored.*')
  fi
  if [ "$reported" = false ]; then
    # Not a test runner (type-check, lint…): the step is one test.
    if [ "$rc" -eq 0 ]; then p=1; else f=1; fi
  elif [ "$rc" -ne 0 ] && [ "$f" = "0" ]; then
    f=1
  elif [ "$p" = "0" ] && [ "$f" = "0" ] && [ "$s" = "0" ]; then
    s=1 # the runner ran no test at all
  fi
  passed=$((passed + p))
  failed=$((failed + f))
  skipped=$((skipped + s))
  [ "$rc" -eq 0 ] || failures+=("$name")
  if [ "$rc" -eq 0 ] && [ "$p" = "0" ] && [ "$f" = "0" ]; then all_skipped+=("$name"); fi
  echo "=== $name: exit $rc, $((SECONDS - start))s: $p passed, $f failed, $s skipped"
}

CORE_TESTS=(tests/unit tests/contract tests/runtime tests/hostile)

step "protocol generated code is up to date" bash scripts/gen_check.sh
step "type-check (tsc, core)" tsc -p tsconfig.json
step "type-check (tsc, bun + tests)" tsc -p tsconfig.bun.json
step "type-check (deno)" deno check src/runtime/deno/main.ts mod.ts
step "format" deno fmt --check
step "lint" deno lint
step "layer imports" bun scripts/check_imports.ts
step "core tests (bun)" bun test "${CORE_TESTS[@]}"
step "core tests (deno)" deno test -A "${CORE_TESTS[@]}"
step "real clients" bash scripts/test_compat.sh
step "binary and install" bun test --timeout 300000 tests/release

echo
if [ ${#all_skipped[@]} -gt 0 ]; then
  echo "steps whose tests all skipped: ${all_skipped[*]}"
fi
if [ ${#failures[@]} -gt 0 ]; then
  echo "failed steps: ${failures[*]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ ${#failures[@]} -eq 0 ]
