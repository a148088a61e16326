#!/usr/bin/python3
"""`modsim kernel` over a whole safetensors file against the floor and numpy,
in one run.

The floor is what any tool must do: read the input (from the page cache, as
every contender does after the warm-up) and write the output bytes durably
(dd with fsync, because modsim's output is written atomically: fsync, then
rename). numpy does the same job tensor by tensor: read the file, prune 50%
by magnitude (a partition for the threshold, as upstream's mask does) or
quantize int8 per channel (symmetric, scale = max|w| / 127.5), write a
safetensors file with the outputs modsim writes by default, fsync.

Usage: weight_io.py build/src/modsim [--tensors 4] [--dim 4096] [--reps 3]
       [--dir DIR]
"""
import argparse
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np


def write_safetensors(path, tensors):
    header, offset = {}, 0
    for name, a in tensors:
        header[name] = {"dtype": {np.float32: "F32", np.int8: "I8", np.uint8: "U8"}[a.dtype.type],
                        "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for _, a in tensors:
            f.write(memoryview(np.ascontiguousarray(a)).cast("B"))
        f.flush()
        os.fsync(f.fileno())


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        out.append((name, np.frombuffer(data, np.float32, (e - b) // 4, b).reshape(info["shape"])))
    return out


def numpy_prune(src, dst):
    out = []
    for name, w in read_safetensors(src):
        a = np.abs(w).ravel()
        k = a.size // 2
        threshold = np.partition(a, k)[k]
        out.append((name, np.where(np.abs(w) < threshold, np.float32(0), w)))
    write_safetensors(dst, out)


def numpy_quant(src, dst):
    out = []
    for name, w in read_safetensors(src):
        scale = (np.abs(w).max(axis=1, keepdims=True) / np.float32(127.5)).astype(np.float32)
        codes = np.clip(np.rint(w / scale), -128, 127).astype(np.int8)
        out += [(name + ".codes", codes), (name + ".scale", scale)]
    write_safetensors(dst, out)


def timed(run, reps):
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def child_peak_mb(cmd):
    """Peak resident memory of cmd in MiB, from GNU time (a Python child's
    ru_maxrss would count the interpreter it was forked from)."""
    r = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], check=True, capture_output=True,
                       text=True)
    return int(r.stderr.strip().splitlines()[-1]) / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("modsim")
    ap.add_argument("--tensors", type=int, default=4)
    ap.add_argument("--dim", type=int, default=4096)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--dir", default=None)
    a = ap.parse_args()
    d = tempfile.mkdtemp(dir=a.dir, prefix="weight_io.")
    src, out = os.path.join(d, "in.safetensors"), os.path.join(d, "out.safetensors")
    rng = np.random.default_rng(0)
    write_safetensors(src, [(f"model.layers.{i}.mlp.down_proj.weight",
                             rng.standard_normal((a.dim, a.dim), dtype=np.float32))
                            for i in range(a.tensors)])
    size = os.path.getsize(src)
    with open(src, "rb") as f:  # warm the page cache
        while f.read(1 << 24):
            pass
    load = os.getloadavg()[0]
    print(f"{a.tensors} x {a.dim}x{a.dim} F32 ({size / 2**20:.0f} MiB), median of {a.reps}; "
          f"load average {load:.2f} at the start")
    jobs = [("prune 50%", ["prune", "--sparsity", "0.5"], numpy_prune),
            ("int8 per-channel quant", ["quant", "--bits", "8", "--strategy", "channel"],
             numpy_quant)]
    print("| job | threads | modsim s | floor s | modsim / floor | numpy s | numpy / modsim "
          "| output MiB | modsim peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, args, np_job in jobs:
        np_s = timed(lambda: np_job(src, out), a.reps)
        for threads in (1, 2):
            cmd = [a.modsim, "kernel", *args, "--threads", str(threads), "--in", src, "--out", out]
            ms_s = timed(lambda: subprocess.run(cmd, check=True, capture_output=True), a.reps)
            peak = child_peak_mb(cmd)
            written = os.path.getsize(out)
            floor = [["cat", src], ["dd", "if=/dev/zero", f"of={out}.floor", "bs=8M",
                                    f"count={written // (8 << 20) + 1}", "conv=fsync",
                                    "status=none"]]
            floor_s = timed(lambda: [subprocess.run(c, check=True, stdout=subprocess.DEVNULL)
                                     for c in floor], a.reps)
            print(f"| {label} | {threads} | {ms_s:.3f} | {floor_s:.3f} | {ms_s / floor_s:.2f}x "
                  f"| {np_s:.3f} | {np_s / ms_s:.1f}x | {written / 2**20:.0f} | {peak:.0f} |")
    print(f"load average {os.getloadavg()[0]:.2f} at the end; numpy {np.__version__}")
    for f in os.listdir(d):
        os.unlink(os.path.join(d, f))
    os.rmdir(d)


if __name__ == "__main__":
    main()
