#!/usr/bin/env bash
# Builds (installing what is missing) and runs the whole suite twice: a normal
# build and an ASan+UBSan build. Extra arguments go to `meson test`
# (e.g. --suite unit). Ends with one "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --sanitize || exit 1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
status=0
passed=0
failed=0
for dir in build build-sanitize; do
    echo "== meson test -C $dir"
    meson test -C "$dir" --print-errorlogs "$@" || status=1
    log="$dir/meson-logs/testlog.json"
    if [ -f "$log" ]; then
        passed=$((passed + $(grep -c '"result": "OK"' "$log")))
        failed=$((failed + $(grep -v -c '"result": "\(OK\|SKIP\|EXPECTEDFAIL\)"' "$log")))
    fi
done
echo "$passed passed, $failed failed"
exit $status
