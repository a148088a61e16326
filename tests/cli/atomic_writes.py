#!/usr/bin/env python3
"""Files modsim writes are complete or not there (issue 13): `export -o`,
`migrate -o` and `--in-place`, `trace --emit-scenario`, `history export -o`,
`run --save-weights` and `kernel --out` go through a file with no name that takes the target's name
only when complete. Out of space, in a read-only folder, killed with SIGKILL
mid-write, or aimed at something that is not a regular file: the previous file
is intact, nothing else is left in the folder, and the message names the file
and the reason.

usage: atomic_writes.py MODSIM SOURCE_DIR

The full and read-only file systems are small tmpfs mounts (tests run as root
on CI); where mounting is not allowed those cases say so and are skipped."""
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reference"))
import numpy as np  # noqa: E402
import stio  # noqa: E402

modsim, src = os.path.abspath(sys.argv[1]), sys.argv[2]
recipe = os.path.join(src, "samples", "recipes", "demo.yaml")
old_recipe = os.path.join(src, "samples", "recipes", "old", "gptq_renamed.yaml")
failures = []
passed = 0
OLD = b"# the previous recipe, which must survive\n"


def check(name, ok, detail=""):
    global passed
    if ok:
        passed += 1
        print("ok   %s" % name)
    else:
        failures.append(name)
        print("FAIL %s %s" % (name, detail))


def run(*args):
    return subprocess.run([modsim, *args], capture_output=True, text=True, timeout=60)


# Every command that writes a file other than kernel's weights: (name, the
# arguments that write `target`, what `target` holds before). `--in-place`
# rewrites its input, so the old file is the recipe it migrates.
OLD_RECIPE = open(old_recipe, "rb").read()
sparse_24 = os.path.join(src, "samples", "recipes",
                         "llmcompressor__transformers__compression__recipes__sparse_24.yaml")
history_dir = tempfile.TemporaryDirectory()
HISTORY = os.path.join(history_dir.name, "history.db")
subprocess.run([modsim, "trace", "--history", HISTORY, recipe], capture_output=True, check=True)
WRITERS = [
    ("export -o", lambda t: ["export", recipe, "-o", t], OLD),
    ("migrate -o", lambda t: ["migrate", old_recipe, "-o", t], OLD),
    ("migrate --in-place", lambda t: ["migrate", t, "--in-place"], OLD_RECIPE),
    ("trace --emit-scenario", lambda t: ["trace", recipe, "--emit-scenario", t], OLD),
    ("history export -o", lambda t: ["history", "--history", HISTORY, "export", "1", "--format",
                                     "jsonl", "-o", t], OLD),
    # the weights are written after the run, which is why its status is 1
    ("run --save-weights", lambda t: ["run", "--no-history", sparse_24, "--calib", "2x16",
                                      "--save-weights", t], OLD),
]


def mount(path, options):
    os.makedirs(path, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", path],
                       capture_output=True, text=True)
    return r.returncode == 0


def umount(path):
    subprocess.run(["umount", path], capture_output=True)


with tempfile.TemporaryDirectory() as tmp:
    # a normal export replaces the file whole and keeps its permissions
    out = os.path.join(tmp, "out.yaml")
    with open(out, "wb") as f:
        f.write(OLD)
    os.chmod(out, 0o640)
    r = run("export", recipe, "-o", out)
    check("export -o replaces the file", r.returncode == 0 and open(out, "rb").read() != OLD,
          r.stderr)
    check("export -o keeps the old file's permissions", os.stat(out).st_mode & 0o777 == 0o640)
    check("export -o leaves nothing else", sorted(os.listdir(tmp)) == ["out.yaml"],
          os.listdir(tmp))

    # what is not a regular file is never replaced
    fifo = os.path.join(tmp, "fifo")
    os.mkfifo(fifo)
    for target, kind in [("/dev/null", "a character device"), (fifo, "a FIFO"), (tmp, "a directory")]:
        for name, args, before in WRITERS:
            if before != OLD:
                continue  # --in-place reads its target: refused as an input (bad_inputs.py)
            r = run(*args(target))
            check("%s %s is refused" % (name, kind),
                  r.returncode in (1, 2)
                  and "refusing to replace %s: it is %s" % (target, kind) in r.stderr, r.stderr)
    check("the FIFO is still a FIFO", os.path.exists(fifo) and not os.path.isfile(fifo))
    os.unlink(fifo)

    # a link is followed: the file it names gets the new content
    link = os.path.join(tmp, "link.yaml")
    os.symlink(out, link)
    r = run("export", recipe, "-o", link)
    check("export -o through a link writes the file it names",
          r.returncode == 0 and os.path.islink(link), r.stderr)
    os.unlink(link)

    # out of space: a tmpfs smaller than the export
    full = os.path.join(tmp, "full")
    if mount(full, "size=4k"):
        try:
            target = os.path.join(full, "recipe.yaml")
            with open(target, "wb") as f:
                f.write(OLD)
            filler = os.path.join(full, "filler")
            fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
            try:
                while os.write(fd, b"x" * 512):
                    pass
            except OSError:
                pass  # full now
            os.close(fd)
            for name, args, before in WRITERS:
                with open(target, "wb") as f:
                    f.write(before)
                r = run(*args(target))
                check("%s on a full file system fails naming the file and the reason" % name,
                      r.returncode in (1, 2) and target in r.stderr
                      and "No space left on device" in r.stderr, r.stderr)
                check("the previous file is intact after %s on a full file system" % name,
                      open(target, "rb").read() == before)
                check("nothing is left behind by %s on a full file system" % name,
                      sorted(os.listdir(full)) == ["filler", "recipe.yaml"], os.listdir(full))
        finally:
            umount(full)
    else:
        print("skip full file system: mounting a tmpfs is not allowed here")

    # a read-only folder
    ro = os.path.join(tmp, "ro")
    if mount(ro, "size=64k"):
        try:
            # one file per writer: a read-only mount cannot be given other content
            targets = [os.path.join(ro, "recipe%d.yaml" % i) for i in range(len(WRITERS))]
            for target, (_, _, before) in zip(targets, WRITERS):
                with open(target, "wb") as f:
                    f.write(before)
            subprocess.run(["mount", "-o", "remount,ro", ro], check=True)
            for target, (name, args, before) in zip(targets, WRITERS):
                r = run(*args(target))
                check("%s into a read-only folder fails naming the file and the reason" % name,
                      r.returncode in (1, 2) and target in r.stderr
                      and "Read-only file system" in r.stderr, r.stderr)
                check("the previous file is intact after %s in a read-only folder" % name,
                      open(target, "rb").read() == before)
        finally:
            umount(ro)
    else:
        print("skip read-only folder: mounting a tmpfs is not allowed here")

    # kernel --out killed with SIGKILL at several points of a 64 MB write
    weights = os.path.join(tmp, "w.safetensors")
    rng = np.random.default_rng(0)
    stio.write(weights, {"layer%d.weight" % i: rng.standard_normal((1024, 4096), dtype=np.float32)
                         for i in range(4)})
    kdir = os.path.join(tmp, "k")
    os.mkdir(kdir)
    kout = os.path.join(kdir, "out.safetensors")
    with open(kout, "wb") as f:
        f.write(OLD)
    intact = True
    for delay in (0.02, 0.05, 0.1, 0.2, 0.4):
        p = subprocess.Popen([modsim, "kernel", "prune", "--in", weights, "--out", kout,
                              "--sparsity", "0.5"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
        content = open(kout, "rb").read()
        if content != OLD:
            # the run finished before the kill: the file must then be whole
            intact = intact and content[:8] != OLD[:8] and len(content) > 64 << 20
            with open(kout, "wb") as f:
                f.write(OLD)
        if os.listdir(kdir) != ["out.safetensors"]:
            intact = False
            print("left behind:", os.listdir(kdir))
    check("kernel --out killed mid-write leaves the old file and nothing else", intact)

print("%d passed, %d failed" % (passed, len(failures)))
sys.exit(1 if failures else 0)
