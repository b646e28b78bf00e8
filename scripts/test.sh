#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs dependencies, builds with
# -Werror, runs every test, then builds again with AddressSanitizer +
# UndefinedBehaviorSanitizer and runs every test once more, then builds the
# libFuzzer targets with clang and runs each for 2 s (scripts/fuzz.sh: 21 targets,
# two at a time; any finding fails; the long runs are in tests/fuzz/README.md).
# Beside the sanitizer pass it makes the Debian package of the plain build and
# checks it (scripts/package.sh; that build's install prefix is left at /usr).
#
# CI's whole run must stay under 15 minutes on 2 cores; it took 1,161 s on
# 2026-12-05 (builds ~135 s, plain tests 243 s, package 107 s, ASan+UBSan tests
# 509 s, fuzz 157 s), hence:
#  - the plain pass runs 4 tests at once: at 2 its CPUs were 40% idle (tests
#    waiting on sockets, stalls, timeouts): 180 s against 253 s;
#  - the ASan+UBSan pass, CPU-bound with 4 at a time as with 2, keeps 2, and runs
#    the kill and damage loops shorter (tests/CMakeLists.txt, SD_SANITIZE);
#  - allocator_release_to_os_interval_ms=-1: ASan's allocator handing freed memory
#    back every 5 s made the pages fault in again, and page faults are dear on
#    this VM (11% of a long test's time; no check is weakened);
#  - the fuzz targets build in Debug, 38 s against 100 s, and run 2 s each: this
#    stage checks that every target builds and runs under libFuzzer; the finding
#    of bugs is the sessions' long runs (tests/fuzz/README.md);
#  - the package and the fuzz targets build during the ASan+UBSan tests (below).
# Clean-clone runs after these took 929 s, 895 s and, with the last, 870 s (866 s on
# 2026-12-05 at 7d3a675: plain tests 166 s, ASan+UBSan tests 511 s). The package is then made
# from the plain pass's build, whose binaries have just passed every test (package.sh
# SD_PKG_BUILD), instead of a Release build of its own: 9 s in place of 77 s of CPU; the next
# clean-clone run took 842 s (plain tests 185 s, ASan+UBSan tests 451 s).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh test
bash scripts/build.sh build
(cd build && ctest --output-on-failure --timeout 600 -j4)
bash scripts/build.sh build-asan -DSD_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
# The package and the fuzz targets are made beside the ASan+UBSan tests, niced: those
# tests leave about a fifth of the 2 CPUs idle (waiting on sockets, stalls, timeouts).
SD_PKG_BUILD=build nice -n 10 bash scripts/package.sh >build-asan/package.log 2>&1 &
package_pid=$!
SD_FUZZ_BUILD_TYPE=Debug nice -n 10 bash scripts/fuzz.sh build >build-asan/fuzz-build.log 2>&1 &
fuzz_build_pid=$!
trap 'kill "$package_pid" "$fuzz_build_pid" 2>/dev/null || true' EXIT  # if a test fails
asan_options=detect_leaks=1:abort_on_error=1:allocator_release_to_os_interval_ms=-1
(cd build-asan && ASAN_OPTIONS=$asan_options UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --output-on-failure --timeout 900 -j2)
wait "$package_pid" || { cat build-asan/package.log; exit 1; }
cat build-asan/package.log
wait "$fuzz_build_pid" || { cat build-asan/fuzz-build.log; exit 1; }
SD_FUZZ_BUILD_TYPE=Debug bash scripts/fuzz.sh 2
echo "all tests passed (plain, ASan+UBSan, fuzz)"
