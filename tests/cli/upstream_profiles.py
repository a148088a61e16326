#!/usr/bin/env python3
"""Runs every scenario of tests/scenarios under both upstream profiles.

Usage: upstream_profiles.py MODSIM SCENARIOS_DIR REFERENCE_SCRIPT

Each scenario with an expected trace is rewritten for each profile (the
calibration events get that profile's names: calibration_epoch_start/end at
0.12, calibration_start/end at 0.13), with its `upstream:` key set to the
OTHER profile, and traced with `modsim trace --upstream PROFILE`: the flag
must win. Each trace must equal what scripts/lifecycle_reference.py says for
that profile, and the differences between 0.12 and 0.13 must show where they
should (llm-compressor 715e1166c~1 vs ab1ba3eff):

- on_calibration_start / on_sequential_epoch_end / on_calibration_end appear
  only at 0.13, where calibration_start runs on_calibration_start on every
  modifier it reaches (modifiers/modifier.py:136-141);
- at 0.13 calibration_start marks every modifier it reaches started, training
  ones included; at 0.12 calibration_epoch_start never starts a training one;
- QuantizationModifier ends finalized after finalize only at 0.13;
- at 0.13 a calibration type's on_finalize calls the base no-op on_end and it
  stays not ended; at 0.12 that on_end ends it;
- sequential_epoch_end without modules raises TypeError only at 0.13;
- GPTQ's "unable to find any modules" comes from on_start at 0.12 (started
  set) and from on_calibration_start at 0.13.

Each check must have been met at least once over the whole set, so the
scenarios keep covering every difference. The flag's refusals are checked
too: a bad or missing value, and a scenario whose event names belong to the
other profile.
"""
import collections
import contextlib
import importlib.util
import io
import json
import pathlib
import subprocess
import sys
import tempfile

import yaml

PROFILES = ("0.12", "0.13")
NAMES = {"0.12": {"calibration_start": "calibration_epoch_start",
                  "calibration_end": "calibration_epoch_end"},
         "0.13": {"calibration_epoch_start": "calibration_start",
                  "calibration_epoch_end": "calibration_end"}}
TRAINING = {"ConstantPruningModifier", "MagnitudePruningModifier", "OutputDistillationModifier"}
ENDS_AT_FINALIZE = {"GPTQModifier", "SparseGPTModifier", "WandaPruningModifier",
                    "SmoothQuantModifier", "LogarithmicEqualizationModifier", "AWQModifier"}
NEEDS_MODULES_013 = TRAINING | {"QuantizationModifier", "GPTQModifier"}
NEW_HOOKS = {"on_calibration_start", "on_sequential_epoch_end", "on_calibration_end"}
GPTQ_NONE = "GPTQModifier was unable to find any modules to quantize"


def load_reference(path):
    spec = importlib.util.spec_from_file_location("lifecycle_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rewrite(sc, source, profile):
    """The scenario for `profile`, with paths made absolute."""
    out = dict(sc)
    out["upstream"] = PROFILES[1 - PROFILES.index(profile)]  # --upstream must win
    for key in ("recipe_file", "model"):
        value = out.get(key)
        if isinstance(value, str) and (source.parent / value).exists():
            out[key] = str((source.parent / value).resolve())
    calls = []
    for call in out.get("calls") or []:
        if isinstance(call, dict) and call.get("event") in NAMES[profile]:
            call = dict(call, event=NAMES[profile][call["event"]])
        calls.append(call)
    out["calls"] = calls
    return out


def modifier_types(ref, sc, source):
    if "recipe_file" in sc:
        recipe = yaml.safe_load((source.parent / sc["recipe_file"]).read_text())
    else:
        recipe = yaml.safe_load(sc["recipe"])
    return [m.type for m in ref.load_modifiers(recipe, [], ref.World(), "0.12")]


def by_call(records):
    calls = collections.defaultdict(list)
    for r in records:
        calls[r["call"]].append(r)
    return calls


def states(records):
    return {r["call"]: r["state"] for r in records if "state" in r}


def check_differences(profile, calls_written, types, records, met, problems, name):
    """The rules of one profile on its trace; `met` counts each rule seen."""
    v013 = profile == "0.13"
    calls = by_call(records)
    after = states(records)
    start_name = "calibration_start" if v013 else "calibration_epoch_start"

    def fail(msg):
        problems.append(f"{name} at {profile}: {msg}")

    for i, call in enumerate(calls_written):
        recs = calls[i]
        before = after.get(i - 1)
        errors = [r for r in recs if "error" in r]
        hooks = [r for r in recs if "hook" in r]
        for r in hooks:
            if r["hook"] in NEW_HOOKS:
                if not v013:
                    fail(f"call {i}: {r['hook']} at 0.12")
                else:
                    met["new hooks at 0.13 only"] += 1
        event = call.get("event") if isinstance(call, dict) else None
        # calibration_start: on_calibration_start after each on_event; started
        if event == start_name:
            for r in hooks:
                if r["hook"] != "on_event":
                    continue
                m = r["modifier"]
                ran = any(h["modifier"] == m and h["hook"] == "on_calibration_start"
                          for h in hooks)
                raised_here = any(e["modifier"] == m for e in errors)
                if v013 and not ran:
                    fail(f"call {i}: modifier {m} got no on_calibration_start")
                if types[m] in TRAINING and before is not None:
                    now = after[i][m]["started"]
                    if v013 and not raised_here:
                        if not now:
                            fail(f"call {i}: training modifier {m} not started")
                        elif not before[m]["started"]:
                            met["calibration_start starts a training modifier"] += 1
                    if not v013 and now != before[m]["started"]:
                        fail(f"call {i}: calibration_epoch_start changed training modifier "
                             f"{m}'s started")
                    elif not v013 and not now:
                        met["0.12: calibration_epoch_start leaves training unstarted"] += 1
        # finalize: QuantizationModifier finalized only at 0.13; on_end at finalize
        is_finalize = call == "finalize" or (isinstance(call, dict) and
                                             call.get("call") == "finalize")
        if is_finalize and i in after:
            for r in hooks:
                if r["hook"] != "on_finalize" or any(e["modifier"] == r["modifier"]
                                                     for e in errors):
                    continue
                m = r["modifier"]
                state = after[i][m]
                if types[m] == "QuantizationModifier":
                    if state["finalized"] != v013:
                        fail(f"call {i}: QuantizationModifier finalized={state['finalized']}")
                    else:
                        met["QuantizationModifier finalized at 0.13 only"] += 1
                if types[m] in ENDS_AT_FINALIZE and before is not None \
                        and not before[m]["ended"]:
                    ended_here = any(h["modifier"] == m and h["hook"] == "on_end"
                                     and h["event"] is None for h in hooks)
                    if not ended_here:
                        fail(f"call {i}: modifier {m} got no on_end from on_finalize")
                    elif state["ended"] == v013:
                        fail(f"call {i}: modifier {m} ended={state['ended']} after finalize")
                    else:
                        met["on_finalize's on_end ends at 0.12 only"] += 1
        # sequential_epoch_end without modules: TypeError at 0.13 only
        if event == "sequential_epoch_end":
            type_errors = [e for e in errors if e["error"] == "TypeError"]
            has_modules = "modules" in call or "layer" in call
            if not v013 and type_errors:
                fail(f"call {i}: TypeError at 0.12")
            if v013:
                for e in type_errors:
                    if has_modules or types[e["modifier"]] not in NEEDS_MODULES_013:
                        fail(f"call {i}: unexpected TypeError {e['message']}")
                    else:
                        met["sequential_epoch_end needs modules at 0.13"] += 1
                reached = {r["modifier"] for r in hooks if r["hook"] == "on_event"}
                for m in reached:
                    if not has_modules and types[m] in NEEDS_MODULES_013 and \
                            not any(e["modifier"] == m for e in type_errors):
                        fail(f"call {i}: modifier {m} ran without modules")
        # GPTQ's missing modules: from on_start at 0.12, on_calibration_start at 0.13
        for e in errors:
            if not e["message"].startswith(GPTQ_NONE):
                continue
            m = e["modifier"]
            last = [h["hook"] for h in hooks if h["modifier"] == m][-1]
            want = "on_calibration_start" if v013 else "on_start"
            if last != want:
                fail(f"call {i}: GPTQ raised after {last}, not {want}")
            elif v013 and before is not None and not before[m]["started"] \
                    and after[i][m]["started"]:
                fail(f"call {i}: GPTQ started although on_calibration_start raised")
            elif not v013 and not after[i][m]["started"]:
                fail(f"call {i}: GPTQ not started after on_start raised")
            else:
                met[f"GPTQ raises from {want}"] += 1


def check_refusals(modsim, folder, problems):
    """--upstream's own errors: exit 2, nothing on stdout, the reason on stderr."""
    old_names = folder / "calibration_start_and_end_events.yaml"  # written for 0.12
    cases = [(["--upstream", "0.14", str(old_names)], "--upstream '0.14' is not valid"),
             ([str(old_names), "--upstream"], "--upstream needs a value"),
             ([str(old_names), str(old_names)], "usage: modsim trace"),
             ([str(old_names), "--upstream", "0.13"],
              "calibration_epoch_start is the upstream 0.12 name; 0.13 calls it "
              "calibration_start")]
    for args, needle in cases:
        proc = subprocess.run([modsim, "trace", *args], capture_output=True, text=True,
                              timeout=60)
        if proc.returncode != 2 or proc.stdout or needle not in proc.stderr:
            problems.append(f"trace {' '.join(args)}: rc={proc.returncode} "
                            f"stdout={proc.stdout[:80]!r} stderr={proc.stderr!r}")


def main():
    modsim, folder, ref_path = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
    ref = load_reference(ref_path)
    problems = []
    check_refusals(modsim, folder, problems)
    met = collections.Counter()
    scenarios = [p for p in sorted(folder.glob("*.yaml")) if p.with_suffix(".jsonl").exists()]
    with tempfile.TemporaryDirectory() as tmp:
        for source in scenarios:
            sc = yaml.safe_load(source.read_text())
            types = modifier_types(ref, sc, source)
            for profile in PROFILES:
                rewritten = rewrite(sc, source, profile)
                path = pathlib.Path(tmp) / f"{source.stem}-{profile}.yaml"
                path.write_text(yaml.safe_dump(rewritten, sort_keys=False))
                proc = subprocess.run([modsim, "trace", str(path), "--upstream", profile],
                                      capture_output=True, text=True, timeout=60)
                if proc.returncode == 2 and ("E-TYPE-VERSION" in proc.stderr or
                                             (profile == "0.13" and "E-VALIDATION" in proc.stderr)):
                    continue  # a type this release lacks, or 0.13's load-time validator
                if proc.returncode:
                    problems.append(f"{source.name} at {profile}: exit {proc.returncode}: "
                                    f"{proc.stderr.strip()}")
                    continue
                actual = [json.loads(line) for line in proc.stdout.splitlines()]
                buf = io.StringIO()
                with contextlib.redirect_stdout(buf):
                    ref.main(str(path), profile)
                expected = [json.loads(line) for line in buf.getvalue().splitlines()]
                if actual != expected:
                    diff = next((k for k, (a, b) in enumerate(zip(actual, expected)) if a != b),
                                min(len(actual), len(expected)))
                    problems.append(
                        f"{source.name} at {profile}: record {diff} differs from the reference:"
                        f"\n  expected {json.dumps(expected[diff]) if diff < len(expected) else '(end)'}"
                        f"\n  actual   {json.dumps(actual[diff]) if diff < len(actual) else '(end)'}")
                    continue
                check_differences(profile, rewritten["calls"], types, actual, met, problems,
                                  source.name)
    wanted = ["new hooks at 0.13 only", "calibration_start starts a training modifier",
              "0.12: calibration_epoch_start leaves training unstarted",
              "QuantizationModifier finalized at 0.13 only",
              "on_finalize's on_end ends at 0.12 only",
              "sequential_epoch_end needs modules at 0.13",
              "GPTQ raises from on_start", "GPTQ raises from on_calibration_start"]
    for rule in wanted:
        if not met[rule]:
            problems.append(f"no scenario shows: {rule}")
    for p in problems:
        print("FAIL", p)
    print(f"{len(scenarios)} scenarios x {len(PROFILES)} profiles; "
          + ", ".join(f"{rule}: {met[rule]}" for rule in wanted))
    print(f"{len(problems)} problems")
    return 1 if problems or not scenarios else 0


if __name__ == "__main__":
    sys.exit(main())
