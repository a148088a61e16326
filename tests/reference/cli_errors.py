#!/usr/bin/env python3
"""End-to-end checks of `modsim kernel`'s refusals: each bad invocation must
exit 2, name the offending option or value (and what would be valid) on
stderr, print nothing on stdout and leave the output path untouched. Also
checks the success path (exit 0, empty stdout, summary table) and the
calibration naming fallback.

usage: cli_errors.py MODSIM"""
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402


def main():
    modsim = sys.argv[1]
    passed = failed = 0
    with tempfile.TemporaryDirectory() as d:
        p = lambda name: os.path.join(d, name)  # noqa: E731
        rng = np.random.default_rng(7)
        w = rng.standard_normal((16, 48)).astype(np.float32)
        stio.write(p("w.st"), {"layer.weight": w, "layer.bias": w[0].copy(),
                               "codes": np.zeros((4, 4), np.int8)})
        nan = w.copy()
        nan[2, 5] = np.nan
        # "ok" is computed and written before "bad" fails: the output stays untouched
        stio.write(p("nan.st"), {"ok": w, "bad": nan})
        stio.write(p("calib.st"), {"layer.weight.inputs": rng.standard_normal((8, 48))
                                   .astype(np.float32)})
        stio.write(p("fallback.st"), {"inputs": rng.standard_normal((8, 48)).astype(np.float32)})
        stio.write(p("badcalib.st"), {"layer.weight.inputs": np.ones((8, 40), np.float32)})
        stio.write(p("other.st"), {"something.else": np.ones((8, 48), np.float32)})
        with open(p("w.st"), "rb") as f:
            data = f.read()
        with open(p("trunc.st"), "wb") as f:
            f.write(data[:-100])
        with open(p("keep.st"), "w") as f:
            f.write("keep")
        io = ["--in", p("w.st"), "--out", p("keep.st")]

        refusals = [
            (["frobnicate", *io], ["unknown kernel op 'frobnicate'", "prune, quant"]),
            (["prune", *io, "--bits", "4"], ["--bits does not apply to prune", "--sparsity"]),
            (["prune", *io, "--frob", "1"], ["unknown option --frob"]),
            (["prune", *io, "--sparsity", "1.5"], ["--sparsity '1.5'", "[0, 1]"]),
            (["prune", *io, "--sparsity", "-0.1"], ["--sparsity '-0.1'", "[0, 1]"]),
            (["prune", *io, "--sparsity", "nan"], ["--sparsity 'nan'"]),
            (["prune", *io, "--sparsity"], ["--sparsity needs a value"]),
            (["prune", *io, "--structure", "3:2"], ["--structure '3:2'", "N:M"]),
            (["prune", *io, "--structure", "5:7"], ["M = 7 does not divide the 48 columns",
                                                    "tensor 'layer.weight' [16, 48]"]),
            (["quant", *io, "--bits", "9"], ["--bits '9'", "2..8"]),
            (["quant", *io, "--bits", "1"], ["--bits '1'", "2..8"]),
            (["quant", *io, "--type", "fp8", "--bits", "4"], ["--bits 4 does not fit --type fp8"]),
            (["quant", *io, "--type", "fp4"], ["--type 'fp4'", "int or fp8"]),
            (["quant", *io, "--strategy", "block"], ["--strategy 'block'", "tensor, channel"]),
            (["quant", *io, "--strategy", "group"], ["needs --group-size"]),
            (["quant", *io, "--group-size", "32"], ["--group-size needs --strategy group"]),
            (["quant", *io, "--strategy", "group", "--group-size", "32"],
             ["--group-size 32 does not divide the 48 columns of tensor 'layer.weight' [16, 48]"]),
            (["quant", *io, "--asym=yes"], ["--asym 'yes'", "no value"]),
            (["quant", *io, "--outputs", "codes,mask"],
             ["--outputs: quant makes no mask", "weights,codes,scale,zero_point, or all"]),
            (["prune", *io, "--outputs", "weight"],
             ["--outputs: unknown output 'weight'", "weights,mask, or all"]),
            (["gptq", *io, "--calib", p("calib.st"), "--actorder", "sideways"],
             ["--actorder 'sideways'", "static"]),
            (["gptq", *io, "--calib", p("calib.st"), "--actorder", "group"],
             ["--actorder group needs --strategy group"]),
            (["gptq", *io, "--calib", p("calib.st"), "--block-size", "0"], ["--block-size '0'"]),
            (["gptq", *io, "--calib", p("calib.st"), "--dampening-frac", "-1"],
             ["--dampening-frac '-1'"]),
            (["gptq", *io], ["gptq needs --calib"]),
            (["prune", *io, "--calib", p("calib.st")], ["--calib does not apply to prune"]),
            (["wanda", *io, "--calib", p("other.st")],
             ["no calibration inputs for layer.weight", "layer.weight.inputs"]),
            (["wanda", *io, "--calib", p("badcalib.st")], ["has shape [8, 40]", "needs [n, 48]"]),
            (["wanda", *io, "--calib", p("calib.st"), "--structure", "channel"],
             ["wanda cannot prune whole channels"]),
            (["sparsegpt", *io, "--calib", p("calib.st"), "--structure", "2:3"],
             ["2:3 does not fit --block-size 128"]),
            (["prune", *io, "--tensors", "^nothing$"], ["no 2-D", "matches --tensors '^nothing$'"]),
            (["prune", *io, "--tensors", "("], ["--tensors '(' is not a valid regex"]),
            (["prune", "--in", p("missing.st"), "--out", p("keep.st")],
             ["missing.st", "cannot open"]),
            (["prune", "--in", p("trunc.st"), "--out", p("keep.st")], ["trunc.st"]),
            (["prune", "--in", p("nan.st"), "--out", p("keep.st")], ["bad: weight[2, 5] is NaN"]),
            (["prune", "--out", p("keep.st")], ["--in is required"]),
            (["prune", "--in", p("w.st")], ["--out is required"]),
            (["prune", *io, "--threads", "2000"], ["--threads '2000'"]),
            (["prune", *io, "stray"], ["unexpected argument 'stray'"]),
        ]
        for args, wants in refusals:
            r = subprocess.run([modsim, "kernel", *args], capture_output=True, text=True)
            problems = []
            if r.returncode != 2:
                problems.append(f"exit {r.returncode}, expected 2")
            if r.stdout:
                problems.append(f"stdout not empty: {r.stdout!r}")
            problems += [f"stderr lacks {w!r}" for w in wants if w not in r.stderr]
            with open(p("keep.st")) as f:
                if f.read() != "keep":
                    problems.append("the output file was overwritten")
            leftovers = [n for n in os.listdir(d) if n.endswith("~")]
            if leftovers:
                problems.append(f"temporary files left: {leftovers}")
            label = " ".join(a.replace(d + "/", "") for a in args)
            ok = not problems
            passed += ok
            failed += not ok
            print(f"{'PASS' if ok else 'FAIL'} refuse: {label}")
            for msg in problems:
                print(f"    {msg}\n    stderr: {r.stderr.strip()}")

        successes = [
            # by default what upstream keeps (compressed-tensors
            # pack_quantized/base.py:45 compression_param_names): a pruned
            # weight; codes and scales, the zero point only when asymmetric
            (["prune", "--in", p("w.st"), "--out", p("o1.st")], {"layer.weight"}),
            (["prune", "--in", p("w.st"), "--out", p("o1m.st"), "--outputs", "weights,mask"],
             {"layer.weight", "layer.weight.mask"}),
            (["wanda", "--in", p("w.st"), "--out", p("o2.st"), "--calib", p("fallback.st"),
              "--outputs=all"], {"layer.weight", "layer.weight.mask"}),
            (["quant", "--in", p("w.st"), "--out", p("o3.st"), "--strategy=group",
              "--group-size=16", "--asym", "--bits", "4"],
             {"layer.weight.codes", "layer.weight.scale", "layer.weight.zero_point"}),
            (["quant", "--in", p("w.st"), "--out", p("o3s.st"), "--strategy=group",
              "--group-size=16", "--bits", "4"], {"layer.weight.codes", "layer.weight.scale"}),
            (["quant", "--in", p("w.st"), "--out", p("o3w.st"), "--outputs", "weights"],
             {"layer.weight"}),
            (["gptq", "--in", p("w.st"), "--out", p("o4.st"), "--calib", p("calib.st"),
              "--strategy", "group", "--group-size", "16", "--actorder", "group"],
             {"layer.weight.codes", "layer.weight.scale", "layer.weight.g_idx"}),
            (["gptq", "--in", p("w.st"), "--out", p("o4a.st"), "--calib", p("calib.st"),
              "--strategy", "group", "--group-size", "16", "--actorder", "group", "--outputs", "all"],
             {"layer.weight", "layer.weight.codes", "layer.weight.scale",
              "layer.weight.zero_point", "layer.weight.g_idx"}),
        ]
        for args, names in successes:
            r = subprocess.run([modsim, "kernel", *args], capture_output=True, text=True)
            problems = []
            if r.returncode != 0 or r.stdout:
                problems.append(f"exit {r.returncode}, stdout {r.stdout!r}, stderr {r.stderr}")
            else:
                out, meta = stio.read(args[args.index("--out") + 1])
                if set(out) != names:
                    problems.append(f"tensors {sorted(out)}, expected {sorted(names)}")
                if "tensor" not in r.stderr or "layer.weight  16x48" not in r.stderr:
                    problems.append(f"no summary table on stderr: {r.stderr!r}")
                if not meta.get("modsim_kernel", "").startswith(args[0]):
                    problems.append(f"metadata {meta}")
            ok = not problems
            passed += ok
            failed += not ok
            print(f"{'PASS' if ok else 'FAIL'} succeed: {args[0]}")
            for msg in problems:
                print(f"    {msg}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
