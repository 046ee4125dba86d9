#!/usr/bin/env bash
# Installs what the test suite needs beyond npm packages: real Kafka clients, curl (the REST proxy test), reference codec
# tools, Prometheus' own parser (the /metrics test), openssl (test certificates) and PostgreSQL (the postgres: storage engine; tests run throwaway clusters) from Debian. Idempotent: does nothing when everything is present. Needs root (or
# sudo) to install.
set -euo pipefail

# Debian package | command that succeeds when it is usable
CHECKS=(
  "kcat|command -v kcat"
  "curl|command -v curl"
  "python3-confluent-kafka|/usr/bin/python3 -c 'import confluent_kafka'"
  "python3-kafka|/usr/bin/python3 -c 'import kafka'"
  "python3-lz4|/usr/bin/python3 -c 'import lz4.frame'"
  "python3-snappy|/usr/bin/python3 -c 'import snappy'"
  "python3-zstandard|/usr/bin/python3 -c 'import zstandard'"
  "python3-xxhash|/usr/bin/python3 -c 'import xxhash'"
  "python3-prometheus-client|/usr/bin/python3 -c 'from prometheus_client.parser import text_string_to_metric_families'"
  "python3-requests|/usr/bin/python3 -c 'import requests'"
  "python3-jsonschema|/usr/bin/python3 -c 'import jsonschema'"
  "python3-avro|/usr/bin/python3 -c 'import avro.io'"
  "lz4|command -v lz4"
  "zstd|command -v zstd"
  "golang-go|command -v go"
  "golang-github-shopify-sarama-dev|test -d /usr/share/gocode/src/github.com/Shopify/sarama"
  "golang-github-segmentio-kafka-go-dev|test -d /usr/share/gocode/src/github.com/segmentio/kafka-go"
  "postgresql|ls /usr/lib/postgresql/*/bin/initdb && command -v psql"
  "openssl|command -v openssl"
)

missing=()
for entry in "${CHECKS[@]}"; do
  pkg=${entry%%|*}
  check=${entry#*|}
  bash -c "$check" >/dev/null 2>&1 || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "test dependencies: all ${#CHECKS[@]} present"
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
