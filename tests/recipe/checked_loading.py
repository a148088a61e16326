#!/usr/bin/env python3
"""What upstream refuses, modsim refuses in every command: `validate`,
`export` and `trace` load a recipe with the same checks (ms_recipe_load_checked)
and report the same diagnostic at the same position. Errors upstream raises
only when a modifier runs (E-INITIALIZE, the quantization config conflicts)
refuse validate and export, while trace loads the recipe and the simulated
modifier raises them. A --stage that selects nothing, and an export with no
modifiers, are errors.

usage: checked_loading.py MODSIM"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

modsim = sys.argv[1]
failures = []


def run(*args):
    p = subprocess.run([modsim, *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def check(cond, what, detail=""):
    if not cond:
        failures.append(f"{what}\n    {detail}".rstrip())
        print("FAIL", what, detail)


def first_line_with(text, code):
    return next((l for l in text.splitlines() if f" {code}:" in l), None)


tmp = tempfile.mkdtemp()


def write(name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


stages = write("stages.yaml", "sparsity_stage:\n  m_modifiers:\n    ConstantPruningModifier:\n"
               "      targets: [x]\nempty_stage:\n  m_modifiers: {}\n")

# --stage that matches nothing: validate and export say so and name the stages
rc, out, _ = run("validate", "--stage", "quant", stages)
line = first_line_with(out, "E-STAGE")
check(rc == 1 and line and "'quant'" in line, "validate --stage quant: E-STAGE, exit 1", out)
check("sparsity_stage, empty_stage" in out, "E-STAGE names the recipe's stages", out)
target = os.path.join(tmp, "out.yaml")
rc, out, err = run("export", stages, "--stage", "quant", "-o", target)
check(rc == 1 and first_line_with(err, "E-STAGE") and not os.path.exists(target),
      "export --stage quant: E-STAGE, exit 1, nothing written", f"{rc} {err}")

# a stage without modifiers: nothing to export
rc, out, err = run("export", stages, "--stage", "empty")
check(rc == 1 and not out and first_line_with(err, "E-NO-MODIFIERS"),
      "export of a stage with no modifiers: E-NO-MODIFIERS, exit 1, no output", f"{rc} {err}")
rc, out, err = run("export", stages, "--stage", "sparsity")
check(rc == 0 and "ConstantPruningModifier" in out, "export of the other stage works", err)

# the same load error at the same position in validate, export and trace
bad = write("bad.yaml", "quant_stage:\n  quant_modifiers:\n    GPTQModifier:\n"
            "      scheme: W4A16\n      dampening_fraction: 0.01\n")
scenario = write("bad_scenario.yaml", "recipe_file: bad.yaml\ncalls: [initialize]\n")
want = f"{bad}:5:7: error E-FIELD-UNKNOWN"
rc_v, out_v, _ = run("validate", bad)
rc_e, out_e, err_e = run("export", bad)
rc_t, out_t, err_t = run("trace", scenario)
check(rc_v == 1 and want in out_v, "validate reports the unknown field", out_v)
check(rc_e == 1 and want in err_e and not out_e, "export refuses it at the same place", err_e)
check(rc_t == 2 and want in err_t and not out_t, "trace refuses it at the same place", err_t)

# inline recipes point into the scenario file
inline = write("inline.yaml", "# comment\nrecipe: |\n  s_stage:\n    m_modifiers:\n"
               "      OutputDistillationModifier: {targets: [a]}\ncalls: [initialize]\n")
rc, out, err = run("trace", inline)
check(rc == 2 and f"{inline}:5:7: error E-TYPE-REMOVED" in err,
      "trace: a removed type in an inline recipe, at its line in the scenario", err)

# warnings stay warnings: the trace runs and prints them on stderr
warn = write("warn.yaml", "recipe: |\n  s_stage:\n    m_modifiers:\n"
             "      ConstantPruningModifier: {targets: [a], end: -1}\ncalls: [initialize]\n")
rc, out, err = run("trace", warn)
check(rc == 0 and "warning W-END-NEG" in err and out.startswith("{"),
      "trace: a warning is printed and the trace proceeds", f"{rc} {err}")

# raised when the modifier runs: validate and export refuse, trace raises it
late = write("late.yaml", "q_stage:\n  q_modifiers:\n    QuantizationModifier:\n"
             "      scheme: W8A8\n      config_groups: {}\n")
late_sc = write("late_scenario.yaml", "recipe_file: late.yaml\ncalls: [initialize]\n")
rc, out, _ = run("validate", late)
check(rc == 1 and f"{late}:5:7: error E-SCHEME-CONFLICT" in out, "validate: E-SCHEME-CONFLICT", out)
rc, out, err = run("export", late)
check(rc == 1 and not out and "error E-SCHEME-CONFLICT" in err, "export refuses it", err)
rc, out, err = run("trace", late_sc)
records = [json.loads(l) for l in out.splitlines()]
raised = [r for r in records if "error" in r]
check(rc == 0 and "note E-SCHEME-CONFLICT" in err, "trace: a note, and the run goes on", err)
check(raised and raised[0]["error"] == "ValueError" and raised[0]["modifier"] == 0
      and raised[0]["message"] == "Please specify either `scheme` or `config_groups`",
      "trace: on_initialize raises upstream's ValueError (mixin.py:319 at 0.12)", out)

# 0.13-only types are refused at 0.12 by every command
reap = write("reap.yaml", "p_stage:\n  p_modifiers:\n    REAPPruningModifier: {sparsity: 0.5}\n")
rc, out, _ = run("validate", reap)
check(rc == 1 and "exists from llm-compressor 0.13 (use --upstream 0.13)" in out,
      "validate: REAPPruningModifier needs 0.13", out)
rc, out, err = run("trace", write("reap_sc.yaml", "recipe_file: reap.yaml\ncalls: [initialize]\n"))
check(rc == 2 and "E-TYPE-VERSION" in err, "trace refuses REAPPruningModifier at 0.12", err)

shutil.rmtree(tmp)
print(f"{'1 passed' if not failures else '0 passed'}, {len(failures)} failed")
sys.exit(1 if failures else 0)
