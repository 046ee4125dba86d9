#!/usr/bin/env bash
# The real-client tests in two shards run side by side (most of their time is spent waiting on
# clients, kills and leases, not on the two cores): the crash-heavy directories (and a few long ones,
# to balance the two) in one, the rest
# in the other. Prints each shard's bun test report when it ends; exits non-zero if either failed.
set -uo pipefail
cd "$(dirname "$0")/.."
HEAVY=(tests/compat/scale_out tests/compat/lifecycle tests/compat/security tests/compat/kip848)
REST=()
for d in tests/compat/*/; do
  d=${d%/}
  case " ${HEAVY[*]} " in *" $d "*) ;; *) REST+=("$d") ;; esac
done
a=$(mktemp)
b=$(mktemp)
trap 'rm -f "$a" "$b"' EXIT
bun test --timeout 120000 "${HEAVY[@]}" >"$a" 2>&1 &
pa=$!
bun test --timeout 120000 "${REST[@]}" >"$b" 2>&1 &
pb=$!
wait $pb
rb=$?
echo "--- shard: ${REST[*]}"
cat "$b"
wait $pa
ra=$?
echo "--- shard: ${HEAVY[*]}"
cat "$a"
[ "$ra" -eq 0 ] && [ "$rb" -eq 0 ]
