#!/bin/sh
# kbin installer: downloads the kbin executable for this machine, checks its SHA-256 against the
# release's SHA256SUMS and installs it. POSIX sh, so it runs under dash, busybox and macOS sh.
#
#   curl -fsSL https://github.com/kbin-dev/kbin/releases/latest/download/install.sh | sh
#   sh install.sh --prefix DIR
#
# Everything runs from main() on the last line, so a download cut short by `curl | sh` does nothing.
set -eu

DEFAULT_BASE_URL="https://github.com/kbin-dev/kbin/releases/latest/download"

usage() {
  cat <<'EOF'
Install kbin, a Kafka-compatible broker in one executable.

Usage:
  curl -fsSL <url>/install.sh | sh
  curl -fsSL <url>/install.sh | sh -s -- --prefix DIR
  sh install.sh [--prefix DIR]

Options:
  --prefix DIR   install to DIR/kbin (default: $KBIN_INSTALL_DIR, else ~/.local/bin)
  -h, --help     show this help

Environment:
  KBIN_INSTALL_DIR  install directory when --prefix is not given
  KBIN_VERSION      version to install, e.g. 0.1.0 (default: the latest release)
  KBIN_RELEASE_URL  base URL holding kbin-<os>-<arch> and SHA256SUMS
                    (default: https://github.com/kbin-dev/kbin/releases/latest/download,
                    or .../releases/download/v$KBIN_VERSION; KBIN_VERSION is ignored when set)

The download is checked against the release's SHA256SUMS; nothing is installed without a match.
EOF
}

say() {
  printf 'kbin install: %s\n' "$*"
}

fail() {
  printf 'kbin install: %s\n' "$*" >&2
  exit 1
}

detect_os() {
  kernel=$(uname -s)
  case "$kernel" in
    Linux) echo linux ;;
    Darwin) echo darwin ;;
    MINGW* | MSYS* | CYGWIN*) echo windows ;;
    *) fail "Cannot install: unsupported OS \"$kernel\" (kbin ships for Linux, macOS and Windows)" ;;
  esac
}

detect_arch() {
  machine=$(uname -m)
  case "$machine" in
    x86_64 | amd64)
      # A shell under Rosetta 2 reports x86_64 on Apple silicon; the native build is the better fit.
      if [ "$1" = darwin ] && [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || true)" = 1 ]; then
        echo arm64
      else
        echo x64
      fi
      ;;
    aarch64 | arm64) echo arm64 ;;
    *) fail "Cannot install: unsupported architecture \"$machine\" (kbin ships for x86_64 and arm64)" ;;
  esac
}

# download URL FILE: fails with one line naming the URL and the tool's reason.
download() {
  if command -v curl >/dev/null 2>&1; then
    reason=$(curl -fsSL --retry 2 -o "$2" "$1" 2>&1) ||
      fail "Cannot download \"$1\" ($(printf '%s' "$reason" | tail -n 1))"
  elif command -v wget >/dev/null 2>&1; then
    # wget exit 8 means the server answered with an error, e.g. 404 for a missing asset.
    wget -q -O "$2" "$1" || fail "Cannot download \"$1\" (wget exit $?)"
  else
    fail "Cannot download \"$1\": neither curl nor wget is installed"
  fi
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | awk '{ print $1 }'
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | awk '{ print $1 }'
  else
    fail "Cannot verify the download: neither sha256sum nor shasum is installed, refusing to install"
  fi
}

main() {
  prefix=""
  while [ $# -gt 0 ]; do
    case "$1" in
      -h | --help)
        usage
        exit 0
        ;;
      --prefix)
        [ $# -ge 2 ] || fail "Option \"--prefix\" needs a directory"
        prefix=$2
        shift 2
        ;;
      --prefix=*)
        prefix=${1#--prefix=}
        shift
        ;;
      *) fail "Unknown argument \"$1\" (see --help)" ;;
    esac
  done

  if [ -n "$prefix" ]; then
    dir=$prefix
  elif [ -n "${KBIN_INSTALL_DIR:-}" ]; then
    dir=$KBIN_INSTALL_DIR
  elif [ -n "${HOME:-}" ]; then
    dir=$HOME/.local/bin
  else
    fail "Cannot pick an install directory: HOME is not set, use --prefix DIR"
  fi

  os=$(detect_os)
  arch=$(detect_arch "$os")
  exe=""
  if [ "$os" = windows ]; then
    exe=.exe
  fi
  asset="kbin-$os-$arch$exe"

  if [ -n "${KBIN_RELEASE_URL:-}" ]; then
    base=${KBIN_RELEASE_URL%/}
  elif [ -n "${KBIN_VERSION:-}" ]; then
    base="https://github.com/kbin-dev/kbin/releases/download/v${KBIN_VERSION#v}"
  else
    base=$DEFAULT_BASE_URL
  fi

  staged=""
  tmp=$(mktemp -d 2>/dev/null || mktemp -d -t kbin-install) || fail "Cannot create a temporary directory"
  trap 'rm -rf "$tmp" ${staged:+"$staged"}' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  say "downloading $base/$asset"
  download "$base/$asset" "$tmp/$asset"
  download "$base/SHA256SUMS" "$tmp/SHA256SUMS"

  # sha256sum writes "<hex>  <file>", or "<hex> *<file>" in binary mode.
  expected=$(awk -v f="$asset" '$2 == f || $2 == "*" f { print $1; exit }' "$tmp/SHA256SUMS" | tr 'A-F' 'a-f')
  [ -n "$expected" ] || fail "Cannot verify \"$asset\": no entry for it in \"$base/SHA256SUMS\", refusing to install"
  actual=$(sha256_of "$tmp/$asset")
  [ "$actual" = "$expected" ] ||
    fail "Checksum mismatch for \"$base/$asset\": expected $expected, got $actual, refusing to install"
  say "verified SHA-256 $actual"

  mkdir -p "$dir" || fail "Cannot create install directory \"$dir\""
  dest="$dir/kbin$exe"
  # Copy beside the target, then rename over it: a running kbin keeps its old file intact.
  staged="$dest.tmp.$$"
  cp "$tmp/$asset" "$staged" || fail "Cannot write to \"$dir\""
  chmod 755 "$staged" || fail "Cannot make \"$staged\" executable"
  mv -f "$staged" "$dest" || fail "Cannot install \"$dest\""
  staged=""

  if version=$("$dest" --version 2>/dev/null); then
    say "installed $version to $dest"
  else
    say "installed $dest (but \"$dest --version\" failed on this machine)"
  fi

  case ":${PATH:-}:" in
    *":$dir:"* | *":${dir%/}:"*) ;;
    *)
      say "$dir is not on your PATH; add it with:"
      # shellcheck disable=SC2016 # $PATH is meant literally: the user pastes this line
      printf '  export PATH="%s:$PATH"\n' "$dir"
      ;;
  esac
}

main "$@"
