#!/usr/bin/python3
"""Runs modsim's GEMM, Hessian (X^T X), Cholesky and triangular inverse and
the same operations in OpenBLAS (through numpy, torch and LAPACK's strtri) in
one run, on the shapes a model run uses, at 1 and 2 threads, and prints a
table of median GFLOP/s and modsim / OpenBLAS ratios.

Run scripts/bench-setup.sh first: it installs OpenBLAS and makes numpy and
torch load it; this script refuses to run on any other BLAS and prints the one
it measured.

Usage: linalg.py --bench build/tests/bench/bench_linalg [--rounds 3] [--quick]
"""
import argparse
import ctypes
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import torch
from threadpoolctl import threadpool_info, threadpool_limits


def openblas():
    libs = [i for i in threadpool_info() if i["internal_api"] == "openblas"]
    if not libs:
        sys.exit("linalg.py: numpy/torch do not use OpenBLAS; run scripts/bench-setup.sh")
    return libs[0]


def timed(fn, reps, setup=None):
    times = []
    for _ in range(reps):
        if setup:
            setup()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run_modsim(bench, op, threads, reps, *extra):
    cmd = [bench, op, str(threads), str(reps)] + [str(e) for e in extra]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return statistics.median(json.loads(out)["times"])


def spd(n):
    rng = np.random.default_rng(7)
    x = rng.uniform(-0.5, 0.5, (n, n)).astype(np.float32)
    a = x.T @ x / np.float32(n)
    a[np.diag_indices(n)] += 1
    return a


def cases(quick):
    """(label, modsim op args, GFLOP, reference factory)."""
    rng = np.random.default_rng(0)
    out = []

    def gemm(label, ta, tb, m, n, k):
        a = rng.standard_normal((k, m) if ta == "t" else (m, k), dtype=np.float32)
        b = rng.standard_normal((n, k) if tb == "t" else (k, n), dtype=np.float32)
        c = np.empty((m, n), dtype=np.float32)
        aa = a.T if ta == "t" else a
        bb = b.T if tb == "t" else b
        out.append((label, ("gemm", ta, tb, m, n, k), 2 * m * n * k / 1e9,
                    lambda: np.matmul(aa, bb, out=c)))

    def hessian(dim, rows):
        x = rng.standard_normal((rows, dim), dtype=np.float32)
        # numpy turns x.T @ x into one syrk (the lower triangle, then a copy)
        out.append((f"Hessian X^T X, X {rows}x{dim}", ("hessian", dim, rows),
                    dim * dim * rows / 1e9, lambda: x.T @ x))

    def cholesky(n):
        a = spd(n)
        ta = torch.from_numpy(a)
        out.append((f"Cholesky {n}x{n}", ("cholesky", n), n ** 3 / 3 / 1e9,
                    lambda: torch.linalg.cholesky(ta)))

    def trinv(n, lib):
        strtri = lib.strtri_
        l0 = np.linalg.cholesky(spd(n)).astype(np.float32)
        work = np.empty_like(l0)
        uplo, diag = ctypes.c_char(b"L"), ctypes.c_char(b"N")
        nn, info = ctypes.c_int(n), ctypes.c_int(0)

        def run():
            # row-major lower = column-major upper; strtri inverts in place
            strtri(ctypes.byref(ctypes.c_char(b"U")), ctypes.byref(diag), ctypes.byref(nn),
                   work.ctypes.data_as(ctypes.c_void_p), ctypes.byref(nn), ctypes.byref(info))
        out.append((f"triangular inverse {n}x{n}", ("trinv", n), n ** 3 / 3 / 1e9, run,
                    lambda: np.copyto(work, l0)))
        del uplo

    lib = ctypes.CDLL(openblas()["filepath"])
    big = 1024 if quick else 4096
    hessian(big, 512)
    if not quick:
        hessian(big, 2048)
        hessian(768, 8192)
    gemm(f"GPTQ block update {big}x{big - 128}x128 (NN)", "n", "n", big, big - 128, 128)
    gemm(f"forward {2048 if not quick else 512}x2048x768 (NT)", "n", "t",
         2048 if not quick else 512, 2048, 768)
    cholesky(1024 if quick else 2048)
    if not quick:
        cholesky(4096)
    trinv(1024 if quick else 2048, lib)
    if not quick:
        trinv(4096, lib)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    info = openblas()
    load0 = os.getloadavg()
    rows = []
    for case in cases(args.quick):
        label, op, gflop, ref = case[:4]
        setup = case[4] if len(case) > 4 else None
        for th in (1, 2):
            torch.set_num_threads(th)
            # rounds alternate modsim and OpenBLAS so that load from other
            # processes hits both alike; each round is a median of 3
            t_ms, t_ref = [], []
            with threadpool_limits(limits=th, user_api="blas"):
                ref()  # warm up
                for _ in range(args.rounds):
                    t_ms.append(run_modsim(args.bench, op[0], th, 3, *op[1:]))
                    t_ref.append(timed(ref, 3, setup))
            rows.append((label, th, statistics.median(t_ms), statistics.median(t_ref), gflop))
    load1 = os.getloadavg()
    print(f"# OpenBLAS {info['version']} ({info['architecture']} kernels, {info['threading_layer']})"
          f" at {info['filepath']}; numpy {np.__version__}, torch {torch.__version__}")
    print(f"# median of {args.rounds} rounds of 3, modsim and OpenBLAS alternating; load average {load0[0]:.2f} at start, {load1[0]:.2f} at end")
    print("| operation | threads | modsim s | modsim GFLOP/s | OpenBLAS s | OpenBLAS GFLOP/s |"
          " modsim / OpenBLAS |")
    print("|" + "---|" * 7)
    for label, th, t_ms, t_ref, gflop in rows:
        print(f"| {label} | {th} | {t_ms:.4f} | {gflop / t_ms:.1f} | {t_ref:.4f} |"
              f" {gflop / t_ref:.1f} | {100 * t_ref / t_ms:.0f}% |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
