"""The tmux fixtures the TUI's end-to-end tests share: the real modsim binary
in tmux, driven with send-keys and read back with capture-pane, and the runner
of a test file's test_* functions.

Each Tmux runs its own tmux server on a private socket, so tests never touch
the user's tmux. modsim runs under `sh`, which afterwards prints the exit
status and the terminal modes, to check that every way out restores the
terminal."""
import os
import subprocess
import time

TIMEOUT = 10.0


class Fail(Exception):
    pass


class Tmux:
    def __init__(self, modsim, args, width=80, height=24, env=None, cwd=None):
        self.socket = "modsim-test-%d-%d" % (os.getpid(), int(time.monotonic() * 1000))
        environment = {"TERM": "xterm-256color", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
        environment.update(env or {})
        assignments = " ".join("%s='%s'" % kv for kv in environment.items())
        # the shell survives a Ctrl-C sent to modsim (a trap, not an ignore:
        # modsim gets the default disposition)
        script = ('trap : INT; env %s "$0" "$@"; echo "modsim-exit=$?"; '
                  'stty -a | tr " ;" "\\n\\n" | grep -x -e icanon -e -icanon -e echo -e -echo '
                  '| tr "\\n" " "; echo "modes-end"; sleep 600' % assignments)
        self.tmux("new-session", "-d", "-x", str(width), "-y", str(height),
                  *(["-c", cwd] if cwd else []), "sh", "-c", script, modsim, *args)

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args],
                              check=True, capture_output=True, text=True).stdout

    def screen(self, escapes=False):
        return self.tmux("capture-pane", "-p", *(["-e"] if escapes else []))

    def keys(self, *keys):
        for k in keys:
            self.tmux("send-keys", k)

    def wait(self, text, timeout=TIMEOUT):
        """Polls the pane until `text` shows up and the screen has settled (two
        captures alike: a capture can land in the middle of a redraw, which a
        slow sanitizer build makes likely); returns the screen."""
        deadline = time.monotonic() + timeout
        previous = None
        while True:
            screen = self.screen()
            if text in screen and screen == previous:
                return screen
            if time.monotonic() > deadline:
                if text in screen:
                    return screen
                raise Fail("timed out waiting for %r; the screen:\n%s" % (text, screen))
            previous = screen if text in screen else None
            time.sleep(0.05)

    def resize(self, width, height):
        self.tmux("resize-window", "-x", str(width), "-y", str(height))

    def pid(self):
        """The modsim process: the child of the pane's shell."""
        shell = self.tmux("display-message", "-p", "#{pane_pid}").strip()
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", shell], capture_output=True,
                             text=True).stdout.split()
        return int(out[0])

    def close(self):
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


def line_with(screen, text):
    for line in screen.splitlines():
        if text in line:
            return line
    raise Fail("no line with %r in:\n%s" % (text, screen))


def expect_restored(t, status):
    """`status` is the exit status, or a collection of the allowed ones."""
    screen = t.wait("modes-end")
    allowed = status if isinstance(status, (set, list, tuple)) else [status]
    if not any("modsim-exit=%d" % s in screen for s in allowed):
        raise Fail("expected exit status %s:\n%s" % (status, screen))
    modes = line_with(screen, "icanon")
    if "-icanon" in modes or "-echo" in modes:
        raise Fail("terminal left in raw mode: %s" % modes)


def run_tests(namespace, argv):
    """Runs the test_* functions of `namespace` (a test file's globals()), those
    named after MODSIM SOURCE_DIR in `argv` when some are; 1 when any failed."""
    modsim, src = os.path.abspath(argv[1]), argv[2]
    wanted = argv[3:]
    tests = [(n, f) for n, f in namespace.items() if n.startswith("test_")]
    failed = 0
    for name, fn in tests:
        if wanted and name not in wanted:
            continue
        try:
            fn(modsim, src)
            print("ok   %s" % name)
        except (Fail, AssertionError, subprocess.CalledProcessError) as e:
            failed += 1
            print("FAIL %s\n%s" % (name, e))
    print("%d failed" % failed)
    return 1 if failed else 0
