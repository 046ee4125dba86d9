#!/usr/bin/env bash
# Builds the release assets into dist/release/, plus install.sh and SHA256SUMS (which
# install.sh verifies downloads against).
#
# Usage: scripts/release.sh [--host-only] [<os>-<arch> ...]
#
#   (no arguments)   every asset below; fails on the first target it cannot build
#   --host-only      only the asset for this machine
#   <os>-<arch> ...  only these, e.g. scripts/release.sh linux-x64 darwin-arm64
#
# Assets (Bun compile target in brackets; all exist in Bun 1.4.5):
#   kbin-linux-x64 [bun-linux-x64]            kbin-linux-arm64 [bun-linux-arm64]
#   kbin-darwin-x64 [bun-darwin-x64]          kbin-darwin-arm64 [bun-darwin-arm64]
#   kbin-windows-x64.exe [bun-windows-x64]    kbin-windows-arm64.exe [bun-windows-arm64]
#
# Cross targets make Bun download that platform's runtime once (~40 MB each, cached in
# ~/.bun/install/cache), so a machine without network access can build only --host-only.
# Not shipped: Bun's -musl (Alpine) and -baseline (x64 without AVX2) variants.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out_dir="$root/dist/release"
ALL_TARGETS=(linux-x64 linux-arm64 darwin-x64 darwin-arm64 windows-x64 windows-arm64)

fail() {
  echo "release: $*" >&2
  exit 1
}

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

host_target() {
  local os arch
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    MINGW* | MSYS* | CYGWIN*) os=windows ;;
    *) fail "Cannot pick a host target: unsupported OS \"$(uname -s)\"" ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) fail "Cannot pick a host target: unsupported architecture \"$(uname -m)\"" ;;
  esac
  echo "$os-$arch"
}

targets=()
host_only=0
for arg in "$@"; do
  case "$arg" in
    -h | --help)
      usage
      exit 0
      ;;
    --host-only) host_only=1 ;;
    -*) fail "Unknown option \"$arg\" (see --help)" ;;
    *)
      known=0
      for t in "${ALL_TARGETS[@]}"; do
        [[ "$t" == "$arg" ]] && known=1
      done
      [[ $known == 1 ]] || fail "Unknown target \"$arg\": expected one of ${ALL_TARGETS[*]}"
      targets+=("$arg")
      ;;
  esac
done
if [[ $host_only == 1 ]]; then
  [[ ${#targets[@]} == 0 ]] || fail "Cannot combine --host-only with a list of targets"
  targets=("$(host_target)")
elif [[ ${#targets[@]} == 0 ]]; then
  targets=("${ALL_TARGETS[@]}")
fi

# Start empty, so SHA256SUMS never lists a stale asset from an earlier run.
rm -rf "$out_dir"
mkdir -p "$out_dir"

# The hardware CRC-32C addon (@node-rs/crc32) ships one package per platform and npm installs
# only the host's. Unpack the other targets' packages so each binary embeds its own; a target
# whose package cannot be fetched (no network) still works, with the JavaScript CRC-32C.
crc_version="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$root/node_modules/@node-rs/crc32/package.json" | head -1)"
crc_package() {
  case "$1" in
    linux-x64) echo crc32-linux-x64-gnu ;;
    linux-arm64) echo crc32-linux-arm64-gnu ;;
    darwin-x64) echo crc32-darwin-x64 ;;
    darwin-arm64) echo crc32-darwin-arm64 ;;
    windows-x64) echo crc32-win32-x64-msvc ;;
    windows-arm64) echo crc32-win32-arm64-msvc ;;
  esac
}
for t in "${targets[@]}"; do
  pkg="$(crc_package "$t")"
  dest="$root/node_modules/@node-rs/$pkg"
  [[ -z "$crc_version" || -f "$dest/package.json" ]] && continue
  tmp="$(mktemp -d)"
  if (cd "$tmp" && npm pack --silent "@node-rs/$pkg@$crc_version" >/dev/null 2>&1) && mkdir -p "$dest" &&
    tar -xzf "$tmp"/*.tgz -C "$dest" --strip-components=1; then
    echo "release: unpacked @node-rs/$pkg@$crc_version for $t" >&2
  else
    echo "release: warning: cannot fetch @node-rs/$pkg@$crc_version; kbin-$t uses the JavaScript CRC-32C" >&2
  fi
  rm -rf "$tmp"
done

for t in "${targets[@]}"; do
  if ! KBIN_TARGET="bun-$t" KBIN_OUT_DIR="$out_dir" bash "$root/scripts/build.sh"; then
    fail "Cannot build release asset for \"$t\" (bun target \"bun-$t\"); no SHA256SUMS written"
  fi
done

cd "$out_dir"
assets=()
for t in "${targets[@]}"; do
  case "$t" in
    windows-*) assets+=("kbin-$t.exe") ;;
    *) assets+=("kbin-$t") ;;
  esac
done
# Shipped beside the binaries so .../releases/latest/download/install.sh matches its release.
cp "$root/install.sh" install.sh
assets+=(install.sh)
if command -v sha256sum >/dev/null 2>&1; then
  sha256sum "${assets[@]}" >SHA256SUMS
elif command -v shasum >/dev/null 2>&1; then
  shasum -a 256 "${assets[@]}" >SHA256SUMS
else
  fail "Cannot write SHA256SUMS: neither sha256sum nor shasum is installed"
fi

echo "release: ${#assets[@]} asset(s) in $out_dir"
for a in "${assets[@]}"; do
  printf '  %-24s %s bytes\n' "$a" "$(wc -c <"$a" | tr -d ' ')"
done
echo "  SHA256SUMS"
