#!/usr/bin/env python3
"""Benchmark: `modsim trace` on 1,000,000 training events with 10 modifiers.

Writes the scenario to a temporary folder, runs modsim with the trace going
to a file, and reports hook records per second (the issue's target is at
least 1,000,000). Usage: trace_speed.py MODSIM [EVENTS]
"""
import os
import subprocess
import sys
import tempfile
import time

modsim = sys.argv[1]
events = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
order = ["batch_start", "loss_calculated", "optim_pre_step", "optim_post_step", "batch_end"]
steps = events // len(order)

with tempfile.TemporaryDirectory() as tmp:
    scenario = os.path.join(tmp, "big.yaml")
    with open(scenario, "w") as f:
        f.write("clock: {steps_per_epoch: 1000}\nrecipe: |\n  train_stage:\n")
        for g in range(10):
            f.write(f"    g{g}_modifiers:\n")
            if g % 2:
                f.write(f"      ConstantPruningModifier: {{start: {g * 0.1}, end: {g * 0.5 + 1}, "
                        "targets: [x]}\n")
            else:
                f.write(f"      MagnitudePruningModifier: {{start: {g * 0.05}, end: {g * 0.5 + 2},"
                        " init_sparsity: 0.05, final_sparsity: 0.8, targets: [x]}\n")
        f.write("calls:\n- initialize\n")
        for s in range(steps):
            for e in order:
                if e == "loss_calculated":
                    f.write(f"- {{event: {e}, global_step: {s}, loss: 1.5}}\n")
                else:
                    f.write(f"- {{event: {e}, global_step: {s}}}\n")
        f.write("- finalize\n")
    out = os.path.join(tmp, "trace.jsonl")
    best = None
    for _ in range(3):
        t0 = time.perf_counter()
        with open(out, "w") as f:
            subprocess.run([modsim, "trace", scenario], stdout=f, check=True)
        elapsed = time.perf_counter() - t0
        best = elapsed if best is None else min(best, elapsed)
    hooks = states = 0
    with open(out, "rb") as f:
        for line in f:
            if b'"hook"' in line:
                hooks += 1
            else:
                states += 1
    size = os.path.getsize(out) / 1e6
    print(f"events {steps * len(order):,}  hook records {hooks:,}  other records {states:,}  "
          f"trace {size:.0f} MB")
    print(f"best of 3: {best:.2f} s (including parsing the {os.path.getsize(scenario) / 1e6:.0f} MB "
          f"scenario)  ->  {hooks / best:,.0f} hook records/s")
