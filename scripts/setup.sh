#!/usr/bin/env bash
# Installs what modsim needs on a fresh Debian machine (only what is missing),
# then configures and builds into build/. Safe to run again.
#   scripts/setup.sh            install + build
#   scripts/setup.sh --sanitize also configure build-sanitize/ (ASan + UBSan)
#   scripts/setup.sh --fuzz     also install clang and configure build-fuzz/
#                               (libFuzzer harnesses; scripts/fuzz.sh runs them)
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=false
fuzz=false
for arg in "$@"; do
    case "$arg" in
    --sanitize) sanitize=true ;;
    --fuzz) fuzz=true ;;
    *) echo "usage: scripts/setup.sh [--sanitize] [--fuzz]" >&2; exit 2 ;;
    esac
done

packages=(meson ninja-build pkg-config gcc libncurses-dev libsqlite3-dev libyaml-dev
          libcmocka-dev tmux python3 python3-yaml python3-numpy python3-torch python3-jsonschema)
# clang only for the fuzz build: libFuzzer is clang's (its runtime is only recommended)
if $fuzz; then
    packages+=(clang libclang-rt-dev)
fi
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -f build/build.ninja ]; then
    meson setup build --auto-features=enabled
fi
ninja -C build

if $sanitize; then
    if [ ! -f build-sanitize/build.ninja ]; then
        meson setup build-sanitize --auto-features=enabled -Db_sanitize=address,undefined \
            -Db_lundef=false
    fi
    ninja -C build-sanitize
fi

if $fuzz; then
    if [ ! -f build-fuzz/build.ninja ]; then
        CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=disabled
    fi
    ninja -C build-fuzz
fi
