#!/usr/bin/env python3
"""`modsim run --save-weights` end to end, the file read back: each Linear is
written as `modsim kernel` writes a kernel's outputs (NAME.weight, .mask,
.codes, .scale, .zero_point, .g_idx, the same dtypes), the codes and scales
the run computed (GPTQ with actorder: exact), by default what
compressed-tensors keeps (a quantized module's codes and scale, a pruned
one's weight), with --outputs choosing as `modsim kernel --outputs` does;
the other parameters are there as they are; bad --outputs is exit 2."""
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import stio  # noqa: E402

modsim, root = sys.argv[1], sys.argv[2]
recipes = os.path.join(root, "samples", "recipes")
sparse = os.path.join(recipes, "llmcompressor__transformers__compression__recipes__sparse_24.yaml")
# GPTQ, 4-bit asymmetric channels (QuantizationModifier's scheme), down_proj ignored
channel = os.path.join(recipes,
                       "llmcompressor__transformers__compression__recipes__new_quant_channel.yaml")
failures = []


def check(name, cond, detail=""):
    if not cond:
        failures.append(f"{name}: {detail}")


def run(*args):
    return subprocess.run([modsim, "run", "--no-history", *args], capture_output=True, text=True,
                          timeout=300)


def dtypes(path):
    """Name -> dtype name as the file's header gives it."""
    tensors, _ = stio.read(path)
    return {n: {np.float32: "F32", np.uint8: "U8", np.int8: "I8", np.int32: "I32"}[t.dtype.type]
            for n, t in tensors.items()}


Q = "model.layers.1.self_attn.q_proj.weight"
with tempfile.TemporaryDirectory() as tmp:
    w = os.path.join(tmp, "w.safetensors")
    # pruned: the weights, as compressed-tensors keeps a sparse model; --outputs adds the mask
    p = run(sparse, "--calib", "2x16", "--save-weights", w)
    check("sparse runs", p.returncode == 0 and not p.stderr, p.stderr)
    t, meta = stio.read(w)
    check("provenance", meta.get("modsim_run") == sparse, meta)
    check("pruned weight kept", Q in t and Q + ".mask" not in t and
          (t[Q] == 0).mean() == 0.5, sorted(t)[:6])
    check("the rest as it is", "model.embed_tokens.weight" in t and
          "model.norm.weight" in t and "model.layers.0.input_layernorm.weight" in t, sorted(t))
    p = run(sparse, "--calib", "2x16", "--save-weights", w, "--outputs", "weights,mask")
    t, _ = stio.read(w)
    check("mask", p.returncode == 0 and t[Q + ".mask"].dtype == np.uint8 and
          (t[Q + ".mask"] == (t[Q] != 0)).all(), p.stderr)

    # quantized: codes, scale and (asymmetric) zero point by default, no weight
    p = run(channel, "--calib", "2x16", "--save-weights", w)
    check("channel runs", p.returncode == 0 and not p.stderr, p.stderr)
    d = dtypes(w)
    check("default quant outputs", d.get(Q + ".codes") == "I8" and d.get(Q + ".scale") == "F32"
          and d.get(Q + ".zero_point") == "F32" and Q not in d, sorted(d)[:8])
    check("ignored down_proj keeps its weight", d.get("model.layers.0.mlp.down_proj.weight") ==
          "F32", sorted(d)[:8])
    # the same names and dtypes `modsim kernel quant` writes for the same scheme
    base, kout = os.path.join(tmp, "base.safetensors"), os.path.join(tmp, "k.safetensors")
    subprocess.run([modsim, "model", "save", "tiny", "-o", base], check=True, capture_output=True)
    k = subprocess.run([modsim, "kernel", "quant", "--in", base, "--out", kout, "--bits", "4",
                        "--strategy", "channel", "--asym", "--tensors", "q_proj", "--outputs", "all"],
                       capture_output=True, text=True)
    p = run(channel, "--calib", "2x16", "--save-weights", w, "--outputs", "all")
    kd, d = dtypes(kout), dtypes(w)
    kq = {n[len(Q):]: v for n, v in kd.items() if n.startswith(Q)}
    rq = {n[len(Q):]: v for n, v in d.items() if n.startswith(Q)}
    check("as modsim kernel names them", k.returncode == 0 and p.returncode == 0 and kq == rq and
          set(rq) == {"", ".codes", ".scale", ".zero_point"}, (k.stderr, kq, rq))
    t, _ = stio.read(w)
    back = (t[Q + ".codes"].astype(np.float32) - t[Q + ".zero_point"]) * t[Q + ".scale"]
    check("codes and scale give the weight back", np.array_equal(back, t[Q]),
          np.abs(back - t[Q]).max())

    # GPTQ with actorder: the codes, scales and zero points are the ones the
    # run computed (the world keeps them), so they give every quantized
    # weight back exactly, without W-SAVE-CODES; actorder group also writes
    # weight_g_idx (each column's group), as compressed-tensors stores it,
    # by default too
    for order in ("weight", "group"):
        r = os.path.join(recipes, f"e2e__recipes__actorder__recipe_w4a16_actorder_{order}.yaml")
        p = run(r, "--calib", "2x16", "--save-weights", w, "--outputs", "all")
        t, _ = stio.read(w)
        quantized = sorted(n[:-len(".codes")] for n in t if n.endswith(".codes"))
        exact = 0
        for q in quantized:
            s, zp, g = t[q + ".scale"], t[q + ".zero_point"], t.get(q + ".g_idx")
            cols = t[q].shape[1]
            groups = g if g is not None else np.arange(cols) // (cols // s.shape[1])
            back = (t[q + ".codes"].astype(np.float32) - zp[:, groups]) * s[:, groups]
            exact += np.array_equal(back, t[q])
        check(f"actorder {order} exact", p.returncode == 0 and "W-SAVE-CODES" not in p.stderr and
              len(quantized) == 24 and exact == 24, (p.stderr, len(quantized), exact))
        gq = t.get(Q + ".g_idx")
        check(f"actorder {order} g_idx", (gq is not None) == (order == "group") and
              (gq is None or (gq.dtype == np.int32 and gq.shape == (t[Q].shape[1],) and
                              sorted(np.bincount(gq)) == [128] * (t[Q].shape[1] // 128))),
              None if gq is None else gq[:8])
        if order == "group":
            p = run(r, "--calib", "2x16", "--save-weights", w)
            d = dtypes(w)
            check("g_idx by default", d.get(Q + ".g_idx") == "I32" and Q + ".zero_point" not in d,
                  sorted(d)[:8])

    # a modifier after GPTQ changes the weight: the codes and scales are found
    # again from it, approximately, and W-SAVE-CODES says so
    r = os.path.join(tmp, "gptq_then_sparsegpt.yaml")
    with open(r, "w") as f:
        f.write("q_stage:\n  m_modifiers:\n"
                "    GPTQModifier: {scheme: W8A16, targets: [Linear], ignore: [lm_head]}\n"
                "    SparseGPTModifier: {sparsity: 0.5, ignore: [lm_head]}\n")
    p = run(r, "--calib", "2x16", "--save-weights", w)
    check("changed after GPTQ", p.returncode == 0 and p.stderr.startswith("W-SAVE-CODES: "),
          p.stderr)

    # bad --outputs: exit 2, one message naming the option and what is valid
    before = open(w, "rb").read()
    p = run(channel, "--save-weights", w, "--outputs", "weights,packed")
    check("unknown output refused", p.returncode == 2 and "--outputs: unknown output 'packed'" in
          p.stderr and "weights" in p.stderr and not p.stdout, p.stderr)
    check("old file kept", open(w, "rb").read() == before)
    p = run(channel, "--outputs", "codes")
    check("--outputs needs --save-weights", p.returncode == 2 and "give --save-weights" in p.stderr,
          p.stderr)

for f in failures:
    print("FAIL", f)
sys.exit(1 if failures else 0)
