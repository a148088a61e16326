#!/usr/bin/env python3
"""End-to-end tests of the TUI stepping a model (the demo on tiny): the Model
screen, a step back whose checksum of all weights is the one shown when that
call was first reached, and Esc cancelling the model's work mid-run.

usage: test_tui_model.py MODSIM SOURCE_DIR [TEST...]"""
import os
import re
import subprocess
import sys
import time

from tmux_harness import Fail, Tmux, expect_restored, line_with, run_tests

# a model's job runs on a loaded machine (and under ASan) for a while
SLOW = 120.0


def checksum(screen):
    m = re.search(r"checksum ([0-9a-f]{16}) (.*?)  snapshots", screen)
    if not m:
        raise Fail("no checksum on:\n%s" % screen)
    return m.group(1), m.group(2)


def idle(t, at):
    """The Model screen once the model's worker is done at call `at`: its
    header names the call without '(the worker moves it)', the figures are
    measured and the status line shows the keys again."""
    deadline = time.monotonic() + SLOW
    while True:
        screen = t.screen()
        if ("Model tiny at call %d\n" % at in screen or
                re.search(r"Model tiny at call %d *\n" % at, screen)) \
                and "perplexity" in screen and "o sort" in screen:
            return screen
        if time.monotonic() > deadline:
            raise Fail("the model did not settle at call %d:\n%s" % (at, screen))
        time.sleep(0.05)


def test_model_screen_and_step_back_restores_the_checksum(modsim, src):
    t = Tmux(modsim, ["tui"], width=120, height=40)
    try:
        t.wait("call 0/22")
        t.keys("6")
        screen = idle(t, 0)
        line_with(screen, "KL 0 nats/token  top-1 1.0000")
        start, _ = checksum(screen)
        # into GPTQ's pass: after 17 calls GPTQ has compressed layer 0
        t.keys(":", "1", "7", "Enter")
        screen = idle(t, 17)
        at17, note = checksum(screen)
        assert note == "(first reached)", screen
        assert at17 != start, screen
        assert "3 GPTQModifier" in line_with(screen, "layers.0.self_attn.q_proj "), screen
        assert "2 SmoothQuantModifier" in line_with(screen, "layers.1.self_attn.q_proj "), screen
        t.keys("n")
        at18, _ = checksum(idle(t, 18))
        assert at18 != at17
        t.keys("b")
        screen = idle(t, 17)
        assert checksum(screen) == (at17, "= when first reached"), screen
        # back to the start: the uncompressed weights
        t.keys("r")
        screen = idle(t, 0)
        assert checksum(screen) == (start, "= when first reached"), screen
        # sorted by output error, the MLPs only
        t.keys("o", "o", "o", "o", "f", "m", "l", "p", "Enter")
        screen = t.wait("filter: mlp (f)")
        assert "sort: output error" in screen, screen
        assert "self_attn" not in screen.split("out.err")[1].split("\u2500")[0], screen
        t.keys("q")
        expect_restored(t, 0)
    finally:
        t.close()


def test_esc_cancels_the_models_step(modsim, src):
    t = Tmux(modsim, ["tui"], width=120, height=40)
    try:
        t.wait("call 0/22")
        t.keys("6")
        start, _ = checksum(idle(t, 0))
        t.keys("G")
        # the status line shows the model's progress while it runs the calls
        deadline = time.monotonic() + SLOW
        while "model: running call" not in t.screen():
            if time.monotonic() > deadline:
                raise Fail("no progress shown:\n%s" % t.screen())
            time.sleep(0.02)
        t.keys("Escape")
        screen = t.wait("as before the step", timeout=SLOW)
        assert "call 0/22" in screen, screen
        screen = idle(t, 0)
        assert checksum(screen)[0] == start, screen
        t.keys("q")
        expect_restored(t, 0)
    finally:
        t.close()


def test_typed_clock_takes_the_models_layers(modsim, src):
    """Issue 12: `layers=` with no value in the typed clock (`e` on the
    Stepper) takes the layers of the model the session runs on, not a fixed
    default: tiny has 4 decoder layers, small 12 (`modsim model show`)."""
    for model, layers in (("tiny", 4), ("small", 12)):
        t = Tmux(modsim, ["tui", "--model", model, "--pipeline", "sequential", "--layers", "7"],
                 width=120, height=30)
        try:
            t.wait("call 0/", timeout=SLOW)
            t.keys("3", "e")
            t.wait("layers=7_")
            t.wait("layers= takes the model's (%d)" % layers)
            t.keys("C-u")
            t.tmux("send-keys", "-l", "layers=")
            t.keys("Enter")
            t.wait("(%d layers)" % layers, timeout=SLOW)
            t.keys("q")
            expect_restored(t, 0)
        finally:
            t.close()


def test_calibration_and_threads_options(modsim, src):
    """--calib, --calib-tokens and --threads as modsim run takes them: the
    model's session uses them and says so; a bad value is refused before
    the terminal is touched."""
    t = Tmux(modsim, ["tui", "--calib", "2x16", "--threads", "2", "--seed", "3"],
             width=120, height=40)
    try:
        screen = t.wait("model tiny: calibration 2x16 random tokens (seed 3), 2 threads",
                        timeout=SLOW)
        t.keys("6")
        idle(t, 0)
        t.keys("q")
        expect_restored(t, 0)
    finally:
        t.close()
    tokens = os.path.join(src, "tests", "tui", "tokens.jsonl")
    t = Tmux(modsim, ["tui", "--calib-tokens", tokens], width=120, height=40)
    try:
        screen = t.wait("model tiny: calibration the token ids of", timeout=SLOW)
        assert "tokens.jsonl, 1 thread" in screen, screen
        t.keys("q")
        expect_restored(t, 0)
    finally:
        t.close()
    r = subprocess.run([modsim, "tui", "--calib", "4by2"], capture_output=True, text=True)
    assert r.returncode == 2 and "--calib '4by2' is not valid" in r.stderr, r.stderr
    r = subprocess.run([modsim, "tui", "--calib", "2x16", "--calib-tokens", tokens],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "give the calibration tokens once" in r.stderr, r.stderr


def main():
    return run_tests(globals(), sys.argv)


if __name__ == "__main__":
    sys.exit(main())
