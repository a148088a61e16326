#!/usr/bin/env python3
"""Hugging Face checkpoint directories against torch: small Llama, Mistral and
Qwen2 checkpoints (F32, F16, BF16; one file and sharded with an index; GQA;
tied embeddings; Qwen2's q/k/v biases) are built here, safetensors written by
hand, and modsim's logits (model_tool logits) are compared with a reference
forward pass written below in torch as transformers' modeling_llama /
modeling_qwen2 compute it (transformers itself is not installed). Then the
refusals: other architectures, missing tensors, wrong shapes, bad fields.

usage: hf_checkpoints.py MODEL_TOOL MODSIM"""
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch

TOOL, MODSIM = sys.argv[1], sys.argv[2]
ST_NAMES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}


def st_write(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.contiguous()
        raw = t.view(torch.int16).numpy() if t.dtype == torch.bfloat16 else t.numpy()
        blob = raw.tobytes()
        header[name] = {"dtype": ST_NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def st_read(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    kinds = {"F32": np.float32, "I32": np.int32}
    return {k: np.frombuffer(raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]],
                             dtype=kinds[v["dtype"]]).reshape(v["shape"])
            for k, v in header.items()}


def st_read_raw(path):
    """{name: (dtype, bytes)} of a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    return {k: (v["dtype"], raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]])
            for k, v in header.items()}


def make_weights(cfg, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    h, inter, vocab = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    heads = cfg["num_attention_heads"]
    kvd = h // heads * cfg.get("num_key_value_heads", heads)
    qwen = cfg["architectures"][0] == "Qwen2ForCausalLM"
    w = {"model.embed_tokens.weight": torch.randn(vocab, h, generator=g)}
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        for name, shape in (("self_attn.q_proj", (h, h)), ("self_attn.k_proj", (kvd, h)),
                            ("self_attn.v_proj", (kvd, h)), ("self_attn.o_proj", (h, h)),
                            ("mlp.gate_proj", (inter, h)), ("mlp.up_proj", (inter, h)),
                            ("mlp.down_proj", (h, inter))):
            w[p + name + ".weight"] = torch.randn(*shape, generator=g) / math.sqrt(shape[1])
            if qwen and name in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"):
                w[p + name + ".bias"] = torch.randn(shape[0], generator=g) * 0.5
        w[p + "input_layernorm.weight"] = 1 + 0.1 * torch.randn(h, generator=g)
        w[p + "post_attention_layernorm.weight"] = 1 + 0.1 * torch.randn(h, generator=g)
    w["model.norm.weight"] = 1 + 0.1 * torch.randn(h, generator=g)
    if not cfg.get("tie_word_embeddings", False):
        w["lm_head.weight"] = torch.randn(vocab, h, generator=g) / math.sqrt(h)
    return {k: v.to(dtype) for k, v in w.items()}


def reference(cfg, w, tokens):
    """LlamaForCausalLM's forward (eager attention, no cache) in float64."""
    W = {k: v.to(torch.float64) for k, v in w.items()}
    h, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    kv = cfg.get("num_key_value_heads", heads)
    d, eps, theta = h // heads, cfg.get("rms_norm_eps", 1e-6), cfg.get("rope_theta", 10000.0)
    b, s = tokens.shape

    def rms(x, weight):
        return weight * (x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps))

    def lin(x, name):
        y = x @ W[name + ".weight"].T
        return y + W[name + ".bias"] if name + ".bias" in W else y

    inv = theta ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    rs = cfg.get("rope_scaling")
    if rs:  # transformers' _compute_llama3_parameters (modeling_rope_utils.py)
        old_len = rs["original_max_position_embeddings"]
        low, high = old_len / rs["low_freq_factor"], old_len / rs["high_freq_factor"]
        wavelen = 2 * math.pi / inv
        llama = torch.where(wavelen > low, inv / rs["factor"], inv)
        smooth = (old_len / wavelen - rs["low_freq_factor"]) / (rs["high_freq_factor"] - rs["low_freq_factor"])
        smoothed = (1 - smooth) * llama / rs["factor"] + smooth * llama
        medium = ~(wavelen < high) & ~(wavelen > low)
        inv = torch.where(medium, smoothed, llama)
    ang = torch.outer(torch.arange(s, dtype=torch.float64), inv).repeat(1, 2)

    def rot(x):  # rotate_half
        return x * ang.cos() + torch.cat((-x[..., d // 2:], x[..., :d // 2]), -1) * ang.sin()

    causal = torch.ones(s, s, dtype=torch.bool).tril()
    window = cfg.get("sliding_window") if cfg["architectures"][0] == "MistralForCausalLM" else None
    if window:  # masking_utils.sliding_window_overlay: kv_idx > q_idx - sliding_window
        pos = torch.arange(s)
        causal &= pos[None, :] > pos[:, None] - window
    x = W["model.embed_tokens.weight"][tokens]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        n = rms(x, W[p + "input_layernorm.weight"])
        q = lin(n, p + "self_attn.q_proj").view(b, s, heads, d).transpose(1, 2)
        k = lin(n, p + "self_attn.k_proj").view(b, s, kv, d).transpose(1, 2)
        v = lin(n, p + "self_attn.v_proj").view(b, s, kv, d).transpose(1, 2)
        q, k = rot(q), rot(k)
        group = heads // kv  # repeat_kv: head i uses key/value head i // group
        k, v = k[:, torch.arange(heads) // group], v[:, torch.arange(heads) // group]
        att = (q @ k.transpose(-1, -2)) / math.sqrt(d)
        att = att.masked_fill(~causal, float("-inf")).softmax(-1) @ v
        x = x + lin(att.transpose(1, 2).reshape(b, s, h), p + "self_attn.o_proj")
        n = rms(x, W[p + "post_attention_layernorm.weight"])
        act = torch.nn.functional.silu(lin(n, p + "mlp.gate_proj")) * lin(n, p + "mlp.up_proj")
        x = x + lin(act, p + "mlp.down_proj")
    head = W["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else W["lm_head.weight"]
    return (rms(x, W["model.norm.weight"]) @ head.T).numpy()


def write_checkpoint(folder, cfg, weights, shards=1):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    if shards == 1:
        st_write(os.path.join(folder, "model.safetensors"), weights)
        return
    names = list(weights)
    weight_map = {}
    for i in range(shards):
        file = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        part = names[i::shards]
        st_write(os.path.join(folder, file), {k: weights[k] for k in part})
        weight_map.update({k: file for k in part})
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f)


def base_config(arch, **extra):
    cfg = {"architectures": [arch], "hidden_size": 64, "intermediate_size": 96,
           "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
           "vocab_size": 300, "rope_theta": 500000.0, "rms_norm_eps": 1e-05,
           "hidden_act": "silu", "tie_word_embeddings": False, "torch_dtype": "float32"}
    cfg.update(extra)
    return cfg


CASES = [
    # name, config, dtype, shards
    ("llama_f32", base_config("LlamaForCausalLM"), torch.float32, 1),
    ("llama_bf16_sharded_mha", base_config("LlamaForCausalLM", num_key_value_heads=4),
     torch.bfloat16, 3),
    # Llama 3.2's rope_scaling, original context shortened so that every band
    # (kept, interpolated, slowed) has frequencies at head_dim 16
    ("llama3_rope_tied", base_config("LlamaForCausalLM", tie_word_embeddings=True, rope_scaling={
        "rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
        "original_max_position_embeddings": 64}), torch.bfloat16, 1),
    ("mistral_f16", base_config("MistralForCausalLM", sliding_window=4096, rope_theta=10000.0),
     torch.float16, 1),
    # a window shorter than the 12-token sequences: each token sees its 5 latest
    ("mistral_bf16_window", base_config("MistralForCausalLM", sliding_window=5), torch.bfloat16, 2),
    ("qwen2_bf16_tied", base_config("Qwen2ForCausalLM", tie_word_embeddings=True,
                                    num_key_value_heads=1, rms_norm_eps=1e-6), torch.bfloat16, 2),
]

CLASSES = {"LlamaForCausalLM": "Llama", "MistralForCausalLM": "Mistral", "Qwen2ForCausalLM": "Qwen2"}


def check_logits(tmp):
    for i, (name, cfg, dtype, shards) in enumerate(CASES):
        folder = os.path.join(tmp, name)
        w = make_weights(cfg, dtype, seed=i)
        write_checkpoint(folder, cfg, w, shards)
        out = os.path.join(tmp, name + ".out.safetensors")
        subprocess.run([TOOL, "logits", folder, out, "2", "12", "5"], check=True)
        got = st_read(out)
        ref = reference(cfg, w, torch.from_numpy(got["tokens"].astype(np.int64)))
        rel = np.abs(got["logits"] - ref).max() / np.abs(ref).max()
        print(f"{name}: logits {got['logits'].shape}, max |diff| / max |logit| = {rel:.2e}")
        assert rel <= 1e-4, f"{name}: logits differ from torch: relative error {rel:.2e}"

        r = subprocess.run([MODSIM, "model", "show", folder, "--format", "json"],
                           capture_output=True, text=True, check=True)
        doc = json.loads(r.stdout)
        mods = {m["name"]: m for m in doc["modules"]}
        prefix = CLASSES[cfg["architectures"][0]]
        assert doc["architecture"] == cfg["architectures"][0]
        assert mods["model.layers.1"]["class"] == prefix + "DecoderLayer"
        assert mods["model.layers.0.self_attn"]["class"] == prefix + "Attention"
        assert mods["model.layers.0.mlp"]["class"] == prefix + "MLP"
        assert mods["model.norm"]["class"] == prefix + "RMSNorm"
        assert mods["model"]["class"] == prefix + "Model"
        # torch's model.parameters() counts a tied weight once
        assert doc["parameters"] == sum(t.numel() for t in w.values()), name
        # weights stay in the file's dtype; `model save` writes them so, bit for bit
        assert mods["model.layers.0.self_attn.q_proj"]["dtype"] == ST_NAMES[dtype], name
        saved = os.path.join(tmp, name + ".saved.safetensors")
        subprocess.run([MODSIM, "model", "save", folder, "-o", saved], check=True,
                       capture_output=True)
        back = st_read_raw(saved)
        for k, t in w.items():
            bits = t.contiguous().view(torch.int16 if t.dtype != torch.float32 else torch.int32)
            assert back[k][0] == ST_NAMES[t.dtype], (name, k, back[k][0])
            assert back[k][1] == bits.numpy().tobytes(), (name, k)


def expect_error(tmp, name, cfg, weights, *needles, shards=1):
    folder = os.path.join(tmp, "bad_" + name)
    write_checkpoint(folder, cfg, weights, shards)
    r = subprocess.run([MODSIM, "model", "show", folder], capture_output=True, text=True)
    assert r.returncode == 2, (name, r.returncode, r.stdout)
    for needle in needles:
        assert needle in r.stderr, (name, needle, r.stderr)
    return folder


def check_refusals(tmp):
    good = base_config("LlamaForCausalLM")
    w = make_weights(good, torch.float32, seed=9)
    expect_error(tmp, "gpt2", {**good, "architectures": ["GPT2LMHeadModel"]}, w,
                 "config.json:3:5:", "architecture 'GPT2LMHeadModel' is not supported",
                 "LlamaForCausalLM, MistralForCausalLM and Qwen2ForCausalLM")
    expect_error(tmp, "no_layers", {k: v for k, v in good.items() if k != "num_hidden_layers"}, w,
                 "config.json", "no 'num_hidden_layers'")
    expect_error(tmp, "string_size", {**good, "hidden_size": "64"}, w,
                 "config.json:5:18:", "'hidden_size' must be a whole number")
    expect_error(tmp, "kv", {**good, "num_key_value_heads": 3}, w, "does not divide")
    expect_error(tmp, "rope_linear", {**good, "rope_scaling": {"rope_type": "linear", "factor": 2.0}},
                 w, "'rope_scaling' of type linear is not supported", "llama3")
    expect_error(tmp, "rope_llama3", {**good, "rope_scaling": {"rope_type": "llama3", "factor": 8.0}},
                 w, "'rope_scaling' has no 'low_freq_factor'")
    # Llama-3-8B's sizes: 8.0e9 parameters, over the 2^31 limit (f32 in memory)
    expect_error(tmp, "too_big", {**good, "hidden_size": 4096, "intermediate_size": 14336,
                                  "num_hidden_layers": 32, "num_attention_heads": 32,
                                  "num_key_value_heads": 8, "vocab_size": 128256}, w,
                 "parameters, more than modsim's limit of 2147483648")
    expect_error(tmp, "gelu", {**good, "hidden_act": "gelu"}, w, "'hidden_act'")
    qwen = base_config("Qwen2ForCausalLM", use_sliding_window=True, sliding_window=4)
    expect_error(tmp, "qwen_window", qwen, make_weights(qwen, torch.float32, seed=9),
                 "'use_sliding_window' is true")
    missing = dict(w)
    del missing["model.layers.1.mlp.up_proj.weight"]
    expect_error(tmp, "missing", good, missing, "model.safetensors",
                 "no 'model.layers.1.mlp.up_proj.weight'")
    no_head = {k: v for k, v in w.items() if k != "lm_head.weight"}
    expect_error(tmp, "no_head", good, no_head, "no 'lm_head.weight'", "tie_word_embeddings")
    wrong = dict(w)
    wrong["model.norm.weight"] = torch.ones(63)
    expect_error(tmp, "shape", good, wrong, "'model.norm.weight' has shape [63]", "[64]")
    extra = dict(w)
    extra["model.layers.0.self_attn.q_proj.bias"] = torch.zeros(64)
    expect_error(tmp, "bias", good, extra, "'model.layers.0.self_attn.q_proj.bias' is not a "
                 "parameter of this LlamaForCausalLM")
    folder = os.path.join(tmp, "bad_json")
    write_checkpoint(folder, good, w)
    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write('{"architectures": ["LlamaForCausalLM"],}')
    r = subprocess.run([MODSIM, "model", "show", folder], capture_output=True, text=True)
    assert r.returncode == 2 and "config.json:1:" in r.stderr and "E-JSON" in r.stderr, r.stderr
    empty = os.path.join(tmp, "empty_dir")
    os.makedirs(empty)
    r = subprocess.run([MODSIM, "model", "show", empty], capture_output=True, text=True)
    assert r.returncode == 2 and "no config.json" in r.stderr, r.stderr
    os.remove(os.path.join(tmp, "bad_missing", "model.safetensors"))
    r = subprocess.run([MODSIM, "model", "show", os.path.join(tmp, "bad_missing")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "no model.safetensors" in r.stderr, r.stderr
    print("refusals: architecture, fields, tensors, shapes, JSON syntax, files: ok")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        check_logits(tmp)
        check_refusals(tmp)


main()
