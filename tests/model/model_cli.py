#!/usr/bin/env python3
"""modsim model show/save end to end: the module list (text and JSON) agrees
with the layout Hugging Face's LlamaForCausalLM has for the tiny spec, the
parameter count is the sum of the weights' sizes, save writes a safetensors
file whose tensors are exactly those modules' weights, and bad input exits 2
with a line naming it.

usage: model_cli.py MODSIM"""
import json
import os
import struct
import subprocess
import sys
import tempfile

MODSIM = sys.argv[1]


def run(*args):
    return subprocess.run([MODSIM, *args], capture_output=True, text=True, timeout=60)


def st_header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n)), os.path.getsize(path) - 8 - n


def main():
    r = run("model", "show", "tiny", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["architecture"] == "LlamaForCausalLM", doc["architecture"]
    mods = {m["name"]: m for m in doc["modules"]}
    # tiny.yaml: hidden 256, intermediate 688, 8 heads, 4 kv heads, vocab 256, 4 layers
    assert mods["model.layers.0.self_attn.k_proj"]["shape"] == [128, 256]
    assert mods["model.layers.3.mlp.down_proj"]["shape"] == [256, 688]
    assert mods["model.layers.3.mlp.down_proj"]["class"] == "Linear"
    assert mods["model.layers.1"]["class"] == "LlamaDecoderLayer"
    assert mods["model.norm"]["shape"] == [256] and mods["model.norm"]["class"] == "LlamaRMSNorm"
    assert mods["model.layers"]["dtype"] is None and mods["lm_head"]["dtype"] == "F32"
    assert doc["modules"][0]["name"] == "" and len(doc["modules"]) == 2 + 2 + 4 * 13 + 3
    total = 0
    for m in doc["modules"]:
        n = 1
        for d in m["shape"]:
            n *= d
        total += n if m["shape"] else 0
    assert doc["parameters"] == total == 3033344, (doc["parameters"], total)

    r = run("model", "show", "tiny")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "tiny: LlamaForCausalLM, 3033344 parameters, 59 modules", lines[0]
    assert any(l.split() == ["model.layers.0.self_attn.q_proj", "Linear", "[256,", "256]", "F32"]
               for l in lines), r.stdout

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "w.safetensors")
        r = run("model", "save", "tiny", "-o", out)
        assert r.returncode == 0, r.stderr
        header, data = st_header(out)
        tensors = {k: v for k, v in header.items() if k != "__metadata__"}
        want = {m["name"] + ".weight": m["shape"] for m in doc["modules"] if m["shape"]}
        assert {k: v["shape"] for k, v in tensors.items()} == want
        assert all(v["dtype"] == "F32" for v in tensors.values())
        assert data == 4 * total
        assert header["__metadata__"]["hidden_size"] == "256"
        assert os.listdir(tmp) == ["w.safetensors"], os.listdir(tmp)  # no temporary left

        r = run("model", "save", "tiny", "-o", os.path.join(tmp, "no", "w.safetensors"))
        assert r.returncode == 2 and "no" in r.stderr, r.stderr

        spec = os.path.join(tmp, "bad.yaml")
        with open(spec, "w") as f:
            f.write("hidden_size: 64\nnum_hidden_layers: 2\n")
        r = run("model", "show", spec)
        assert r.returncode == 2 and "bad.yaml:2:1" in r.stderr and "num_layers" in r.stderr, r.stderr

    r = run("model", "show", "tinny")
    assert r.returncode == 2 and "no model 'tinny'" in r.stderr and "tiny, small" in r.stderr, r.stderr
    r = run("model", "save", "tiny")
    assert r.returncode == 2 and "-o OUT.safetensors" in r.stderr, r.stderr
    r = run("model", "frob", "tiny")
    assert r.returncode == 2 and "unknown action 'frob'" in r.stderr, r.stderr
    r = run("model", "show", "tiny", "--format", "xml")
    assert r.returncode == 2 and "text or json" in r.stderr, r.stderr
    print("model_cli: ok")


main()
