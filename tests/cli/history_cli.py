#!/usr/bin/env python3
"""The history of runs end to end (issue 11): `modsim trace --record`,
--history PATH, MODSIM_HISTORY, --no-history; a history that cannot be used
turns recording off with one warning and the trace is unchanged. Every run
here sets XDG_STATE_HOME to a temporary folder: nothing touches the user's
real history."""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

modsim, root = sys.argv[1], sys.argv[2]
demo = os.path.join(root, "samples", "scenarios", "demo.yaml")
recipe = os.path.join(root, "samples", "recipes", "autoround_w4a16.yaml")
failures = []


def check(name, ok, detail=""):
    if not ok:
        failures.append(f"{name}: {detail}")


with tempfile.TemporaryDirectory() as tmp:
    env = dict(os.environ, XDG_STATE_HOME=os.path.join(tmp, "state"), HOME=os.path.join(tmp, "home"))
    env.pop("MODSIM_HISTORY", None)

    def run(*args, extra=None):
        e = dict(env, **(extra or {}))
        return subprocess.run([modsim, *args], capture_output=True, timeout=120, env=e)

    default = os.path.join(tmp, "state", "modsim", "history.db")
    plain = run("trace", demo)
    check("trace without --record keeps nothing", plain.returncode == 0 and not os.path.exists(default),
          plain.stderr)
    rec = run("trace", "--record", demo)
    check("--record traces the same", rec.returncode == 0 and rec.stdout == plain.stdout, rec.stderr)
    check("--record writes $XDG_STATE_HOME/modsim/history.db", os.path.exists(default))
    r2 = run("trace", "--record", recipe)
    check("a recipe run is recorded", r2.returncode == 0, r2.stderr)
    db = sqlite3.connect(default)
    rows = db.execute("SELECT status, calls, pipeline, recipe_path FROM run ORDER BY id").fetchall()
    ncalls = sum(1 for line in plain.stdout.decode().splitlines() if '"state"' in line)
    check("both runs completed with their calls",
          rows == [("completed", ncalls, "scenario", demo), ("completed", rows[1][1], "independent", recipe)]
          and rows[1][1] > 0, rows)
    check("journal is WAL", db.execute("PRAGMA journal_mode").fetchone()[0] == "wal")
    check("integrity", db.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
    db.close()

    # HOME alone: ~/.local/state/modsim/history.db
    e = run("trace", "--record", demo, extra={"XDG_STATE_HOME": ""})
    check("--record without XDG_STATE_HOME uses ~/.local/state",
          e.returncode == 0 and os.path.exists(os.path.join(tmp, "home", ".local", "state", "modsim", "history.db")),
          e.stderr)
    other = os.path.join(tmp, "other.db")
    e = run("trace", "--record", demo, extra={"MODSIM_HISTORY": other})
    check("MODSIM_HISTORY chooses the file", e.returncode == 0 and os.path.exists(other), e.stderr)
    third = os.path.join(tmp, "third.db")
    e = run("trace", "--history", third, demo)
    check("--history PATH records there", e.returncode == 0 and os.path.exists(third), e.stderr)
    e = run("trace", "--history", os.path.join(tmp, "none.db"), "--no-history", demo)
    check("--no-history wins", e.returncode == 0 and not os.path.exists(os.path.join(tmp, "none.db")))

    # unusable histories: one warning naming the file, the trace unchanged
    garbage = os.path.join(tmp, "garbage.db")
    with open(garbage, "wb") as f:
        f.write(b"this is not a database\n" * 200)
    before = open(garbage, "rb").read()
    newer = os.path.join(tmp, "newer.db")
    c = sqlite3.connect(newer)
    c.execute("PRAGMA user_version = 42")
    c.close()
    # tests run as root, whom permissions do not stop: a file where the
    # folder should be is a folder nothing can be written in for anyone
    notdir = os.path.join(tmp, "plainfile")
    open(notdir, "w").close()
    cases = [("corrupt", garbage, "is not a usable history"),
             ("newer schema", newer, "from a newer modsim"),
             ("folder cannot be made", os.path.join(notdir, "sub", "h.db"), "cannot make the folder")]
    for name, path, needle in cases:
        e = run("trace", "--history", path, demo)
        err = e.stderr.decode()
        check(f"{name}: run goes on", e.returncode == 0 and e.stdout == plain.stdout, err)
        check(f"{name}: one warning naming the file", err.count("warning E-HISTORY") == 1 and path in err
              and needle in err, err)
    check("corrupt file left as it was", open(garbage, "rb").read() == before)
    c = sqlite3.connect(newer)
    check("newer file left as it was", c.execute("PRAGMA user_version").fetchone()[0] == 42)
    c.close()

# The commands over a history of their own.
with tempfile.TemporaryDirectory() as tmp:
    env = dict(os.environ, XDG_STATE_HOME=os.path.join(tmp, "state"), HOME=os.path.join(tmp, "home"))
    env.pop("MODSIM_HISTORY", None)

    def run(*args):
        return subprocess.run([modsim, *args], capture_output=True, timeout=120, env=env)

    e = run("history")
    check("no history yet: refused, nothing created", e.returncode == 2 and b"no history at" in e.stderr
          and not os.path.exists(os.path.join(tmp, "state", "modsim")), e.stderr)
    edited = os.path.join(tmp, "demo2.yaml")
    with open(demo) as f:
        text = f.read()
    assert "start: 1.5" in text
    with open(edited, "w") as f:
        f.write(text.replace("start: 1.5", "start: 1", 1))
    traces = {}
    for i, (f, opts) in enumerate([(demo, []), (edited, []), (demo, []), (recipe, ["--training"]),
                                   (recipe, ["--upstream", "0.13", "--pipeline", "sequential"])], 1):
        p = run("trace", "--record", *opts, f)
        check(f"record run {i}", p.returncode == 0, p.stderr)
        traces[i] = p.stdout

    e = run("history")
    lines = e.stdout.decode().splitlines()
    check("history lists every run, newest first", e.returncode == 0 and len(lines) == 5
          and lines[0].split()[0] == "5" and lines[-1].split()[0] == "1", e.stdout)
    check("a line says the outcome in words", "every modifier started" in lines[-1], lines[-1:])
    e = run("history", "list", "--format", "json", "--recipe", "demo2", "--limit", "3")
    rows = json.loads(e.stdout)
    check("--recipe filters, json", [r["id"] for r in rows] == [2] and rows[0]["status"] == "completed"
          and rows[0]["calls"] > 0, e.stdout)
    e = run("history", "list", "--limit", "2")
    check("--limit", len(e.stdout.decode().splitlines()) == 2, e.stdout)
    e = run("history", "list", "--status", "failed")
    check("--status filters", e.returncode == 0 and e.stdout == b"", e.stdout)
    e = run("history", "list", "--status", "done")
    check("--status refuses a bad value", e.returncode == 2 and b"completed" in e.stderr, e.stderr)

    e = run("history", "show", "1")
    out = e.stdout.decode()
    check("show: settings, transitions, final table", e.returncode == 0 and "profile       0.12" in out
          and "ConstantPruningModifier      started" in out and "modifiers at the end" in out, out)
    e = run("history", "show", "99")
    check("show of a missing run", e.returncode == 2 and b"E-HISTORY-RUN" in e.stderr
          and b"no run 99" in e.stderr, e.stderr)

    e = run("history", "diff", "1", "2")
    out = e.stdout.decode()
    check("diff: exit 1, first diverging call, the moved start, the recipe line",
          e.returncode == 1 and "first diverging call: 6" in out
          and "ConstantPruningModifier started at call 8 in A, at call 6 in B" in out
          and "-         start: 1.5" in out and "+         start: 1" in out, out)
    e = run("history", "diff", "1", "3")
    check("diff of the same run twice: exit 0", e.returncode == 0 and "every call the same" in e.stdout.decode(),
          e.stdout)
    e = run("history", "diff", "1", "4")
    check("diff of different recipes names hooks in one only", e.returncode == 1
          and "only in" in e.stdout.decode(), e.stdout)

    for i in traces:
        sc = os.path.join(tmp, f"run{i}.yaml")
        e = run("history", "export", str(i), "--format", "scenario", "-o", sc)
        t = run("trace", sc)
        check(f"export {i} --format scenario traces the same", e.returncode == 0 and t.returncode == 0
              and t.stdout == traces[i], (e.stderr, t.stderr))
    e = run("history", "export", "1", "--format", "jsonl")
    recs = [json.loads(line) for line in e.stdout.decode().splitlines()]
    check("export --format jsonl: every call, its hooks and transitions",
          e.returncode == 0 and sum(1 for r in recs if "kind" in r) == 16
          and any(r.get("hook") == "on_start" for r in recs)
          and any(r.get("flags_after") == 15 for r in recs), recs[:3])
    e = run("history", "export", "1")
    check("export needs --format", e.returncode == 2 and b"jsonl or scenario" in e.stderr, e.stderr)

    e = run("history", "rm", "2", "3")
    e2 = run("history", "list", "--format", "json")
    check("rm removes runs", e.returncode == 0 and [r["id"] for r in json.loads(e2.stdout)] == [5, 4, 1],
          (e.stderr, e2.stdout))
    e = run("history", "rm", "2")
    check("rm of a missing run", e.returncode == 2 and b"no run 2" in e.stderr, e.stderr)
    e = run("history", "gc", "--keep", "1", "--older-than", "1d")
    check("gc --older-than keeps young runs", e.returncode == 0 and b"removed 0 runs" in e.stderr, e.stderr)
    e = run("history", "gc", "--keep", "1")
    e2 = run("history", "list", "--format", "json")
    check("gc --keep 1", e.returncode == 0 and [r["id"] for r in json.loads(e2.stdout)] == [5], e2.stdout)
    e = run("history", "gc")
    check("gc needs --keep", e.returncode == 2 and b"--keep N" in e.stderr, e.stderr)
    db = sqlite3.connect(os.path.join(tmp, "state", "modsim", "history.db"))
    check("gc drops what removed runs alone used",
          db.execute("SELECT count(*) FROM chunk WHERE run <> 5").fetchone()[0] == 0
          and db.execute("SELECT count(*) FROM recipe").fetchone()[0] == 2, "")
    db.close()
    e = run("history", "show", "x")
    check("a run id that is not a number", e.returncode == 2 and b"not a whole number" in e.stderr, e.stderr)

# Every good scenario of tests/scenarios: recorded, exported as a scenario,
# traced again to the same bytes.
with tempfile.TemporaryDirectory() as tmp:
    env = dict(os.environ, XDG_STATE_HOME=os.path.join(tmp, "state"))
    hist = os.path.join(tmp, "h.db")
    scen = os.path.join(root, "tests", "scenarios")
    n = 0
    for name in sorted(os.listdir(scen)):
        if not name.endswith(".yaml") or name.startswith("bad_"):
            continue
        path = os.path.join(scen, name)
        a = subprocess.run([modsim, "trace", "--history", hist, path], capture_output=True, env=env, timeout=60)
        if a.returncode != 0:
            continue
        n += 1
        out = os.path.join(tmp, "x.yaml")
        e = subprocess.run([modsim, "history", "--history", hist, "export", str(n), "--format", "scenario",
                            "-o", out], capture_output=True, env=env, timeout=60)
        b = subprocess.run([modsim, "trace", out], capture_output=True, env=env, timeout=60)
        check(f"{name}: exported scenario traces the same", e.returncode == 0 and b.stdout == a.stdout,
              (e.stderr, b.stderr[-300:]))
    check("scenarios were round-tripped", n > 50, n)

if failures:
    print("\n".join(failures))
    print(f"history_cli: {len(failures)} failed")
    sys.exit(1)
print("history_cli: ok")
