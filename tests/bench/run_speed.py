#!/usr/bin/python3
"""`modsim run` of a sequential GPTQ W4A16 recipe (int4, symmetric, group 128,
lm_head ignored) on the bundled `small` model against the same pipeline written
plainly in torch, on the same weights (`modsim model save small`), the same
calibration shape (16 x 512 tokens by default) and the same thread count; each
under /usr/bin/time -v for its peak memory, alternating, median of the rounds.

The torch pipeline does what the run does: layer by layer, the calibration
forward through the layer with each Linear's inputs collected into Hessians
(2/n sum X^T X over the n sequences), GPTQ of the layer's Linears (Cholesky-based
inverse, lazy block updates of 128 columns), then the layer's outputs with the
quantized weights as the next layer's inputs; at the end, both models on
held-out tokens for perplexity, KL and top-1 agreement. modsim's calibration
tokens come from its own seeded generator, the reference's from numpy's (same
shape and vocabulary): the work is the same, the tokens are not.

Usage: run_speed.py MODSIM [--threads 2] [--calib 16x512] [--rounds 3]
       run_speed.py --torch-ref WEIGHTS META_JSON THREADS BATCH SEQ   (internal)
"""
import argparse
import json
import math
import os
import re
import statistics
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

RECIPE = """quant_stage:
  quant_modifiers:
    GPTQModifier:
      ignore: ["lm_head"]
      actorder: null
      config_groups:
        group_0:
          weights: {num_bits: 4, type: int, symmetric: true, strategy: group, group_size: 128}
          targets: ["Linear"]
"""


def st_read(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    data = memoryview(raw)[8 + n:]
    out = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", (name, info["dtype"])
        b, e = info["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype=np.float32).reshape(info["shape"])
    return out


def gptq(w, h, group=128, block=128, damp_frac=0.01):
    """GPTQ of one Linear from its Hessian, as tests/bench/compare.py's torch_gptq."""
    import torch
    cols = w.shape[1]
    g = w.unflatten(-1, (-1, group))
    amax = torch.maximum(g.amin(dim=2).clamp(max=0).abs(), g.amax(dim=2).clamp(min=0))
    scale = amax / 7.5
    scale = torch.where(scale == 0, torch.finfo(torch.float32).eps, scale)
    W = w.clone()
    h = h.clone()
    dead = torch.diag(h) == 0
    h[dead, dead] = 1
    W[:, dead] = 0
    idx = torch.arange(cols)
    h[idx, idx] += damp_frac * torch.mean(torch.diag(h))
    hinv = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(h)), upper=True)
    for i1 in range(0, cols, block):
        i2 = min(i1 + block, cols)
        W1 = W[:, i1:i2].clone()
        E1 = torch.zeros_like(W1)
        H1 = hinv[i1:i2, i1:i2]
        for i in range(i2 - i1):
            col = W1[:, i]
            s = scale[:, (i1 + i) // group]
            q = torch.round(torch.clamp(col / s, -8, 7)) * s
            err = (col - q) / H1[i, i]
            W1[:, i:] -= err.unsqueeze(1).matmul(H1[i, i:].unsqueeze(0))
            W1[:, i] = q
            E1[:, i] = err
        W[:, i1:i2] = W1
        W[:, i2:] -= E1.matmul(hinv[i1:i2, i2:])
    return W


def torch_reference(weights_path, meta_path, threads, batch, seq):
    import torch
    torch.set_num_threads(threads)
    from threadpoolctl import threadpool_limits
    threadpool_limits(limits=threads, user_api="blas")
    meta = json.load(open(meta_path))
    W = {k: torch.from_numpy(v.copy()) for k, v in st_read(weights_path).items()}
    if "lm_head.weight" not in W:
        W["lm_head.weight"] = W["model.embed_tokens.weight"]
    hidden, heads = meta["hidden_size"], meta["num_heads"]
    kv_heads, layers = meta["num_kv_heads"], meta["num_layers"]
    eps, theta, vocab = meta["rms_norm_eps"], meta["rope_theta"], meta["vocab_size"]
    d = hidden // heads
    inv_freq = 1.0 / theta ** (torch.arange(0, d, 2, dtype=torch.float32) / d)
    freqs = torch.arange(seq, dtype=torch.float32)[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    mask = torch.full((seq, seq), float("-inf")).triu(1)

    def norm(x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    def rope(x):
        x1, x2 = x[..., :d // 2], x[..., d // 2:]
        return x * cos + torch.cat((-x2, x1), dim=-1) * sin

    def layer(Wl, p, h, seen=None):
        def lin(name, x):
            if seen is not None:
                seen.setdefault(name, []).append(x.reshape(-1, x.shape[-1]))
            return x @ Wl[p + name + ".weight"].T
        b = h.shape[0]
        x = norm(h, Wl[p + "input_layernorm.weight"])
        q = lin("self_attn.q_proj", x).view(b, seq, heads, d).transpose(1, 2)
        k = lin("self_attn.k_proj", x).view(b, seq, kv_heads, d).transpose(1, 2)
        v = lin("self_attn.v_proj", x).view(b, seq, kv_heads, d).transpose(1, 2)
        q, k = rope(q), rope(k)
        k = k.repeat_interleave(heads // kv_heads, dim=1)
        v = v.repeat_interleave(heads // kv_heads, dim=1)
        att = torch.softmax(q @ k.transpose(2, 3) / math.sqrt(d) + mask, dim=-1) @ v
        h = h + lin("self_attn.o_proj", att.transpose(1, 2).reshape(b, seq, hidden))
        x = norm(h, Wl[p + "post_attention_layernorm.weight"])
        gate = torch.nn.functional.silu(lin("mlp.gate_proj", x))
        return h + lin("mlp.down_proj", gate * lin("mlp.up_proj", x))

    def logits(Wm, tokens):
        h = Wm["model.embed_tokens.weight"][tokens]
        for l in range(layers):
            h = layer(Wm, f"model.layers.{l}.", h)
        return norm(h, Wm["model.norm.weight"]) @ Wm["lm_head.weight"].T

    rng = np.random.default_rng(0)
    calib = torch.from_numpy(rng.integers(0, vocab, (batch, seq)))
    held = torch.from_numpy(rng.integers(0, vocab, (batch, seq)))
    Q = dict(W)
    with torch.no_grad():
        h = Q["model.embed_tokens.weight"][calib]
        for l in range(layers):
            p = f"model.layers.{l}."
            seen = {}
            layer(Q, p, h, seen)
            for name, xs in seen.items():
                if Q[p + name + ".weight"].shape[1] % 128:
                    continue  # modsim leaves a Linear the group does not divide unchanged
                x = torch.cat(xs)
                hess = (2.0 / batch) * (x.T @ x)
                Q[p + name + ".weight"] = gptq(Q[p + name + ".weight"], hess)
            h = layer(Q, p, h)
        ref, out = logits(W, held), logits(Q, held)
        lp_ref = torch.log_softmax(ref[:, :-1], -1)
        lp = torch.log_softmax(out[:, :-1], -1)
        nxt = held[:, 1:].unsqueeze(-1)
        ppl = math.exp(-float(lp.gather(-1, nxt).mean()))
        kl = float((lp_ref.exp() * (lp_ref - lp)).sum(-1).mean())
        top1 = float((ref.argmax(-1) == out.argmax(-1)).float().mean())
    print(f"torch reference: perplexity {ppl:.4f}, KL {kl:.6f}, top-1 agreement {top1:.4f}")


def timed_v(cmd, env=None):
    """Wall seconds and peak RSS (MiB) of cmd under /usr/bin/time -v."""
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"run_speed.py: {' '.join(cmd)} failed:\n{p.stdout}\n{p.stderr}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    return wall, rss / 1024, p.stdout


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--torch-ref":
        w, m, th, b, s = sys.argv[2:7]
        torch_reference(w, m, int(th), int(b), int(s))
        return 0
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("modsim")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--calib", default="16x512")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    batch, seq = (int(v) for v in args.calib.split("x"))
    spec = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../samples/models/small.yaml")
    meta = {}
    for line in open(spec):
        m = re.match(r"(\w+):\s*([0-9.eE+-]+)\s*$", line)
        if m:
            v = m.group(2)
            meta[m.group(1)] = float(v) if any(c in v for c in ".eE") else int(v)
    with tempfile.TemporaryDirectory(prefix="modsim-run-speed-") as tmp:
        recipe = os.path.join(tmp, "gptq_w4a16.yaml")
        open(recipe, "w").write(RECIPE)
        weights = os.path.join(tmp, "small.safetensors")
        subprocess.run([args.modsim, "model", "save", "small", "-o", weights], check=True,
                       capture_output=True)
        meta_path = os.path.join(tmp, "meta.json")
        json.dump(meta, open(meta_path, "w"))
        wbytes = os.path.getsize(weights)
        ms_cmd = [args.modsim, "run", recipe, "--model", "small", "--pipeline", "sequential",
                  "--calib", args.calib, "--threads", str(args.threads)]
        ref_cmd = [sys.executable, os.path.abspath(__file__), "--torch-ref", weights, meta_path,
                   str(args.threads), str(batch), str(seq)]
        load0 = os.getloadavg()
        ms, ref = [], []
        for _ in range(args.rounds):
            ms.append(timed_v(ms_cmd))
            ref.append(timed_v(ref_cmd))
        load1 = os.getloadavg()
    t_ms, t_ref = statistics.median(r[0] for r in ms), statistics.median(r[0] for r in ref)
    rss_ms, rss_ref = max(r[1] for r in ms), max(r[1] for r in ref)
    figures = [l for l in ms[-1][2].splitlines() if l.startswith("perplexity")]
    # one decoder layer's activations: the calibration hidden states in and
    # out, q/k/v/o, the MLP's gate/up/product, the attention probabilities
    tok = batch * seq
    inter = meta["intermediate_size"]
    act = 4 * (tok * (4 * meta["hidden_size"] + 3 * inter) + batch * meta["num_heads"] * seq * seq)
    print(f"# modsim run, sequential GPTQ W4A16 (group 128, lm_head ignored), model small, "
          f"calib {args.calib}, {args.threads} threads; median of {args.rounds} rounds "
          f"alternating; load average {load0[0]:.2f} at start, {load1[0]:.2f} at end")
    from threadpoolctl import threadpool_info
    import torch  # noqa: F401
    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    print("# torch BLAS: " + ", ".join(f"{i['internal_api']} {i['version']}" for i in blas))
    print("| pipeline | wall s (median) | runs | peak RSS MiB |")
    print("|---|---|---|---|")
    print(f"| modsim run | {t_ms:.2f} | {', '.join(f'{r[0]:.2f}' for r in ms)} | {rss_ms:.0f} |")
    print(f"| torch reference | {t_ref:.2f} | {', '.join(f'{r[0]:.2f}' for r in ref)} |"
          f" {rss_ref:.0f} |")
    print(f"# speed-up {t_ref / t_ms:.2f}x; weights {wbytes / 2**20:.0f} MiB (F32), one layer's "
          f"activations about {act / 2**20:.0f} MiB: modsim peak {rss_ms / (2 * wbytes / 2**20 + act / 2**20):.2f}"
          f" of 2 x weights + activations")
    print("# modsim: " + " ".join(figures))
    print("# " + ref[-1][2].strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
