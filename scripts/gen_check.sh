#!/usr/bin/env bash
# Regenerates src/protocol/generated/ from the Kafka specs and fails when the result differs
# from what is checked in: modified or deleted files (git diff) and new untracked files.
# Changes that are only staged (index vs HEAD) are not flagged: CI starts from a clean checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

if command -v deno >/dev/null 2>&1; then
  deno run --allow-read --allow-write scripts/gen_protocol.ts
else
  bun scripts/gen_protocol.ts
fi

status=0
if ! git diff --exit-code --stat -- src/protocol/generated; then
  status=1
fi
# Porcelain v1: "XY path"; Y is the worktree column, "??" marks untracked files.
dirty=$(git status --porcelain --untracked-files=all -- src/protocol/generated | grep -E '^(\?\?|.[^ ])' || true)
if [ -n "$dirty" ]; then
  echo "$dirty"
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "src/protocol/generated is stale: run 'deno task gen' (or 'bun scripts/gen_protocol.ts') and commit the result" >&2
  exit 1
fi
echo "src/protocol/generated is up to date"
