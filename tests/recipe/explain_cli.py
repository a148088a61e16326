#!/usr/bin/env python3
"""`modsim validate --explain CODE`: every code with a golden file in
samples/recipes/bad/ is explained (exit 0, "CODE (severity): summary", then
its paragraph); an unknown code exits 2 naming the nearest one."""
import pathlib
import re
import subprocess
import sys


def run(modsim, *args):
    p = subprocess.run([modsim, "validate", *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def main():
    modsim, failures = sys.argv[1], []
    codes = {re.match(r"[EW](-[A-Z0-9]+)+", f.stem).group(0)
             for f in pathlib.Path("samples/recipes/bad").iterdir() if f.suffix != ".expected"}
    for code in sorted(codes):
        rc, out, _ = run(modsim, "--explain", code)
        severity = "error" if code.startswith("E") else "warning"
        head, _, body = out.partition("\n\n")
        if rc != 0 or not head.startswith(f"{code} ({severity}): ") or len(body) < 40:
            failures.append(f"--explain {code}: exit {rc}, output {out!r}")
    rc, out, err = run(modsim, "--explain", "E-AWQ-ORDR")
    if rc != 2 or out or "did you mean 'E-AWQ-ORDER'?" not in err:
        failures.append(f"--explain E-AWQ-ORDR: exit {rc}, stderr {err!r}")
    rc, _, err = run(modsim, "--explain", "NOTHING-LIKE-IT")
    if rc != 2 or "unknown diagnostic code 'NOTHING-LIKE-IT'" not in err:
        failures.append(f"--explain NOTHING-LIKE-IT: exit {rc}, stderr {err!r}")
    for f in failures:
        print(f)
    print(f"{len(codes)} codes explained, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
