#!/usr/bin/env python3
"""The history of runs end to end (issue 11): `modsim trace --record`,
--history PATH, MODSIM_HISTORY, --no-history; a history that cannot be used
turns recording off with one warning and the trace is unchanged. Every run
here sets XDG_STATE_HOME to a temporary folder: nothing touches the user's
real history."""
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

if failures:
    print("\n".join(failures))
    print(f"history_cli: {len(failures)} failed")
    sys.exit(1)
print("history_cli: ok")
