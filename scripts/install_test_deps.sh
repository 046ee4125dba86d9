#!/usr/bin/env bash
# Installs what the test suite needs beyond npm packages: real Kafka clients from Debian.
# Idempotent: does nothing when everything is present. Needs root (or sudo) to install.
set -euo pipefail

APT_PACKAGES=(kcat python3-confluent-kafka python3-kafka)

missing=()
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
/usr/bin/python3 -c 'import confluent_kafka' >/dev/null 2>&1 || missing+=(python3-confluent-kafka)
/usr/bin/python3 -c 'import kafka' >/dev/null 2>&1 || missing+=(python3-kafka)

if [ ${#missing[@]} -eq 0 ]; then
  echo "test dependencies: all present (${APT_PACKAGES[*]})"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "test dependencies: missing ${missing[*]} and not root (install them with apt-get)" >&2
    exit 1
  fi
fi
echo "test dependencies: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "test dependencies: installed ${missing[*]}"
