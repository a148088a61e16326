#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz (clang, ASan + UBSan) into
# build-fuzz/ and runs each for a fixed time on its seed corpus and
# dictionary. Exits non-zero if any harness crashes, leaks, hangs or runs out
# of memory; the input that did it is in build-fuzz/findings/NAME/ (add it to
# tests/fuzz/regressions/NAME/ with the fix, so `meson test` replays it).
#   scripts/fuzz.sh                 every harness, 30 s each (what CI runs)
#   scripts/fuzz.sh 3600            an hour each
#   scripts/fuzz.sh 60 calc recipe_yaml   only these
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift $(($# > 0 ? 1 : 0))
all=(recipe_yaml recipe_json recipe_md scenario calc safetensors model_spec migrate history)
names=("$@")
((${#names[@]})) || names=("${all[@]}")

if ! command -v clang >/dev/null || [ ! -f build-fuzz/build.ninja ]; then
    scripts/setup.sh --fuzz || exit 1
fi
ninja -C build-fuzz || exit 1

declare -A dict=([recipe_yaml]=recipe [recipe_json]=recipe [recipe_md]=recipe [scenario]=recipe
                 [calc]=calc [safetensors]=safetensors [model_spec]=model_spec [migrate]=recipe
                 [history]=history)
status=0
printf '%-12s %12s %8s %8s %8s  %s\n' harness executions exec/s cov features result
for name in "${names[@]}"; do
    exe=build-fuzz/tests/fuzz/fuzz_$name
    if [ ! -x "$exe" ]; then
        echo "fuzz: no harness '$name' (known: ${all[*]})" >&2
        exit 2
    fi
    corpus=build-fuzz/corpus/$name findings=build-fuzz/findings/$name log=build-fuzz/logs/$name.log
    mkdir -p "$corpus" "$findings" "$(dirname "$log")"
    # new inputs go to the first directory; the seeds in the tree stay as they are
    ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
        "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -dict="tests/fuzz/dict/${dict[$name]}.dict" -artifact_prefix="$findings/" \
        "$corpus" "tests/fuzz/corpus/$name" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    done_line=$(grep -E '^#[0-9]+.*(DONE|cov:)' "$log" | tail -1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
    if [ "$rc" -eq 0 ]; then
        result=ok
    else
        result="FAILED (exit $rc): $(grep -m1 -E '^==[0-9]+==ERROR|^SUMMARY|runtime error|deadly signal' "$log"), input in $findings/, log $log"
        status=1
    fi
    printf '%-12s %12s %8s %8s %8s  %s\n' "$name" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$result"
done
exit $status
