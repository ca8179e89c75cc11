"""A guest killed during a later test_progs pass keeps the earlier pass's results."""

import json
from types import SimpleNamespace

import pytest

from harness import HarnessError, pipeline
from harness.config import Settings


def fake_run(tmp_path, variant, write, monkeypatch):
    s = Settings(cache=tmp_path, variant=variant)
    # a run directory under tmp_path, not the project's out/runs
    monkeypatch.setattr(pipeline.summary, "new_run_dir",
                        lambda runs_dir, v: tmp_path / "runs" / v)
    r = pipeline.Run(s)
    seen = {}

    def guest(name, script, timeout=None, status=None, echo=False):
        seen["timeout"] = timeout
        timed_out = write(r.dir / "selftests")
        return SimpleNamespace(result=SimpleNamespace(timed_out=timed_out),
                               console=r.dir / "selftests" / "console.log")
    r.guest = guest
    return r, seen


def main_pass(out):
    out.mkdir(parents=True, exist_ok=True)
    (out / "tests.txt").write_text("arena_atomics\narena_list\n")
    (out / "test_progs.json").write_text(json.dumps(
        {"success": 2, "success_subtest": 0, "skipped": 0, "failed": 0,
         "failed_subtest": 0, "results": []}))


def test_killed_in_the_always_pass_reports_the_main_pass(tmp_path, monkeypatch):
    def write(out):
        main_pass(out)
        (out / "tests-always.txt").write_text("arena_atomics\n")
        (out / "test_progs-always.json").write_text("")  # killed before test_progs wrote it
        return True
    r, seen = fake_run(tmp_path, "debug", write, monkeypatch)
    with pytest.raises(HarnessError, match=r"killed after 6000 s during the always: .*"
                                           r"passes finished: main \(2 tests ok"):
        r.selftests()
    assert seen["timeout"] == pipeline.DEBUG_GUEST_TIMEOUT
    assert r.record["unfinished_pass"] == "always:"
    assert r.record["counts"] == {"passed": 2, "known": 0, "new": 0}


def test_an_empty_summary_without_a_timeout_is_still_an_error(tmp_path, monkeypatch):
    def write(out):
        main_pass(out)
        (out / "test_progs.json").write_text("")
        return False
    r, seen = fake_run(tmp_path, "normal", write, monkeypatch)
    with pytest.raises(HarnessError, match="not valid JSON"):
        r.selftests()
    assert seen["timeout"] == pipeline.GUEST_TIMEOUT
