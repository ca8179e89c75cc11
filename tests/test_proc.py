"""Command runner: logs, timeouts that kill the whole group, clear errors."""

import time

import pytest

from harness import HarnessError, proc


def test_output_goes_to_the_log_once(tmp_path, capsys):
    log = tmp_path / "a.log"
    proc.run(["sh", "-c", "echo one; echo two >&2"], log, "step", echo=False)
    text = log.read_text()
    assert text.count("one\n") == 1 and text.count("two\n") == 1
    assert "one" not in capsys.readouterr().out


def test_failure_shows_the_tail_and_the_log_path(tmp_path):
    log = tmp_path / "b.log"
    with pytest.raises(HarnessError) as e:
        proc.run(["sh", "-c", "echo the-cause; exit 3"], log, "kernel build", echo=False)
    assert "kernel build failed (exit 3)" in str(e.value)
    assert "the-cause" in str(e.value) and str(log) in str(e.value)


def test_timeout_kills_the_process_group_and_keeps_the_log(tmp_path):
    log = tmp_path / "c.log"
    start = time.monotonic()
    res = proc.run(["sh", "-c", "echo booting; sleep 60 & sleep 60"], log, "guest",
                   timeout=2, check=False, echo=False)
    assert res.timed_out and time.monotonic() - start < 20
    assert "booting" in log.read_text() and "timed out, killed" in log.read_text()


def test_missing_command_is_named(tmp_path):
    with pytest.raises(HarnessError, match="no-such-tool not found"):
        proc.run(["no-such-tool"], tmp_path / "d.log", "step")


def test_disk_full_is_recognised(tmp_path):
    log = tmp_path / "e.log"
    with pytest.raises(HarnessError, match="disk is full"):
        proc.run(["sh", "-c", "echo 'cc1: fatal error: No space left on device'; exit 1"],
                 log, "kernel build", echo=False)


def test_sigterm_kills_the_command_group_and_keeps_the_log(tmp_path):
    import os
    import signal
    import threading
    log, pidfile = tmp_path / "e.log", tmp_path / "pid"
    threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGTERM)).start()
    with pytest.raises(KeyboardInterrupt):
        proc.run(["sh", "-c", f"echo booting; sleep 60 & echo $! > {pidfile}; wait"],
                 log, "guest", check=False, echo=False)
    assert "booting" in log.read_text() and "interrupted, killed" in log.read_text()
    time.sleep(0.5)
    try:  # the grandchild (a "qemu") is gone too, or dead and not yet reaped
        stat = open(f"/proc/{int(pidfile.read_text())}/stat").read()
        assert stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"), stat
    except FileNotFoundError:
        pass
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
