#!/usr/bin/env python3
"""Benchmark: generates a recipe of 5,000 modifiers (one per group, every
modifier type, several fields each) and times `modsim validate` on it.
Prints the best wall time of three runs; fails only above 5 s, a sign of
quadratic behaviour rather than of a slow machine. Usage: bench_validate.py MODSIM"""
import pathlib
import subprocess
import sys
import tempfile
import time

BODIES = [
    "QuantizationModifier:\n      scheme: W4A16\n      targets: [Linear]\n      ignore: [lm_head]\n",
    "GPTQModifier:\n      block_size: 128\n      dampening_frac: 0.01\n      config_groups:\n"
    "        group_0:\n          targets: [Linear]\n          weights: {num_bits: 4, type: int, "
    "symmetric: true, strategy: group, group_size: 128}\n",
    "SparseGPTModifier:\n      sparsity: 0.5\n      mask_structure: \"2:4\"\n      targets: [Linear]\n",
    "WandaPruningModifier:\n      sparsity: 0.5\n      mask_structure: \"0:0\"\n",
    "SmoothQuantModifier:\n      smoothing_strength: 0.8\n",
    "AWQModifier:\n      duo_scaling: both\n",
    "MagnitudePruningModifier:\n      targets: [\"re:.*weight\"]\n      init_sparsity: 0.05\n"
    "      final_sparsity: 0.5\n      start: 0\n      end: 10\n      update_scheduler: linear\n",
    "ConstantPruningModifier:\n      targets: [\"re:.*weight\"]\n      start: 0\n",
]


def main():
    modsim, n = sys.argv[1], 5000
    lines = ["bench_stage:\n"]
    for i in range(n):
        lines.append(f"  g{i}_modifiers:\n    {BODIES[i % len(BODIES)]}")
    lines.append("  last_modifiers:\n    GPTQModifier:\n      scheme: W8A8\n")
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "bench.yaml"
        path.write_text("".join(lines))
        best = None
        for _ in range(3):
            t0 = time.perf_counter()
            p = subprocess.run([modsim, "validate", str(path)], capture_output=True)
            dt = time.perf_counter() - t0
            best = dt if best is None else min(best, dt)
        size = path.stat().st_size
    print(f"validate {n + 1} modifiers ({size // 1024} KiB): {best:.3f} s (exit {p.returncode})")
    return 0 if best < 5 and p.returncode in (0, 1) else 1


if __name__ == "__main__":
    sys.exit(main())
