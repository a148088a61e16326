#!/usr/bin/env python3
"""Runs `modsim kernel` for each op and option combination on small random
tensors and recomputes every result independently with numpy/torch, following
llm-compressor and compressed-tensors semantics.

Exact equality is required for pruning masks and integer codes; scales, zero
points and weights must be within 1e-5 relative error (Frobenius norm).

GPTQ and SparseGPT are recomputed column by column in float64 (upstream's
sweep without the lazy block update, which changes nothing mathematically).
modsim works in float32, so a rounding or pruning decision may legitimately
flip where the float64 value sits within a hair of the boundary (a code's
scaled value within 1e-3 of x.5, a score within 1e-4 relative of the
threshold). Such near-ties are counted and printed; the reference then follows
modsim's decision so that one flip does not cascade. Any other difference
fails.

usage: reference.py MODSIM [WORKDIR]"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

RTOL = 1e-5
TIE_CODE = 1e-3   # GPTQ: |scaled - boundary| in code units
TIE_SCORE = 1e-4  # SparseGPT / Wanda: relative distance of a score to the cut


def make_inputs(d):
    """Weights of assorted shapes (one with ties and zeros) and their layer inputs."""
    rng = np.random.default_rng(20240611)
    a = rng.standard_normal((64, 128)).astype(np.float32)
    b = (np.round(rng.standard_normal((32, 256)) * 4) / 4).astype(np.float32)  # ties
    b[3, :] = 0.0   # an all-zero row (an all-zero quantization group)
    b[:, 10] = 0.0  # a zero column (b has over 5% zeros: GPTQ keeps them)
    c = (rng.standard_normal((48, 96)) * 0.02).astype(np.float32)
    c[0, 0] = 1.0   # an outlier
    weights = {"a": a, "b": b, "c": c}
    calib = {}
    for name, w in weights.items():
        cols = w.shape[1]
        # distinct column scales so activation order is well defined
        scale = np.linspace(0.3, 2.0, cols) * (1.0 + 0.01 * rng.permutation(cols))
        x = (rng.standard_normal((96, cols)) * scale).astype(np.float32)
        calib[name + ".inputs"] = x
    calib["b.inputs"][:, 5] = 0.0  # a dead Hessian column
    stio.write(os.path.join(d, "w.safetensors"), weights)
    stio.write(os.path.join(d, "calib.safetensors"), calib)
    return weights, calib


def rel_err(x, ref):
    x, ref = np.asarray(x, np.float64), np.asarray(ref, np.float64)
    den = np.linalg.norm(ref)
    return np.linalg.norm(x - ref) / (den if den > 0 else 1.0)


class Case:
    def __init__(self, label):
        self.label, self.problems, self.notes = label, [], []

    def close(self, what, got, want):
        e = rel_err(got, want)
        if not e <= RTOL:
            self.problems.append(f"{what}: relative error {e:.3g} > {RTOL}")

    def exact(self, what, got, want):
        got, want = np.asarray(got), np.asarray(want)
        if got.shape != want.shape:
            self.problems.append(f"{what}: shape {got.shape}, expected {want.shape}")
            return
        bad = np.argwhere(got != want)
        if len(bad):
            i = tuple(bad[0])
            self.problems.append(f"{what}: {len(bad)} differ, first at {list(i)}: "
                                 f"{got[i]} vs {want[i]}")


# ---- pruning (llm-compressor mask_factory.py semantics) ----

def prune_mask(w, structure, sparsity):
    a = np.abs(w)
    if structure == "unstructured":
        k = int(sparsity * w.size)
        if k == 0:
            return np.ones(w.shape, np.uint8)
        thr = np.partition(a.ravel(), k - 1)[k - 1]
        return (a > thr).astype(np.uint8)
    if structure == "channel":
        k = int(sparsity * w.shape[0])
        mask = np.ones(w.shape, np.uint8)
        order = np.argsort(a.astype(np.float64).sum(1), kind="stable")
        mask[order[:k], :] = 0
        return mask
    n, m = map(int, structure.split(":"))
    return smallest_mask(a, n, m)


def smallest_mask(metric, n, m):
    """Keeps all but the n smallest of every m columns of a row (ties: lower column)."""
    rows, cols = metric.shape
    g = metric.reshape(rows, cols // m, m)
    order = np.argsort(g, axis=2, kind="stable")
    mask = np.ones(g.shape, np.uint8)
    np.put_along_axis(mask, order[:, :, :n], 0, axis=2)
    return mask.reshape(rows, cols)


# ---- quantization (compressed-tensors calculate_qparams / _quantize) ----

def e4m3_table():
    vals = []
    for bits in range(0x7F):  # 0x7F is NaN
        e, m = bits >> 3, bits & 7
        vals.append(m / 8 * 2.0 ** -6 if e == 0 else (1 + m / 8) * 2.0 ** (e - 7))
    return np.array(vals)


E4M3 = e4m3_table()


def fp8_round(x):
    """Nearest E4M3 value (ties to even bits, saturating) and its bit pattern."""
    x = np.asarray(x, np.float64)
    ax = np.minimum(np.abs(x), 448.0)
    hi = np.clip(np.searchsorted(E4M3, ax), 1, len(E4M3) - 1)
    lo = hi - 1
    dl, dh = ax - E4M3[lo], E4M3[hi] - ax
    idx = np.where(dl < dh, lo, np.where(dh < dl, hi, np.where(lo % 2 == 0, lo, hi)))
    neg = np.signbit(x)
    bits = (idx | np.where(neg, 0x80, 0)).astype(np.uint8)
    return np.where(neg, -E4M3[idx], E4M3[idx]), bits.view(np.int8)


def qrange(bits, typ):
    if typ == "fp8":
        return -448.0, 448.0
    return float(-(2 ** (bits - 1))), float(2 ** (bits - 1) - 1)


def observe(w, strategy, gs):
    t = torch.from_numpy(np.ascontiguousarray(w))
    if strategy == "tensor":
        return t.min().reshape(1, 1), t.max().reshape(1, 1)
    if strategy == "channel":
        return t.min(1, keepdim=True)[0], t.max(1, keepdim=True)[0]
    g = t.reshape(t.shape[0], t.shape[1] // gs, gs)
    return g.min(2)[0], g.max(2)[0]


def qparams(mn, mx, bits, typ, sym):
    qmin, qmax = qrange(bits, typ)
    mn = torch.minimum(mn, torch.zeros_like(mn))
    mx = torch.maximum(mx, torch.zeros_like(mx))
    rng_ = qmax - qmin
    if sym:
        scale = torch.maximum(mn.abs(), mx.abs()) / (float(rng_) / 2)
        zp = torch.zeros_like(scale)
    else:
        scale = (mx - mn) / float(rng_)
        zp = torch.clamp(qmin - mn / scale, qmin, qmax)
        zp = torch.nan_to_num(zp, nan=0.0)  # 0/0 of an all-zero group: int8 cast gives 0
    scale = torch.where(scale == 0, torch.tensor(torch.finfo(torch.float32).eps), scale)
    if typ == "fp8":
        zp = torch.from_numpy(fp8_round(zp.numpy())[0].astype(np.float32))
    else:
        zp = torch.round(torch.clamp(zp, -128, 127))
    return scale, zp


def expand(p, rows, cols, strategy, gs, g_of_col=None):
    """Per-element view of per-group parameters."""
    if strategy == "tensor":
        return p.expand(rows, cols)
    if strategy == "channel":
        return p.expand(rows, cols)
    idx = torch.as_tensor(g_of_col if g_of_col is not None else np.arange(cols) // gs)
    return p[:, idx]


def fake_quant(x, scale, zp, bits, typ):
    """torch float32: codes and dequantized values (same operations as upstream)."""
    qmin, qmax = qrange(bits, typ)
    scaled = x / scale
    scaled = scaled + zp
    clamped = torch.clamp(scaled, qmin, qmax)
    if typ == "fp8":
        vals, bits_ = fp8_round(clamped.numpy())
        q = torch.from_numpy(vals.astype(np.float32))
        codes = bits_
    else:
        q = torch.round(clamped)
        codes = q.numpy().astype(np.int8)
    return codes, (q - zp) * scale


def check_quant(case, w, out, name, bits, typ, strategy, gs, sym):
    rows, cols = w.shape
    scale, zp = qparams(*observe(w, strategy, gs), bits, typ, sym)
    s_full = expand(scale, rows, cols, strategy, gs)
    z_full = expand(zp, rows, cols, strategy, gs)
    codes, deq = fake_quant(torch.from_numpy(w), s_full, z_full, bits, typ)
    case.exact(name + ".codes", out[name + ".codes"], codes)
    case.close(name + ".scale", out[name + ".scale"], scale.numpy())
    case.close(name + ".zero_point", out[name + ".zero_point"], zp.numpy())
    case.close(name, out[name], deq.numpy())


# ---- GPTQ / SparseGPT (float64, upstream's sweep) ----

def hessian(x):
    x = torch.from_numpy(x).double()
    return 2.0 / x.shape[0] * x.T @ x


def inverse_factor(h, damp_frac):
    h = h.clone()
    dead = torch.diag(h) == 0
    h[dead, dead] = 1.0
    idx = torch.arange(h.shape[0])
    h[idx, idx] += damp_frac * torch.mean(torch.diag(h))
    L = torch.linalg.cholesky(h)
    return torch.linalg.cholesky(torch.cholesky_inverse(L), upper=True), dead


def code_of(scaled, bits):
    qmin, qmax = qrange(bits, "int")
    return torch.round(torch.clamp(scaled, qmin, qmax))


def check_gptq(case, w, x, out, name, bits, strategy, gs, sym, actorder, damp):
    rows, cols = w.shape
    h = hessian(x)
    perm = np.arange(cols)
    if actorder != "none":
        perm = np.argsort(-torch.diag(h).numpy(), kind="stable")
    wp = w[:, perm]
    # observer on the original weight, or the permuted one for actorder group
    scale, zp = qparams(*observe(wp if actorder == "group" else w, strategy, gs), bits, "int",
                        sym)
    case.close(name + ".scale", out[name + ".scale"], scale.numpy())
    case.close(name + ".zero_point", out[name + ".zero_point"], zp.numpy())
    if strategy == "group":
        g = np.arange(cols) // gs if actorder == "group" else perm // gs
    else:
        g = None
    s_full = expand(scale, rows, cols, strategy, gs, g).double()
    z_full = expand(zp, rows, cols, strategy, gs, g).double()
    U, dead = inverse_factor(h[perm][:, perm], damp)
    W = torch.from_numpy(wp).double()
    # preserve_zeros (gptq_quantize.py:145): from 5% exact zeros on
    # (SPARSITY_THRESHOLD), no error is spread onto |w| <= 1e-8 (isclose)
    keep = None
    if (wp == 0).mean() >= 0.05:
        keep = torch.from_numpy(np.abs(wp) > 1e-8).double()
    W[:, dead] = 0.0
    ms_codes = torch.from_numpy(out[name + ".codes"][:, perm].astype(np.float64))
    ref_codes = np.zeros((rows, cols), np.int8)
    near = 0
    for i in range(cols):
        col = W[:, i]
        scaled = col / s_full[:, i] + z_full[:, i]
        ref = code_of(scaled, bits)
        got = ms_codes[:, i]
        diff = ref != got
        if diff.any():
            lo, hi = code_of(scaled - TIE_CODE, bits), code_of(scaled + TIE_CODE, bits)
            tie = diff & ((got == lo) | (got == hi))
            near += int(tie.sum())
            ref = torch.where(tie, got, ref)
        ref_codes[:, i] = ref.numpy().astype(np.int8)
        q = (ref - z_full[:, i]) * s_full[:, i]
        err = (col - q) / U[i, i]
        W[:, i] = q
        upd = torch.outer(err, U[i, i + 1:])
        W[:, i + 1:] -= upd if keep is None else upd * keep[:, i + 1:]
    inv = np.argsort(perm)
    case.exact(name + ".codes", out[name + ".codes"], ref_codes[:, inv])
    case.close(name, out[name], W.numpy()[:, inv])
    if actorder == "group":
        case.exact(name + ".g_idx", out[name + ".g_idx"], (np.arange(cols) // gs)[inv])
    if near:
        case.notes.append(f"{name}: {near} near-tie codes")


def check_sparsegpt(case, w, x, out, name, sparsity, nm, block, damp):
    rows, cols = w.shape
    U, dead = inverse_factor(hessian(x), damp)
    W = torch.from_numpy(w).double()
    W[:, dead] = 0.0
    ms_prune = torch.from_numpy(out[name + ".mask"] == 0)
    prune = torch.zeros(rows, cols, dtype=torch.bool)
    d2 = torch.diag(U) ** 2
    near = 0

    def follow(ref, got, score, cut):
        nonlocal near
        diff = ref != got
        tie = diff & ((score - cut).abs() <= TIE_SCORE * cut.abs())
        near += int(tie.sum())
        return torch.where(tie, got, ref)

    for i1 in range(0, cols, block):
        i2 = min(i1 + block, cols)
        if nm is None:
            score = W[:, i1:i2] ** 2 / d2[i1:i2]
            k = int(score.numel() * sparsity)
            if k >= score.numel():
                prune[:, i1:i2] = True
            else:
                cut = torch.sort(score.flatten())[0][k]
                prune[:, i1:i2] = follow(score <= cut, ms_prune[:, i1:i2], score,
                                         cut.expand_as(score))
        for i in range(i1, i2):
            if nm is not None and (i - i1) % nm[1] == 0:
                n, m = nm
                score = W[:, i:i + m] ** 2 / d2[i:i + m]
                ref = torch.from_numpy(smallest_mask(score.numpy(), n, m) == 0)
                srt = torch.sort(score, dim=1)[0]
                # a flip is only a tie when the n-th and n+1-th scores nearly meet
                cut = ((srt[:, n - 1] + srt[:, min(n, m - 1)]) / 2).unsqueeze(1)
                prune[:, i:i + m] = follow(ref, ms_prune[:, i:i + m], score,
                                           cut.expand_as(score))
            col = W[:, i]
            q = torch.where(prune[:, i], torch.zeros_like(col), col)
            err = (col - q) / U[i, i]
            W[:, i] = q
            W[:, i + 1:] -= torch.outer(err, U[i, i + 1:])
    case.exact(name + ".mask", out[name + ".mask"], (~prune).numpy().astype(np.uint8))
    case.close(name, out[name], W.numpy())
    if near:
        case.notes.append(f"{name}: {near} near-tie mask entries")


def check_wanda(case, w, x, out, name, sparsity, nm):
    s = (x.astype(np.float64) ** 2).sum(0) / x.shape[0]
    metric = (torch.from_numpy(np.abs(w)) * torch.sqrt(torch.from_numpy(s.astype(np.float32))))
    metric = metric.numpy()
    if nm is None:
        k = int(w.shape[1] * sparsity)
        order = np.argsort(metric, axis=1, kind="stable")
        mask = np.ones(w.shape, np.uint8)
        np.put_along_axis(mask, order[:, :k], 0, axis=1)
    else:
        mask = smallest_mask(metric, *nm)
    case.exact(name + ".mask", out[name + ".mask"], mask)
    case.close(name, out[name], w * mask)


# ---- the cases ----

def cases():
    for s in (0.0, 0.3, 0.5, 0.9):
        yield ["prune", "--sparsity", str(s)]
    for st in ("2:4", "1:4", "4:8"):
        yield ["prune", "--structure", st]
    for s in (0.25, 0.5):
        yield ["prune", "--structure", "channel", "--sparsity", str(s)]
    yield ["quant", "--bits", "8", "--strategy", "channel"]
    yield ["quant", "--bits", "8", "--strategy", "tensor"]
    yield ["quant", "--bits", "4", "--strategy", "group", "--group-size", "32"]
    yield ["quant", "--bits", "4", "--strategy", "group", "--group-size", "32", "--asym"]
    yield ["quant", "--bits", "8", "--strategy", "channel", "--asym"]
    yield ["quant", "--bits", "2", "--strategy", "channel"]
    yield ["quant", "--type", "fp8", "--strategy", "channel"]
    yield ["quant", "--type", "fp8", "--strategy", "tensor"]
    yield ["gptq", "--bits", "8", "--strategy", "channel"]
    yield ["gptq", "--bits", "4", "--strategy", "channel", "--actorder", "static"]
    yield ["gptq", "--bits", "4", "--strategy", "group", "--group-size", "32", "--asym",
           "--block-size", "32"]
    yield ["gptq", "--bits", "4", "--strategy", "group", "--group-size", "32",
           "--actorder", "weight"]
    yield ["gptq", "--bits", "4", "--strategy", "group", "--group-size", "32",
           "--actorder", "group", "--dampening-frac", "0.05"]
    yield ["gptq", "--bits", "8", "--strategy", "tensor", "--block-size", "64"]
    yield ["sparsegpt", "--sparsity", "0.5"]
    yield ["sparsegpt", "--sparsity", "0.7", "--block-size", "32"]
    yield ["sparsegpt", "--structure", "2:4"]
    yield ["sparsegpt", "--structure", "2:4", "--block-size", "32", "--dampening-frac", "0.1"]
    yield ["wanda", "--sparsity", "0.5"]
    yield ["wanda", "--sparsity", "0.3"]
    yield ["wanda", "--structure", "2:4"]


def opt(args, key, default=None):
    return args[args.index(key) + 1] if key in args else default


def check(case, args, weights, calib, out):
    op = args[0]
    for name in weights:
        w = weights[name]
        if name not in out:
            case.problems.append(f"{name}: missing from the output")
            continue
        structure = opt(args, "--structure", "unstructured")
        sparsity = float(opt(args, "--sparsity", "0.5"))
        nm = tuple(map(int, structure.split(":"))) if ":" in structure else None
        bits, typ = int(opt(args, "--bits", "8")), opt(args, "--type", "int")
        strategy, gs = opt(args, "--strategy", "channel"), int(opt(args, "--group-size", "0"))
        sym = "--asym" not in args
        block, damp = int(opt(args, "--block-size", "128")), float(opt(args, "--dampening-frac",
                                                                       "0.01"))
        x = calib.get(name + ".inputs")
        if op == "prune":
            mask = prune_mask(w, structure, sparsity)
            case.exact(name + ".mask", out[name + ".mask"], mask)
            case.close(name, out[name], w * mask)
        elif op == "quant":
            check_quant(case, w, out, name, bits, typ, strategy, gs, sym)
        elif op == "gptq":
            actorder = {"static": "weight"}.get(opt(args, "--actorder", "none"),
                                                 opt(args, "--actorder", "none"))
            check_gptq(case, w, x, out, name, bits, strategy, gs, sym, actorder, damp)
        elif op == "sparsegpt":
            check_sparsegpt(case, w, x, out, name, sparsity, nm, block, damp)
        elif op == "wanda":
            check_wanda(case, w, x, out, name, sparsity, nm)


def main():
    modsim = sys.argv[1]
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as d:
        weights, calib = make_inputs(d)
        passed = failed = 0
        for n, args in enumerate(cases()):
            case = Case(" ".join(args))
            out_path = os.path.join(d, f"out{n}.safetensors")
            cmd = [modsim, "kernel", *args, "--outputs", "all", "--in", os.path.join(d, "w.safetensors")]
            if args[0] in ("gptq", "sparsegpt", "wanda"):
                cmd += ["--calib", os.path.join(d, "calib.safetensors")]
            outs = []
            for threads in ("2", "1"):
                path = out_path + threads
                r = subprocess.run(cmd + ["--out", path, "--threads", threads],
                                   capture_output=True, text=True)
                if r.returncode != 0 or r.stdout:
                    case.problems.append(f"--threads {threads}: exit {r.returncode}, "
                                         f"stdout {r.stdout!r}: {r.stderr}")
                else:
                    outs.append(stio.read(path)[0])
            if len(outs) == 2:
                # the kernels promise the same bits whatever the thread count
                for key in outs[0]:
                    if not np.array_equal(outs[0][key], outs[1][key]):
                        case.problems.append(f"{key}: --threads 2 and 1 differ")
                try:
                    check(case, args, weights, calib, outs[0])
                except Exception as e:  # a reference failure must show, not crash the run
                    case.problems.append(f"reference raised {type(e).__name__}: {e}")
            ok = not case.problems
            passed += ok
            failed += not ok
            note = f" ({'; '.join(case.notes)})" if case.notes else ""
            print(f"{'PASS' if ok else 'FAIL'} {case.label}{note}")
            for p in case.problems:
                print(f"    {p}")
        print(f"{passed} passed, {failed} failed")
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
