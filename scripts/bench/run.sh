#!/usr/bin/env bash
# kbin's produce/consume benchmark suite. A benchmark, not a test: scripts/test.sh never runs it.
#
# Usage: bash scripts/bench/run.sh [quick|full]
#        bash scripts/bench/run.sh compare [REV]
#        bash scripts/bench/run.sh scale-out [SECONDS]
#        bash scripts/bench/run.sh lifecycle [SIZE_MIB]
#        bash scripts/bench/run.sh transactions [SECONDS] [REPEATS]
#        bash scripts/bench/run.sh security [SECONDS] [REPEATS]
#        bash scripts/bench/run.sh metrics [SCRAPES] [PARTITIONS_PER_TOPIC] [TOPICS]
#        bash scripts/bench/run.sh rest [SECONDS] [REPEATS] [WORKERS] [PARTITIONS]
#   quick (default, about 1.5 minutes): 3 s per produce run, a 256 MiB consume backlog, 5 s end to end.
#   full  (about 13 minutes): 10 s per produce run, each repeated 3 times, a 1 GiB backlog, 15 s end to end, acks=all
#         also against the sink and end to end.
#   compare REV (default ddcfde3, the commit before the storage-engine refactor; about 6 minutes): builds kbin at
#         git revision REV into .cache/bench/base-<short rev>/ (once per revision, from a detached worktree at
#         /tmp/kbin-bench-base that borrows this tree's node_modules) and runs scripts/bench/compare.ts: that build
#         ("before") and the current one ("after") run side by side, their runs alternate, 3 per case: produce
#         100 B / 1 KiB with acks=1 / all, consume a 256 MiB backlog, end to end at 10,000 records/s. It prints a
#         Markdown table of medians and after/before changes with a verdict ("within 5 %", "slower by X %", "faster
#         by X %") and writes it to .cache/bench/compare-<short rev>.md; docs/benchmarks.md is not touched. It exits
#         non-zero only when runs could not be taken, never for slow results.
#   scale-out (about 4 minutes): scripts/bench/scale_out.ts on a throwaway PostgreSQL (Debian's postgresql): produce
#         (1 KiB, acks=all, 4 producers) and consume MB/s through 1, 2 and 3 brokers on PostgreSQL, beside one broker on
#         file: and PostgreSQL's own insert ceiling, with kbin's and PostgreSQL's CPU and each broker's peak RSS.
#         SECONDS per produce run (default 8). Prints a Markdown table; docs/scale-out.md is not touched.
#   lifecycle (about 3 minutes): scripts/bench/lifecycle.ts, the file engine in-process on TMPDIR (a real disk): the
#         cleaner's MB/s on a SIZE_MIB (default 1024) partition with 10 % distinct keys beside reading the same
#         segments, its peak RSS, produce p50/p99 (1 KiB, acks=all) with and without the cleaner in the same run, and a
#         retention pass over 1,000 partitions of 10 segments. Prints a Markdown table.
#   transactions (about 30 s with the defaults): scripts/bench/transactions.ts against the built kbin on file:: produce
#         of 100 records (1 KiB, 4 partitions, acks=all) per transaction with @platformatic/kafka, beside idempotent
#         produce of the same groups by the same client in the same run (alternating, REPEATS runs of SECONDS each,
#         defaults 5 and 2): transactions/s, records/s, MB/s, p50/p99 and the transactional/idempotent ratio. Prints a
#         Markdown table; docs/benchmarks.md is not touched.
#   security (about 1 minute with the defaults 5 and 3): scripts/bench/security.ts against the built kbin with a
#         PLAINTEXT and a SASL_SSL (SCRAM-SHA-512) listener: librdkafka produce MB/s on each (1 KiB, acks=all),
#         alternating, the SASL_SSL/PLAINTEXT ratio, and connections per second (full SASL_SSL logins vs PLAINTEXT).
#   schema-registry (about 15 s with the defaults 3 and 8): scripts/bench/schema_registry.ts against kbin from source
#         (or KBIN_BIN) with --http: registrations (new BACKWARD-compatible Avro versions, durable) per second, GET
#         /schemas/ids/{id} and lookups per second, beside GET /healthz in the same run (the ratios). Prints a table.
#   metrics (about 20 s with the defaults 50, 100 and 10): scripts/bench/metrics.ts against kbin from source (or
#         KBIN_BIN) with --http:
#         /metrics scrape time (text and OpenMetrics; median and p99 ms), bytes and samples with 1,000 partitions
#         and a group committed on each, beside /healthz in the same run (the ratio).
#   rest (about 30 s with the defaults 3, 2, 4 and 4): scripts/bench/rest_produce.ts against kbin from source (or
#         KBIN_BIN) with --http: REST proxy produce records/s (v3, JSON values, 100 records per request from WORKERS
#         clients, and the streaming form with 100 records per chunk) beside Kafka-protocol produce of the same records
#         by kbin's Producer in the same run (alternating; acks=all), and each REST case's ratio to it.
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
#   KBIN_BIN        kbin executable to benchmark instead (e.g. dist/kbin); in compare mode the "after" side
#   KBIN_BENCH_OUT  Markdown file to update (default docs/benchmarks.md; "-" for none)
#   CC              C compiler (default cc)
# Compare mode only (smaller values make a smoke test: SECONDS=1 REPEATS=1 CONSUME_MIB=16 takes about 25 s):
#   KBIN_COMPARE_SECONDS      seconds per produce run and per end-to-end run (default 10)
#   KBIN_COMPARE_REPEATS      runs per case and side, the median is reported (default 3)
#   KBIN_COMPARE_CONSUME_MIB  consume backlog in MiB (default 256)
#   KBIN_BASE_TREE            worktree for building REV (default /tmp/kbin-bench-base)
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
  compare) base_rev="${2:-ddcfde3}" ;;
  scale-out) ;;
  lifecycle) exec bun "$root/scripts/bench/lifecycle.ts" "${2:-1024}" ;;
  transactions) ;;
  security) ;;
  metrics) exec bun "$root/scripts/bench/metrics.ts" "${2:-50}" "${3:-100}" "${4:-10}" ;;
  schema-registry) exec bun "$root/scripts/bench/schema_registry.ts" "${2:-3}" "${3:-8}" ;;
  rest) exec bun "$root/scripts/bench/rest_produce.ts" "${2:-3}" "${3:-2}" "${4:-4}" "${5:-4}" ;;
  *) fail "Cannot run mode \"$mode\": expected quick, full, compare, scale-out, lifecycle, transactions, security, metrics, schema-registry or rest" ;;
esac
command -v bun >/dev/null 2>&1 || fail "Cannot find bun: run \"npm install\" in $root"
mkdir -p "$cache"

# librdkafka headers and library (Debian/Ubuntu package librdkafka-dev); the transactions mode does not use them.
if [[ "$mode" != transactions && ! -f /usr/include/librdkafka/rdkafka.h ]]; then
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
if [[ "$mode" != transactions ]] && [[ ! -x "$tool" || "$src" -nt "$tool" ]]; then
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
if [[ "$mode" == scale-out ]]; then
  exec bun "$root/scripts/bench/scale_out.ts" "${2:-8}"
fi
if [[ "$mode" == transactions ]]; then
  exec bun "$root/scripts/bench/transactions.ts" "${2:-5}" "${3:-2}"
fi
if [[ "$mode" == security ]]; then
  exec bun "$root/scripts/bench/security.ts" "${2:-5}" "${3:-3}"
fi
if [[ "$mode" != compare ]]; then
  exec bun "$root/scripts/bench/suite.ts" "$mode"
fi

# The baseline: kbin built at base_rev, cached by revision (a commit's build never changes).
base_sha="$(git -C "$root" rev-parse --verify --quiet "$base_rev^{commit}")" ||
  fail "Cannot compare with \"$base_rev\": not a commit in $root"
base_short="$(git -C "$root" rev-parse --short "$base_sha")"
base_bin="$cache/base-$base_short/kbin"
if [[ ! -x "$base_bin" ]]; then
  tree="${KBIN_BASE_TREE:-/tmp/kbin-bench-base}"
  if [[ -e "$tree" ]]; then
    # Reuse it only if it is a worktree of this repository; move it to base_rev if it is elsewhere.
    ours="$(cd "$(git -C "$root" rev-parse --path-format=absolute --git-common-dir)" && pwd -P)"
    theirs="$(git -C "$tree" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)"
    [[ -n "$theirs" && "$(cd "$theirs" && pwd -P)" == "$ours" ]] ||
      fail "Cannot use $tree for the baseline: it exists and is not a worktree of $root (set KBIN_BASE_TREE)"
    if [[ "$(git -C "$tree" rev-parse HEAD)" != "$base_sha" ]]; then
      echo "bench: moving the worktree $tree to $base_short" >&2
      git -C "$tree" checkout --quiet --detach "$base_sha" >&2 || fail "Cannot check out $base_short in $tree"
    fi
  else
    echo "bench: adding a worktree for $base_short at $tree" >&2
    git -C "$root" worktree prune
    git -C "$root" worktree add --detach "$tree" "$base_sha" >&2 || fail "Cannot add a worktree at $tree"
  fi
  [[ -e "$tree/node_modules" ]] || ln -s "$root/node_modules" "$tree/node_modules"
  [[ -f "$tree/scripts/build.sh" ]] || fail "Cannot build $base_short: it has no scripts/build.sh"
  echo "bench: building kbin $base_short into ${cache#"$root/"}/base-$base_short" >&2
  KBIN_OUT_DIR="$cache/base-$base_short" bash "$tree/scripts/build.sh" >&2 || fail "Cannot build kbin at $base_short"
fi
[[ -x "$base_bin" ]] || fail "Cannot run the baseline: \"$base_bin\" is not an executable"

export KBIN_BASE_BIN="$base_bin" KBIN_BASE_REV="$base_short"
exec bun "$root/scripts/bench/compare.ts"
