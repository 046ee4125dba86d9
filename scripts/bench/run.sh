#!/usr/bin/env bash
# kbin's produce/consume benchmark suite. A benchmark, not a test: scripts/test.sh never runs it.
#
# Usage: bash scripts/bench/run.sh [quick|full]
#   quick (default, about 1.5 minutes): 3 s per produce run, a 256 MiB consume backlog, 5 s end to end.
#   full  (about 13 minutes): 10 s per produce run, each repeated 3 times, a 1 GiB backlog, 15 s end to end, acks=all
#         also against the sink and end to end.
#
# What it does: installs librdkafka-dev if it is missing (apt-get, as root), compiles the
# librdkafka load generator scripts/bench/rdkafka_bench.c into .cache/bench/, builds kbin into
# .cache/bench/dist/ when src/ changed since the last build, then runs scripts/bench/suite.ts:
# disk baseline, start-up, produce against kbin and against scripts/bench/sink.ts, acks=all with
# 1/4/8 producers, consume, end to end. Everything listens on 127.0.0.1, port 0.
# The Markdown report goes to stdout and into docs/benchmarks.md; logs to .cache/bench/logs/.
# Not run here: scripts/bench/commit_stall.ts (producer p99 under OffsetCommit load; --kbin-root for before/after).
#
# Environment:
#   KBIN_BIN        kbin executable to benchmark instead (e.g. dist/kbin)
#   KBIN_BENCH_OUT  Markdown file to update (default docs/benchmarks.md; "-" for none)
#   CC              C compiler (default cc)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
export PATH="$root/node_modules/.bin:$PATH"
cache="$root/.cache/bench"
mode="${1:-quick}"

fail() {
  echo "bench: $*" >&2
  exit 1
}

case "$mode" in
  quick | full) ;;
  *) fail "Cannot run mode \"$mode\": expected quick or full" ;;
esac
command -v bun >/dev/null 2>&1 || fail "Cannot find bun: run \"npm install\" in $root"
mkdir -p "$cache"

# librdkafka headers and library (Debian/Ubuntu package librdkafka-dev).
if [[ ! -f /usr/include/librdkafka/rdkafka.h ]]; then
  if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "bench: installing librdkafka-dev" >&2
    apt-get install -y librdkafka-dev >&2 || { apt-get update >&2 && apt-get install -y librdkafka-dev >&2; } ||
      fail "Cannot install librdkafka-dev with apt-get"
  else
    fail "Cannot find librdkafka headers: install librdkafka-dev (apt-get install -y librdkafka-dev)"
  fi
fi

tool="$cache/rdkafka_bench"
src="$root/scripts/bench/rdkafka_bench.c"
if [[ ! -x "$tool" || "$src" -nt "$tool" ]]; then
  echo "bench: compiling $(basename "$src")" >&2
  "${CC:-cc}" -O2 -Wall -Wextra -o "$tool" "$src" -lrdkafka -lpthread || fail "Cannot compile $src"
fi

if [[ -z "${KBIN_BIN:-}" ]]; then
  KBIN_BIN="$cache/dist/kbin"
  if [[ ! -x "$KBIN_BIN" ]] || [[ -n "$(find "$root/src" "$root/package.json" -newer "$KBIN_BIN" -print -quit)" ]]; then
    echo "bench: building kbin into ${cache#"$root/"}/dist" >&2
    KBIN_OUT_DIR="$cache/dist" bash "$root/scripts/build.sh" >&2 || fail "Cannot build kbin"
  fi
fi
[[ -x "$KBIN_BIN" ]] || fail "Cannot run kbin: \"$KBIN_BIN\" is not an executable"

export KBIN_BIN KBIN_BENCH_TOOL="$tool"
exec bun "$root/scripts/bench/suite.ts" "$mode"
