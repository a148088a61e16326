#!/usr/bin/env python3
"""Benchmark of the history (issue 11), side by side in one run:

1. `modsim trace` of a 100,002-call training run with 10 modifiers, with and
   without recording (alternating, best of N each): the cost of recording
   (target: at most 15% of the run without it) and the records it keeps per
   second of the recorded run (target: at least 300,000);
2. `modsim history list` over 10,000 runs (target: under 50 ms);
3. `modsim history diff` of two 100,002-call runs (target: under 1 s).

Times are wall clock of the whole process (start-up included), and for
the run its CPU time too, steadier when other work shares the machine. Usage:
history_speed.py MODSIM [REPEATS]
"""
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time

modsim = sys.argv[1]
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5


def cpu():
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def timed(args, out=subprocess.DEVNULL):
    """Wall clock and CPU time (user + system) of one run."""
    t0, c0 = time.perf_counter(), cpu()
    p = subprocess.run(args, stdout=out, stderr=subprocess.DEVNULL)
    timed.cpu = cpu() - c0
    return time.perf_counter() - t0, p.returncode


def best(args, n):
    """The best wall clock and the best CPU time of n runs."""
    walls, cpus = [], []
    for _ in range(n):
        walls.append(timed(args)[0])
        cpus.append(timed.cpu)
    return min(walls), min(cpus)


with tempfile.TemporaryDirectory() as tmp:
    env_recipe = os.path.join(tmp, "ten.yaml")
    with open(env_recipe, "w") as f:
        f.write("train_stage:\n")
        for g in range(10):
            f.write(f"  g{g}_modifiers:\n")
            if g % 2:
                f.write(f"    ConstantPruningModifier: {{start: 0, end: {g * 0.5 + 1}, targets: [x]}}\n")
            else:
                f.write(f"    MagnitudePruningModifier: {{start: 0, end: {g * 0.5 + 2}, "
                        "init_sparsity: 0.05, final_sparsity: 0.8, targets: [x]}\n")
    run = [modsim, "trace", "--training", "--epochs", "5000", env_recipe]
    base, rec, base_cpu, rec_cpu = [], [], [], []
    db = os.path.join(tmp, "h.db")
    for i in range(reps):
        t, rc = timed(run[:2] + ["--no-history"] + run[2:])
        assert rc == 0
        base.append(t)
        base_cpu.append(timed.cpu)
        t, rc = timed(run[:2] + ["--history", db] + run[2:])
        assert rc == 0
        rec.append(t)
        rec_cpu.append(timed.cpu)
    # every recorded run goes to one file, as a user's runs do
    records = subprocess.run([modsim, "history", "--history", db, "export", "1", "--format", "jsonl"],
                             capture_output=True, check=True).stdout.count(b"\n")
    calls = sqlite3.connect(db).execute("SELECT calls FROM run WHERE id = 1").fetchone()[0]
    b, r = min(base), min(rec)
    print(f"run of {calls:,} calls, 10 modifiers, {records:,} records kept "
          f"(calls, hooks, metrics, transitions), {os.path.getsize(db) / 1e6 / reps:.1f} MB each")
    print(f"  without history  best {b:.3f} s  (all: {' '.join(f'{x:.3f}' for x in base)})")
    print(f"  recorded         best {r:.3f} s  (all: {' '.join(f'{x:.3f}' for x in rec)})")
    bc, rcpu = min(base_cpu), min(rec_cpu)
    print(f"  CPU time (user + system), best: {bc:.3f} s without, {rcpu:.3f} s recorded: "
          f"{100 * (rcpu - bc) / bc:+.1f}%")
    print(f"  recording costs {100 * (r - b) / b:+.1f}% of the run's wall time (target <= 15%); "
          f"{records / r:,.0f} records/s over the whole recorded run (target >= 300,000)")

    # runs 1 and 2 of the file are two runs of the same
    d, dc = best([modsim, "history", "--history", db, "diff", "1", "2"], 3)
    print(f"history diff of two {calls:,}-call runs: best of 3 {d * 1000:.0f} ms wall, "
          f"{dc * 1000:.0f} ms CPU (target < 1000 ms)")

    # 10,000 runs: one small recorded run, copied in SQL
    many = os.path.join(tmp, "many.db")
    subprocess.run([modsim, "trace", "--history", many, "--training", "--epochs", "2", env_recipe],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    c = sqlite3.connect(many)
    cols = {t: [r[1] for r in c.execute(f"PRAGMA table_info({t})")]
            for t in ("run", "modifier", "transition", "error", "chunk")}
    with c:
        for k in range(2, 10_001):
            c.execute(f"INSERT INTO run SELECT {k}, {', '.join(cols['run'][1:])} FROM run WHERE id = 1")
            for t in ("modifier", "transition", "error", "chunk"):
                c.execute(f"INSERT INTO {t} SELECT {k}, {', '.join(cols[t][1:])} FROM {t} WHERE run = 1")
    c.close()
    lst, lc = best([modsim, "history", "--history", many, "list"], 5)
    print(f"history list over 10,000 runs: best of 5 {lst * 1000:.0f} ms wall, {lc * 1000:.0f} ms CPU "
          "(target < 50 ms)")
