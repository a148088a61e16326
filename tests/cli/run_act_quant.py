#!/usr/bin/env python3
"""`modsim run --format json` with static input activations (issue 10): the
`act` column, and each static input_scale equal to what a numpy reference
(written from compressed-tensors' calculate_qparams and llm-compressor's
observers, not from modsim) computes from layer 0's calibration inputs: the
embedded tokens through input_layernorm, unquantized (the calibration
forwards run under DisableQuantization). memoryless_minmax (the default)
keeps the last calibration batch's min/max, static_minmax those of all.
--threads 1 and 2 print the same bytes; a dynamic per-token scheme shows
8/tok and changes the figures, not the weights' error."""
import json
import sqlite3
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import stio  # noqa: E402

modsim, root = sys.argv[1], sys.argv[2]
failures = []

RECIPE = """\
quant_stage:
  quant_modifiers:
    QuantizationModifier:
      ignore: [lm_head]
      config_groups:
        group_0:
          targets: [Linear]
          weights: {num_bits: 8, type: int, symmetric: true, strategy: channel}
          input_activations: {num_bits: 8, type: int, symmetric: true, strategy: tensor}
        group_1:
          targets: ['re:.*k_proj$']
          weights: {num_bits: 8, type: int, symmetric: true, strategy: channel}
          input_activations: {num_bits: 8, type: int, symmetric: true, strategy: tensor,
                              observer: static_minmax}
"""
DYNAMIC = """\
quant_stage:
  quant_modifiers:
    QuantizationModifier:
      ignore: [lm_head]
      scheme: W8A8
"""
WEIGHTS = """\
quant_stage:
  quant_modifiers:
    QuantizationModifier:
      ignore: [lm_head]
      config_groups:
        group_0:
          targets: [Linear]
          weights: {num_bits: 8, type: int, symmetric: true, strategy: channel}
"""


def check(name, cond, detail=""):
    if not cond:
        failures.append(f"{name}: {detail}")


sizes = {}


def run(recipe, tokens, threads):
    p = subprocess.run([modsim, "run", "--no-history", recipe, "--calib-tokens", tokens,
                        "--format", "json", "--threads", str(threads)],
                       capture_output=True, text=True, timeout=300)
    check(f"{os.path.basename(recipe)} runs", p.returncode == 0 and not p.stderr, p.stderr)
    objs = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    sizes[recipe] = next((o["compressed_bytes"] for o in objs if "compressed_bytes" in o), None)
    return p.stdout, {o["module"]: o for o in objs if "module" in o}, \
        next((o for o in objs if "kl" in o), {})


def scale(mn, mx):
    """calculate_qparams for symmetric int8: max(|min(mn, 0)|, max(mx, 0)) / 127.5."""
    mn, mx = np.float32(min(mn, 0)), np.float32(max(mx, 0))
    return np.float32(max(abs(mn), abs(mx))) / np.float32(127.5)


with tempfile.TemporaryDirectory() as tmp:
    rng = np.random.default_rng(5)
    ids = rng.integers(0, 256, size=(4, 32))
    tokens = os.path.join(tmp, "ids.jsonl")
    with open(tokens, "w") as f:
        for row in ids:
            f.write(json.dumps([int(v) for v in row]) + "\n")
    paths = {}
    for name, text in (("static", RECIPE), ("dynamic", DYNAMIC), ("weights", WEIGHTS)):
        paths[name] = os.path.join(tmp, name + ".yaml")
        with open(paths[name], "w") as f:
            f.write(text)
    base = os.path.join(tmp, "base.safetensors")
    subprocess.run([modsim, "model", "save", "tiny", "-o", base], check=True, capture_output=True)
    w, _ = stio.read(base)

    out1, rows, _ = run(paths["static"], tokens, 1)
    out2, _, _ = run(paths["static"], tokens, 2)
    check("threads 1 and 2 identical", out1 == out2)
    check("act column", rows.get("model.layers.0.self_attn.q_proj", {}).get("act") == "8/st"
          and rows.get("lm_head", {}).get("act") is None, rows.get("lm_head"))

    # layer 0's q/k/v input: RMSNorm of the embedded tokens, per sequence
    emb = w["model.embed_tokens.weight"].astype(np.float32)[ids]
    ss = (emb.astype(np.float64) ** 2).mean(axis=-1, keepdims=True)
    inv = (1.0 / np.sqrt(ss + 1e-5)).astype(np.float32)
    x = w["model.layers.0.input_layernorm.weight"].astype(np.float32) * (emb * inv)
    last = x[-1]
    want_q = scale(last.min(), last.max())     # memoryless_minmax: the last batch
    want_k = scale(x.min(), x.max())           # static_minmax: every batch
    got_q = rows["model.layers.0.self_attn.q_proj"].get("input_scale", 0)
    got_k = rows["model.layers.0.self_attn.k_proj"].get("input_scale", 0)
    check("q_proj input_scale (memoryless_minmax)", abs(got_q - want_q) <= 1e-6 * want_q,
          (got_q, want_q))
    check("k_proj input_scale (static_minmax)", abs(got_k - want_k) <= 1e-6 * want_k,
          (got_k, want_k))
    check("the two observers differ here", want_q != want_k, (want_q, want_k))
    check("every static module calibrated", all(
        r.get("input_scale", 0) > 0 for n, r in rows.items() if n != "lm_head"))

    _, drows, dfig = run(paths["dynamic"], tokens, 1)
    _, wrows, wfig = run(paths["weights"], tokens, 1)
    check("dynamic per token", drows["model.layers.3.mlp.down_proj"].get("act") == "8/tok",
          drows["model.layers.3.mlp.down_proj"])
    check("same weights", all(drows[n]["rel_error"] == wrows[n]["rel_error"] for n in wrows))
    check("activations change the figures", dfig.get("kl") != wfig.get("kl"), (dfig, wfig))
    # input_scale: one F32 value per static Linear (28), symmetric: no zero point
    # the history keeps the act column (schema 5)
    db = os.path.join(tmp, "h.db")
    p = subprocess.run([modsim, "run", paths["dynamic"], "--calib", "2x8", "--history", db],
                       capture_output=True, text=True, timeout=300)
    con = sqlite3.connect(db)
    kept = dict(con.execute("SELECT module, act FROM modules"))
    con.close()
    check("history keeps act", p.returncode == 0 and kept.get("model.layers.0.mlp.up_proj") ==
          "8/tok" and kept.get("lm_head") is None, (p.stderr, kept.get("lm_head")))
    check("input scales in the size", sizes[paths["static"]] - sizes[paths["weights"]] == 28 * 4,
          sizes)

for f in failures:
    print("FAIL", f)
sys.exit(1 if failures else 0)
