#!/usr/bin/env bash
# Installs what searchd needs to build and run on Debian 12 (as root); with the argument
# `test`, also what the whole test suite needs (scripts/test.sh passes it).
# Idempotent: packages already present are skipped by apt.
set -euo pipefail
pkgs=(build-essential cmake pkg-config python3
      libevent-dev libstemmer-dev libxxhash-dev libcmocka-dev libjson-c-dev
      libutf8proc-dev liblz4-dev libhttp-parser-dev snowball-data libinih-dev
      libsystemd-dev libssl-dev libevent-openssl-2.1-7)   # TLS: bufferevent_openssl
if [ "${1:-}" = test ]; then
    pkgs+=(systemd                                    # systemd-analyze (scripts/package.sh)
           chromium chromium-driver python3-selenium  # the browser test (tests/browser/)
           python3-prometheus-client                  # e2e/test_metrics.py parses /metrics
           openssl                                    # e2e/test_tls.py makes its certificates
           clang-14 libclang-rt-14-dev)               # the libFuzzer targets (scripts/fuzz.sh)
fi
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "deps.sh: missing packages: ${missing[*]}; run as root or install them" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}"
fi
