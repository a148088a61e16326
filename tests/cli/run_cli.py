#!/usr/bin/env python3
"""`modsim run` end to end on samples/models/tiny.yaml: the per-module table
names each Linear's class, owning modifier, sparsity, bits and error; the
work happens where upstream does it (SparseGPT 2:4 prunes half of every
Linear it targets, GPTQ quantizes to the scheme's bits, lm_head ignored);
results are bit-identical across --threads 1 and 2; bad options are one
message and exit status 2. modsim trace --model gives the same trace, and
--metrics (or a scenario's model: key) a line per module a hook changed."""
import json
import os
import subprocess
import sys
import tempfile

modsim, root = sys.argv[1], sys.argv[2]
tiny = os.path.join(root, "samples", "models", "tiny.yaml")
recipes = os.path.join(root, "samples", "recipes")
failures = []


def run(*args):
    return subprocess.run([modsim, "run", *args], capture_output=True, timeout=300)


def rows_of(out):
    lines = [json.loads(l) for l in out.decode().splitlines()]
    return ([l for l in lines if "module" in l], [l for l in lines if "perplexity" in l],
            [l for l in lines if "call" in l])


def check(name, cond, detail=""):
    if not cond:
        failures.append(f"{name}: {detail}")


sparse = os.path.join(recipes, "llmcompressor__transformers__compression__recipes__sparse_24.yaml")
p = run(sparse, "--calib", "4x32", "--format", "json")  # tiny is the default
check("sparse_24 runs", p.returncode == 0, p.stderr.decode())
if p.returncode == 0:
    mods, figures, calls = rows_of(p.stdout)
    check("29 Linears", len(mods) == 29, len(mods))
    for m in mods:
        if m["module"] == "lm_head":
            check("lm_head ignored", m["modifier"] is None and m["sparsity"] == 0, m)
        else:
            check("2:4 halves " + m["module"], m["type"] == "SparseGPTModifier" and
                  m["sparsity"] == 0.5 and m["bits"] is None and 0 < m["rel_error"] < 1, m)
        check("class", m["class"] == "Linear", m)
    f = figures[0]
    check("figures", f["perplexity"] > 1 and 0 < f["kl"] and 0 <= f["top1"] <= 1, f)
    check("transitions", {"call": 1, "event": "calibration_epoch_start", "modifier": 0,
                          "type": "SparseGPTModifier", "started": True} in calls, calls)

channel = os.path.join(recipes,
                       "llmcompressor__transformers__compression__recipes__new_quant_channel.yaml")
with tempfile.TemporaryDirectory() as tmp:
    outs = []
    for threads in ("1", "2"):
        w = os.path.join(tmp, f"w{threads}.safetensors")
        p = run(channel, "--model", "tiny" if threads == "1" else tiny, "--calib", "4x32", "--threads", threads,
                "--save-weights", w)
        check(f"threads {threads}", p.returncode == 0, p.stderr.decode())
        outs.append((p.stdout, open(w, "rb").read() if os.path.exists(w) else b""))
    check("threads 1 and 2 agree", outs[0] == outs[1] and outs[0][1], "outputs differ")
    text = outs[0][0].decode()
    # the scheme QuantizationModifier attached is the one GPTQ quantizes with
    # (gptq/base.py on_start at 0.12): 4 bits, the ignored down_proj untouched
    q = [l for l in text.splitlines() if l.startswith("model.layers.1.self_attn.q_proj")]
    check("GPTQ row", q and q[0].split()[2] == "GPTQModifier[1]" and q[0].split()[4] == "4", q)
    d = [l for l in text.splitlines() if l.startswith("model.layers.0.mlp.down_proj")]
    check("ignored row", d and d[0].split()[2] == "-", d)
    # 0.13's on_sequential_epoch_end overrides do 0.12's on_event work
    # (gptq/base.py:240, sgpt_base.py:176 at ab1ba3eff)
    got = []
    for up in ("0.12", "0.13"):
        w = os.path.join(tmp, f"u{up}.safetensors")
        p = run(sparse, "--calib", "4x32", "--upstream", up, "--save-weights", w)
        got.append(open(w, "rb").read() if p.returncode == 0 else up)
    check("0.12 and 0.13 give the same weights", got[0] == got[1], "differ")


def refused(name, args, needle):
    p = run(*args)
    err = p.stderr.decode()
    check(name, p.returncode == 2 and not p.stdout and needle in err, f"rc={p.returncode} {err!r}")


refused("no recipe", ["--model", "tiny"], "which recipe?")
refused("bad calib", [sparse, "--model", tiny, "--calib", "4by32"], "--calib '4by32' is not valid")
refused("bad threads", [sparse, "--model", tiny, "--threads", "0"], "--threads '0' is not valid")
refused("missing model", [sparse, "--model", "/nonexistent/m.yaml"], "/nonexistent/m.yaml")
refused("layers differ", [sparse, "--model", tiny, "--layers", "7"], "E-RUN-LAYERS")


# modsim trace --model: the same trace; --metrics adds a line per module a
# hook changed, after that hook's line (shared/spec/scenario-and-trace.md)
def trace(*args):
    return subprocess.run([modsim, "trace", *args], capture_output=True, timeout=300)


plain = trace(sparse)
with_model = trace(sparse, "--model", "tiny")
check("trace --model is the same trace", plain.returncode == 0 and plain.stdout == with_model.stdout,
      with_model.stderr.decode())
m = trace(sparse, "--model", "tiny", "--metrics")
lines = [json.loads(l) for l in m.stdout.decode().splitlines()]
metrics = [l for l in lines if "metric" in l and "module" in l]  # model figures: world_data.py
check("28 metric lines", len(metrics) == 28 and all(l["value"] == 0.5 and l["metric"] == "sparsity"
                                                   for l in metrics), metrics[:2])
first = lines.index(metrics[0]) if metrics else 0
check("after the hook", metrics and lines[first - 1].get("hook") == "on_event" and
      lines[first - 1]["event"] == "sequential_epoch_end" and metrics[0]["call"] == 3,
      lines[first - 1:first + 1])
check("without --metrics none", not [l for l in with_model.stdout.decode().splitlines()
                                     if '"metric"' in l], "")

with tempfile.TemporaryDirectory() as tmp:
    sc = os.path.join(tmp, "s.yaml")
    body = """index: upstream
model: {model}
recipe: |
  s_stage:
    m_modifiers:
      SparseGPTModifier: {{sparsity: 0.5, targets: [Linear], ignore: [lm_head]}}
calls:
  - initialize
  - {{event: calibration_epoch_start}}
  - {{event: sequential_epoch_end}}
  - {{event: calibration_epoch_end}}
  - finalize
"""
    with open(sc, "w") as f:
        f.write(body.format(model="missing.yaml"))
    p = trace(sc)
    err = p.stderr.decode()
    check("scenario model missing", p.returncode == 2 and not p.stdout and
          f"{sc}:2:8: error E-IO: model: no model '{tmp}/missing.yaml'" in err, err)
    with open(sc, "w") as f:
        f.write(body.format(model=tiny))
    p = trace(sc, "--metrics")
    got = [json.loads(l) for l in p.stdout.decode().splitlines() if '"module"' in l]
    # a sequential_epoch_end without modules is the whole model
    check("scenario model", p.returncode == 0 and len(got) == 28 and got[0]["call"] == 2, got[:1])


# AWQ then W4A16 (group 16, so that every Linear of tiny takes it): the
# smoothing lowers the KL against the uncompressed model (tiny's outlier
# channels are what AWQ protects); bit-identical across threads and profiles
with tempfile.TemporaryDirectory() as tmp:
    quant = """s_stage:
  m_modifiers:
    QuantizationModifier:
      ignore: [lm_head]
      config_groups:
        g:
          targets: [Linear]
          weights: {num_bits: 4, type: int, symmetric: true, strategy: group, group_size: 16}
"""
    awq_r, quant_r = os.path.join(tmp, "awq.yaml"), os.path.join(tmp, "q.yaml")
    with open(quant_r, "w") as f:
        f.write(quant)
    with open(awq_r, "w") as f:
        f.write(quant.replace("  m_modifiers:\n", "  m_modifiers:\n    AWQModifier: {}\n"))
    kl, saved = {}, {}
    for name, r, extra in (("awq", awq_r, []), ("quant", quant_r, []),
                           ("awq2", awq_r, ["--threads", "2"]), ("awq13", awq_r, ["--upstream", "0.13"])):
        w = os.path.join(tmp, name + ".safetensors")
        p = run(r, "--calib", "8x64", "--format", "json", "--save-weights", w, *extra)
        check("awq run " + name, p.returncode == 0, p.stderr.decode())
        if p.returncode == 0:
            mods, figures, _ = rows_of(p.stdout)
            kl[name] = figures[0]["kl"]
            saved[name] = open(w, "rb").read()
            if name == "awq":
                q = [m for m in mods if m["module"] == "model.layers.2.self_attn.q_proj"]
                check("awq q_proj quantized after smoothing", q and q[0]["bits"] == 4 and
                      q[0]["type"] == "QuantizationModifier", q)
    check("awq lowers the KL", len(kl) == 4 and kl["awq"] < 0.9 * kl["quant"], kl)
    check("awq threads and profiles agree", len(saved) == 4 and saved["awq"] == saved["awq2"] ==
          saved["awq13"] and saved["awq"] != saved["quant"], "weights differ")

for f in failures:
    print("FAIL", f)
sys.exit(1 if failures else 0)
