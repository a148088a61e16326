#!/usr/bin/env python3
"""The command line as users of common CLIs expect it (issue 12, "The CLI"):
a path given as the command is a file, options take `--name=value` and go
before or after the file names, `-` is standard input, and refusals name the
reason. Each check runs modsim and asserts what a user reads.

usage: cli_conventions.py MODSIM SOURCE_ROOT"""
import os
import re
import subprocess
import sys
import tempfile

modsim, root = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
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

    # --name=value is --name value, and options may follow the file names
    scenario = os.path.join(root, "samples", "scenarios", "demo.yaml")
    old = os.path.join(root, "samples", "recipes", "old", "gptq_renamed.yaml")
    same = [
        ("validate", ["validate", "--format", "json", "--stage", "oneshot_stage", demo],
         [["validate", "--format=json", "--stage=oneshot_stage", demo],
          ["validate", demo, "--format", "json", "--stage", "oneshot_stage"],
          ["validate", demo, "--stage=oneshot_stage", "--format=json"]]),
        ("validate run options", ["validate", "--index", "intended", "--clock", "4,2", demo],
         [["validate", "--index=intended", "--clock=4,2", demo],
          ["validate", demo, "--index=intended", "--clock", "4,2"]]),
        ("export", ["export", "--stage", "train_stage", demo],
         [["export", "--stage=train_stage", demo], ["export", demo, "--stage", "train_stage"]]),
        ("trace", ["trace", "--pipeline", "sequential", "--layers", "2", demo],
         [["trace", "--pipeline=sequential", "--layers=2", demo],
          ["trace", demo, "--pipeline", "sequential", "--layers=2"]]),
        ("trace scenario", ["trace", "--upstream", "0.12", scenario],
         [["trace", scenario, "--upstream=0.12"]]),
        ("migrate", ["migrate", "-o", "-", old], [["migrate", old, "-o", "-"]]),
    ]
    for name, base, variants in same:
        want = run(*base)
        check(f"{name}: {base}", want.returncode in (0, 1) and want.stdout, want)
        for args in variants:
            p = run(*args)
            check(f"{name}: {args} is {base}", (p.returncode, p.stdout, p.stderr) ==
                  (want.returncode, want.stdout, want.stderr), p)
    out = os.path.join(tmp, "out.yaml")
    p = run("export", demo, "--stage=train_stage", "-o", out)
    check("export RECIPE --stage=S -o OUT writes OUT", p.returncode == 0 and
          open(out).read() == run("export", demo, "--stage", "train_stage").stdout.decode(), p)
    # modsim kernel names what it skipped; --copy-rest makes OUT complete (issue 12)
    import json
    import struct

    def write_st(path, tensors):
        header, blob = {}, b""
        for name, (dtype, shape, data) in tensors.items():
            header[name] = {"dtype": dtype, "shape": shape,
                            "data_offsets": [len(blob), len(blob) + len(data)]}
            blob += data
        h = json.dumps(header).encode()
        with open(path, "wb") as f:
            f.write(struct.pack("<Q", len(h)) + h + blob)

    def read_header(path):
        with open(path, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            return json.loads(f.read(n)), f.read()

    weights = os.path.join(tmp, "w.safetensors")
    norm = struct.pack("<4H", 0x3f80, 0x4000, 0x4040, 0x4080)  # BF16 1, 2, 3, 4
    write_st(weights, {"a.weight": ("F32", [4, 4], struct.pack("<16f", *range(1, 17))),
                       "model.norm.weight": ("BF16", [4], norm)})
    out = os.path.join(tmp, "w_out.safetensors")
    p = run("kernel", "prune", "--in", weights, "--out", out)
    check("kernel names the tensors it skipped", p.returncode == 0 and
          b"skipped 1 tensor unchanged: model.norm.weight" in p.stderr and
          b"--copy-rest" in p.stderr and "model.norm.weight" not in read_header(out)[0], p)
    p = run("kernel", "prune", "--in", weights, "--out", out, "--copy-rest",
            "--structure", "filter", "--sparsity", "0.5")
    header, blob = read_header(out)
    n = header.get("model.norm.weight", {})
    check("kernel --copy-rest writes the rest unchanged", p.returncode == 0 and
          b"copied 1 tensor unchanged" in p.stderr and n.get("dtype") == "BF16" and
          blob[n["data_offsets"][0]:n["data_offsets"][1]] == norm, p)
    a = header["a.weight"]
    pruned = struct.unpack("<16f", blob[a["data_offsets"][0]:a["data_offsets"][1]])
    check("--structure filter prunes whole input columns (the 2 smallest)",
          all(pruned[r * 4 + c] == 0 for r in range(4) for c in (0, 1)) and
          all(pruned[r * 4 + c] != 0 for r in range(4) for c in (2, 3)), p)
    p = run("kernel", "--help")
    text = p.stdout.decode()
    check("kernel --help lists every value README gives", "channel|filter" in text and
          "none|group|weight|dynamic|static" in text and "--copy-rest" in text and
          text.index("--actorder") < text.index("modsim kernel awq"), p)

    # export normalises (issue 12): it never replaces its own input unasked
    own = os.path.join(tmp, "own.yaml")
    with open(own, "w") as f:
        f.write("# my notes\nq_stage:\n  q_modifiers:\n    GPTQModifier:\n"
                "      block_size: \"128\"\n      scheme: W4A16\n")
    kept = open(own).read()
    refused("export -o its own input", ["export", own, "-o", own],
            "is the recipe itself: the export would replace it")
    check("the refused export left the recipe as it was", open(own).read() == kept, p)
    p = run("export", own, "-o", own, "--force")
    text = open(own).read()
    check("export --force rewrites the input and says so", p.returncode == 0 and
          b"rewritten in upstream's layout" in p.stderr and "# my notes" not in text, p)
    check("export writes block_size: \"128\" as upstream reads it", "block_size: 128\n" in text, p)
    for cmd in ("validate", "export", "trace"):
        refused(f"{cmd} --stage=", [cmd, demo, "--stage="], f"modsim {cmd}: --stage needs a value")
        refused(f"{cmd} --stage last", [cmd, demo, "--stage"], f"modsim {cmd}: --stage needs a value")
        refused(f"{cmd} --pipeline=bad", [cmd, demo, "--pipeline=bad"] if cmd != "export" else
                [cmd, demo, "--bogus"], "'bad' is not valid" if cmd != "export" else
                "modsim export: unknown option '--bogus'")
    refused("validate --format=xml", ["validate", demo, "--format=xml"],
            "--format takes text or json, not 'xml'")
    refused("export takes one recipe", ["export", demo, demo], "one recipe at a time")
    refused("migrate -o needs a value", ["migrate", old, "-o"], "modsim migrate: -o needs a value")
    p = run("validate", "--explain=E-YAML")
    check("validate --explain=CODE", p.returncode == 0 and p.stdout.startswith(b"E-YAML"), p)
    # `--` ends the options: a recipe whose name starts with '-'
    dashed = os.path.join(tmp, "-dashed.yaml")
    with open(demo, "rb") as f, open(dashed, "wb") as g:
        g.write(f.read())
    os.chdir(tmp)
    p = run("validate", "--", "-dashed.yaml")
    check("validate -- -dashed.yaml", p.returncode == 0 and b"-dashed.yaml:9:14" in p.stdout, p)
    os.chdir(root)

    # `validate -` reads standard input, named <stdin>
    text = open(demo, "rb").read()
    p = run("validate", "-", stdin=text)
    want = run("validate", demo).stdout.replace(demo.encode(), b"<stdin>")
    check("validate - reads stdin as <stdin>", p.returncode == 0 and p.stdout == want, p)
    p = run("validate", "-", "--format=json", stdin=text)
    check("validate - --format=json", p.returncode == 0 and b'"file": "<stdin>"' in p.stdout, p)
    p = run("validate", "-", stdin=b"a:\n\tb: 1\n")
    check("validate - of a bad recipe", p.returncode == 1 and p.stdout.startswith(
        b"<stdin>:2:1: error E-YAML: YAML syntax: a tab indents this line"), p)
    p = run("validate", "-", stdin=b'{"stage": {"mods": {"GPTQModifier": {"scheme": "W4A16"}}}}')
    check("validate - reads JSON too", p.returncode == 0, p)
    p = run("validate", "-", stdin=b"")
    check("validate - of nothing is an empty recipe", p.returncode == 1 and
          p.stdout.startswith(b"<stdin>:1:1: error E-EMPTY: the recipe is empty"), p)

    # a directory is "is a directory", as a file and as standard input
    for cmd in (["validate"], ["export"], ["trace"], ["migrate", "-o", "-"]):
        p = run(*cmd, tmp)
        out = (p.stdout + p.stderr).decode(errors="replace")
        check(f"{cmd[0]} DIR", p.returncode == 2 and
              f"{tmp}: error E-IO: is a directory: give the path of a file in it" in out, p)
    fd = os.open(tmp, os.O_RDONLY)  # what `modsim validate - < DIR` is given
    p = subprocess.run([modsim, "validate", "-"], stdin=fd, capture_output=True, timeout=60)
    os.close(fd)
    check("validate - < DIR", p.returncode == 2 and
          b"<stdin>: error E-IO: is a directory" in p.stdout, p)
    p = run(tmp)
    check("modsim DIR", p.returncode == 2 and
          f"modsim: {tmp}: is a directory".encode() in p.stderr, p)

# every --help as a user reads it (issue 12: columns aligned): lines fit 80
# columns; in modsim --help the summaries all start at one column, in a
# command's help every option's description starts at column 23 (after the
# option, or on the next line when the option is longer)
p = run("--help")
summaries = {len(l) - len(l.lstrip()) for l in p.stdout.decode().splitlines()
             if l.startswith("      ") and l.strip()}
check("modsim --help: summaries in one column", p.returncode == 0 and summaries == {6}, p)
for cmd in ("tui", "trace", "run", "validate", "export", "migrate", "model", "history"):
    p = run(cmd, "--help")
    text = (p.stdout + p.stderr).decode()
    long = [l for l in text.splitlines() if len(l) > 80]
    check(f"{cmd} --help fits 80 columns", not long, p)
for cmd in ("tui", "trace", "run", "validate"):
    p = run(cmd, "--help")
    lines = (p.stdout + p.stderr).decode().splitlines()
    first = next(k for k, l in enumerate(lines) if l.startswith("  --"))
    bad = []
    for k, l in enumerate(lines[first:], first):
        if l.startswith("  --"):
            if re.search(r"\S  +\S", l) or l[22:23] == " " and l[23:24].strip():
                ok = l[22] == " " and l[23] != " "  # a description on the line
            else:
                ok = lines[k + 1].startswith(" " * 23) and lines[k + 1][23] != " "
        else:
            ok = not l.startswith("   ") or (len(l) - len(l.lstrip()) == 23)
        if not ok:
            bad.append(l)
    check(f"{cmd} --help: descriptions in one column: {bad}", not bad, p)

for f in failures:
    print("FAIL", f)
print(f"{checks - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
