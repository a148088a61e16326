#!/usr/bin/env python3
"""`modsim run` in the history (issue 11): recorded by default (--history
PATH, --no-history), with the model, its weights' checksum before the run and
at each transition, the calibration and seed, the thread count, the final
per-module table and the figures exactly as the run reported them;
`history show` prints the table, `history diff` per-module deltas (exit 1)
or none (exit 0). A version 1 file (tests/history/fixtures/v1.db, written by
the modsim before schema 2) migrates forward with every run reading back as
before. Every run here uses a temporary XDG_STATE_HOME."""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

modsim, root = sys.argv[1], sys.argv[2]
recipe = os.path.join(root, "samples", "recipes",
                      "llmcompressor__transformers__compression__recipes__sparse_24.yaml")
fixtures = os.path.join(root, "tests", "history", "fixtures")
failures = []


def check(name, ok, detail=""):
    if not ok:
        failures.append(f"{name}: {detail}")


with tempfile.TemporaryDirectory() as tmp:
    env = dict(os.environ, XDG_STATE_HOME=os.path.join(tmp, "state"), HOME=os.path.join(tmp, "home"))
    env.pop("MODSIM_HISTORY", None)
    default = os.path.join(tmp, "state", "modsim", "history.db")

    def run(*args):
        return subprocess.run([modsim, *args], capture_output=True, timeout=120, env=env)

    quick = ["--calib", "4x32"]
    off = run("run", recipe, *quick, "--no-history", "--format", "json")
    check("--no-history runs and keeps nothing", off.returncode == 0 and not os.path.exists(default),
          off.stderr)
    on = run("run", recipe, *quick, "--format", "json")
    check("modsim run records by default, output unchanged",
          on.returncode == 0 and on.stdout == off.stdout and os.path.exists(default), on.stderr)
    lines = [json.loads(l) for l in on.stdout.decode().splitlines()]
    mods = [l for l in lines if "module" in l]
    fig = [l for l in lines if "perplexity" in l][0]

    db = sqlite3.connect(default)
    r = db.execute("SELECT status, model, weights_hash, calibration, seed, threads, pipeline, calls"
                   " FROM run WHERE id = 1").fetchone()
    check("settings kept", r[0] == "completed" and r[1] == "tiny" and len(r[2]) == 16
          and r[3] == "4x32 random tokens" and r[4] == 0 and r[5] == 1 and r[6] == "independent"
          and r[7] == 9, r)
    rows = db.execute("SELECT module, class, owner, sparsity, bits, rel_error FROM modules"
                      " WHERE run = 1 ORDER BY idx").fetchall()
    check("one module row per reported module", len(rows) == len(mods) > 0, (len(rows), len(mods)))
    for got, want in zip(rows, mods):
        if not (got[0] == want["module"] and got[1] == want["class"] and got[2] == want["modifier"]
                and abs(got[3] - want["sparsity"]) < 1e-6 and got[4] == want["bits"]
                and abs(got[5] - want["rel_error"]) <= 1e-5 * max(1, abs(want["rel_error"]))):
            check("module row as reported", False, (got, want))
            break
    figs = dict(db.execute("SELECT name, value FROM figure WHERE run = 1"))
    check("figures as reported", set(figs) == {"perplexity", "perplexity_base", "kl", "top1"}
          and all(abs(figs[k] - fig[k]) <= 1e-5 * abs(fig[k]) + 1e-9 for k in figs), (figs, fig))
    ts = db.execute("SELECT call, what, weights_hash FROM transitions WHERE run = 1").fetchall()
    check("every transition has the weights' checksum", ts and all(t[2] and len(t[2]) == 16 for t in ts), ts)
    # initialize touches no weight; SparseGPT prunes at calibration end
    check("checksum before pruning is the model's", ts[0][2] == r[2], (ts[0], r[2]))
    ended = [t for t in ts if t[1] == "ended"]
    check("checksum after pruning differs", ended and ended[0][2] != r[2], ended)
    db.close()

    other = os.path.join(tmp, "other.db")
    e = run("run", recipe, *quick, "--history", other, "--seed", "3", "--threads", "2")
    check("--history PATH records there", e.returncode == 0 and os.path.exists(other), e.stderr)
    run("run", recipe, *quick, "--history", other, "--seed", "3", "--threads", "2")
    run("run", recipe, *quick, "--history", other)

    def hist(*args):
        return subprocess.run([modsim, "history", "--history", other, *args], capture_output=True,
                              timeout=60, env=env)

    show = hist("show", "1").stdout.decode()
    check("show prints the module table and figures",
          "modules at the end" in show and "model.layers.0.self_attn.q_proj" in show
          and "SparseGPTModifier[0]" in show and "perplexity" in show
          and "seed          3" in show and "threads       2" in show, show)
    same = hist("diff", "1", "2")
    out = same.stdout.decode()
    check("the same run twice: exit 0, no deltas", same.returncode == 0
          and "every call the same" in out and out.count("the same\n") >= 2, out)
    d = hist("diff", "1", "3")
    out = d.stdout.decode()
    check("another seed: exit 1, settings and per-module deltas", d.returncode == 1
          and "seed: 3 in A, 0 in B" in out and "threads: 2 in A, 1 in B" in out
          and "model.layers.0.self_attn.q_proj    rel.err" in out and "\n  perplexity " in out
          and "first diverging call: 7" in out, out)

    # check: the run again with today's modsim, against the record
    c = hist("check", "1")
    check("check: today's modsim agrees with a modsim run's record", c.returncode == 0
          and b"agrees with the record on every call" in c.stdout, c.stdout + c.stderr)
    db = sqlite3.connect(other)
    with db:  # as if an older modsim had started SparseGPT one call late
        db.execute("UPDATE transition SET call = call + 1 WHERE run = 1 AND after & 2 AND NOT before & 2")
    db.close()
    c = hist("check", "1")
    out = c.stdout.decode()
    check("check: a record today's modsim disagrees with, exit 1 at the call",
          c.returncode == 1 and "disagrees with the record: 1\n" in out
          and "SparseGPTModifier[0] started at call 2 in the record, at call 1 now" in out, out)
    c = hist("check", "99")
    check("check: no such run", c.returncode == 2 and b"no run 99" in c.stderr, c.stderr)

    # schema 1 migrates forward: every run reads back as it did
    v1 = os.path.join(tmp, "v1.db")
    shutil.copy(os.path.join(fixtures, "v1.db"), v1)
    c = sqlite3.connect(v1)
    check("fixture is schema 1", c.execute("PRAGMA user_version").fetchone()[0] == 1)
    c.close()

    def h1(*args):
        return subprocess.run([modsim, "history", "--history", v1, *args], capture_output=True,
                              timeout=60, env=env)

    lst = h1("list")
    check("a v1 history lists", lst.returncode == 0 and lst.stdout.decode().count("completed") == 2,
          lst.stdout + lst.stderr)
    for run_id, name in (("1", "v1_run1.jsonl"), ("2", "v1_run2.jsonl")):
        got = h1("export", run_id, "--format", "jsonl").stdout
        check(f"v1 run {run_id} exports as before", got == open(os.path.join(fixtures, name), "rb").read())
    got = h1("export", "2", "--format", "scenario").stdout
    check("v1 run 2 scenario as before",
          got == open(os.path.join(fixtures, "v1_run2.scenario.yaml"), "rb").read())
    for run_id in ("1", "2"):
        c = h1("check", run_id)
        check(f"v1 run {run_id}: today's modsim agrees (its on_event hooks aside)", c.returncode == 0,
              c.stdout + c.stderr)
    c = sqlite3.connect(v1)
    check("migrated to the current schema", c.execute("PRAGMA user_version").fetchone()[0] >= 2)
    check("migrated file is whole", c.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
    check("the new tables exist", c.execute("SELECT count(*) FROM module").fetchone()[0] == 0
          and c.execute("SELECT count(*) FROM transitions WHERE weights_hash IS NULL").fetchone()[0] > 0)
    c.close()
    e = subprocess.run([modsim, "run", recipe, *quick, "--history", v1], capture_output=True,
                       timeout=120, env=env)
    check("a migrated file records a modsim run", e.returncode == 0
          and h1("show", "3").stdout.decode().count("Linear") > 10, e.stderr)

for f in failures:
    print("FAIL", f)
print(f"{'FAIL' if failures else 'ok'}: history_run ({len(failures)} failures)")
sys.exit(1 if failures else 0)
