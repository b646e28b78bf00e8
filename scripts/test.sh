#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs dependencies, builds with
# -Werror, runs every test, then builds again with AddressSanitizer +
# UndefinedBehaviorSanitizer and runs every test once more, then builds the
# libFuzzer targets with clang and runs each for 4 s (scripts/fuzz.sh: 21 targets,
# 42 s on 2 cores, two at a time; any finding fails; the long runs are in
# tests/fuzz/README.md). The whole run takes under 14 minutes on 2 cores (821 s on
# 2026-12-05 with 8 s a target: builds ~225 s, plain tests 180 s, ASan+UBSan tests
# 337 s, fuzz ~80 s), so the fuzz time is what gives way as tests grow: 4 s since
# the 24th session added three e2e tests (~40 s) and a run took 1,291 s on a machine
# slower that day (its session note says why).
# Between the plain and the sanitizer pass it builds the Debian package and
# checks it (scripts/package.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh test
bash scripts/build.sh build
(cd build && ctest --output-on-failure --timeout 600 -j2)
bash scripts/package.sh
bash scripts/build.sh build-asan -DSD_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --output-on-failure --timeout 900 -j2)
bash scripts/fuzz.sh 4
echo "all tests passed (plain, ASan+UBSan, fuzz)"
