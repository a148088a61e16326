#!/usr/bin/env python3
"""`modsim trace` as a user meets it: refusals are one message on stderr with
exit status 2 and nothing on stdout; the bundled demo traces cleanly."""
import json
import os
import subprocess
import sys
import tempfile

modsim, demo = sys.argv[1], sys.argv[2]
failures = []


def run(*args):
    return subprocess.run([modsim, *args], capture_output=True, timeout=60)


def expect_refused(name, args, needle):
    p = run(*args)
    err = p.stderr.decode(errors="replace")
    if p.returncode != 2 or p.stdout or needle not in err or "Traceback" in err:
        failures.append(f"{name}: rc={p.returncode} stdout={p.stdout[:80]!r} stderr={err!r}")


with tempfile.TemporaryDirectory() as tmp:
    binary = os.path.join(tmp, "binary.yaml")
    with open(binary, "wb") as f:
        f.write(bytes(range(256)) * 64)
    big = os.path.join(tmp, "big.yaml")
    with open(big, "w") as f:  # 10 MB of one long comment line, then nothing usable
        f.write("# " + "x" * (10 * 1024 * 1024) + "\n")
    nested = os.path.join(tmp, "nested.yaml")
    with open(nested, "w") as f:
        f.write("[" * 5000 + "]" * 5000)
    expect_refused("missing file", ["trace", os.path.join(tmp, "none.yaml")],
                   "none.yaml: error E-IO: cannot open: No such file or directory")
    expect_refused("binary file", ["trace", binary], "error E-YAML")
    expect_refused("10 MB file", ["trace", big], "not an empty file")
    expect_refused("deep nesting", ["trace", nested], "error E-DEPTH")
    expect_refused("no argument", ["trace"], "usage: modsim trace")
    expect_refused("unknown command", ["tracee"], "unknown command 'tracee'")

p = run("trace", demo)
records = [json.loads(l) for l in p.stdout.decode().splitlines()]
if p.returncode != 0 or not records or "state" not in records[-1]:
    failures.append(f"demo: rc={p.returncode} stderr={p.stderr!r}")

for f in failures:
    print("FAIL", f)
print(f"{7 - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
