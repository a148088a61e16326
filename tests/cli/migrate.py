#!/usr/bin/env python3
"""modsim migrate end to end: each samples/recipes/old/*.yaml migrates with the
expected exit status and changes, keeps its comments, the result passes
`modsim validate` and reads (yaml.safe_load) as expected, and migrating the
result again changes nothing. Also: -o -, --in-place, refusing to overwrite
OLD, and exit 2 on input that is not a recipe.

usage: migrate.py MODSIM SOURCE_ROOT"""
import pathlib
import re
import subprocess
import sys
import tempfile

import yaml

# name: (exit status, substrings the change list must hold, comments kept,
#        what yaml.safe_load of the result must hold at its stages)
CASES = {
    "gptq_renamed": (0, ["6:7: removed sequential_update from GPTQModifier",
                         "7:7: renamed percdamp -> dampening_frac in GPTQModifier (llm-compressor 0.1.0)",
                         "8:7: removed quantize from GPTQModifier"],
                     ["# An early llm-compressor GPTQ recipe", "# W4A16 with a little more"],
                     {"quant_stage": {"quant_modifiers": {"GPTQModifier": {
                         "dampening_frac": 0.05, "scheme": "W4A16", "targets": ["Linear"],
                         "ignore": ["lm_head"]}}}}),
    "quant_sparse_renamed": (1, ["4:40: renamed percdamp -> dampening_frac in SparseGPTModifier",
                                 "4:56: not carried: sequential_targets",
                                 "7:5: renamed vLLMQuantizationModifier -> QuantizationModifier",
                                 "11:7: not carried: num_calibration_steps"],
                             ["# SparseGPT then FP8"],
                             {"sparsity_stage": {"sparsity_modifiers": {"SparseGPTModifier": {
                                 "sparsity": 0.5, "dampening_frac": 0.01, "mask_structure": "2:4"}}},
                              "quant_stage": {"quant_modifiers": {"QuantizationModifier": {
                                  "ignore": ["lm_head"], "scheme": "FP8", "targets": "Linear"}}}}),
    "sparseml_constant": (0, ["4:5: renamed params -> targets (llm-compressor 0.1.0)",
                              "7:5: removed log_types"],
                          ["# Hold the sparsity", "# every prunable layer"],
                          # upstream expands __ALL_PRUNABLE__ so (utils/pytorch/module.py)
                          {"train_stage": {"pruning_modifiers": {"ConstantPruningModifier": {
                              "targets": ["Linear", "Conv1d", "Conv2d", "Conv3d"],
                              "start": 0.0, "end": 3.0}}}}),
    "sparseml_gmp": (1, ["2:1: removed top-level version",
                         "11:7: not carried: EpochRangeModifier",
                         "15:7: not carried: SetLearningRateModifier",
                         "20:7: renamed GMPruningModifier -> MagnitudePruningModifier",
                         "26:9: renamed start_epoch -> start (llm-compressor 0.1.0); eval(pruning_start) -> 1.0",
                         "28:9: not carried: update_frequency",
                         "31:9: not carried: leave_enabled: true"],
                     ["# SparseML-era recipe", "# prune every attention and MLP weight",
                      "# the classifier keeps"],
                     {"train_stage": {"train_modifiers": {
                         "MagnitudePruningModifier": {
                             "targets": ["re:.*attention.*", "re:.*intermediate.dense"],
                             "init_sparsity": 0.05, "final_sparsity": 0.85, "start": 1.0,
                             "end": 8.0, "update_scheduler": "cubic",
                             "mask_structure": "unstructured"},
                         "ConstantPruningModifier": {"targets": ["classifier"], "start": 8.0,
                                                     "end": 10}}}}),
}


def run(*args):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def main():
    modsim, root = sys.argv[1], pathlib.Path(sys.argv[2])
    old_dir = root / "samples" / "recipes" / "old"
    failures, checks = [], [0]

    def check(cond, msg):
        checks[0] += 1
        if not cond:
            failures.append(msg)

    samples = sorted(p.stem for p in old_dir.glob("*.yaml"))
    check(samples == sorted(CASES), f"samples/recipes/old holds {samples}, the test {sorted(CASES)}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        for name, (want_rc, changes, comments, stages) in CASES.items():
            old = old_dir / f"{name}.yaml"
            new = tmp / f"{name}.yaml"
            rc, out, err = run(modsim, "migrate", str(old), "-o", str(new))
            check(rc == want_rc, f"{name}: exit {rc}, want {want_rc}\n{out}{err}")
            for c in changes:
                check(f"{old}:{c}" in out, f"{name}: no '{c}' in\n{out}")
            n_not = len(re.findall(r"^\S+: not carried: ", out, re.M))
            check((n_not > 0) == (want_rc == 1), f"{name}: {n_not} not carried with exit {rc}")
            check(f"{n_not} not carried" in out, f"{name}: the summary miscounts\n{out}")
            if not new.exists():
                failures.append(f"{name}: {new} not written")
                continue
            text = new.read_text()
            for c in comments:
                check(c in text, f"{name}: comment '{c}' lost:\n{text}")
            doc = yaml.safe_load(text)
            got = {k: v for k, v in doc.items() if k.endswith("_stage")}
            check(got == stages, f"{name}: reads as\n  {got}\nwant\n  {stages}")
            rc, out, _ = run(modsim, "validate", str(new))
            check(rc == 0 and " error " not in out, f"{name}: the result does not validate:\n{out}")
            again = tmp / f"{name}.again.yaml"
            rc, out, _ = run(modsim, "migrate", str(new), "-o", str(again))
            check(rc == 0 and again.read_text() == text and "0 changes, 0 not carried" in out,
                  f"{name}: migrating the result again changes it (exit {rc}):\n{out}")

        # CRLF files: generated lines end in CRLF too, and the result reads the same
        for name in ("sparseml_gmp", "quant_sparse_renamed"):
            crlf = tmp / f"{name}.crlf.yaml"
            crlf.write_bytes((old_dir / f"{name}.yaml").read_bytes().replace(b"\n", b"\r\n"))
            p = subprocess.run([modsim, "migrate", str(crlf), "-o", "-"], capture_output=True,
                               timeout=30)
            lines = p.stdout.split(b"\n")[:-1]
            lf = (tmp / f"{name}.yaml").read_bytes()
            check(p.returncode == 1 and all(line.endswith(b"\r") for line in lines)
                  and p.stdout.replace(b"\r\n", b"\n") == lf,
                  f"{name} with CRLF: exit {p.returncode}\n{p.stdout!r}")

        # -o -: the recipe on stdout, the changes on stderr
        old = old_dir / "gptq_renamed.yaml"
        rc, out, err = run(modsim, "migrate", str(old), "-o", "-")
        check(rc == 0 and out == (tmp / "gptq_renamed.yaml").read_text() and "renamed percdamp" in err,
              f"-o -: exit {rc}, stdout\n{out}stderr\n{err}")
        # OLD is never overwritten silently
        copy = tmp / "copy.yaml"
        copy.write_text(old.read_text())
        for args in (["migrate", str(copy)], ["migrate", str(copy), "-o", str(copy)]):
            rc, _, err = run(modsim, *args)
            check(rc == 2 and copy.read_text() == old.read_text(),
                  f"{args}: exit {rc}, OLD changed: {copy.read_text() != old.read_text()}\n{err}")
        rc, out, _ = run(modsim, "migrate", str(copy), "--in-place")
        check(rc == 0 and "dampening_frac" in copy.read_text(), f"--in-place: exit {rc}\n{out}")
        # unusable input: exit 2, nothing written
        bad = {"syntax.yaml": "a: [1, 2\n", "list.yaml": "- a\n- b\n", "empty.yaml": ""}
        for fname, content in bad.items():
            (tmp / fname).write_text(content)
        for path in [tmp / "missing.yaml", *(tmp / f for f in bad)]:
            out_path = tmp / "never.yaml"
            rc, _, err = run(modsim, "migrate", str(path), "-o", str(out_path))
            check(rc == 2 and not out_path.exists() and str(path) in err,
                  f"{path.name}: exit {rc}, written {out_path.exists()}: {err}")
        # same type twice in a list: two groups; flow items; -1 end; a tag left elsewhere
        mixed = tmp / "mixed.yaml"
        mixed.write_text(
            "training_modifiers:\n"
            "  - !EpochRangeModifier {start_epoch: 0, end_epoch: 5}\n"
            "pruning_modifiers:\n"
            "  - !ConstantPruningModifier {params: [a.weight, b.weight], start_epoch: 0, end_epoch: 5}\n"
            "  - !ConstantPruningModifier\n"
            "    params: c.weight\n"
            "    start_epoch: 0\n"
            "    end_epoch: -1\n"
            "quant_stage:\n"
            "  quant_modifiers:\n"
            "    QuantizationModifier: {scheme: !Scheme W8A8, targets: Linear}\n")
        rc, out, err = run(modsim, "migrate", str(mixed), "-o", "-")
        doc = yaml.safe_load(out) if rc in (0, 1) else None
        want = {"train_stage": {
                    "pruning_modifiers": {"ConstantPruningModifier": {
                        "targets": ["a", "b"], "start": 0, "end": 5}},
                    "pruning_2_modifiers": {"ConstantPruningModifier": {
                        "targets": ["c"], "start": 0}}},
                "quant_stage": {"quant_modifiers": {"QuantizationModifier": {
                    "scheme": "W8A8", "targets": "Linear"}}}}
        check(rc == 1 and doc == want, f"mixed: exit {rc}, reads as {doc}\n{err}")
        check("not carried: EpochRangeModifier" in err and "not carried: tag !Scheme" in err
              and "end_epoch: -1 -> no end" in err, f"mixed: changes\n{err}")
    for f in failures:
        print("FAIL", f)
    print(f"{checks[0] - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
