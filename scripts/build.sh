#!/usr/bin/env bash
# Builds searchd into build/ (or $1) with -Werror; extra arguments go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSD_WERROR=ON "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
