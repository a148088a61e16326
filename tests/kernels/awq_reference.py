#!/usr/bin/env python3
"""`modsim kernel awq` against AWQ's grid search recomputed with torch, as
llm-compressor 0.12's AWQModifier does it (modifiers/transform/awq/base.py:
_compute_best_scale, _get_grid_search_params, _compute_layer_means), for a
mapping whose parent is its balance Linears.

The chosen ratio and duo flag must be the same; the scales and the scaled
weights within 1e-5 relative; the losses within 1e-4 relative (upstream sums
them in float32, modsim in float64). Each run is made with 1 and 2 threads,
which must give the same bytes.

usage: awq_reference.py MODSIM"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import stio  # noqa: E402
from reference import expand, fake_quant, observe, qparams  # noqa: E402

RTOL = 1e-5


def grid(duo, n):
    """base.py _get_grid_search_params."""
    if duo == "both":
        h = n // 2
        return [(i / (h - 1), d) for i in range(h) for d in (False, True)]
    if duo == "false":
        return [(i / (n - 1), False) for i in range(n)]
    return [(0.0, False)] + [(i / (n - 2), True) for i in range(n - 1)]


def layer_means(ws, strategy, gs):
    """_compute_layer_means: |w| / (chunk max + 1e-6) in float32, summed in float64."""
    total, rows = 0, 0
    for w in ws:
        t = torch.from_numpy(w).clone()
        chunk = {"tensor": t.numel(), "channel": t.shape[1], "group": gs}[strategy]
        c = t.reshape(-1, chunk).abs()
        c = c / (c.amax(dim=1, keepdim=True) + 1e-6)
        c = c.reshape(t.shape)
        rows += c.shape[0]
        total = total + c.sum(0, dtype=torch.float64)
    return total / rows


def quantize(w, bits, strategy, gs, sym):
    rows, cols = w.shape
    scale, zp = qparams(*observe(w.numpy(), strategy, gs), bits, "int", sym)
    return fake_quant(w, expand(scale, rows, cols, strategy, gs),
                      expand(zp, rows, cols, strategy, gs), bits, "int")[1]


def powf(t, e):
    """float32 ** e rounded once from float64; torch's vectorized powf may be
    an ulp off, and with symmetric schemes the largest weight of each group
    lies on a rounding tie, so that ulp can change codes (see awq.h)."""
    return torch.from_numpy((t.double().numpy() ** e).astype(np.float32))


def search(ws, x, duo, n_grid, bits, strategy, gs, sym):
    x_t = torch.from_numpy(x)
    # upstream sums |x| in float32 in an unspecified order; float64 rounded once
    x_mean = x_t.abs().double().sum(0).float() / torch.tensor(x.shape[0])
    w_mean = layer_means(ws, strategy, gs)
    wt = [torch.from_numpy(w) for w in ws]
    ref = [x_t @ w.T for w in wt]
    best = (float("inf"), None, None, None)
    initial = None
    for ratio, use_duo in grid(duo, n_grid):
        if use_duo:
            s = (powf(x_mean, ratio) / (w_mean.pow(1 - ratio) + 1e-4)).clamp(min=1e-4)
        else:
            s = powf(x_mean, ratio).clamp(min=1e-4).view(-1)
        s = s / (s.max() * s.min()).sqrt()
        s[torch.isinf(s)] = 1
        s[torch.isnan(s)] = 1
        sv = s.view(1, -1)
        outs = []
        for w in wt:
            scaled = (w * sv).to(torch.float32)
            q = (quantize(scaled, bits, strategy, gs, sym) / sv).to(torch.float32)
            outs.append(x_t @ q.T)
        num = sum(((a.double() - b.double()) ** 2).sum() for a, b in zip(ref, outs))
        loss = (num / sum(a.numel() for a in ref)).item()
        if initial is None:
            initial = loss
        if loss < best[0]:
            best = (loss, ratio, use_duo, s.clone())
    return best, initial


def refusals(modsim, d):
    """Bad options exit 2 with the code named on stderr and write nothing."""
    w, x = os.path.join(d, "w.safetensors"), os.path.join(d, "x.safetensors")
    out = os.path.join(d, "refused.safetensors")
    bad = [
        (["--calib", x, "--duo-scaling", "maybe"], "E-KERNEL-VALUE"),
        ([], "E-KERNEL-USAGE"),  # no --calib
        (["--calib", x, "--n-grid", "2"], "E-KERNEL-VALUE"),  # duo true needs 3
        (["--calib", x, "--strategy", "group", "--group-size", "24"], "E-QUANT-GROUP"),
        (["--calib", w], "E-KERNEL-CALIB"),  # no inputs in the file
    ]
    failed = 0
    for extra, code in bad:
        r = subprocess.run([modsim, "kernel", "awq", "--in", w, "--out", out, *extra],
                           capture_output=True, text=True)
        ok = r.returncode == 2 and code in r.stderr and not os.path.exists(out)
        print(f"{'PASS' if ok else 'FAIL'} refused: awq {' '.join(extra)} ({code})")
        if not ok:
            print(f"    exit {r.returncode}: {r.stderr}")
        failed += not ok
    return len(bad), failed


def main():
    modsim = sys.argv[1]
    torch.set_num_threads(1)
    rng = np.random.default_rng(31)
    ch, n = 64, 40
    salience = (0.1 + rng.random(ch) ** 4 * 8).astype(np.float32)
    x = (rng.standard_normal((n, ch)) * salience).astype(np.float32)
    ws = {"q_proj": rng.standard_normal((48, ch)).astype(np.float32),
          "k_proj": (rng.standard_normal((16, ch)) * 0.1).astype(np.float32)}
    cases = [
        ("true", 20, 4, "group", 16, False),
        ("false", 20, 4, "group", 16, True),
        ("both", 20, 8, "channel", 0, True),
        ("true", 10, 3, "tensor", 0, False),
        ("true", 20, 4, "channel", 0, True),
    ]
    failed = 0
    with tempfile.TemporaryDirectory() as d:
        stio.write(os.path.join(d, "w.safetensors"), ws)
        stio.write(os.path.join(d, "x.safetensors"), {"inputs": x})
        for duo, n_grid, bits, strategy, gs, sym in cases:
            args = ["--duo-scaling", duo, "--n-grid", str(n_grid), "--bits", str(bits),
                    "--strategy", strategy]
            args += ["--group-size", str(gs)] if gs else []
            args += [] if sym else ["--asym"]
            label = " ".join(args)
            problems, outs = [], []  # (tensors, metadata) per thread count
            for threads in ("1", "2"):
                path = os.path.join(d, f"out{threads}.safetensors")
                r = subprocess.run([modsim, "kernel", "awq", "--in", os.path.join(d, "w.safetensors"),
                                    "--calib", os.path.join(d, "x.safetensors"), "--out", path,
                                    "--threads", threads, *args], capture_output=True, text=True)
                if r.returncode != 0:
                    problems.append(f"--threads {threads}: exit {r.returncode}: {r.stderr}")
                else:
                    outs.append(stio.read(path))
            if len(outs) == 2:
                got, meta = outs[0]
                meta.pop("modsim_kernel")  # the command line, --threads included
                other = outs[1]
                other[1].pop("modsim_kernel")
                if meta != other[1] or any(not np.array_equal(got[k], other[0][k]) for k in got):
                    problems.append("--threads 1 and 2 give different results")
                (loss, ratio, use_duo, s), initial = search(
                    list(ws.values()), x, duo, n_grid, bits, strategy, gs, sym)
                if float(meta["awq_ratio"]) != ratio or (meta["awq_duo"] == "true") != use_duo:
                    problems.append(f"best point ({meta['awq_ratio']}, {meta['awq_duo']}), "
                                    f"reference ({ratio!r}, {use_duo})")
                else:
                    s64 = s.double().numpy()
                    err = np.max(np.abs(got["awq.scales"] - s64) / np.abs(s64))
                    if err > RTOL:
                        problems.append(f"scales: relative error {err:.2e}")
                    for name, w in ws.items():
                        want = (torch.from_numpy(w) * s.view(1, -1)).to(torch.float32).numpy()
                        e = np.linalg.norm(got[name] - want) / np.linalg.norm(want)
                        if e > RTOL:
                            problems.append(f"{name}: relative error {e:.2e}")
                for key, want in (("awq_loss", loss), ("awq_initial_loss", initial)):
                    if abs(float(meta[key]) - want) > 1e-4 * abs(want):
                        problems.append(f"{key} {meta[key]}, reference {want!r}")
                label += f" (ratio {ratio:.4g}{' duo' if use_duo else ''})"
            print(f"{'FAIL' if problems else 'PASS'} awq {label}")
            for p in problems:
                print(f"    {p}")
            failed += bool(problems)
        ran, refused_failed = refusals(modsim, d)
    failed += refused_failed
    print(f"{len(cases) + ran - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
