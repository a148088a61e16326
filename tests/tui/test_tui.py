#!/usr/bin/env python3
"""End-to-end tests of the terminal UI: the real modsim binary in tmux,
driven with send-keys and read back with capture-pane.

usage: test_tui.py MODSIM SOURCE_DIR [TEST...]

The tmux fixtures are tmux_harness.py's."""
import os
import re
import subprocess
import sys
import tempfile
import time

from tmux_harness import Fail, Tmux, expect_restored, line_with, run_tests

# The demo as the recipe intends it (not the run upstream makes, which is the
# default): 2 epochs x 4 steps with the epoch index, then sequential
# calibration over 3 layers (4 subgraphs): 48 calls, every kind of transition.
INTENDED = ["tui", "--index", "intended", "--epochs", "2", "--pipeline", "sequential",
            "--layers", "3"]


def test_default_run_is_upstreams_and_compares_with_intended(modsim, src):
    """The demo opens on the run oneshot() makes (index 0: the pruning
    modifiers never start), labelled; u shows the intended run below it."""
    t = Tmux(modsim, [], width=120, height=30)
    try:
        screen = t.wait("call 0/22")
        assert "as upstream 0.12 runs it" in line_with(screen, "call 0/22"), screen
        row = line_with(screen, "0 MagnitudePruningModifier")
        assert "S" not in row.split("MagnitudePruningModifier")[1], row
        t.keys("u")
        screen = t.wait("2 of 4 modifiers differ")
        line_with(screen, "upstream (22 calls): oneshot(): independent pipeline")
        line_with(screen, "0 MagnitudePruningModifier: starts at 0.25 as intended; never starts "
                          "upstream")
        t.keys("u", "3", "i")
        screen = t.wait("INTENDED INDEX, not upstream")
        line_with(screen, "INTENDED epoch")
        t.keys("q")
        expect_restored(t, 0)
    finally:
        t.close()


def test_demo_transitions_and_step_back(modsim, src):
    t = Tmux(modsim, INTENDED)
    try:
        t.wait("call 0/48")
        screen = t.wait("MagnitudePruningModifier")
        assert "2 Timeline" in screen
        t.keys("t")
        t.wait("call 1/48")
        t.keys("t")
        screen = t.wait("0 MagnitudePruningModifier started")
        assert "call 6 batch_start (step 1, index 0.25)" in screen, screen
        t.keys("3")
        screen = t.wait("Event log")
        row = line_with(screen, "0 MagnitudePruningModifier")
        if row.split()[2:6] != ["\u2713", "\u2713", "\u00b7", "\u00b7"]:
            raise Fail("flags after the transition: %r" % row)
        assert "6 batch_start" in line_with(screen, "m0 start,update"), screen
        t.keys("b")
        screen = t.wait("call 6/48")
        row = line_with(screen, "0 MagnitudePruningModifier")
        if row.split()[2:6] != ["\u2713", "\u00b7", "\u00b7", "\u00b7"]:
            raise Fail("flags after stepping back: %r" % row)
        t.keys("4")
        t.keys("n")
        screen = t.wait("start 0.25 <= index 0.25 < end 1.5")
        assert "Rule       starts" in screen, screen
        t.keys("q")
        expect_restored(t, 0)
    finally:
        t.close()


def test_resize_to_60x20_and_too_small(modsim, src):
    t = Tmux(modsim, INTENDED)
    try:
        t.wait("call 0/48")
        t.keys("G")
        t.wait("end: 48 calls run")
        t.resize(60, 20)
        screen = t.wait("Sch")
        lines = screen.splitlines()
        assert len(lines) <= 20 and all(len(l) <= 60 for l in lines), screen
        line_with(screen, "MagnitudePruningMo")
        assert "call 48/48" in screen, screen
        t.resize(30, 8)
        t.wait("terminal too small")
        t.resize(80, 24)
        t.wait("2 Timeline")
        t.keys("q")
        expect_restored(t, 0)
    finally:
        t.close()


def test_bad_recipe_shows_its_diagnostics(modsim, src):
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write("s_stage:\n  m_modifiers:\n    MagnitudePruningModifer:\n      start: 1\n")
        path = f.name
    t = Tmux(modsim, [path])
    try:
        screen = t.wait("did not load")
        assert "error E-TYPE-UNKNOWN" in screen, screen
        assert "did you mean 'MagnitudePruningModifier'?" in screen, screen
        line_with(screen, "    3 |     MagnitudePruningModifer:")
        t.keys("n")
        t.wait("nothing to run: the recipe did not load")
        t.keys("q")
        expect_restored(t, 0)
    finally:
        t.close()
        os.unlink(path)


def test_recipe_upstream_refuses_opens_to_be_fixed(modsim, src):
    """Issue 12: a recipe upstream would refuse (an unknown field, a value out
    of bounds) opens in the Schedule, marked not simulated on every screen; R
    renames the misspelt field to the one validate suggests, keeping its
    value, and once no error is left the run is simulated."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write("q_stage:\n  q_modifiers:\n    GPTQModifier:\n      scheme: W4A16\n"
                "      dampening_fraction: 0.1\n      block_size: 0\n")
        path = f.name
    t = Tmux(modsim, [path], width=100, height=40)
    try:
        screen = t.wait("2 errors upstream would refuse (E lists them)")
        assert "(errors: not simulated)" in screen, screen
        line_with(screen, "E-FIELD-UNKNOWN    0 GPTQModifier.dampening_fraction")
        t.keys("n")
        t.wait("nothing to run: the recipe has errors, not simulated")
        t.keys("2")
        t.wait("Not simulated: the recipe has errors (1: Schedule lists them).")
        t.keys("1", "Enter")
        t.wait("Form: 0 GPTQModifier")
        t.keys(*["j"] * 25)  # the unknown field is the last row
        t.wait("R renames it to 'dampening_frac', keeping the value")
        t.keys("R")
        screen = t.wait("rename dampening_fraction to dampening_frac of 0 GPTQModifier")
        assert "0.1" in line_with(screen, " dampening_frac "), screen
        t.keys("k", "e", "C-u", "6", "4", "Enter")
        t.wait("call 0/")
        t.keys("q")
        t.wait("Save changes?")
        t.keys("n")
        expect_restored(t, 0)
    finally:
        t.close()
        os.unlink(path)


def test_scenario_file_runs_its_own_calls(modsim, src):
    scenario = os.path.join(src, "samples", "scenarios", "demo.yaml")
    t = Tmux(modsim, ["tui", scenario])
    try:
        t.wait("call 0/16")
        t.keys("3")
        t.wait("the scenario's 16 calls")
        t.keys("G")
        t.wait("end: 16 calls run")
        t.keys("q")
        expect_restored(t, 0)
    finally:
        t.close()


def test_read_only_schedules_say_so(modsim, src):
    """Issue 12: a scenario's recipe and a --stage run are read-only: the
    Schedule says so, its status line offers no editing keys, and e explains
    instead of jumping away; a load problem without a position shows none."""
    scenario = os.path.join(src, "samples", "scenarios", "demo.yaml")
    demo = os.path.join(src, "samples", "recipes", "demo.yaml")
    for args, reason in ((["tui", scenario], "read-only: a scenario's recipe"),
                         (["tui", "--stage", "train", demo], "read-only: stage 'train' only")):
        t = Tmux(modsim, args, width=110)
        try:
            t.wait("call 0/")
            t.keys("1")
            screen = t.wait(reason)
            status = screen.splitlines()[-1]
            assert "e edit" not in status and "w save" not in status, status
            t.keys("e")
            screen = t.wait("Recipe ")
            assert reason in screen.splitlines()[-2], screen
            t.keys("q")
            expect_restored(t, 0)
        finally:
            t.close()
    t = Tmux(modsim, ["tui", "--stage", "train", demo], width=110)
    try:
        screen = t.wait("call 0/8")
        assert "MagnitudePruningModifier" in screen and "SmoothQuant" not in screen, screen
        t.keys("q")
        expect_restored(t, 0)
    finally:
        t.close()
    t = Tmux(modsim, ["tui", "--stage", "nosuch", demo], width=110)
    try:
        screen = t.wait("error E-STAGE")
        assert ":0:0" not in screen, screen
        line_with(screen, "demo.yaml: error E-STAGE")
        t.keys("q")
        expect_restored(t, 0)
    finally:
        t.close()


def test_sigterm_restores_the_terminal(modsim, src):
    t = Tmux(modsim, INTENDED)
    try:
        t.wait("call 0/48")
        os.kill(t.pid(), 15)
        expect_restored(t, 143)
    finally:
        t.close()


def test_crash_signals_restore_the_terminal(modsim, src):
    """SIGQUIT, SIGSEGV, SIGABRT and SIGBUS give the terminal back with one line
    about the crash, then die as they would have (under a sanitizer its report
    follows, and it may end the process with SIGABRT instead)."""
    for sig in (3, 11, 6, 7):
        t = Tmux(modsim, INTENDED, height=60)  # room for a sanitizer's report below the line
        try:
            t.wait("call 0/48")
            os.kill(t.pid(), sig)
            expect_restored(t, {128 + sig, 128 + 6, 1})
            line_with(t.screen(), "modsim: crashed (signal %d); the terminal is restored" % sig)
        finally:
            t.close()


def test_random_key_storm_does_not_crash(modsim, src):
    """Random keys, arrows, Esc, Enter, function keys and resizes for a while
    (MODSIM_STORM_SECONDS, default 20; run it for 60 under ASan to soak): the
    UI is still alive afterwards and SIGTERM still restores the terminal. It
    runs in an empty folder, since a storm can save the recipe. `q` is left out
    so the storm does not simply end it."""
    import random
    seconds = float(os.environ.get("MODSIM_STORM_SECONDS", "20"))
    rng = random.Random(int(os.environ.get("MODSIM_STORM_SEED", "1")))
    named = ["Up", "Down", "Left", "Right", "Escape", "Enter", "Tab", "BTab", "PPage", "NPage",
             "Home", "End", "BSpace", "Space"] + ["F%d" % i for i in range(1, 13)]
    printable = [c for c in "abcdefghijklmnoprstuvwxyzABCDEFGHIJKLMNOPRSTUVWXYZ0123456789"
                 "+-*/=@[]{}<>.,:;!?#$%^&()_'\""]
    # the demo, and a recipe with errors that opens in the editor unsimulated
    refused = ("q_stage:\n  q_modifiers:\n    GPTQModifier:\n      scheme: W4A16\n"
               "      dampening_fraction: 0.1\n      block_size: 0\n")
    for args, ready in ((INTENDED, "call 0/48"), (["refused.yaml"], "(errors: not simulated)")):
        storm(modsim, args, ready, refused, seconds / 2, rng, named, printable)


def storm(modsim, args, ready, refused, seconds, rng, named, printable):
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "refused.yaml"), "w") as f:
            f.write(refused)
        cwd = os.getcwd()
        os.chdir(tmp)
        t = Tmux(modsim, args)
        os.chdir(cwd)
        try:
            t.wait(ready)
            pid = t.pid()
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                r = rng.random()
                if r < 0.02:
                    t.resize(rng.randint(20, 200), rng.randint(5, 60))
                elif r < 0.5:
                    t.keys(*[rng.choice(named) for _ in range(rng.randint(1, 8))])
                else:
                    t.tmux("send-keys", "-l", "--", "".join(rng.choice(printable)
                                                      for _ in range(rng.randint(1, 8))))
            t.resize(80, 24)
            time.sleep(0.5)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                raise Fail("modsim died during the storm:\n%s" % t.screen())
            os.kill(pid, 15)
            expect_restored(t, 143)
        finally:
            t.close()


def test_ascii_fallback_and_no_color(modsim, src):
    t = Tmux(modsim, INTENDED, env={"LANG": "C", "LC_ALL": "C", "NO_COLOR": "1"})
    try:
        t.wait("call 0/48")
        t.keys("t", "t")
        screen = t.wait("0 MagnitudePruningModifier started")
        row = line_with(screen, "0 MagnitudePruningModifier")
        assert "S-===" in row or "S==" in row, row
        assert "\u2501" not in screen and "\u2500" not in screen, screen
        colored = t.screen(escapes=True)
        colour = re.search(r"\x1b\[(?:\d+;)*(?:3[0-7]|4[0-7]|9[0-7]|38;5;\d+)(?:;\d+)*m", colored)
        assert not colour, repr(colored[max(0, colour.start() - 80):colour.end() + 20])
        t.keys("q")
        expect_restored(t, 0)
    finally:
        t.close()


def test_edit_start_save_validate_resize_and_quit(modsim, src):
    fd, path = tempfile.mkstemp(suffix=".yaml")
    os.close(fd)
    t = Tmux(modsim, INTENDED)
    try:
        t.wait("call 0/48")
        t.keys("1", "e")
        screen = t.wait("Form: 0 MagnitudePruningModifier")
        assert "0.25" in line_with(screen, " start "), screen
        # Enter edits the field; ^U clears it; the text is checked as typed
        t.keys("Enter", "C-u", "s", "o")
        t.wait("must be number or null, not string 'so'")
        t.keys("C-u", "0", ".", "7", "5")
        screen = t.wait("0.75_")
        assert "\u2713" in line_with(screen, "0.75_"), screen
        t.keys("Enter")
        t.wait("set start of 0 MagnitudePruningModifier (u undoes)")
        # the session follows the edit: it starts at index 0.75 now
        t.keys("2", "t", "t")
        screen = t.wait("0 MagnitudePruningModifier started")
        assert "call 16 batch_start (step 3, index 0.75)" in screen, screen
        t.keys("3")
        screen = t.wait("Event log")
        row = line_with(screen, "0 MagnitudePruningModifier")
        if row.split()[2:6] != ["\u2713", "\u2713", "\u00b7", "\u00b7"]:
            raise Fail("flags after the transition: %r" % row)
        # save (the form is still open on the Schedule screen)
        t.keys("1", "w")
        t.wait("save as (Enter saves, Esc cancels): recipe.yaml_")
        t.keys("C-u")
        t.tmux("send-keys", "-l", path)
        t.keys("Enter")
        t.wait("saved " + path)
        check = subprocess.run([modsim, "validate", path], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        with open(path) as f:
            text = f.read()
        # only the edited span changed: the demo's comments and layout stay
        with open(os.path.join(src, "samples", "recipes", "demo.yaml")) as f:
            demo = f.read()
        assert text == demo.replace("      start: 0.25\n", "      start: 0.75\n", 1), text
        # an undo past the save makes the schedule dirty again
        t.keys("u")
        t.wait("undone: set start of 0 MagnitudePruningModifier")
        t.keys("Escape")
        t.wait("[modified]")
        t.resize(60, 20)
        screen = t.wait("Sch")
        lines = screen.splitlines()
        assert len(lines) <= 20 and all(len(l) <= 60 for l in lines), screen
        line_with(screen, "MagnitudePruningM")
        t.keys("q")
        t.wait("Save changes? (y)es / (n)o / (c)ancel")
        t.keys("c")
        t.wait("not quitting")
        t.keys("q")
        t.wait("Save changes?")
        t.keys("n")
        expect_restored(t, 0)
        with open(path) as f:
            assert f.read() == text, "n must not save"
    finally:
        t.close()
        os.unlink(path)


def test_schedule_add_delete_undo_and_diagnostics(modsim, src):
    fd, path = tempfile.mkstemp(suffix=".yaml")
    os.close(fd)
    with open(os.path.join(src, "samples", "recipes", "demo.yaml")) as f:
        demo = f.read()
    with open(path, "w") as f:
        f.write(demo)
    t = Tmux(modsim, INTENDED + [path])
    try:
        t.wait("call 0/48")
        t.keys("1")
        screen = t.wait("Diagnostics: 0 errors")
        # a value the schema refuses is kept, shown as an error, not simulated
        t.keys("e", "Enter", "C-u", "s", "o", "o", "n", "Enter")
        t.wait("set start of 0 MagnitudePruningModifier: MagnitudePruningModifier.start must")
        t.keys("Escape")
        screen = t.wait("Diagnostics: 1 error")
        assert "(errors: not simulated)" in screen, screen
        line_with(screen, "E-TYPE             0 MagnitudePruningModifier.start")
        # every screen says that what it shows is the last schedule without errors
        for view in ("2", "3", "4"):
            t.keys(view)
            assert "STALE: has errors" in t.wait("STALE").splitlines()[0]
        t.keys("1")
        # E focuses the pane; Enter on the error opens the form on its field
        t.keys("E")
        t.wait("Enter: go to the field")
        for _ in range(8):
            screen = t.screen()
            t.keys("Enter")
            try:
                screen = t.wait("Form: 0 MagnitudePruningModifier", timeout=0.5)
                break
            except Fail:
                t.keys("j")
        assert "soon" in line_with(screen, " start "), screen
        t.keys("u")
        t.wait("undone: set start")
        t.keys("Escape")
        t.wait("Diagnostics: 0 errors")
        # add a modifier after the selected one, delete it, undo both
        t.keys("a")
        t.wait("Add a modifier after 0 MagnitudePruningModifier")
        t.keys("Enter")
        # the pruning group has a ConstantPruningModifier: the new one opens a group
        screen = t.wait("Form: 2 ConstantPruningModifier  (stage train, group pruning_2)")
        line_with(screen, " ! targets ")
        t.keys("Escape")
        t.wait("5 modifiers [modified]")
        t.keys("d")
        t.wait("4 modifiers [modified]")
        t.keys("y")
        screen = t.wait("duplicated 2 SmoothQuantModifier as 3, group smoothing_2")
        assert "smoothing_2 (group)" in screen, screen
        t.keys("u", "u", "u")
        screen = t.wait("undone: add ")
        assert "[modified]" not in screen, screen
        t.keys("C-r")
        t.wait("redone: add ")
        t.keys("u")
        t.wait("undone: add ")
        # nothing unsaved: q quits at once
        t.keys("q")
        expect_restored(t, 0)
        with open(path) as f:
            assert f.read() == demo
    finally:
        t.close()
        os.unlink(path)


def test_structural_edits_save_into_the_text(modsim, src):
    """d and a on the Schedule, then w: the file keeps its comments and
    layout; the deleted modifier's block goes with its comment, the new one
    is written in its siblings' indentation."""
    with open(os.path.join(src, "samples", "recipes", "demo.yaml")) as f:
        demo = f.read()
    demo = demo.replace("    MagnitudePruningModifier:\n",
                        "    # the ramp\n    MagnitudePruningModifier:\n", 1)
    demo = demo.replace("    ConstantPruningModifier:\n",
                        "    # hold it\n    ConstantPruningModifier:\n", 1)
    fd, path = tempfile.mkstemp(suffix=".yaml")
    with os.fdopen(fd, "w") as f:
        f.write(demo)
    t = Tmux(modsim, INTENDED + [path])
    try:
        t.wait("call 0/48")
        t.keys("1")
        t.wait("Diagnostics: 0 errors")
        t.keys("d")
        t.wait("3 modifiers [modified]")
        t.keys("a")
        t.wait("Add a modifier after 0 ConstantPruningModifier")
        t.keys("Enter")
        t.wait("Form: 1 ConstantPruningModifier  (stage train, group pruning_2)")
        t.keys("Escape")
        t.wait("4 modifiers [modified]")
        t.keys("w")
        t.wait("save as (Enter saves, Esc cancels): " + path + "_")
        t.keys("Enter")
        screen = t.wait("saved " + path)
        assert "exporter's layout" not in screen, screen
        with open(path) as f:
            text = f.read()
        start = demo.index("    # the ramp\n")
        end = demo.index("    # hold it\n")
        after = demo.index("oneshot_stage:\n")
        want = (demo[:start] + demo[end:after] +
                "  pruning_2_modifiers:\n    ConstantPruningModifier: {}\n" + demo[after:])
        assert text == want, text
        t.keys("q")
        expect_restored(t, 0)
    finally:
        t.close()
        os.unlink(path)


def test_keys_a_terminal_user_expects(modsim, src):
    """Issue 12: ? help and q quit always on the status line at 80 columns; q
    and Esc close Help instead of quitting; c without a breakpoint runs to the
    next error and says so; @ refuses letters out loud; Ctrl-C with unsaved
    edits asks, as q does."""
    t = Tmux(modsim, INTENDED, width=80, height=24)
    try:
        t.wait("call 0/48")
        for screen_key in ("1", "2", "3", "4"):
            t.keys(screen_key)
            time.sleep(0.1)
            last = t.wait("q quit").splitlines()[-1]
            assert "? help" in last and "q quit" in last, last
        t.keys("2", "?")
        t.wait("run the next call")
        t.keys("q")
        screen = t.wait("2 Timeline")
        assert "run the next call" not in screen, screen
        t.keys("?")
        t.wait("run the next call")
        t.keys("Escape")
        time.sleep(0.1)
        screen = t.wait("q quit")
        assert "run the next call" not in screen, screen
        t.keys("c")
        t.wait("no error on the way (no breakpoint set")
        t.keys("r", "@", "a")
        line_with(t.wait("'a' is not part of a number"),  # whole, at 80 columns
                  "break at index: _   'a' is not part of a number (an index is like 2 or 0.5)")
        t.keys("Escape")
        # an unsaved edit: Ctrl-C asks, c keeps the program running
        t.keys("1", "d")
        t.wait("[modified]")
        t.keys("C-c")
        t.wait("Save changes? (y)es / (n)o / (c)ancel")
        t.keys("c")
        t.wait("not quitting")
        t.keys("C-c")
        t.wait("Save changes?")
        t.keys("n")
        expect_restored(t, 0)
    finally:
        t.close()


def test_go_to_a_call_search_and_unknown_keys(modsim, src):
    """Issue 12: `:` goes to a call number (forward or back), `/` selects the
    next modifier whose name contains the text (Enter alone repeats), an
    unbound key says so."""
    t = Tmux(modsim, INTENDED, width=100, height=30)
    try:
        t.wait("call 0/48")
        t.keys("2", ":", "3", "0", "Enter")
        t.wait("call 30/48")
        t.keys(":", "5", "Enter")
        t.wait("call 5/48")
        t.keys(":", "x")
        line_with(t.wait("'x' is not a digit"),
                  "go to call: _   'x' is not a digit: a call number like 12")
        t.keys("Escape")
        t.keys("/")
        t.tmux("send-keys", "-l", "gptq")
        t.keys("Enter")
        t.wait("/gptq: 3 GPTQModifier")
        t.keys("/")
        t.tmux("send-keys", "-l", "pruning")
        t.keys("Enter")
        t.wait("/pruning: 0 MagnitudePruningModifier (search wrapped)")
        t.keys("/", "Enter")
        t.wait("/pruning: 1 ConstantPruningModifier")
        t.keys("/")
        t.tmux("send-keys", "-l", "awq")
        t.keys("Enter")
        t.wait("/awq: no modifier name contains it")
        t.keys("Z")
        t.wait("Z does nothing on the Timeline screen (? lists the keys)")
        t.keys("q")
        expect_restored(t, 0)
    finally:
        t.close()


def test_explain_says_where_the_call_lies(modsim, src):
    """Issue 12: before anything ran Explain does not say "the last run"; a
    call picked then left behind by a restart is "not run yet"; hooks are
    listed in the order they ran."""
    t = Tmux(modsim, INTENDED, width=100, height=30)
    try:
        t.wait("call 0/48")
        t.keys("4")
        t.wait("(not run yet: Explain shows what it would do)")
        t.keys("2", "t", "t")
        t.wait("0 MagnitudePruningModifier started")
        t.keys("4")
        screen = t.wait("(the last call run)")
        line_with(screen, "ran on_event, on_start, on_update")
        t.keys("h")
        t.wait("(already run)")
        t.keys("r")
        t.wait("call 0/48")
        t.wait("(not run yet: Explain shows what it would do)")
        t.keys("q")
        expect_restored(t, 0)
    finally:
        t.close()


def test_edits_keep_the_position(modsim, src):
    """Issue 12: an edit of the recipe or a change of the clock re-simulates
    to the same call and says what moved there, instead of going back to 0."""
    fd, path = tempfile.mkstemp(suffix=".yaml")
    os.close(fd)
    with open(os.path.join(src, "samples", "recipes", "demo.yaml")) as f:
        demo = f.read()
    with open(path, "w") as f:
        f.write(demo)
    t = Tmux(modsim, INTENDED + [path], width=160, height=30)
    try:
        t.wait("call 0/48")
        t.keys(":", "3", "0", "Enter")
        t.wait("call 30/48")
        # the pruning modifier now ends at index 2 instead of running on
        t.keys("1", "e", "Enter", "C-u", "9", "Enter")
        screen = t.wait("kept call 30/48 (re-simulated)")
        assert "call 30/48" in screen, screen
        t.keys("Escape")
        t.wait("5 Help")
        t.keys("3", "i", "i")
        screen = t.wait("calls generated; kept call 30/")
        assert "back at the start" not in screen, screen
        t.keys("1", "u")
        screen = t.wait("undone: set start")
        line_with(screen, "kept call 30/48")
        t.keys("q", "n")
        expect_restored(t, 0)
    finally:
        t.close()
        os.unlink(path)


def test_unclosed_bracket_then_reload_after_fixing(modsim, src):
    """Issue 12: an unclosed '[' is shown on its own line (libyaml notices it
    a line later); after fixing the file in another editor, R reloads it."""
    fd, path = tempfile.mkstemp(suffix=".yaml")
    os.close(fd)
    with open(path, "w") as f:
        f.write("q_stage:\n  q_modifiers:\n    GPTQModifier:\n"
                "      targets: [Linear\n      scheme: W4A16\n")
    t = Tmux(modsim, [path], width=100, height=30)
    try:
        screen = t.wait("did not load")
        line_with(screen, "%s:4:16: error E-YAML" % path)
        line_with(screen, "the '[' here is not closed")
        line_with(screen, "    4 |       targets: [Linear")
        with open(path, "w") as f:
            f.write("q_stage:\n  q_modifiers:\n    GPTQModifier:\n"
                    "      targets: [Linear]\n      scheme: W4A16\n")
        t.keys("R")
        t.wait("reloaded %s" % path)
        t.wait("call 0/")
        t.keys("2")
        t.wait("0 GPTQModifier")
        t.keys("q")
        expect_restored(t, 0)
    finally:
        t.close()
        os.unlink(path)


def test_typed_clock_and_the_event_log(modsim, src):
    """Issue 12: the clock is typed, not pressed 96 times; the event log
    scrolls back past the last screenful and `/` searches its calls."""
    t = Tmux(modsim, INTENDED, width=100, height=30)
    try:
        t.wait("call 0/48")
        t.keys("3", "e")
        t.wait("epochs=2 steps=4 batches=- layers=3_")
        t.keys("C-u")
        t.tmux("send-keys", "-l", "steps=100 layers=5")
        t.keys("Enter")
        screen = t.wait("calls generated")
        assert "loop of 2 epochs x 100 steps" in screen, screen
        assert "(5 layers)" in screen or "call 0/" in screen, screen
        t.keys("G")
        t.wait("end: ")
        t.keys("/")
        t.tmux("send-keys", "-l", "calibration_epoch_start")
        t.keys("Enter")
        screen = t.wait("/calibration_epoch_start: call ")
        assert "(PgDn: newer)" in screen, screen
        t.keys("PPage")
        screen = t.wait("(PgDn: newer)")
        t.keys("q")
        expect_restored(t, 0)
    finally:
        t.close()


def test_zoomed_out_timeline_keeps_every_transition(modsim, src):
    """Issue 12: 3 epochs x 100 steps at 80 columns (about 30 calls a column):
    the calibration rows' last column holds S, E and F and shows the several
    mark, listed in full on the line under the rows for the selected row; the
    axis labels fractions of an epoch, each once."""
    t = Tmux(modsim, ["tui", "--index", "intended", "--epochs", "3", "--clock", "100"],
             width=80, height=24)
    try:
        t.wait("call 0/1522")
        t.keys("2")
        screen = t.wait("I init")
        axis = line_with(screen, " epoch ")
        labels = axis.split()[2:]
        assert labels == ["0.5", "1", "1.5", "2", "2.5"], axis
        row = line_with(screen, "2 SmoothQuantModifier")
        assert row.rstrip().endswith("\u25c6") and "E" not in row.split()[-1], row
        t.keys(":", "1", "5", "1", "5", "Enter", "j", "j")
        screen = t.wait("row 2: calls")
        line_with(screen, "S at 1507, E at 1513, F at 1521")
        t.keys("q")
        expect_restored(t, 0)
    finally:
        t.close()


def test_wheel_form_unset_and_the_order_hooks_ran(modsim, src):
    """Issue 12: the mouse wheel scrolls Help (three rows a notch); x in the
    form unsets a field and the cursor stays on its row; at the call where
    MagnitudePruning ends, Explain and the Stepper's log give the hooks in the
    order the trace has them (on_event, on_end, on_update)."""
    fd, path = tempfile.mkstemp(suffix=".yaml")
    os.close(fd)
    with open(os.path.join(src, "samples", "recipes", "demo.yaml")) as f:
        demo = f.read()
    with open(path, "w") as f:
        f.write(demo)
    t = Tmux(modsim, INTENDED + [path], width=100, height=40)
    try:
        t.wait("call 0/48")
        t.keys("5")
        assert t.wait("Everywhere").splitlines()[1].strip() == "Everywhere"
        t.tmux("send-keys", "-l", "\x1b[<65;10;10M")  # SGR wheel down
        screen = t.wait("run to the next breakpoint")
        assert "Everywhere" not in screen.splitlines()[1], screen
        t.tmux("send-keys", "-l", "\x1b[<64;10;10M")  # wheel up
        screen = t.wait("Everywhere")
        assert screen.splitlines()[1].strip() == "Everywhere", screen
        t.keys(":", "3", "6", "Enter")
        t.wait("call 36/48")
        t.keys("4")
        line_with(t.wait("ran on_event, on_end, on_update"), "Outcome")
        t.keys("3")
        line_with(t.wait("m0 end,update"), "35 batch_end")
        # the form: x on targets leaves the cursor on targets
        t.keys("1", "Enter")
        t.wait("Form: 0 MagnitudePruningModifier")
        t.keys("j", "j", "j")  # from start, the first field with a diagnostic
        time.sleep(0.3)
        before = [l for l in t.screen(escapes=True).splitlines() if "\x1b[7m" in l]
        assert any("targets" in l for l in before), before
        t.keys("x")
        t.wait("unset targets of 0 MagnitudePruningModifier")
        after = [l for l in t.screen(escapes=True).splitlines() if "\x1b[7m" in l]
        assert any("targets" in l for l in after), after
        t.keys("q", "n")
        expect_restored(t, 0)
    finally:
        t.close()
        os.unlink(path)


def test_narrow_legend_names_the_glyphs_shown(modsim, src):
    """Issue 12: at 80 columns the legend cannot hold every glyph; it names the
    ones on screen, so the [ and ] of a SmoothQuant given a start and end (its
    initialize raises, so it never runs; the index still reaches them) are
    explained."""
    fd, path = tempfile.mkstemp(suffix=".yaml")
    os.close(fd)
    with open(path, "w") as f:
        f.write("q_stage:\n  q_modifiers:\n    SmoothQuantModifier:\n"
                "      smoothing_strength: 0.5\n      start: 0.5\n      end: 1.5\n")
    t = Tmux(modsim, ["tui", "--index", "intended", "--training", "--epochs", "2", path],
             width=80, height=24)
    try:
        t.wait("call 0/42")
        t.keys("2")
        screen = t.wait("index>=start")
        row = line_with(screen, "0 SmoothQuantModifier")
        assert "[" in row and "]" in row, row
        legend = line_with(screen, "index>=start")
        assert "] index>=end" in legend and "update" not in legend, legend
        t.keys("q")
        expect_restored(t, 0)
    finally:
        t.close()
        os.unlink(path)


def test_missing_file_has_no_position(modsim, src):
    """Issue 12: `modsim tui nosuch.yaml` says the file does not open, with no
    0:0 position, and offers R to load it once it exists."""
    path = os.path.join(tempfile.mkdtemp(), "nosuch.yaml")
    t = Tmux(modsim, ["tui", path], width=80, height=24)
    try:
        screen = t.wait("did not load")
        line_with(screen, "%s: error E-IO" % path)
        line_with(screen, "cannot open: No such file or directory")
        assert ":0:0" not in screen and "NOT LOADED" in screen.splitlines()[0], screen
        with open(path, "w") as f:
            f.write("q_stage:\n  q_modifiers:\n    GPTQModifier:\n      scheme: W4A16\n"
                    "      targets: [Linear]\n")
        t.keys("R")
        t.wait("reloaded %s" % path)
        t.keys("q")
        expect_restored(t, 0)
    finally:
        t.close()
        os.unlink(path)
        os.rmdir(os.path.dirname(path))


def test_explain_wording_for_each_kind(modsim, src):
    """Issue 12: Explain's sentences are true for a calibration modifier (a
    GPTQ with start None is started by calibration_epoch_start, not "never")
    and after a training modifier's end (only on_event runs); the breakpoint
    count is right after @."""
    t = Tmux(modsim, ["tui"], width=110, height=30)
    try:
        t.wait("call 0/22")
        t.keys("2", "j", "j", "j", "4")
        screen = t.wait("3 GPTQModifier")
        line_with(screen, "start is None, so batch_start never starts it")
        line_with(screen, "(calibration_epoch_start does, in a calibration run)")
        assert "events never start it" not in screen, screen
        t.keys("q")
        expect_restored(t, 0)
    finally:
        t.close()
    t = Tmux(modsim, INTENDED, width=110, height=30)
    try:
        t.wait("call 0/48")
        t.keys(":", "4", "1", "Enter")
        t.wait("call 41/48")
        t.keys("4")
        screen = t.wait("already ended")
        line_with(screen, "already ended: after its end a modifier runs only on_event")
        line_with(screen, "ran on_event")
        # the Stepper's breakpoint count follows @ at once
        t.keys("3", "@", "1", "Enter")
        line_with(t.wait("1 breakpoint;"), "Position  41/48 run, 1 breakpoint;")
        t.keys("q")
        expect_restored(t, 0)
    finally:
        t.close()


def main():
    return run_tests(globals(), sys.argv)


if __name__ == "__main__":
    sys.exit(main())
