#!/usr/bin/env bash
# What building tt needs besides cargo, and the Debian packages named as arguments,
# installed with apt-get when run as root on Debian (elsewhere named, and the script
# stops): a C compiler and make (librdkafka, zstd and liblzma are built from their bundled
# sources), pkg-config and the OpenSSL headers (TLS for Kafka clusters, through the system
# OpenSSL). scripts/demo.sh runs it; scripts/test.sh with what the tests need besides.
#
#   scripts/build-deps.sh [PACKAGE...]
set -euo pipefail
need=("$@")
command -v cc >/dev/null || need+=(gcc libc6-dev)
command -v make >/dev/null || need+=(make)
command -v pkg-config >/dev/null || need+=(pkg-config)
pkg-config --exists openssl 2>/dev/null || need+=(libssl-dev)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}"
  else
    echo "tt needs these Debian packages: ${need[*]} (apt-get install ${need[*]})" >&2
    exit 1
  fi
fi
