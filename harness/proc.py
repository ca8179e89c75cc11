"""Running commands: full output to a log file, progress to the terminal.

Every line a command prints goes to its log file once.  The terminal gets
either the same lines (verbose) or a progress line at a fixed interval, and
on failure the tail of the log; nothing reaches the terminal twice.
"""

import contextlib
import errno
import os
import signal
import subprocess
import sys
import threading
import time

from harness import HarnessError

VERBOSE = os.environ.get("V", "") not in ("", "0")
PROGRESS_EVERY = float(os.environ.get("PROGRESS_EVERY", "30"))


def say(msg):
    print(msg, flush=True)


def fmt_secs(secs):
    secs = int(secs)
    return f"{secs // 60}:{secs % 60:02d}"


def tail(path, lines=40):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


class Result:
    def __init__(self, rc, seconds, timed_out, log):
        self.rc, self.seconds, self.timed_out, self.log = rc, seconds, timed_out, log


def run(cmd, log, title, timeout=None, check=True, status=None, cwd=None, env=None,
        echo=VERBOSE):
    """Run cmd (a list), appending its output to log.

    title names the step in progress lines and errors.  status, if given, is
    a callable returning a short string shown in each progress line.  On a
    timeout the whole process group is killed.  With check, a non-zero exit
    raises HarnessError with the log's tail and path.
    """
    log = os.fspath(log)
    os.makedirs(os.path.dirname(log), exist_ok=True)
    start = time.monotonic()
    last = {"line": ""}
    try:
        logf = open(log, "a", buffering=1, errors="replace")
    except OSError as e:
        raise HarnessError(f"{title}: cannot write {log}: {e.strerror}") from e
    logf.write(f"$ {' '.join(map(str, cmd))}\n")
    try:
        proc = subprocess.Popen(
            [os.fspath(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, cwd=cwd, env=env, start_new_session=True,
            text=True, errors="replace", bufsize=1)
    except FileNotFoundError as e:
        logf.close()
        raise HarnessError(f"{title}: {cmd[0]} not found") from e

    def pump():
        for line in proc.stdout:
            try:
                logf.write(line)
            except OSError as e:
                if e.errno == errno.ENOSPC:
                    last["line"] = "disk full"
                raise
            last["line"] = line.rstrip()
            if echo:
                sys.stdout.write(line)
                sys.stdout.flush()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    timed_out = False
    next_report = start + PROGRESS_EVERY
    with killed_if_interrupted(proc, logf):
        while True:
            try:
                proc.wait(timeout=1)
                break
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            if timeout and now - start > timeout:
                timed_out = True
                kill_group(proc)
                break
            if not echo and now >= next_report:
                extra = status() if status else last["line"][:100]
                say(f"  [{title}] {fmt_secs(now - start)} {extra}")
                next_report = now + PROGRESS_EVERY
    reader.join(timeout=10)
    seconds = time.monotonic() - start
    logf.write(f"# exit {proc.returncode} after {seconds:.1f}s"
               f"{' (timed out, killed)' if timed_out else ''}\n")
    logf.close()
    res = Result(proc.returncode, seconds, timed_out, log)
    if check and (proc.returncode != 0 or timed_out):
        raise HarnessError(failure_text(title, res))
    return res


def failure_text(title, res):
    why = (f"timed out after {fmt_secs(res.seconds)} and was killed" if res.timed_out
           else f"failed (exit {res.rc})")
    text = tail(res.log)
    if "No space left on device" in text:
        why += ": the disk is full (see `df -h`)"
    return f"{title} {why}; last lines of {res.log}:\n{text}"


@contextlib.contextmanager
def killed_if_interrupted(proc, logf):
    """Kill proc's session if we are interrupted (Ctrl-C, or SIGTERM, which
    raises KeyboardInterrupt while inside) before it ends.

    The command runs in a session of its own, so that a timeout can kill
    all of it; otherwise it would outlive us, a guest keeping its CPUs busy.
    """
    main = threading.current_thread() is threading.main_thread()

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    old = signal.signal(signal.SIGTERM, interrupt) if main else None
    try:
        yield
    except BaseException:
        kill_group(proc)
        logf.write("# interrupted, killed\n")
        logf.close()
        raise
    finally:
        if main:
            signal.signal(signal.SIGTERM, old)


def kill_group(proc):
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=5)
            return
        except subprocess.TimeoutExpired:
            continue


def capture(cmd, cwd=None, check=True):
    """Run a short command and return its stdout (stderr in the error)."""
    try:
        p = subprocess.run([os.fspath(c) for c in cmd], cwd=cwd, text=True,
                           capture_output=True, stdin=subprocess.DEVNULL)
    except FileNotFoundError as e:
        raise HarnessError(f"{cmd[0]} not found") from e
    if check and p.returncode:
        raise HarnessError(f"`{' '.join(map(str, cmd))}` failed: {p.stderr.strip()}")
    return p.stdout


class Timer:
    """Context manager that records a step's wall time into a dict."""

    def __init__(self, timings, name):
        self.timings, self.name = timings, name

    def __enter__(self):
        self.start = time.monotonic()
        say(f"==> {self.name}")
        return self

    def __exit__(self, *exc):
        secs = time.monotonic() - self.start
        self.timings[self.name] = round(secs, 1)
        say(f"<== {self.name}: {fmt_secs(secs)}{' (failed)' if exc[0] else ''}")
        return False
