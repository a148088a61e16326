#!/usr/bin/env python3
"""The command line as users of common CLIs expect it (issue 12, "The CLI"):
a path given as the command is a file, options take `--name=value` and go
before or after the file names, `-` is standard input, and refusals name the
reason. Each check runs modsim and asserts what a user reads.

usage: cli_conventions.py MODSIM SOURCE_ROOT"""
import os
import subprocess
import sys
import tempfile

modsim, root = sys.argv[1], sys.argv[2]
demo = os.path.join(root, "samples", "recipes", "demo.yaml")
failures = []
checks = 0


def run(*args, stdin=None):
    return subprocess.run([modsim, *args], capture_output=True, timeout=60,
                          input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL)


def check(name, ok, p):
    global checks
    checks += 1
    if not ok:
        failures.append(f"{name}: rc={p.returncode} stdout={p.stdout[:300]!r} "
                        f"stderr={p.stderr[:300]!r}")


def refused(name, args, needle, rc=2, stdin=None):
    """Exit status `rc`, `needle` on stderr, nothing on stdout."""
    p = run(*args, stdin=stdin)
    err = p.stderr.decode(errors="replace")
    check(name, p.returncode == rc and not p.stdout and needle in err, p)
    return err


with tempfile.TemporaryDirectory() as tmp:
    # a path as the command is a file: a missing one is "no such file"
    for word in ["missing.yaml", "missing.yml", "notes.md", "recipe.json", "./missing",
                 os.path.join(tmp, "none")]:
        err = refused(f"modsim {word}", [word], f"modsim: {word}: no such file")
        check(f"modsim {word} is not a command", "unknown command" not in err,
              run(word))
    refused("a word is still a mistyped command", ["tracee"], "unknown command 'tracee'")

    # a tab in the indentation is named, at the tab
    tab = os.path.join(tmp, "tab.yaml")
    with open(tab, "w") as f:
        f.write("quant_stage:\n  quant_modifiers:\n\tQuantizationModifier:\n      scheme: W4A16\n")
    said = f"{tab}:3:1: error E-YAML: YAML syntax: a tab indents this line: YAML indents with spaces"
    for cmd, rc in (("validate", 1), ("export", 1), ("trace", 2)):
        p = run(cmd, tab)
        # validate reports on stdout, the others on stderr
        out = (p.stdout if cmd == "validate" else p.stderr).decode(errors="replace")
        check(f"{cmd}: a tab", p.returncode == rc and said in out and
              "replace the tab with spaces" in out and "cannot start any token" not in out, p)

    # a folder that cannot take the written file is named, with errno's text
    missing = os.path.join(tmp, "nonexistent", "dir")
    ro = os.path.join(tmp, "ro")
    os.mkdir(ro, 0o555)
    cases = [(os.path.join(missing, "out.yaml"),
              f"the folder {missing} does not exist (No such file or directory)"),
             (os.path.join(tab, "out.yaml"),
              f"the folder {tab} is not one: a part of its path is a file (Not a directory)")]
    if os.geteuid() != 0:  # root writes into a mode-555 folder
        cases.append((os.path.join(ro, "out.yaml"),
                      f"the folder {ro} does not take a new file (Permission denied)"))
    for out, reason in cases:
        for args in (["export", demo, "-o", out],
                     ["migrate", os.path.join(root, "samples", "recipes", "old",
                                              "gptq_renamed.yaml"), "-o", out]):
            p = run(*args)
            err = p.stderr.decode(errors="replace")
            check(f"{args[0]} -o {out}", p.returncode == 2 and
                  f"{out}: error E-IO: cannot write {out}: {reason}" in err and
                  not os.path.exists(out), p)
    p = run("export", demo, "-o", os.path.join(missing, "out.yaml"))
    check("a missing folder's hint", f"mkdir -p {missing}" in p.stderr.decode(), p)

for f in failures:
    print("FAIL", f)
print(f"{checks - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
