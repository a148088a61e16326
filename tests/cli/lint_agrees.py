#!/usr/bin/env python3
"""Lint and simulation agree (issue 9): every lifecycle warning `modsim
validate` gives is true of the run `modsim trace RECIPE` simulates with the
same run options. For every recipe under samples/recipes/ and the shared
real recipes, in three runs (the default oneshot() run, --training, --index
intended), each warning's prediction is checked against the trace:

  W-START-NEVER, W-END-NEG, W-END-BEFORE-START  the modifier never starts
  W-ONESHOT-TRAINING, W-END-NEVER               it starts and never ends
  W-TRAINING-CALIB                              it never starts; ended after
                                                finalize ("finalize ends it", 0.12)
                                                or not ("does not end it", 0.13)
  W-CALIB-MARKS                                 0.13 flags it started and ended;
                                                on_start (unless initialize ran
                                                it) and on_end never run
  W-STAGES-FLAT                                 every modifier of every stage
                                                is initialized by call 0 and
                                                finalized by the last call

The warning is tied to its modifier by position: PyYAML's composer gives the
line of each modifier's type key, in recipe order (stages, groups, types).
Usage: lint_agrees.py MODSIM ROOT [SHARED_RECIPES]"""
import json
import pathlib
import subprocess
import sys

import yaml

RUNS = [[], ["--training"], ["--index", "intended"], ["--upstream", "0.13"],
        ["--upstream", "0.13", "--training"]]
NEVER_STARTS = {"W-START-NEVER", "W-END-NEG", "W-END-BEFORE-START"}
NEVER_ENDS = {"W-ONESHOT-TRAINING", "W-END-NEVER"}
CHECKED = NEVER_STARTS | NEVER_ENDS | {"W-TRAINING-CALIB", "W-STAGES-FLAT", "W-CALIB-MARKS"}


def modifier_lines(path):
    """The 1-based line of each modifier's type key, in recipe order."""
    text = path.read_text()
    offset = 0
    if path.suffix == ".md":
        lines = text.split("\n")
        end = lines.index("---", 1)
        text, offset = "\n".join(lines[1:end]), 1
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    out = []
    for skey, stage in root.value:
        if not skey.value.endswith("_stage") or not isinstance(stage, yaml.MappingNode):
            continue
        for gkey, group in stage.value:
            if not gkey.value.endswith("_modifiers") or not isinstance(group, yaml.MappingNode):
                continue
            out += [tkey.start_mark.line + 1 + offset for tkey, _ in group.value]
    return out


def owner(lines, line):
    """The modifier whose type key is the last one at or before `line`."""
    best = None
    for i, start in enumerate(lines):
        if start <= line:
            best = i
    return best


def check(modsim, path, run):
    p = subprocess.run([modsim, "validate", "--format", "json", *run, str(path)],
                       capture_output=True, text=True, timeout=60)
    diags = json.loads(p.stdout)["diagnostics"]
    if any(d["severity"] == "error" for d in diags):
        return None, []
    t = subprocess.run([modsim, "trace", *run, str(path)], capture_output=True, text=True,
                       timeout=120)
    if t.returncode != 0:
        return 0, [f"{path} {run}: trace exit {t.returncode}: {t.stderr.strip()}"]
    states, finals, hooks = [], {}, set()
    for line in t.stdout.splitlines():
        rec = json.loads(line)
        if "state" in rec:
            states.append(rec["state"])
        elif "hook" in rec:
            hooks.add((rec["modifier"], rec["hook"]))
            if rec["hook"] == "on_finalize":
                finals[rec["modifier"]] = rec["call"]
    last_call = len(states) - 1
    lines = modifier_lines(path)
    failures, checked = [], 0
    for d in diags:
        code = d["code"]
        if code not in CHECKED:
            continue
        checked += 1
        where = f"{path}:{d['line']}:{d['col']} {code} {run}"
        if code == "W-STAGES-FLAT":
            if not all(m["initialized"] for m in states[0]):
                failures.append(f"{where}: not every modifier is initialized by call 0")
            if len(finals) != len(states[0]) or any(c != last_call for c in finals.values()):
                failures.append(f"{where}: not every modifier is finalized by the last call")
            continue
        m = owner(lines, d["line"])
        if m is None:
            failures.append(f"{where}: no modifier at or before line {d['line']}")
            continue
        started = any(s[m]["started"] for s in states)
        ended = any(s[m]["ended"] for s in states)
        if code in NEVER_STARTS and started:
            failures.append(f"{where}: modifier {m} starts in the simulated run")
        if code in NEVER_ENDS and (not started or ended):
            failures.append(f"{where}: modifier {m} started={started} ended={ended}")
        if code == "W-TRAINING-CALIB":
            ends = "finalize ends it" in d["message"]
            if started or states[-1][m]["ended"] != ends:
                failures.append(f"{where}: modifier {m} started={started}, ended at the end="
                                f"{states[-1][m]['ended']}")
        if code == "W-CALIB-MARKS":
            skipped = ["on_end"] + ([] if "starts at initialize" in d["message"] else ["on_start"])
            ran = [h for h in skipped if (m, h) in hooks]
            if not started or not ended or ran:
                failures.append(f"{where}: modifier {m} started={started} ended={ended}, "
                                f"ran {ran}")
    return checked, failures


def main():
    modsim, root = sys.argv[1], pathlib.Path(sys.argv[2])
    recipes = sorted(p for p in (root / "samples" / "recipes").rglob("*")
                     if p.suffix in (".yaml", ".yml", ".md") and p.is_file())
    if len(sys.argv) > 3 and pathlib.Path(sys.argv[3]).is_dir():
        recipes += sorted(p for p in pathlib.Path(sys.argv[3]).rglob("*")
                          if p.suffix in (".yaml", ".yml", ".md"))
    failures, warnings, simulated = [], 0, 0
    for path in recipes:
        for run in RUNS:
            checked, f = check(modsim, path, run)
            if checked is None:
                continue
            simulated += 1
            warnings += checked
            failures += f
    for f in failures:
        print(f)
    print(f"{len(recipes)} recipes, {simulated} runs simulated, {warnings} lifecycle warnings "
          f"checked, {len(failures)} failed")
    return 1 if failures or warnings == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
