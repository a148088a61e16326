#!/usr/bin/env bash
# Builds (installing what is missing) and runs the whole suite twice: a normal
# build and an ASan+UBSan build. Extra arguments go to `meson test`
# (e.g. --suite unit).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --sanitize
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
meson test -C build --print-errorlogs "$@"
meson test -C build-sanitize --print-errorlogs "$@"
