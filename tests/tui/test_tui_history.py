#!/usr/bin/env python3
"""End-to-end tests of the TUI's History screen (issue 11): one line per run
of the history file, `/` filters them, Enter replays the selected run and
stops at the first call where today's modsim disagrees with the record, `d`
diffs the selected run against the replayed one. The history is a temporary
file (MODSIM_HISTORY): nothing touches the user's.

usage: test_tui_history.py MODSIM SOURCE_DIR [TEST...]"""
import os
import sqlite3
import subprocess
import sys
import tempfile

from test_tui import Fail, Tmux, expect_restored


def test_history_screen_filters_replays_and_diffs(modsim, src):
    with tempfile.TemporaryDirectory() as tmp:
        hist = os.path.join(tmp, "h.db")
        for f in ("samples/scenarios/demo.yaml", "samples/recipes/autoround_w4a16.yaml"):
            subprocess.run([modsim, "trace", "--history", hist, os.path.join(src, f)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        # as if an older modsim had recorded run 1: its first start one call late
        db = sqlite3.connect(hist)
        with db:
            first = db.execute("SELECT min(call) FROM transition WHERE run = 1 AND after & 2"
                               " AND NOT before & 2").fetchone()[0]
            db.execute("UPDATE transition SET call = call + 1 WHERE run = 1 AND call = ?", (first,))
        db.close()
        t = Tmux(modsim, ["tui", "--model", "none"], width=140, height=30,
                 env={"MODSIM_HISTORY": hist})
        try:
            t.wait("call 0/")
            t.keys("7")
            screen = t.wait("2 runs")
            assert "autoround_w4a16.yaml" in screen and "demo.yaml" in screen, screen
            t.keys("/", "d", "e", "m", "o", "Enter")
            screen = t.wait("1 shown for /demo")
            assert "autoround_w4a16.yaml" not in screen, screen
            t.keys("Enter")
            screen = t.wait("disagrees with the record first at call %d" % first)
            assert "call %d/16" % (first + 1) in screen, screen
            t.keys("7")
            screen = t.wait("replaying run 1")
            # newest first: run 2 is selected
            t.keys("d")
            screen = t.wait("run 2 against run 1: they differ")
            assert "first diverging call: 0" in screen, screen
            t.keys("Escape")
            t.keys("q")
            expect_restored(t, 0)
        finally:
            t.close()


def main():
    modsim, src = os.path.abspath(sys.argv[1]), sys.argv[2]
    wanted = sys.argv[3:]
    tests = [(n, f) for n, f in globals().items() if n.startswith("test_")]
    failed = 0
    for name, fn in tests:
        if wanted and name not in wanted:
            continue
        try:
            fn(modsim, src)
            print("ok   %s" % name)
        except (Fail, AssertionError, subprocess.CalledProcessError) as e:
            failed += 1
            print("FAIL %s\n%s" % (name, e))
    print("%d failed" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
