#!/usr/bin/env bash
# Set-up for the benchmarks (tests/bench/), not for the tests: installs
# OpenBLAS and points Debian's libblas.so.3 / liblapack.so.3 alternatives at
# it, so numpy and torch (the references the benchmarks compare modsim with)
# run on an optimized BLAS instead of netlib's reference one, then prints what
# numpy actually loaded. Safe to run again.
set -euo pipefail
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
packages=(libopenblas0-pthread python3-threadpoolctl python3-numpy python3-torch)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
for lib in libblas.so.3 liblapack.so.3; do
    target=/usr/lib/$arch/openblas-pthread/$lib
    if [ -e "$target" ]; then
        $sudo_cmd update-alternatives --set "$lib-$arch" "$target" >/dev/null
    fi
done
/usr/bin/python3 - <<'PY'
import numpy, torch  # noqa: F401  (torch loads its BLAS too)
from threadpoolctl import threadpool_info
blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
for i in blas:
    print(f"bench-setup: {i['internal_api']} {i['version']} ({i['architecture']}) at {i['filepath']}")
if not any(i["internal_api"] == "openblas" for i in blas):
    raise SystemExit("bench-setup: numpy/torch do not load OpenBLAS")
PY
