#!/usr/bin/env python3
"""One registry of diagnostic codes (src/util/codes.c), and README agrees with
it: the error and warning tables of "Recipes: validate and export" list the
registry's recipe codes in its order with its summaries, each code's paragraph
there is the registry's explanation, the table of the other commands' codes
lists the rest, and `modsim validate --explain CODE` prints each entry. Every
code the sources report is registered, and every registered code is used.

usage: readme_codes.py MODSIM SOURCE_DIR"""
import json
import os
import re
import subprocess
import sys

modsim, root = sys.argv[1], sys.argv[2]
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL", msg)


registry = json.loads(subprocess.run([modsim, "validate", "--explain", "--format", "json"],
                                     capture_output=True, text=True, check=True).stdout)
by_code = {c["code"]: c for c in registry}
readme = open(os.path.join(root, "README.md"), encoding="utf-8").read()
section = readme[readme.index("## Recipes: validate and export"):readme.index("\n## ", readme.index("## Recipes: validate and export") + 3)]


def table_after(heading):
    start = section.index(heading)
    rows = []
    for line in section[start:].splitlines()[1:]:
        m = re.match(r"^\| ([EW]-[A-Z0-9-]+) \| (.*) \|$", line)
        if m:
            rows.append(m.groups())
        elif rows and not line.startswith("|"):
            break
    return rows


recipe = [(c["code"], c["summary"]) for c in registry if c["area"] == "recipe"]
readme_rows = table_after("#### Errors") + table_after("#### Warnings")
if readme_rows != recipe:
    fail("README's error and warning tables differ from the registry:\n  README   %s\n  registry %s"
         % ([r for r in readme_rows if r not in recipe], [r for r in recipe if r not in readme_rows]))

other_rows = []
start = section.index("#### Codes of the other commands")
for line in section[start:].splitlines()[1:]:
    m = re.match(r"^\| ([EW]-[A-Z0-9-]+) \| (\w+) \| (\w+) \| (.*) \|$", line)
    if m:
        other_rows.append(m.groups())
    elif other_rows and not line.startswith("|"):
        break
others = [(c["code"], c["severity"], c["area"], c["summary"]) for c in registry
          if c["area"] != "recipe"]
if other_rows != others:
    fail("README's table of the other codes differs from the registry:\n  README   %s\n  registry %s"
         % ([r for r in other_rows if r not in others], [r for r in others if r not in other_rows]))

paragraphs = {}
for m in re.finditer(r"^\*\*((?:[EW]-[A-Z0-9-]+(?:, )?)+)\.\*\* (.*?)(?:\n\n|\Z)", section,
                     re.M | re.S):
    for code in m.group(1).split(", "):
        paragraphs[code] = " ".join(m.group(2).split())
for code, _ in recipe:
    if paragraphs.get(code) != by_code[code]["explanation"]:
        fail("README's paragraph for %s differs from the registry's explanation" % code)

for c in registry:
    r = subprocess.run([modsim, "validate", "--explain", c["code"]], capture_output=True, text=True)
    head = "%s (%s, %s): %s" % (c["code"], c["severity"], c["area"], c["summary"])
    body = " ".join(r.stdout.split("\n", 1)[1].split()) if "\n" in r.stdout else ""
    if r.returncode != 0 or not r.stdout.startswith(head + "\n") or \
            body != " ".join((c["explanation"] or "").split()):
        fail("--explain %s printed:\n%s" % (c["code"], r.stdout + r.stderr))
r = subprocess.run([modsim, "validate", "--explain", "E-AWQ-ORDR"], capture_output=True, text=True)
if r.returncode != 2 or "did you mean 'E-AWQ-ORDER'" not in r.stderr:
    fail("--explain of an unknown code: %d %s" % (r.returncode, r.stderr))

used = set()
for folder in ("src", "ui"):
    for dirpath, _, files in os.walk(os.path.join(root, folder)):
        for f in files:
            if f.endswith((".c", ".h")) and f != "codes.c":
                text = open(os.path.join(dirpath, f), encoding="utf-8").read()
                used.update(re.findall(r'"([EW]-[A-Z0-9]+(?:-[A-Z0-9]+)*)"', text))
for code in sorted(used - set(by_code)):
    fail("%s is reported by the sources but not registered" % code)
for code in sorted(set(by_code) - used):
    fail("%s is registered but no source reports it" % code)

print("%d passed, %d failed" % (0 if failures else 1, len(failures)))
sys.exit(1 if failures else 0)
