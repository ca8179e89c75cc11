"""harness/flavors.py: parsing test_verifier and test_maps, comparing with the base."""

import json
import re

import pytest

from harness import HarnessError, flavors


def test_verifier_results():
    text = ("#1/u invalid and of negative number OK\n"
            "#12/p bounds check mixed 32bit and 64bit arithmetic. test1 FAIL\n"
            "#12/u bounds check mixed 32bit and 64bit arithmetic. test1 FAIL\n"
            "#40/p other thing FAIL retval 2 != 1\n"
            "Summary: 1500 PASSED, 3 SKIPPED, 3 FAILED\n")
    r = flavors.verifier_results(text)
    assert (r["passed"], r["skipped"], r["failed"]) == (1500, 3, 3)
    assert r["failures"] == ["test_verifier/bounds check mixed 32bit and 64bit arithmetic. test1",
                             "test_verifier/other thing"]


def test_verifier_without_summary_is_an_error():
    with pytest.raises(HarnessError, match="no Summary"):
        flavors.verifier_results("#1/u x OK\nSegmentation fault\n")


def test_maps_results():
    assert flavors.maps_results("test_maps: OK, 2 SKIPPED\n", 0)["failures"] == []
    assert flavors.maps_results("test_maps: OK, 2 SKIPPED\n", 1)["failures"] == ["test_maps"]
    assert flavors.maps_results("Error in map ops\n", 1)["failed"] == 1


def test_exit_codes():
    console = ("x\ntest_progs exit 0\ntest_progs-no_alu32 exit 2\ntest_maps exit 1\n"
               "test_verifier exit 0\n")
    assert flavors.exit_codes(console) == {"test_progs": 0, "test_progs-no_alu32": 2,
                                           "test_maps": 1, "test_verifier": 0}


def test_flavors_are_upstream_make_targets():
    """Every flavor is a runner the 7.3.4 selftests Makefile defines
    (lines copied from it): DEFINE_TEST_RUNNER,test_progs,<flavor> makes
    test_progs-<flavor>, so test_progs_no_alu32 is no target."""
    makefile = """
$(eval $(call DEFINE_TEST_RUNNER,test_progs))
# Define test_progs-no_alu32 test runner.
TRUNNER_BPF_BUILD_RULE := CLANG_NOALU32_BPF_BUILD_RULE
$(eval $(call DEFINE_TEST_RUNNER,test_progs,no_alu32))
# Define test_progs-cpuv4 test runner.
TRUNNER_BPF_BUILD_RULE := CLANG_CPUV4_BPF_BUILD_RULE
$(eval $(call DEFINE_TEST_RUNNER,test_progs,cpuv4))
"""
    runners = {"-".join(m) if m[1] else m[0] for m in
               re.findall(r"DEFINE_TEST_RUNNER,(\w+)(?:,(\w+))?\)", makefile)}
    assert set(flavors.TEST_PROGS_FLAVORS) <= runners
def test_test_progs_flavor_from_listing_and_json(tmp_path):
    (tmp_path / "test_progs-cpuv4.list").write_text("arena_htab\narena_list\n")
    (tmp_path / "test_progs-cpuv4.json").write_text(json.dumps(
        {"success": 1, "failed": 1,
         "results": [{"name": "arena_list", "failed": True, "subtests": []}]}))
    r = flavors.test_progs_results(tmp_path, "test_progs-cpuv4")
    assert (r["passed"], r["failed"], r["failures"]) == (1, 1, ["test_progs-cpuv4/arena_list"])


def test_compare_names_only_failures_the_base_lacks():
    base = {"test_maps": {"passed": 1, "skipped": 0, "failed": 0, "failures": []},
            "test_verifier": {"passed": 9, "skipped": 0, "failed": 1, "failures": ["test_verifier/a"]}}
    found = {"test_maps": dict(base["test_maps"]),
             "test_verifier": {"passed": 8, "skipped": 0, "failed": 2,
                               "failures": ["test_verifier/a", "test_verifier/b"]},
             "test_progs": {"passed": 3, "skipped": 0, "failed": 0, "failures": []}}
    rows = {r["flavor"]: r for r in flavors.compare(found, base)}
    assert rows["test_maps"]["new_failures"] == []
    assert rows["test_verifier"]["new_failures"] == ["test_verifier/b"]
    assert rows["test_progs"]["new_failures"] is None  # no base recorded for it
    assert "test_verifier/b" in flavors.render(list(rows.values()))


def test_guest_script_runs_every_flavor():
    script = flavors.guest_script("/st")
    for flavor in flavors.TEST_PROGS_FLAVORS:
        assert f"./{flavor} -j -t" in script
    assert "./test_verifier" in script and "./test_maps" in script


def _flaky_run(tmp_path, subtests):
    (tmp_path / "test_progs.list").write_text("stream_success\narena_list\n")
    (tmp_path / "test_progs.json").write_text(json.dumps(
        {"success": 1, "failed": 1,
         "results": [{"name": "stream_success", "failed": True,
                      "subtests": [{"name": s, "failed": True} for s in subtests]}]}))
    known = {"stream_success/stream_arena_callback_fault": "flaky under TCG"}
    return flavors.test_progs_results(tmp_path, "test_progs", known)


def test_known_failure_is_reported_apart_not_new(tmp_path):
    """The base passed stream_success; the series' run hit the listed flake."""
    r = _flaky_run(tmp_path, ["stream_arena_callback_fault"])
    assert r["known_failures"] == {"test_progs/stream_success": "flaky under TCG"}
    base = {"test_progs": {"passed": 2, "skipped": 0, "failed": 0, "failures": []}}
    [row] = flavors.compare({"test_progs": r}, base)
    assert row["new_failures"] == [] and row["known_failures"] == ["test_progs/stream_success"]
    assert "0 (known: test_progs/stream_success)" in flavors.render([row])


def test_unlisted_subtest_keeps_the_failure_new(tmp_path):
    r = _flaky_run(tmp_path, ["stream_arena_callback_fault", "stream_cond_break"])
    assert r["known_failures"] == {}
    base = {"test_progs": {"passed": 2, "skipped": 0, "failed": 0, "failures": []}}
    [row] = flavors.compare({"test_progs": r}, base)
    assert row["new_failures"] == ["test_progs/stream_success"]


def test_known_failures_file_covers_the_stream_flake():
    """The entry the series' ci-flavors run needed (run 20261203-094645)."""
    known = flavors.selftests.load_known_failures()
    res = flavors.selftests.TestResult("stream_success", True, "",
                                       ["stream_success/stream_arena_callback_fault"])
    assert flavors.selftests.known_reason(res, known)
