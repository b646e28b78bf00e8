#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang (ASan+UBSan, build-fuzz/) and runs every
# registered target for a bounded time, two at a time. Fails on any finding (crash, leak,
# timeout, out-of-memory, UBSan report). tests/fuzz/README.md describes the convention.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET [TARGET...]]     default: 15 s each, every target
#   scripts/fuzz.sh build                                only build them
#   SD_FUZZ_JOBS=2 (targets at once)   SD_FUZZ_BUILD=build-fuzz   SD_FUZZ_TIMEOUT=30 (s, one input)
#   SD_FUZZ_ARGS="extra libFuzzer flags"
#   SD_FUZZ_BUILD_TYPE=RelWithDebInfo: CI's few seconds a target use Debug, which builds in 38 s
#   against 100 s (and runs a target about half as many inputs a second)
#
# Each target starts from a copy of its checked-in seed corpus (corpus/<name>/), so runs never
# grow the repository; new inputs stay in build-fuzz/fuzz-work/<name>/ and a crashing input is
# saved as build-fuzz/fuzz-work/<name>-artifacts/crash-*, to be checked in under
# corpus/<name>/ with a regression test once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-15}
shift || true
jobs=${SD_FUZZ_JOBS:-2}
dir=${SD_FUZZ_BUILD:-build-fuzz}
cc=$(command -v clang-14 || command -v clang || true)
if [ -z "$cc" ]; then
    echo "fuzz.sh: clang not found (bash scripts/deps.sh test installs clang-14)" >&2
    exit 1
fi
CC=$cc cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="${SD_FUZZ_BUILD_TYPE:-RelWithDebInfo}" -DSD_FUZZ=ON \
    >/dev/null
cmake --build "$dir" -j2 --target fuzz >/dev/null
if [ "$secs" = build ]; then
    exit 0
fi

list=$dir/fuzz_targets.txt
work=$dir/fuzz-work
mkdir -p "$work"
names=()
while IFS=$'\t' read -r name bin corpus; do
    if [ $# -gt 0 ] && [[ " $* " != *" $name "* ]]; then
        continue
    fi
    names+=("$name")
    rm -rf "${work:?}/$name" "$work/$name-artifacts"
    mkdir -p "$work/$name" "$work/$name-artifacts"
    cp "$corpus"/* "$work/$name/"
    printf "%s\n" "$bin" >"$work/$name.bin"
done <"$list"

# One target: -max_total_time bounds it; -timeout and -rss_limit_mb turn a hang or a blow-up
# into a finding. The exit status of libFuzzer is non-zero on any finding. Every input runs in
# milliseconds; the 30 s timeout (SD_FUZZ_TIMEOUT) leaves room for a machine so loaded that a
# niced fuzzer waits seconds for the CPU: 10 s once reported a timeout that took 0.07 s alone.
# All three such reports stood in ASan's allocator returning memory to the OS (madvise, slow on
# this VM under load); allocator_release_to_os_interval_ms=-1 keeps the memory instead, which
# -rss_limit_mb still bounds.
run_one() {
    local name=$1 bin
    bin=$(cat "$work/$name.bin")
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_release_to_os_interval_ms=-1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$bin" -max_total_time="$secs" -timeout="${SD_FUZZ_TIMEOUT:-30}" -rss_limit_mb=2048 \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$work/$name-artifacts/" ${SD_FUZZ_ARGS:-} \
        "$work/$name" >"$work/$name.log" 2>&1
}

pids=()
failed=()
i=0
for name in "${names[@]}"; do
    run_one "$name" &
    pids+=("$!:$name")
    i=$((i + 1))
    if [ $((i % jobs)) -eq 0 ]; then
        for p in "${pids[@]}"; do
            wait "${p%%:*}" || failed+=("${p#*:}")
        done
        pids=()
    fi
done
for p in "${pids[@]}"; do
    wait "${p%%:*}" || failed+=("${p#*:}")
done

total_runs=0
for name in "${names[@]}"; do
    log=$work/$name.log
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    printf 'fuzz_%-16s runs %-9s cov %-6s ft %-6s\n' "$name" "${runs:-?}" "${cov:-?}" "${ft:-?}"
    total_runs=$((total_runs + ${runs:-0}))
done
if [ ${#failed[@]} -gt 0 ]; then
    for name in "${failed[@]}"; do
        echo "---- fuzz_$name: finding (log $work/$name.log) ----" >&2
        grep -A40 -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' \
            "$work/$name.log" >&2 || tail -40 "$work/$name.log" >&2
        ls "$work/$name-artifacts" >&2
    done
    echo "fuzz: ${#names[@]} targets, $total_runs runs, ${#failed[@]} with findings: ${failed[*]}"
    exit 1
fi
echo "fuzz: ${#names[@]} targets x ${secs}s, $total_runs runs, no findings"
