#!/usr/bin/env python3
"""The README's TUI screenshots are the program's screens: each block is found
by a line only it has, the state it shows is rendered in tmux at the block's
size, and the screen must equal the block line by line (trailing spaces
ignored). With --update the blocks are rewritten from the screens instead, to
recapture them after a change of the TUI. Every block whose first line is the
tab line must be in the table below (the History excerpt, which starts with
" ... 6 Model", shows dated runs and is not a whole screen).

usage: test_readme_screens.py MODSIM SOURCE_DIR [--update]"""
import os
import sys
import tempfile

from tmux_harness import Fail, Tmux

BAD_RECIPE = """oneshot_stage:
  quant_modifiers:
    GPTQModifer:
      targets: [Linear]
"""

DEMO_48 = ["--index", "intended", "--epochs", "2", "--pipeline", "sequential", "--layers", "3"]


def goto(call, total):
    """The keys of `:` to `call`, then a wait for it (a key sent while the
    model's worker moves the position would race it)."""
    return [":"] + list(str(call)) + ["Enter", "@call %d/%d" % (call, total)]


# (a line only this README block has, modsim tui's arguments, width, height,
#  keys ("@TEXT": wait for TEXT), the text (or texts) the screen shows once it
#  is settled)
SCREENS = [
    ("index                         init                                          fin",
     [], 80, 10, ["2"], "2.23 cols/call"),
    (" 2 of 4 modifiers differ:",
     [], 80, 20, ["2", "u"], "(u: back)"),
    ("sparsity 0.600 meas 0.600        ▁▁▁",
     DEMO_48, 80, 11, ["2", "v"] + goto(30, 48) + ["t"], "started"),
    ("Diagnostics: 0 errors",
     [], 80, 24, ["1"], "Diagnostics"),
    ("Add a modifier after 0 MagnitudePruningModifier",
     [], 80, 24, ["1", "a"], "Esc cancels"),
    ("bad.yaml did not load",
     ["bad.yaml"], 80, 16, ["1"], "did not load"),
    ("Form: 0 MagnitudePruningModifier",
     [], 80, 24, ["1", "e", "e", "C-u", "1", ".", "5", "x"], "1.5x_"),
    ("Event log (hooks besides on_event",
     [], 80, 22, ["3"] + goto(6, 22) + ["t"], "started"),
    ("Modifier   1 ConstantPruningModifier",
     DEMO_48, 80, 17, ["4", "j"] + goto(30, 48) + ["t"], "started"),
    ("Everywhere",
     DEMO_48, 80, 24, ["5", "G"], "48 calls run"),
    # the model reaches call 22 after the header's position, then is measured
    ("model.layers.0.self_attn.q_proj [256, 256]",
     [], 80, 30, ["G", "@call 22/22", "6"], ["Model tiny at call 22\n", "top-1 0."]),
]


def blocks(readme):
    """(first line index, last line index + 1) of every fenced block."""
    found, start = [], None
    for i, line in enumerate(readme):
        if line.startswith("```"):
            if start is None:
                start = i + 1
            else:
                found.append((start, i))
                start = None
    return found


def screens(readme):
    """The TUI blocks: their first line is the tabs."""
    return [(a, b) for a, b in blocks(readme) if b > a and "1 Schedule" in readme[a]]


def find_block(readme, unique):
    hits = [(a, b) for a, b in screens(readme) if any(unique in l for l in readme[a:b])]
    if len(hits) != 1:
        raise Fail("%d README screens have %r, expected 1" % (len(hits), unique))
    return hits[0]


def render(modsim, args, width, height, keys, settled, cwd):
    t = Tmux(modsim, ["tui", *args], width=width, height=height,
             env={"MODSIM_HISTORY": ":memory:"}, cwd=cwd)
    try:
        t.wait("1 Schedule")
        for k in keys:
            if k.startswith("@"):
                t.wait(k[1:])
            else:
                t.keys(k)
        # the status line shows the keys again once the model's worker is done
        texts = ([settled] if isinstance(settled, str) else settled) + ["q quit"]
        for text in texts + texts:
            screen = t.wait(text)
        return [l.rstrip() for l in screen.split("\n")][:height]
    finally:
        t.close()


def main(argv):
    modsim, src = os.path.abspath(argv[1]), argv[2]
    update = "--update" in argv[3:]
    path = os.path.join(src, "README.md")
    with open(path, encoding="utf-8") as f:
        readme = f.read().split("\n")
    failed = 0
    found = {}
    for entry in SCREENS:
        try:
            found[find_block(readme, entry[0])] = entry
        except Fail as e:
            failed += 1
            print("FAIL %s" % e)
    for a, b in screens(readme):
        if (a, b) not in found:
            failed += 1
            print("FAIL README.md:%d: a TUI screen the table does not name" % (a + 1))
    renders = {}
    with tempfile.TemporaryDirectory() as cwd:
        with open(os.path.join(cwd, "bad.yaml"), "w") as f:
            f.write(BAD_RECIPE)
        for (a, b), (unique, args, width, height, keys, settled) in sorted(found.items()):
            try:
                screen = render(modsim, args, width, height, keys, settled, cwd)
            except Fail as e:
                failed += 1
                print("FAIL %r: %s" % (unique, e))
                continue
            renders[(a, b)] = screen
            # nothing on these screens depends on the time or the machine
            want = [l.rstrip() for l in readme[a:b]]
            if want == screen:
                print("ok   README.md:%d %s" % (a + 1, unique))
                continue
            print("%s README.md:%d (%r): modsim tui %s at %dx%d, keys %s" %
                  ("new " if update else "FAIL", a + 1, unique, " ".join(args), width, height,
                   " ".join(keys)))
            failed += 0 if update else 1
            for n in range(max(len(want), len(screen))):
                w = want[n] if n < len(want) else "<none>"
                g = screen[n] if n < len(screen) else "<none>"
                if w != g:
                    print("  line %d\n    README: %s\n    screen: %s" % (a + 1 + n, w, g))
    if update and not failed:
        # from the last block up, so the line numbers above stay valid
        for (a, b), screen in sorted(renders.items(), reverse=True):
            readme[a:b] = screen
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(readme))
    print("%d failed" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
