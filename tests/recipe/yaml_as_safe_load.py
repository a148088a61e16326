#!/usr/bin/env python3
"""Tags and merge keys as yaml.safe_load reads them: for each recipe below,
`modsim export` parsed with PyYAML equals yaml.safe_load of the original (its
`*_stage` keys, in order), and the tags safe_load refuses are E-YAML-TAG at
the tag in `modsim validate`.

usage: yaml_as_safe_load.py MODSIM"""
import pathlib
import subprocess
import sys
import tempfile

import yaml

SAME = {
    "merge_one_map": """\
base: &base
  targets: [Linear]
  scheme: W8A8
  ignore: [lm_head]
quant_stage:
  quant_modifiers:
    QuantizationModifier:
      <<: *base
      scheme: W4A16
""",
    # in a list an earlier map wins; the map's own keys win over both
    "merge_list": """\
a: &a {dampening_frac: 0.05, block_size: 64}
b: &b {dampening_frac: 0.1, block_size: 32, offload_hessians: true}
quant_stage:
  quant_modifiers:
    GPTQModifier:
      <<: [*a, *b]
      block_size: 256
      scheme: W4A16
""",
    "merge_nested": """\
sparse: &sparse
  sparsity: 0.5
  mask_structure: "2:4"
sparse_stage:
  sparse_modifiers:
    SparseGPTModifier: &sg
      <<: *sparse
      targets: [Linear]
second_stage:
  sparse_modifiers:
    SparseGPTModifier:
      <<: *sg
      sparsity: 0.7
""",
    "standard_tags": """\
quant_stage:
  quant_modifiers:
    GPTQModifier:
      scheme: !!str W4A16
      block_size: !!int "128"
      dampening_frac: !!float "1e-2"
      offload_hessians: !!bool "Yes"
      ignore: !!seq [!!str lm_head]
      actorder: !!null static
""",
}

REFUSED = {
    "!GMPruningModifier": ("modifiers:\n  - !GMPruningModifier\n    end_epoch: 2\n", 2, 5),
    "!int": ("quant_stage:\n  quant_modifiers:\n    GPTQModifier:\n      block_size: !int 3\n",
             4, 19),
    "!!python/object:builtins.dict": (
        "quant_stage: !!python/object:builtins.dict\n  a: 1\n", 1, 14),
    "!!binary": ("quant_stage:\n  quant_modifiers:\n    GPTQModifier:\n      scheme: !!binary aGk=\n",
                 4, 15),
}


def stages(doc):
    return [(k, v) for k, v in (doc or {}).items() if k.endswith("_stage")]


def main():
    modsim = sys.argv[1]
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in SAME.items():
            path = pathlib.Path(tmp) / f"{name}.yaml"
            path.write_text(text)
            p = subprocess.run([modsim, "export", str(path)], capture_output=True, text=True,
                               timeout=30)
            if p.returncode != 0:
                failures.append(f"{name}: export exit {p.returncode}: {p.stderr}")
                continue
            want, got = stages(yaml.safe_load(text)), stages(yaml.safe_load(p.stdout))
            if want != got:
                failures.append(f"{name}: export reads as\n  {got}\nsafe_load reads\n  {want}")
        for tag, (text, line, col) in REFUSED.items():
            # !!binary is refused by choice (bytes fit no recipe field); the others as safe_load
            try:
                yaml.safe_load(text)
                if tag != "!!binary":
                    failures.append(f"{tag}: safe_load accepts it; the test is wrong")
            except yaml.YAMLError:
                pass
            path = pathlib.Path(tmp) / "refused.yaml"
            path.write_text(text)
            p = subprocess.run([modsim, "validate", str(path)], capture_output=True, text=True,
                               timeout=30)
            where = f"{path}:{line}:{col}: error E-YAML-TAG: tag '{tag}'"
            if p.returncode != 1 or where not in p.stdout:
                failures.append(f"{tag}: want '{where}', got exit {p.returncode}:\n{p.stdout}")
            if tag.endswith("Modifier") and "modsim migrate" not in p.stdout:
                failures.append(f"{tag}: the hint does not name modsim migrate:\n{p.stdout}")
    for f in failures:
        print("FAIL", f)
    print(f"{len(SAME) + len(REFUSED) - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
