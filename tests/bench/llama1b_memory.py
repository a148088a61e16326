#!/usr/bin/python3
"""Peak memory of `modsim run` on a checkpoint of Llama-3.2-1B's size: writes a
synthetic BF16 Hugging Face checkpoint with Llama-3.2-1B's config.json (hidden
2048, 16 layers, 32 heads / 8 key/value heads, intermediate 8192, vocabulary
128256, tied embeddings, llama3 rope scaling; random weights, 2.47 GB) into a
temporary folder, runs RECIPE on it under /usr/bin/time -v, prints the peak RSS
against the file's size and removes the checkpoint.

Usage: llama1b_memory.py MODSIM RECIPE [modsim run options...]
   e.g. llama1b_memory.py build/src/modsim w8a16.yaml --calib 2x64 --pipeline datafree
"""
import json
import math
import os
import re
import struct
import subprocess
import sys
import tempfile

import torch

CONFIG = {"architectures": ["LlamaForCausalLM"], "hidden_size": 2048,
          "intermediate_size": 8192, "num_hidden_layers": 16, "num_attention_heads": 32,
          "num_key_value_heads": 8, "head_dim": 64, "vocab_size": 128256,
          "rope_theta": 500000.0, "rms_norm_eps": 1e-05, "hidden_act": "silu",
          "tie_word_embeddings": True, "torch_dtype": "bfloat16",
          "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                           "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}}


def shapes(cfg):
    h, inter, vocab = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    kvd = h // cfg["num_attention_heads"] * cfg["num_key_value_heads"]
    out = [("model.embed_tokens.weight", (vocab, h))]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        out += [(p + "self_attn.q_proj.weight", (h, h)), (p + "self_attn.k_proj.weight", (kvd, h)),
                (p + "self_attn.v_proj.weight", (kvd, h)), (p + "self_attn.o_proj.weight", (h, h)),
                (p + "mlp.gate_proj.weight", (inter, h)), (p + "mlp.up_proj.weight", (inter, h)),
                (p + "mlp.down_proj.weight", (h, inter)),
                (p + "input_layernorm.weight", (h,)), (p + "post_attention_layernorm.weight", (h,))]
    return out + [("model.norm.weight", (h,))]


def write_checkpoint(folder):
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
    header, off = {}, 0
    for name, shape in shapes(CONFIG):
        n = math.prod(shape) * 2
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    g = torch.Generator().manual_seed(0)
    path = os.path.join(folder, "model.safetensors")
    with open(path, "wb") as f:  # one tensor at a time
        f.write(struct.pack("<Q", len(text)) + text)
        for name, shape in shapes(CONFIG):
            if len(shape) == 1:
                t = 1 + 0.1 * torch.randn(shape, generator=g)
            elif "embed" in name:
                t = torch.randn(shape, generator=g) * 0.02
            else:
                t = torch.randn(shape, generator=g) / math.sqrt(shape[1])
            f.write(t.to(torch.bfloat16).view(torch.int16).numpy().tobytes())
    return os.path.getsize(path)


def main():
    modsim, recipe, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        size = write_checkpoint(tmp)
        cmd = ["/usr/bin/time", "-v", modsim, "run", recipe, "--model", tmp, "--no-history", *rest]
        r = subprocess.run(cmd, capture_output=True, text=True)
        sys.stdout.write(r.stdout[-600:])
        if r.returncode:
            sys.exit(r.stderr)
        rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1))
        wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", r.stderr).group(1)
        user = float(re.search(r"User time \(seconds\): (\S+)", r.stderr).group(1))
        print(f"model.safetensors {size} bytes; peak RSS {rss * 1024} bytes "
              f"({rss * 1024 / size:.2f}x the file); wall {wall}, user {user:.1f} s")


main()
