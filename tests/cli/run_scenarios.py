#!/usr/bin/env python3
"""Runs every scenario under tests/scenarios through `modsim trace`.

NAME.yaml is a scenario; NAME.jsonl is its expected trace (numbers compare as
numbers, key order does not matter). NAME.err instead holds the expected
stderr of a scenario that must be refused: exit status 2, nothing on stdout,
and each line of NAME.err found in stderr.
"""
import json
import pathlib
import subprocess
import sys


def compare(expected_path, out):
    expected = [json.loads(l) for l in expected_path.read_text().splitlines() if l.strip()]
    try:
        actual = [json.loads(l) for l in out.splitlines() if l.strip()]
    except json.JSONDecodeError as e:
        return f"output is not JSON Lines: {e}"
    for i, (e, a) in enumerate(zip(expected, actual)):
        if e != a:
            return f"record {i} differs:\n  expected {json.dumps(e)}\n  actual   {json.dumps(a)}"
    if len(expected) != len(actual):
        return f"expected {len(expected)} records, got {len(actual)}"
    return None


def main():
    modsim, folder = sys.argv[1], pathlib.Path(sys.argv[2])
    scenarios = sorted(folder.glob("*.yaml"))
    failed = 0
    for sc in scenarios:
        proc = subprocess.run([modsim, "trace", str(sc)], capture_output=True, text=True,
                              timeout=60)
        err_path, trace_path = sc.with_suffix(".err"), sc.with_suffix(".jsonl")
        if err_path.exists():
            problem = None
            if proc.returncode != 2:
                problem = f"exit status {proc.returncode}, expected 2"
            elif proc.stdout:
                problem = "wrote a partial trace on stdout"
            else:
                for line in err_path.read_text().splitlines():
                    if line.strip() and line.strip() not in proc.stderr:
                        problem = f"stderr lacks {line.strip()!r}:\n{proc.stderr}"
                        break
        elif trace_path.exists():
            problem = (f"exit status {proc.returncode}: {proc.stderr}" if proc.returncode
                       else compare(trace_path, proc.stdout))
        else:
            problem = "no expected .jsonl or .err beside it"
        status = "ok" if problem is None else "FAIL"
        print(f"{status:4} {sc.name}")
        if problem:
            failed += 1
            print("     " + problem.replace("\n", "\n     "))
    print(f"{len(scenarios) - failed} passed, {failed} failed")
    return 1 if failed or not scenarios else 0


if __name__ == "__main__":
    sys.exit(main())
