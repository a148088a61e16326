#!/usr/bin/python3
"""Runs modsim's kernels, numpy and torch on the same float32 matrices in one
run and prints a table of median times, GB/s and ratios.

GB/s counts the nominal traffic of every implementation alike: reading the
weights and writing the result (8 bytes per element); memcpy of the same
buffers gives the machine's copy bandwidth. modsim additionally writes int8
codes (quantization) or a byte mask (pruning), which is not counted.

Usage: compare.py --bench build/tests/bench/bench_kernels [--size 4096]
       [--count 8] [--reps 5] [--gptq-size 4096] [--gptq-reps 5]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from threadpoolctl import threadpool_info


def timed(fn, reps, setup=None):
    times = []
    for _ in range(reps):
        if setup:
            setup()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run_bench(args, op, threads, reps, count, rows, cols, data, extra=()):
    cmd = [args.bench, op, str(threads), str(reps), str(count), str(rows), str(cols), data]
    cmd += [str(e) for e in extra]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    res = json.loads(out)
    return statistics.median(res["times"]), res


# --- numpy and torch versions of the same kernels -------------------------

def np_quant(w, bits, sym, group):
    q_min, q_max = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    x = w.reshape(w.shape[0], -1, group) if group else w.reshape(w.shape[0], 1, -1)
    mn = np.minimum(x.min(axis=2, keepdims=True), 0)
    mx = np.maximum(x.max(axis=2, keepdims=True), 0)
    if sym:
        s = np.maximum(np.abs(mn), np.abs(mx)) / np.float32((q_max - q_min) / 2)
        zp = np.zeros_like(s)
    else:
        s = (mx - mn) / np.float32(q_max - q_min)
        zp = np.round(np.clip(q_min - mn / s, q_min, q_max))
    s = np.where(s == 0, np.finfo(np.float32).eps, s)
    q = np.round(np.clip(x / s + zp, q_min, q_max))
    return ((q - zp) * s).reshape(w.shape)


def torch_quant(w, bits, sym, group):
    q_min, q_max = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    x = w.unflatten(-1, (-1, group)) if group else w.unsqueeze(1)
    mn = torch.clamp(x.amin(dim=2, keepdim=True), max=0)
    mx = torch.clamp(x.amax(dim=2, keepdim=True), min=0)
    if sym:
        s = torch.maximum(mn.abs(), mx.abs()) / ((q_max - q_min) / 2)
        zp = torch.zeros_like(s)
    else:
        s = (mx - mn) / float(q_max - q_min)
        zp = torch.round(torch.clamp(q_min - mn / s, q_min, q_max))
    s = torch.where(s == 0, torch.finfo(torch.float32).eps, s)
    q = torch.round(torch.clamp(x / s + zp, q_min, q_max))
    return ((q - zp) * s).reshape(w.shape)


def np_prune_24(w):
    g = w.reshape(-1, 4)
    order = np.argsort(np.abs(g), axis=1, kind="stable")[:, :2]
    out = g.copy()
    np.put_along_axis(out, order, 0.0, axis=1)
    return out.reshape(w.shape)


def torch_prune_24(w):
    g = w.reshape(-1, 4)
    idx = torch.topk(g.abs(), 2, dim=1, largest=False)[1]
    mask = torch.ones_like(g, dtype=torch.bool).scatter_(1, idx, False)
    return (g * mask).reshape(w.shape)


def np_prune_unstructured(w, sparsity=0.5):
    a = np.abs(w).ravel()
    k = int(sparsity * a.size)
    t = np.partition(a, k - 1)[k - 1]
    return np.where(np.abs(w) > t, w, 0)


def torch_prune_unstructured(w, sparsity=0.5):
    a = w.abs()
    k = int(sparsity * a.numel())
    t = torch.kthvalue(a.view(-1), k).values
    return w * (a > t)


def torch_gptq(w, x, group=128, block=128, damp_frac=0.01):
    """The GPTQ algorithm written plainly in torch (Hessian from the inputs,
    Cholesky-based inverse, lazy block updates, int4 symmetric groups)."""
    cols = w.shape[1]
    h = 2.0 * x.t().matmul(x)  # one sample: sum then divide by 1
    q_min, q_max = -8, 7
    g = w.unflatten(-1, (-1, group))
    amax = torch.maximum(g.amin(dim=2).clamp(max=0).abs(), g.amax(dim=2).clamp(min=0))
    scale = amax / 7.5
    scale = torch.where(scale == 0, torch.finfo(torch.float32).eps, scale)
    W = w.clone()
    dead = torch.diag(h) == 0
    h[dead, dead] = 1
    W[:, dead] = 0
    damp = damp_frac * torch.mean(torch.diag(h))
    idx = torch.arange(cols)
    h[idx, idx] += damp
    hinv = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(h)), upper=True)
    losses = torch.zeros(w.shape[0])
    for i1 in range(0, cols, block):
        i2 = min(i1 + block, cols)
        W1 = W[:, i1:i2].clone()
        Q1 = torch.zeros_like(W1)
        E1 = torch.zeros_like(W1)
        L1 = torch.zeros_like(W1)
        H1 = hinv[i1:i2, i1:i2]
        for i in range(i2 - i1):
            col = W1[:, i]
            d = H1[i, i]
            s = scale[:, (i1 + i) // group]
            q = torch.round(torch.clamp(col / s, q_min, q_max)) * s
            Q1[:, i] = q
            L1[:, i] = (col - q) ** 2 / d ** 2
            err = (col - q) / d
            W1[:, i:] -= err.unsqueeze(1).matmul(H1[i, i:].unsqueeze(0))
            E1[:, i] = err
        W[:, i1:i2] = Q1
        losses += torch.sum(L1, 1) / 2
        W[:, i2:] -= E1.matmul(hinv[i1:i2, i2:])
    return W, float(torch.sum(losses))


# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--count", type=int, default=8)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--gptq-size", type=int, default=4096)
    ap.add_argument("--gptq-rows", type=int, default=512)
    ap.add_argument("--gptq-reps", type=int, default=5)
    ap.add_argument("--skip-gptq", action="store_true")
    ap.add_argument("--only-gptq", action="store_true", help="run only the GPTQ comparison")
    args = ap.parse_args()

    n, count, reps = args.size, 1 if args.only_gptq else args.count, args.reps
    rng = np.random.default_rng(0)
    data = rng.standard_normal((count, n, n), dtype=np.float32)
    tmp = tempfile.mkdtemp(prefix="modsim-bench-")
    data_path = os.path.join(tmp, "weights.f32")
    data.tofile(data_path)
    tdata = torch.from_numpy(data)
    nbytes = 8 * data.size  # read + write

    rows = []
    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    print("# BLAS under numpy/torch: " + ", ".join(
        f"{i['internal_api']} {i['version']} ({i.get('architecture')}) {i['filepath']}" for i in blas))
    print(f"# load average at start {os.getloadavg()[0]:.2f}")
    if args.only_gptq:
        gptq(args, data, rng, tmp)
        cleanup(tmp)
        return 0

    copy_t = {}
    for th in (1, 2):
        copy_t[th], _ = run_bench(args, "copy", th, reps, count, n, n, data_path)
    copy_bw = nbytes / copy_t[1] / 1e9
    rows.append(("memcpy (copy bandwidth)", 1, copy_t[1], None, None))

    quant_ops = [("quant_int8_channel", "fake quant int8 per-channel sym", 8, True, 0),
                 ("quant_int4_g128_sym", "fake quant int4 group-128 sym", 4, True, 128),
                 ("quant_int4_g128_asym", "fake quant int4 group-128 asym", 4, False, 128)]
    out_path = os.path.join(tmp, "out.f32")
    checks = []
    for op, label, bits, sym, group in quant_ops:
        t_np = timed(lambda: [np_quant(data[m], bits, sym, group) for m in range(count)], reps)
        ref_np = np_quant(data[0], bits, sym, group)
        for th in (1, 2):
            torch.set_num_threads(th)
            t_torch = timed(lambda: [torch_quant(tdata[m], bits, sym, group) for m in range(count)],
                            reps)
            t_ms, _ = run_bench(args, op, th, reps, count, n, n, data_path, [out_path])
            rows.append((label, th, t_ms, t_torch, t_np))
        ours = np.fromfile(out_path, dtype=np.float32).reshape(n, n)
        ref_t = torch_quant(tdata[0], bits, sym, group).numpy()
        checks.append((label, np.array_equal(ours, ref_t), np.array_equal(ours, ref_np)))

    prune_ops = [("prune_2_4", "2:4 magnitude prune", np_prune_24, torch_prune_24),
                 ("prune_unstructured", "unstructured 50% (threshold + mask)",
                  np_prune_unstructured, torch_prune_unstructured)]
    for op, label, np_fn, torch_fn in prune_ops:
        t_np = timed(lambda: [np_fn(data[m]) for m in range(count)], reps)
        for th in (1, 2):
            torch.set_num_threads(th)
            t_torch = timed(lambda: [torch_fn(tdata[m]) for m in range(count)], reps)
            t_ms, _ = run_bench(args, op, th, reps, count, n, n, data_path, [out_path])
            rows.append((label, th, t_ms, t_torch, t_np))
        ours = np.fromfile(out_path, dtype=np.float32).reshape(n, n)
        checks.append((label, np.array_equal(ours, torch_fn(tdata[0]).numpy()),
                       np.array_equal(ours, np_fn(data[0]))))

    print(f"# {count} x {n}x{n} float32, median of {reps}; copy bandwidth "
          f"{copy_bw:.1f} GB/s (1 thread), {nbytes / copy_t[2] / 1e9:.1f} GB/s (2 threads)")
    print(f"# GB/s = 8 bytes per element / time; numpy is single-threaded")
    hdr = ("| kernel | threads | modsim s | modsim GB/s | % of copy | vs torch | vs numpy |"
           " 2T/1T |")
    print(hdr)
    print("|" + "---|" * 8)
    one_thread = {}
    for label, th, t_ms, t_torch, t_np in rows:
        bw = nbytes / t_ms / 1e9
        if th == 1:
            one_thread[label] = t_ms
        speedup = f"{one_thread[label] / t_ms:.2f}x" if th == 2 else ""
        vt = f"{t_torch / t_ms:.1f}x ({t_torch:.3f}s)" if t_torch else ""
        vn = f"{t_np / t_ms:.1f}x ({t_np:.3f}s)" if t_np else ""
        print(f"| {label} | {th} | {t_ms:.4f} | {bw:.1f} | {100 * bw / copy_bw:.0f}% | {vt} |"
              f" {vn} | {speedup} |")
    print()
    for label, eq_t, eq_np in checks:
        print(f"# {label}: matrix 0 bitwise equal to torch: {eq_t}, to numpy: {eq_np}")

    if not args.skip_gptq:
        gptq(args, data, rng, tmp)
    cleanup(tmp)
    return 0


def cleanup(tmp):
    for f in os.listdir(tmp):
        os.unlink(os.path.join(tmp, f))
    os.rmdir(tmp)


def gptq(args, data, rng, tmp):
    out_path = os.path.join(tmp, "out.f32")
    g = args.gptq_size
    w = data.reshape(-1)[: g * g].reshape(g, g).copy()
    x = rng.standard_normal((args.gptq_rows, g), dtype=np.float32)
    w_path, x_path = os.path.join(tmp, "gw.f32"), os.path.join(tmp, "gx.f32")
    w.tofile(w_path)
    x.tofile(x_path)
    res_ms = {}
    for th in (1, 2):
        res_ms[th] = run_bench(args, "gptq", th, args.gptq_reps, 1, g, g, w_path,
                               [x_path, args.gptq_rows, out_path])
    ours = np.fromfile(out_path, dtype=np.float32).reshape(g, g)
    torch.set_num_threads(2)
    tw, tx = torch.from_numpy(w), torch.from_numpy(x)
    out = {}
    t_torch = timed(lambda: out.update(r=torch_gptq(tw, tx)), args.gptq_reps)
    ref, ref_loss = out["r"]
    ref = ref.numpy()
    diff = np.abs(ours - ref)
    step = np.abs(ref - w).max()
    print(f"\n# GPTQ {g}x{g}, {args.gptq_rows} calibration rows, int4 group-128 sym, "
          f"block 128, dampening 0.01 (Hessian accumulation included); median of "
          f"{args.gptq_reps}")
    print("| implementation | threads | seconds | torch / this |")
    print("|---|---|---|---|")
    for th in (1, 2):
        print(f"| modsim | {th} | {res_ms[th][0]:.2f} | {t_torch / res_ms[th][0]:.1f}x |")
    print(f"| torch (straightforward) | 2 | {t_torch:.2f} | 1.0x |")
    print(f"# loss modsim {res_ms[2][1]['loss']:.6g} vs torch {ref_loss:.6g} "
          f"(rel {abs(res_ms[2][1]['loss'] - ref_loss) / ref_loss:.2e}); weights equal: "
          f"{np.mean(diff == 0) * 100:.2f}%, max |diff| {diff.max():.3g} "
          f"(largest rounding step moved {step:.3g})")
    print(f"# load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    sys.exit(main())
