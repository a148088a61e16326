#!/usr/bin/env python3
"""README's examples are what the program prints (issue 12): every fenced
block that starts with `$ modsim ARGS` is run from the source folder and its
output (standard output, then standard error) must be the block's lines, a
line `...` standing for any number of lines (and `...` inside a line for any
text). A block may hold several `$ modsim` commands, each followed by its
output, run in order with a history of the block's own; one ending in
`>/dev/null` only has to succeed. Every block after a
`<!-- file: PATH -->` comment is that file, byte for byte.

usage: readme_examples.py MODSIM SOURCE_DIR"""
import os
import re
import shlex
import subprocess
import tempfile
import sys

modsim, root = os.path.abspath(sys.argv[1]), sys.argv[2]
failures = []
checked = 0


def fail(msg):
    failures.append(msg)
    print("FAIL", msg)


def blocks(text):
    """(line number, the comment before it or None, the block's lines)."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        if lines[i].startswith("```"):
            start = i
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            before = lines[start - 1] if start and lines[start - 1].startswith("<!--") else None
            yield start + 1, before, lines[start + 1:j]
            i = j + 1
        else:
            i += 1


def line_pattern(w):
    """A line `...` is any number of lines; `...` inside a line any text."""
    if w == "...":
        return "(?:.*\n)*?"
    return ".*?".join(re.escape(part) for part in w.split("...")) + "\n"


def matches(want, got):
    """`want` against `got`, both lists of lines."""
    pattern = "".join(line_pattern(w) for w in want)
    return re.fullmatch(pattern, "".join(g + "\n" for g in got)) is not None


readme = open(os.path.join(root, "README.md"), encoding="utf-8").read()
for line, before, body in blocks(readme):
    if before:
        m = re.fullmatch(r"<!-- file: (\S+) -->", before)
        if m:
            checked += 1
            with open(os.path.join(root, m.group(1)), encoding="utf-8") as f:
                if f.read() != "\n".join(body) + "\n":
                    fail("README.md:%d: the block differs from %s" % (line, m.group(1)))
    if not body or not body[0].startswith("$ modsim "):
        continue
    checked += 1
    # Each block runs with a history of its own, so the run ids its commands
    # name are the ones its earlier commands made; a command ending in
    # `>/dev/null` sets the stage, its output not shown.
    history_dir = tempfile.TemporaryDirectory()
    env = dict(os.environ, MODSIM_HISTORY=os.path.join(history_dir.name, "history.db"))
    starts = [i for i, b in enumerate(body) if b.startswith("$ modsim ")] + [len(body)]
    for k in range(len(starts) - 1):
        command = body[starts[k]]
        words = shlex.split(command[len("$ modsim "):])
        quiet = words[-1:] == [">/dev/null"]
        run = subprocess.run([modsim] + words[:len(words) - quiet], cwd=root,
                             capture_output=True, text=True, timeout=120, env=env)
        got = (run.stdout + run.stderr).rstrip("\n").split("\n")
        want = [w.rstrip() for w in body[starts[k] + 1:starts[k + 1]]]
        if quiet:
            if run.returncode != 0:
                fail("README.md:%d: %s failed:\n%s" % (line, command, "\n".join(got[:40])))
        elif not matches(want, [g.rstrip() for g in got]):
            fail("README.md:%d: %s prints, not what README shows:\n%s" % (line, command,
                                                                          "\n".join(got[:40])))
    history_dir.cleanup()

if checked < 4:
    fail("only %d examples found: the markers moved?" % checked)
print("%d examples checked, %d failed" % (checked, len(failures)))
sys.exit(1 if failures else 0)
