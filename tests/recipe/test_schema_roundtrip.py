#!/usr/bin/env python3
"""The schema is valid JSON Schema (draft 2020-12) and accepts every sample
recipe as upstream loads it; and export round-trips every sample: export(r)
validates without errors, export(export(r)) == export(r) byte for byte, and
PyYAML loads export(r) to the same object as r.
Usage: test_schema_roundtrip.py MODSIM SCHEMA SAMPLES_DIR"""
import json
import pathlib
import re
import subprocess
import sys
import tempfile

import jsonschema
import yaml


def load_like_upstream(path):
    """Recipe.create_instance: by extension; .md front matter; else JSON then YAML."""
    text = path.read_text().strip()
    name = path.name.lower()
    if name.endswith(".md"):
        text = re.search(r"^\s*(?:---|\+\+\+)(.*?)(?:---|\+\+\+)", text, re.S | re.M).group(1)
    if name.endswith(".json"):
        return json.loads(text)
    if name.endswith((".yaml", ".yml")):
        return yaml.safe_load(text)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return yaml.safe_load(text)


def modsim(exe, *args):
    p = subprocess.run([exe, *args], capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr.decode()


def main():
    exe, schema_path, samples = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
    schema = json.loads(schema_path.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    failures = []
    recipes = sorted(p for p in samples.iterdir() if p.is_file())
    with tempfile.TemporaryDirectory() as tmp:
        for path in recipes:
            original = load_like_upstream(path)
            errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(original)]
            if errors:
                failures.append(f"{path.name}: schema refuses it: {errors}")
            rc, first, err = modsim(exe, "export", str(path))
            if rc != 0:
                failures.append(f"{path.name}: export failed ({rc}): {err}")
                continue
            exported = pathlib.Path(tmp) / (path.stem + ".yaml")
            exported.write_bytes(first)
            rc, out, _ = modsim(exe, "validate", "--format", "json", str(exported))
            if rc not in (0, 1) or json.loads(out)["errors"]:
                failures.append(f"{path.name}: export does not validate: {out.decode()}")
            rc, second, err = modsim(exe, "export", str(exported))
            if second != first:
                failures.append(f"{path.name}: export is not a fixed point:\n{first.decode()}"
                                f"---\n{second.decode()}")
            if yaml.safe_load(first) != original:
                failures.append(f"{path.name}: export loads differently:\n{first.decode()}")
    for f in failures:
        print(f)
    print(f"{len(recipes)} recipes, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
