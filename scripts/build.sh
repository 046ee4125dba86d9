#!/usr/bin/env bash
# Builds kbin as one self-contained executable with `bun build --compile`.
#
# Usage: scripts/build.sh
#
#   Host build:    dist/kbin-<os>-<arch>[.exe], plus dist/kbin[.exe] pointing at it.
#   Chosen target: KBIN_TARGET=bun-<os>-<arch> scripts/build.sh -> dist/kbin-<os>-<arch>[.exe] only.
#                  For a cross target Bun downloads that platform's runtime on first use
#                  (cached in ~/.bun/install/cache).
#
# Environment:
#   KBIN_TARGET   Bun compile target, e.g. bun-linux-arm64 or linux-arm64 (default: the host)
#   KBIN_OUT_DIR  where to write the executable (default: <repo>/dist)
#   BUN           bun command to use (default: node_modules/.bin/bun, then bun on PATH)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
entry="$root/src/runtime/bun/main.ts"
out_dir="${KBIN_OUT_DIR:-$root/dist}"

fail() {
  echo "build: $*" >&2
  exit 1
}

# Same mapping as install.sh, so the asset names line up.
host_os() {
  case "$(uname -s)" in
    Linux) echo linux ;;
    Darwin) echo darwin ;;
    MINGW* | MSYS* | CYGWIN*) echo windows ;;
    *) fail "Cannot build for this host: unsupported OS \"$(uname -s)\"" ;;
  esac
}

host_arch() {
  case "$(uname -m)" in
    x86_64 | amd64) echo x64 ;;
    aarch64 | arm64) echo arm64 ;;
    *) fail "Cannot build for this host: unsupported architecture \"$(uname -m)\"" ;;
  esac
}

find_bun() {
  if [[ -n "${BUN:-}" ]]; then
    echo "$BUN"
  elif [[ -x "$root/node_modules/.bin/bun" ]]; then
    echo "$root/node_modules/.bin/bun"
  elif command -v bun >/dev/null 2>&1; then
    command -v bun
  else
    fail "Cannot find bun: run \"npm install\" in $root or set BUN"
  fi
}

[[ -f "$entry" ]] || fail "Cannot build: entry point \"$entry\" does not exist"

host="$(host_os)-$(host_arch)"
target="${KBIN_TARGET:-bun-$host}"
target="bun-${target#bun-}"
platform="${target#bun-}" # e.g. linux-x64, or linux-x64-musl for Bun's variant targets

case "$platform" in
  windows-*) exe=.exe ;;
  *) exe= ;;
esac
name="kbin-$platform$exe"
out="$out_dir/$name"

version="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$root/package.json" | head -n 1)"
[[ -n "$version" ]] || fail "Cannot read \"version\" from $root/package.json"

# Minify syntax and whitespace only: --minify-identifiers renames classes, and in Bun 1.4.5
# --keep-names does not undo that under --compile, so error names would read "o".
# --sourcemap embeds a source map, so --verbose stacks point at src/ lines.
# --bytecode (with ESM output) ships pre-parsed bytecode: start-up drops from ~64 to ~39 ms here.
# --no-compile-autoload-*: a broker binary must not pick up the .env or bunfig.toml of whatever
# directory it happens to be started in.
flags=(
  build "$entry"
  --compile
  --target="$target"
  --minify-syntax
  --minify-whitespace
  --sourcemap
  --bytecode
  --format=esm
  --no-compile-autoload-dotenv
  --no-compile-autoload-bunfig
  --outfile="$out"
)
# Not --windows-title/--windows-version: Bun 1.4.5 accepts them only when compiling on Windows.

bun="$(find_bun)"
mkdir -p "$out_dir"
rm -f "$out"
echo "build: kbin $version for $target"
start=$SECONDS
if ! "$bun" "${flags[@]}"; then
  fail "Cannot build target \"$target\" (see the bun error above)"
fi
[[ -f "$out" ]] || fail "Cannot build target \"$target\": bun reported success but \"$out\" is missing"
# The map is embedded in the executable; bun also writes a copy beside it that nothing reads.
rm -f "$out.map" "${out%.exe}.map"

# dist/kbin means "the build for here": a plain host build updates it, KBIN_TARGET never does.
if [[ -z "${KBIN_TARGET:-}" ]]; then
  link="$out_dir/kbin$exe"
  rm -f "$link"
  if [[ -n "$exe" ]]; then
    cp "$out" "$link" # symlinks are unreliable under Git Bash
  else
    ln -s "$name" "$link"
  fi
fi

size_bytes="$(wc -c <"$out" | tr -d ' ')"
echo "build: wrote $out ($((size_bytes / 1024 / 1024)) MiB, $size_bytes bytes) in $((SECONDS - start))s"
if [[ -n "${link:-}" ]]; then
  echo "build: $link -> $name"
fi
