#!/usr/bin/env bash
# The whole test suite: the one command the README gives and .ci/run calls.
#   regenerate protocol (fail on diff) → type-check → format → lint → core tests on Bun and
#   Deno → real-client compatibility tests → binary build and install tests.
# Ends with one line "N passed, N failed".
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
failures=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Runs one step; counts its tests when the runner reports them, else counts the step itself.
step() {
  local name=$1
  shift
  echo "=== $name: $*"
  local start=$SECONDS
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local p f
  p=$(grep -aE '^ *[0-9]+ pass$' "$log" | awk '{s+=$1} END {print s+0}')
  f=$(grep -aE '^ *[0-9]+ fail$' "$log" | awk '{s+=$1} END {print s+0}')
  if grep -aqE '^(ok|FAILED) \| [0-9]+ passed' "$log"; then
    p=$(grep -aE '^(ok|FAILED) \| ' "$log" | sed -E 's/.*\| ([0-9]+) passed.*/\1/' | awk '{s+=$1} END {print s+0}')
    f=$(grep -aE '^(ok|FAILED) \| ' "$log" | sed -E 's/.*\| ([0-9]+) failed.*/\1/' | awk '{s+=$1} END {print s+0}')
  fi
  if [ "$p" = "0" ] && [ "$f" = "0" ]; then
    if [ "$rc" -eq 0 ]; then p=1; else f=1; fi
  elif [ "$rc" -ne 0 ] && [ "$f" = "0" ]; then
    f=1
  fi
  passed=$((passed + p))
  failed=$((failed + f))
  [ "$rc" -eq 0 ] || failures+=("$name")
  echo "=== $name: exit $rc, $p passed, $f failed, $((SECONDS - start))s"
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
step "real clients" bun test --timeout 120000 tests/compat
step "binary and install" bun test --timeout 300000 tests/release

echo
if [ ${#failures[@]} -gt 0 ]; then
  echo "failed steps: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#failures[@]} -eq 0 ]
