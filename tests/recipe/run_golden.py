#!/usr/bin/env python3
"""Golden tests of `modsim validate` on samples/recipes/bad/: one file per
diagnostic code. NAME.EXT is the recipe, NAME.expected its expected output:
a first line "exit: N", then stdout byte for byte. A recipe whose first line
is "# modsim validate OPTIONS: ..." is validated with those options (the run
a lifecycle warning speaks of). Run from the source root
(paths in the output are relative to it). --update rewrites the .expected
files. Also checks input that cannot live in the folder: a missing file and a
10 MB file, and that --format json is valid JSON with the same codes."""
import json
import re
import pathlib
import subprocess
import sys
import tempfile


def run(modsim, *args):
    p = subprocess.run([modsim, "validate", *args], capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def main():
    modsim, update = sys.argv[1], "--update" in sys.argv
    bad = pathlib.Path("samples/recipes/bad")
    failures, checked = [], 0
    for recipe in sorted(bad.iterdir()):
        if recipe.suffix == ".expected":
            continue
        first = recipe.read_text(errors="replace").split("\n", 1)[0]
        opts = first.split(":", 1)[1].split() if first.startswith("# modsim validate ") else []
        rc, out = run(modsim, *opts, str(recipe))
        got = f"exit: {rc}\n{out}"
        expected = recipe.with_suffix(".expected")
        checked += 1
        if update:
            expected.write_text(got)
            continue
        if not expected.exists():
            failures.append(f"{recipe}: no {expected.name}")
        elif expected.read_text() != got:
            failures.append(f"{recipe}: output differs\n--- expected\n{expected.read_text()}"
                            f"--- actual\n{got}")
        code = re.match(r"[EW](-[A-Z0-9]+)+", recipe.stem).group(0)
        if code not in out:
            failures.append(f"{recipe}: output lacks its own code {code}")
        rc_json, out_json = run(modsim, "--format", "json", *opts, str(recipe))
        try:
            doc = json.loads(out_json)
            codes = [d["code"] for d in doc["diagnostics"]]
            if rc_json != rc or code not in codes:
                failures.append(f"{recipe}: --format json gives exit {rc_json}, codes {codes}")
        except (json.JSONDecodeError, KeyError) as e:
            failures.append(f"{recipe}: --format json is not valid: {e}")
    with tempfile.TemporaryDirectory() as tmp:
        big = pathlib.Path(tmp) / "big.yaml"
        big.write_text("a: " + "x" * (10 * 1024 * 1024) + "\n")
        for path, code in [(str(big), "E-SIZE"), (str(pathlib.Path(tmp) / "missing.yaml"), "E-IO")]:
            rc, out = run(modsim, path)
            checked += 1
            if rc != 2 or code not in out:
                failures.append(f"{path}: expected {code} and exit 2, got {rc}: {out}")
    for f in failures:
        print(f)
    print(f"{checked} checked, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
