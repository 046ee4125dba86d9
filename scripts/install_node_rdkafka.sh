#!/usr/bin/env bash
# Installs node-rdkafka (which builds its bundled librdkafka 2.12 from source: KIP-848 capable)
# into a cache outside the checkout, once; prints the node_modules directory to use.
# Needs Debian's -dev libraries (installed here if missing). Takes minutes the first time.
set -euo pipefail
VERSION="${NODE_RDKAFKA_VERSION:-3.6.1}"
CACHE="${KBIN_CACHE_DIR:-$HOME/.cache/kbin}/node-rdkafka-$VERSION"
if [ -f "$CACHE/node_modules/node-rdkafka/build/Release/node-librdkafka.node" ]; then
  echo "$CACHE/node_modules"
  exit 0
fi
DEBS=(libssl-dev zlib1g-dev libzstd-dev liblz4-dev libsasl2-dev libcurl4-openssl-dev)
missing=()
for d in "${DEBS[@]}"; do dpkg -s "$d" >/dev/null 2>&1 || missing+=("$d"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >&2
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
mkdir -p "$CACHE"
cd "$CACHE"
[ -f package.json ] || echo '{"name":"kbin-node-rdkafka-cache","private":true}' > package.json
echo "building node-rdkafka $VERSION in $CACHE (this takes a few minutes)" >&2
npm install --no-audit --no-fund --foreground-scripts "node-rdkafka@$VERSION" >&2
test -f "$CACHE/node_modules/node-rdkafka/build/Release/node-librdkafka.node"
echo "$CACHE/node_modules"
