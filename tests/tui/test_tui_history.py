#!/usr/bin/env python3
"""End-to-end tests of the TUI's History screen (issue 11): one line per run
of the history file, `/` filters them, Enter replays the selected run and
stops at the first call where today's modsim disagrees with the record, `d`
diffs the selected run against the session's. The session's own runs are
recorded, each edit a child of the run before; `modsim history replay ID`
opens a run as Enter does. The history is a temporary
file (MODSIM_HISTORY): nothing touches the user's.

usage: test_tui_history.py MODSIM SOURCE_DIR [TEST...]"""
import os
import sqlite3
import subprocess
import sys
import shutil
import tempfile
import time

from tmux_harness import Fail, Tmux, expect_restored, line_with, run_tests


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
            # the session (the bundled demo) is run 3, written on its own thread
            screen = press_until(t, "7", "3 runs")
            assert "autoround_w4a16.yaml" in screen and "demo.yaml" in screen, screen
            assert "this session is run 3" in screen, screen
            t.keys("/", "d", "e", "m", "o", ".", "y", "Enter")
            screen = t.wait("1 shown for /demo.y")
            assert "autoround_w4a16.yaml" not in screen, screen
            t.keys("Enter")
            screen = t.wait("disagrees with the record first at call %d" % first)
            assert "call %d/16" % (first + 1) in screen, screen
            t.keys("7")
            screen = t.wait("replaying run 1")
            # newest first: run 3 is selected; a replay is not recorded again
            assert "3 runs" in screen, screen
            t.keys("j", "d")
            screen = t.wait("run 2 against run 1: they differ")
            assert "first diverging call: 0" in screen, screen
            t.keys("Escape")
            t.keys("q")
            expect_restored(t, 0)
        finally:
            t.close()


def press_until(t, key, text, timeout=10.0):
    """Presses `key` until `text` shows: a run is recorded on a thread of its
    own, and the History screen reads the file when it is drawn."""
    deadline = time.monotonic() + timeout
    while True:
        t.keys(key)
        try:
            return t.wait(text, timeout=0.5)
        except Fail:
            if time.monotonic() > deadline:
                raise


def runs(hist):
    db = sqlite3.connect(hist)
    try:
        return db.execute("SELECT r.id, r.parent, r.status, r.pipeline, x.text FROM run r"
                          " LEFT JOIN recipe x ON x.hash = r.recipe_hash ORDER BY r.id").fetchall()
    finally:
        db.close()


def test_session_runs_recorded_as_a_tree(modsim, src):
    with tempfile.TemporaryDirectory() as tmp:
        hist, recipe = os.path.join(tmp, "h.db"), os.path.join(tmp, "r.yaml")
        shutil.copy(os.path.join(src, "samples/recipes/demo.yaml"), recipe)
        # --history wins over MODSIM_HISTORY
        t = Tmux(modsim, ["tui", "--model", "none", "--history", hist, recipe], width=80,
                 height=24, env={"MODSIM_HISTORY": os.path.join(tmp, "other.db")})
        try:
            t.wait("call 0/")
            press_until(t, "7", "this session is run 1")
            # an edit of the recipe: run 2, edited from run 1
            t.keys("1", "e")
            t.wait("Form: 0 MagnitudePruningModifier")
            t.keys("Enter", "C-u", "0", ".", "7", "5", "Enter")
            t.wait("set start of 0 MagnitudePruningModifier")
            t.keys("Escape")
            press_until(t, "7", "this session is run 2")
            # a pipeline change: run 3, from run 2
            t.keys("3", "p")
            screen = press_until(t, "7", "this session is run 3")
            # at 80 columns: the id, the run it was edited from, the start, status, recipe
            assert line_with(screen, "r.yaml").split()[:2] == ["3", "<2"], screen
            assert line_with(screen, "<1").split()[0] == "2", screen
            t.keys("q", "n")
            expect_restored(t, 0)
        finally:
            t.close()
        rows = runs(hist)
        assert [(r[0], r[1], r[2]) for r in rows] == [
            (1, None, "completed"), (2, 1, "completed"), (3, 2, "completed")], rows
        assert "start: 0.75" in rows[1][4] and "start: 0.75" not in rows[0][4], rows
        assert rows[1][3] != rows[2][3], rows
        assert not os.path.exists(os.path.join(tmp, "other.db"))
        out = subprocess.run([modsim, "history", "--history", hist, "list"], capture_output=True,
                             text=True, check=True).stdout.splitlines()
        assert out[0].endswith("parent 2") and out[1].endswith("parent 1"), out
        assert "parent" not in out[2], out
        show = subprocess.run([modsim, "history", "--history", hist, "show", "3"],
                              capture_output=True, text=True, check=True).stdout
        assert "  parent        2\n" in show, show
        # each recorded run is one a replay can open: today's modsim agrees
        for i in (1, 2, 3):
            subprocess.run([modsim, "history", "--history", hist, "check", str(i)],
                           stdout=subprocess.DEVNULL, check=True)


def test_no_history_and_an_unusable_one(modsim, src):
    with tempfile.TemporaryDirectory() as tmp:
        hist = os.path.join(tmp, "h.db")
        t = Tmux(modsim, ["tui", "--model", "none", "--no-history"],
                 env={"MODSIM_HISTORY": hist})
        try:
            t.wait("call 0/")
            t.keys("3", "p", "q")
            expect_restored(t, 0)
        finally:
            t.close()
        assert not os.path.exists(hist)
        with open(hist, "w") as f:
            f.write("not a database, but a note the user keeps\n" * 100)
        t = Tmux(modsim, ["tui", "--model", "none"], width=120, env={"MODSIM_HISTORY": hist})
        try:
            screen = t.wait("history off for this session")
            assert "is not a usable history" in screen, screen
            t.keys("n")
            t.wait("call 1/")
            t.keys("q")
            expect_restored(t, 0)
        finally:
            t.close()
        with open(hist) as f:
            assert f.read().startswith("not a database"), "the file was changed"


def test_history_replay_opens_the_run(modsim, src):
    with tempfile.TemporaryDirectory() as tmp:
        hist = os.path.join(tmp, "h.db")
        subprocess.run([modsim, "trace", "--history", hist,
                        os.path.join(src, "samples/scenarios/demo.yaml")],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        # refused before the terminal is touched: exit 2 and a message
        for args, said in ((["replay", "9"], "no run 9"), (["replay", "x"], "run id 'x'"),
                           (["replay"], "takes one run id")):
            p = subprocess.run([modsim, "history", "--history", hist, *args],
                               capture_output=True, text=True, stdin=subprocess.DEVNULL)
            assert p.returncode == 2 and said in p.stderr, (args, p.returncode, p.stderr)
            assert "\x1b" not in p.stdout, p.stdout
        p = subprocess.run([modsim, "history", "--history", os.path.join(tmp, "none.db"),
                            "replay", "1"], capture_output=True, text=True)
        assert p.returncode == 2 and "no history at" in p.stderr, p.stderr
        # the replay's scenario stays in memory: under strace, the only files
        # opened for writing are the history's own
        opens = os.path.join(tmp, "opens.log")
        cmd, args = modsim, ["history", "--history", hist, "replay", "1"]
        env = {"MODSIM_HISTORY": os.path.join(tmp, "other.db")}
        if shutil.which("strace") and subprocess.run(
                ["strace", "-qq", "-o", os.devnull, "true"]).returncode == 0:
            cmd, args = "strace", ["-f", "-qq", "-o", opens, "-e", "trace=open,openat,creat",
                                   modsim, *args]
            # LeakSanitizer cannot run under ptrace (the Enter replay above checks leaks)
            env["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
        t = Tmux(cmd, args, width=100, env=env)
        try:
            t.wait("replaying run 1: today's modsim agrees with the record")
            t.keys("1")
            screen = t.wait("Recipe run 1 of h.db")
            assert "/tmp/modsim-replay" not in screen, screen
            t.keys("R")
            t.wait("run 1 was replayed from the history: there is no file to reload")
            t.keys("q")
            expect_restored(t, 0)
        finally:
            t.close()
        # a replay records nothing
        assert len(runs(hist)) == 1 and not os.path.exists(os.path.join(tmp, "other.db"))
        if os.path.exists(opens):
            with open(opens) as f:
                written = [l for l in f if any(m in l for m in ("O_CREAT", "O_WRONLY", "O_RDWR"))
                           and '"/dev/' not in l and '"%s' % hist not in l]
            assert not written, written


if __name__ == "__main__":
    sys.exit(run_tests(globals(), sys.argv))
