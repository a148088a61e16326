#!/usr/bin/env python3
"""The calibration data of a model-backed run (issue 10), end to end on tiny:
--calib-tokens with JSON Lines and with a safetensors integer tensor, --calib
with a text file (byte ids), on `modsim run` and `modsim trace --model`;
ids outside the vocabulary, ragged lines, non-integer tensors and option
clashes refused naming the file, the line (or tensor index) and the id;
trace --metrics' model figures; the compressed-tensors size in the report."""
import json
import os
import random
import struct
import subprocess
import sys
import tempfile

modsim, root = sys.argv[1], sys.argv[2]
recipe = os.path.join(root, "samples", "recipes",
                      "llmcompressor__transformers__compression__recipes__sparse_24.yaml")
failures = []


def check(name, cond, detail=""):
    if not cond:
        failures.append(f"{name}: {detail}")


def run(*args, cmd="run"):
    return subprocess.run([modsim, cmd, *args], capture_output=True, timeout=300)


def write_safetensors(path, tensors):
    """name -> (dtype, shape, little-endian bytes)"""
    header, blobs, offset = {}, [], 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def figures(out):
    return [json.loads(l) for l in out.decode().splitlines() if "perplexity" in l][0]


rng = random.Random(7)
seqs = [[rng.randrange(256) for _ in range(32)] for _ in range(4)]
with tempfile.TemporaryDirectory() as tmp:
    def path(name):
        return os.path.join(tmp, name)

    with open(path("ids.jsonl"), "w") as f:
        f.write("\n".join(json.dumps(s) for s in seqs) + "\n\n")  # blank lines are skipped
    flat = [i for s in seqs for i in s]
    write_safetensors(path("ids.safetensors"),
                      {"input_ids": ("I64", [4, 32], struct.pack(f"<{len(flat)}q", *flat))})
    # the same ids, as JSON Lines and as a tensor: the same run
    a = run(recipe, "--calib-tokens", path("ids.jsonl"), "--format", "json")
    b = run(recipe, "--calib-tokens", path("ids.safetensors"), "--format", "json")
    c = run(recipe, "--calib", "4x32", "--format", "json")
    check("jsonl runs", a.returncode == 0, a.stderr.decode())
    check("safetensors runs", b.returncode == 0, b.stderr.decode())
    if a.returncode == 0 and b.returncode == 0 and c.returncode == 0:
        check("jsonl == safetensors", a.stdout == b.stdout)
        check("the ids are used, not random ones", a.stdout != c.stdout)
        check("figures", figures(a.stdout)["kl"] > 0, figures(a.stdout))

    with open(path("text.txt"), "w") as f:
        f.write(open(os.path.join(root, "README.md")).read()[:300])  # 2 sequences of 128
    p = run(recipe, "--calib", path("text.txt"), "--format", "json")
    check("text runs", p.returncode == 0, p.stderr.decode())
    # a text is its bytes: the same as writing the byte ids out
    data = open(path("text.txt"), "rb").read()
    with open(path("bytes.jsonl"), "w") as f:
        for k in range(min(16, len(data) // 128)):
            f.write(json.dumps(list(data[k * 128:(k + 1) * 128])) + "\n")
    q = run(recipe, "--calib-tokens", path("bytes.jsonl"), "--format", "json")
    check("text == its byte ids", p.returncode == 0 and p.stdout == q.stdout, q.stderr.decode())

    # trace --model takes them too; the trace is the same as with random tokens
    t = run(recipe, "--model", "tiny", "--calib-tokens", path("ids.jsonl"), cmd="trace")
    u = run(recipe, "--model", "tiny", "--calib", "4x32", cmd="trace")
    check("trace --calib-tokens", t.returncode == 0 and t.stdout == u.stdout, t.stderr.decode())

    # --metrics: after a call that changed the weights, the model's figures
    m = run(recipe, "--model", "tiny", "--calib-tokens", path("ids.jsonl"), "--metrics", cmd="trace")
    check("trace --metrics", m.returncode == 0, m.stderr.decode())
    lines = [json.loads(l) for l in m.stdout.decode().splitlines()]
    model_level = [l for l in lines if "metric" in l and "module" not in l]
    changed = sorted({l["call"] for l in lines if "module" in l})
    check("figures after each changing call", sorted({l["call"] for l in model_level}) == changed
          and len(model_level) == 3 * len(changed) and changed, (changed, model_level[:3]))
    for l in model_level:
        check("figure keys", set(l) == {"call", "metric", "value"} and
              l["metric"] in ("perplexity", "kl", "top1"), l)
    if model_level:
        k = lines.index(model_level[0])
        # they follow the call's state line
        check("after the state line", "state" in lines[k - 1] and
              lines[k - 1]["call"] == model_level[0]["call"], lines[k - 1])
        last = {l["metric"]: l["value"] for l in model_level[-3:]}
        final = figures(a.stdout)
        check("the last figures are the run's", abs(last["kl"] - final["kl"]) < 1e-5 * final["kl"]
              and abs(last["top1"] - final["top1"]) < 1e-5, (last, final))
    check("without --metrics unchanged", t.stdout == run(recipe, cmd="trace").stdout)

    def refused(name, args, *needles, cmd="run"):
        p = run(*args, cmd=cmd)
        err = p.stderr.decode()
        check(name + " exit 2", p.returncode == 2, (p.returncode, err))
        check(name + " stdout empty", p.stdout == b"", p.stdout[:200])
        for n in needles:
            check(f"{name} says {n!r}", n in err, err)

    with open(path("bad.jsonl"), "w") as f:
        f.write("[1, 2, 3]\n\n[4, 5, 300]\n")
    refused("id past vocab (jsonl)", [recipe, "--calib-tokens", path("bad.jsonl")],
            "bad.jsonl:3:8: error E-CALIB-TOKENS", "token id 300", "0 to 255")
    with open(path("neg.jsonl"), "w") as f:
        f.write("[-1]\n")
    refused("negative id", [recipe, "--calib-tokens", path("neg.jsonl")], "neg.jsonl:1:2",
            "token id -1")
    with open(path("ragged.jsonl"), "w") as f:
        f.write("[1, 2, 3]\n[4, 5]\n")
    refused("ragged", [recipe, "--calib-tokens", path("ragged.jsonl")], "ragged.jsonl:2:1",
            "line 2 has 2 token ids, line 1 has 3")
    with open(path("floats.jsonl"), "w") as f:
        f.write("[1, 2.5]\n")
    refused("float ids", [recipe, "--calib-tokens", path("floats.jsonl")], "floats.jsonl:1:",
            "not a JSON array of token ids")
    open(path("empty.jsonl"), "w").close()
    refused("empty", [recipe, "--calib-tokens", path("empty.jsonl")], "holds no token ids")
    ids = list(range(16))
    ids[11] = 999
    write_safetensors(path("bad.safetensors"),
                      {"ids": ("I32", [2, 8], struct.pack("<16i", *ids))})
    refused("id past vocab (safetensors)", [recipe, "--calib-tokens", path("bad.safetensors")],
            "tensor 'ids' [1, 3]: token id 999")
    write_safetensors(path("float.safetensors"),
                      {"ids": ("F32", [2, 2], struct.pack("<4f", 0, 1, 2, 3))})
    refused("float tensor", [recipe, "--calib-tokens", path("float.safetensors")],
            "tensor 'ids' is F32 [2, 2]", "integer tensor [batch, seq]")
    write_safetensors(path("two.safetensors"),
                      {"a": ("I32", [1, 1], struct.pack("<i", 1)),
                       "b": ("I32", [1, 1], struct.pack("<i", 2))})
    refused("which tensor", [recipe, "--calib-tokens", path("two.safetensors")],
            "'a', 'b'", "input_ids")
    refused("missing file", [recipe, "--calib-tokens", path("none.jsonl")], "none.jsonl")
    refused("--calib neither", [recipe, "--calib", "nofile"], "--calib 'nofile'", "16x128",
            "text file")
    refused("both", [recipe, "--calib", "4x32", "--calib-tokens", path("ids.jsonl")],
            "--calib and --calib-tokens")
    refused("trace without a model", [recipe, "--calib-tokens", path("ids.jsonl")],
            "E-RUN-MODEL", "--calib-tokens acts on a model", "--model", cmd="trace")
    refused("--metrics without a model", [recipe, "--metrics"], "--metrics acts on a model",
            cmd="trace")

# The size as compressed-tensors stores the model (compressed_tensors at
# 3739ac98: quantized_compressors/pack_quantized.py compression_param_info,
# sparse_compressors/sparse_24_bitmask.py sparse24_bitmask_compress),
# recomputed here from the module shapes.
shapes = {m["name"]: (m["shape"], m["class"]) for m in
          json.loads(subprocess.run([modsim, "model", "show", "tiny", "--format", "json"],
                                    capture_output=True).stdout)["modules"]}
dense = sum(4 * (s[0] * (s[1] if len(s) > 1 else 1)) for s, _ in shapes.values() if s)


def size_of(out):
    return [json.loads(l) for l in out.decode().splitlines() if "compressed_bytes" in l][0]


with tempfile.TemporaryDirectory() as tmp:
    asym = os.path.join(tmp, "asym.yaml")
    with open(asym, "w") as f:
        f.write("q_stage:\n  q_modifiers:\n    QuantizationModifier:\n"
                "      scheme: W4A16_ASYM\n      targets: [Linear]\n      ignore: [lm_head]\n")
    p = run(asym, "--calib", "2x16", "--format", "json")
    check("asym runs", p.returncode == 0, p.stderr.decode())
    if p.returncode == 0:
        rows = {l["module"]: l for l in map(json.loads, p.stdout.decode().splitlines())
                if "module" in l}
        want = dense
        packed = 0
        for name, r in rows.items():
            (out_f, in_f), _ = shapes[name]
            if r["bits"] == 4:
                packed += 1
                groups = in_f // 128
                want += -4 * out_f * in_f + out_f * -(-in_f // 8) * 4 + out_f * groups * 4 + 8 \
                    + -(-out_f // 8) * groups * 4
        got = size_of(p.stdout)
        # down_proj (688 columns) does not fit group 128: left dense
        check("asym: every Linear but down_proj and lm_head packed", packed == 24, packed)
        check("asym size", got == {"compressed_bytes": want, "dense_bytes": dense,
                                   "ratio": round(want / dense, 6),
                                   "formats": {"pack-quantized": 24, "float-quantized": 0,
                                               "sparse-24-bitmask": 0}}, (got, want))
    p = run(recipe, "--calib", "2x16", "--format", "json")
    if p.returncode == 0:
        want = dense
        for name, (shape, cls) in shapes.items():
            if cls == "Linear" and name != "lm_head":
                out_f, in_f = shape
                want += -4 * out_f * in_f + out_f * in_f // 2 * 4 + out_f * -(-in_f // 8) + 16
        got = size_of(p.stdout)
        check("2:4 size", got["compressed_bytes"] == want and
              got["formats"]["sparse-24-bitmask"] == 28, (got, want))
    t = run(recipe, "--calib", "2x16")
    check("text size line", b"as compressed-tensors stores it, dense %d" % dense in t.stdout,
          t.stdout[-300:])

for f in failures:
    print("FAIL", f)
print(f"world_data: {len(failures)} failures")
sys.exit(1 if failures else 0)
