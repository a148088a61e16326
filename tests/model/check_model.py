#!/usr/bin/python3
"""Independent checks of modsim's model against numpy and torch.

    check_model.py MODEL_TOOL SPEC.yaml

1. The weights modsim writes are regenerated here from the documented
   algorithm (splitmix64 -> xoshiro256**, Irwin-Hall of six 21-bit uniforms):
   the first values of every tensor must match bit for bit.
2. The forward pass is recomputed in torch (float64) from those weights, in
   the way Hugging Face's LlamaForCausalLM computes it; the logits must agree
   to 1e-4 of their largest magnitude.
3. F16 and BF16 tensors written here (every bit pattern, and torch tensors)
   are converted by modsim and must equal numpy's/torch's float32 values.

safetensors files are read and written by the small helpers below, not by
modsim's code, so that the format itself is checked too.
"""
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch

DTYPES = {"F32": np.float32, "F16": np.float16, "I32": np.int32, "U8": np.uint8,
          "I8": np.int8, "BF16": np.uint16}


def st_read(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
    return out, meta


def st_write(path, tensors):
    """tensors: name -> (dtype name, numpy array with the raw little-endian values)."""
    header, blobs, offset = {}, [], 0
    for name, (dtype, arr) in tensors.items():
        blob = np.ascontiguousarray(arr).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


# ---- the weight generator, as README.md describes it ------------------------------

M64 = (1 << 64) - 1


def fnv1a(data, h=0xcbf29ce484222325):
    for byte in data:
        h = ((h ^ byte) * 0x100000001b3) & M64
    return h


class Rng:
    def __init__(self, seed):
        self.s = []
        x = seed
        for _ in range(4):
            x = (x + 0x9e3779b97f4a7c15) & M64
            z = x
            z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M64
            z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M64
            self.s.append(z ^ (z >> 31))

    def next(self):
        s = self.s
        rotl = lambda v, k: ((v << k) | (v >> (64 - k))) & M64
        result = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def below(self, n):
        threshold = ((1 << 64) - n) % n
        while True:
            r = self.next()
            if r >= threshold:
                return r % n


def normals(rng, count, mean, std):
    mask = (1 << 21) - 1
    unit = std / (math.sqrt(2.0) * 2097152.0)
    out = []
    for _ in range(count):
        total = 0
        for _ in range(2):
            r = rng.next()
            total += (r & mask) + ((r >> 21) & mask) + ((r >> 42) & mask)
        out.append(np.float32(mean + (2 * total - 6 * mask) * unit))
    return np.array(out, dtype=np.float32)


def check_generator(weights, meta):
    seed, hidden = int(meta["seed"]), int(meta["hidden_size"])
    n_out, scale = int(meta["outlier_count"]), float(meta["outlier_scale"])
    rng = Rng(seed ^ fnv1a(b"outlier channels"))
    outliers = []
    while len(outliers) < n_out:
        c = rng.below(hidden)
        if c not in outliers:
            outliers.append(c)
    checked = 0
    for name, w in weights.items():
        module = name[:-len(".weight")]
        flat = w.reshape(-1)
        rng = Rng(seed ^ fnv1a(module.encode()))
        if "norm" in module:
            want = normals(rng, flat.size, 1.0, 0.1)
            if module != "model.norm":
                want[outliers] = np.float32(scale)
        elif module == "model.embed_tokens":
            want = normals(rng, 32, 0.0, 1.0)
        else:
            want = normals(rng, 32, 0.0, 1.0 / math.sqrt(w.shape[1]))
        got = flat[:want.size]
        if got.tobytes() != want.tobytes():
            bad = np.nonzero(got.view(np.uint32) != want.view(np.uint32))[0][0]
            return f"{name}[{bad}]: modsim {got[bad]!r}, reference {want[bad]!r}"
        checked += 1
    print(f"generator: first values of {checked} tensors bit-identical; outliers {outliers}")
    return None


# ---- the forward pass, as transformers' modeling_llama ----------------------

def forward(weights, meta, tokens):
    W = {k: torch.from_numpy(v.astype(np.float64)) for k, v in weights.items()}
    hidden, heads = int(meta["hidden_size"]), int(meta["num_heads"])
    kv_heads, layers = int(meta["num_kv_heads"]), int(meta["num_layers"])
    eps, theta = float(meta["rms_norm_eps"]), float(meta["rope_theta"])
    d = hidden // heads
    batch, seq = tokens.shape

    def norm(x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    inv_freq = 1.0 / theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
    freqs = torch.arange(seq, dtype=torch.float64)[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()

    def rope(x):
        x1, x2 = x[..., :d // 2], x[..., d // 2:]
        return x * cos + torch.cat((-x2, x1), dim=-1) * sin

    mask = torch.full((seq, seq), float("-inf"), dtype=torch.float64).triu(1)
    h = W["model.embed_tokens.weight"][torch.from_numpy(tokens.astype(np.int64))]
    for l in range(layers):
        p = f"model.layers.{l}."
        x = norm(h, W[p + "input_layernorm.weight"])
        q = (x @ W[p + "self_attn.q_proj.weight"].T).view(batch, seq, heads, d).transpose(1, 2)
        k = (x @ W[p + "self_attn.k_proj.weight"].T).view(batch, seq, kv_heads, d).transpose(1, 2)
        v = (x @ W[p + "self_attn.v_proj.weight"].T).view(batch, seq, kv_heads, d).transpose(1, 2)
        q, k = rope(q), rope(k)
        k = k.repeat_interleave(heads // kv_heads, dim=1)
        v = v.repeat_interleave(heads // kv_heads, dim=1)
        att = torch.softmax(q @ k.transpose(2, 3) / math.sqrt(d) + mask, dim=-1) @ v
        att = att.transpose(1, 2).reshape(batch, seq, hidden)
        h = h + att @ W[p + "self_attn.o_proj.weight"].T
        x = norm(h, W[p + "post_attention_layernorm.weight"])
        gate = torch.nn.functional.silu(x @ W[p + "mlp.gate_proj.weight"].T)
        h = h + (gate * (x @ W[p + "mlp.up_proj.weight"].T)) @ W[p + "mlp.down_proj.weight"].T
    return (norm(h, W["model.norm.weight"]) @ W["lm_head.weight"].T).numpy()


def check_forward(tool, spec, tmp):
    weights_path, out_path = os.path.join(tmp, "w.safetensors"), os.path.join(tmp, "o.safetensors")
    subprocess.run([tool, "dump", spec, weights_path, out_path, "2", "24", "11"], check=True)
    weights, meta = st_read(weights_path)
    out, _ = st_read(out_path)
    err = check_generator(weights, meta)
    if err:
        return "generator: " + err
    ref = forward(weights, meta, out["tokens"])
    got = out["logits"].astype(np.float64)
    if got.shape != ref.shape:
        return f"logits shape {got.shape}, reference {ref.shape}"
    rel = np.abs(got - ref).max() / np.abs(ref).max()
    print(f"forward: logits {got.shape}, max |diff| / max |logit| = {rel:.2e}")
    return None if rel <= 1e-4 else f"logits differ from torch: relative error {rel:.2e} > 1e-4"


def check_half(tool, tmp):
    bits = np.arange(65536, dtype=np.uint16)
    rand = torch.randn(4, 33, generator=torch.Generator().manual_seed(0)) * 100
    bf = rand.to(torch.bfloat16)
    src, dst = os.path.join(tmp, "h.safetensors"), os.path.join(tmp, "h32.safetensors")
    st_write(src, {"f16": ("F16", bits.view(np.float16)),
                   "bf16": ("BF16", bits),
                   "torch_bf16": ("BF16", bf.view(torch.int16).numpy().view(np.uint16)),
                   "torch_f16": ("F16", rand.to(torch.float16).numpy())})
    subprocess.run([tool, "convert", src, dst], check=True)
    got, _ = st_read(dst)
    wants = {"f16": bits.view(np.float16).astype(np.float32),
             "bf16": (bits.astype(np.uint32) << 16).view(np.float32),
             "torch_bf16": bf.float().numpy(),
             "torch_f16": rand.to(torch.float16).float().numpy()}
    for name, want in wants.items():
        g = got[name]
        nan = np.isnan(want)
        if g.shape != want.shape or not np.array_equal(np.isnan(g), nan) or \
                g[~nan].tobytes() != want[~nan].tobytes():
            return f"{name}: modsim's conversion differs from numpy/torch"
    print("half: F16 and BF16, all 65536 bit patterns and torch tensors, exact")
    return None


def main():
    tool, spec = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        for err in (check_forward(tool, spec, tmp), check_half(tool, tmp)):
            if err:
                print("FAIL " + err)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
