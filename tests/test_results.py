"""Per-test results from a recorded test_progs run (unpatched 7.3.4, TCG).

data/test_progs-list.txt is `test_progs -l` for the default selection and
data/test_progs-summary.json its -J summary; two tests failed in that run.
"""

import json
from pathlib import Path

import pytest

from harness import HarnessError, selftests

DATA = Path(__file__).parent / "data"


@pytest.fixture
def recorded():
    return (DATA / "test_progs-list.txt").read_text(), (DATA / "test_progs-summary.json").read_text()


def test_every_listed_test_is_one_result(recorded):
    listing, summary = recorded
    totals, results = selftests.parse_summary(listing, summary)
    names = [r.name for r in results]
    assert names == [n for n in listing.splitlines() if n]
    assert {"verifier_arena", "arena_htab", "stream_success", "libarena"} <= set(names)
    assert totals["failed"] == 2 and totals["failed_subtest"] == 5


def test_failures_carry_their_subtests_and_logs(recorded):
    _, results = selftests.parse_summary(*recorded)
    failed = {r.name: r for r in results if r.failed}
    assert sorted(failed) == ["verifier_percpu_addr", "verifier_private_stack"]
    stack = failed["verifier_private_stack"]
    assert len(stack.failed_subtests) == 4
    assert "verifier_private_stack/Private stack, callback" in stack.failed_subtests
    assert "movabsq" in stack.message


def test_known_failures_need_every_failed_subtest_covered(recorded):
    _, results = selftests.parse_summary(*recorded)
    stack = next(r for r in results if r.name == "verifier_private_stack")
    assert selftests.known_reason(stack, {"verifier_private_stack/Private stack*": "why"}) == "why"
    # one subtest not covered: the test is not a known failure
    partial = {"verifier_private_stack/Private stack, single prog": "why"}
    assert selftests.known_reason(stack, partial) is None
    assert selftests.known_reason(stack, {"verifier_private_stack": "all of it"}) == "all of it"


def test_project_known_failures_cover_the_recorded_base_run(recorded):
    _, results = selftests.parse_summary(*recorded)
    known = selftests.load_known_failures()
    passed, known_failed, new_failed = selftests.classify(results, known)
    assert new_failed == [] and len(known_failed) == 2 and len(passed) == len(results) - 2


def test_a_failure_missing_from_the_listing_still_counts(recorded):
    listing, summary = recorded
    listing = "\n".join(n for n in listing.splitlines() if n != "verifier_percpu_addr")
    _, results = selftests.parse_summary(listing, summary)
    assert any(r.name == "verifier_percpu_addr" and r.failed for r in results)


def test_inconsistent_or_broken_summaries_are_errors(recorded):
    listing, summary = recorded
    data = json.loads(summary)
    data["failed"] = 3
    with pytest.raises(HarnessError, match="its total says 3"):
        selftests.parse_summary(listing, json.dumps(data))
    with pytest.raises(HarnessError, match="not valid JSON"):
        selftests.parse_summary(listing, summary[:100])


def test_known_failure_without_reason_is_refused(tmp_path):
    f = tmp_path / "known"
    f.write_text("# comment\nverifier_lsm  # missing LSM hook\nverifier_x\n")
    with pytest.raises(HarnessError, match="verifier_x' has no reason"):
        selftests.load_known_failures(f)


def test_baseline_lists_unexplained_base_failures(tmp_path):
    record = {"run": "r", "tests": "verifier", "results": [
        {"name": "a", "failed": False, "failed_subtests": []},
        {"name": "b", "failed": True, "failed_subtests": ["b/x", "b/y"]}]}
    known = tmp_path / "known"
    known.write_text("b/x  # reason\n")
    out = tmp_path / "baseline.json"
    assert selftests.write_baseline(record, out, known) == ["b/x", "b/y"]
    assert json.loads(out.read_text())["results"] == ["a", "b"]
    known.write_text("b/*  # reason\n")
    assert selftests.write_baseline(record, out, known) == []


def test_always_pass_is_guarded_and_prefixed():
    """The MAP_ALWAYS pass runs only with a test_progs that has the switch,
    and its results are named always:<test>."""
    from harness.config import Settings
    s = Settings(tests="arena", always_tests="arena")
    passes = selftests.passes(s)
    script = selftests.guest_script("/st", passes)
    assert [p.prefix for p in passes] == ["", "always:"]
    assert "if grep -q BPF_TEST_ARENA_MAP_FLAGS ./test_progs; then" in script
    assert ("BPF_TEST_ARENA_MAP_FLAGS=0x100000 ./test_progs -j -t 'arena' "
            "-d 'arena_map_always*,arena_memargs,arena_mem_usage'") in script
    assert "-J $OUT/test_progs-always.json" in script
    assert script.index("-J $OUT/test_progs.json") < script.index("if grep")
    r = selftests.prefixed([selftests.TestResult("a", True, "m", ["a/x"])], "always:")
    assert (r[0].name, r[0].failed_subtests) == ("always:a", ["always:a/x"])
    assert [p.prefix for p in selftests.passes(Settings(always_tests="none"))] == [""]


def test_debug_variant_gets_a_longer_watchdog():
    from harness.config import DEBUG_WATCHDOG, Settings
    script = selftests.guest_script("/st", selftests.passes(Settings(variant="debug")))
    assert f"./test_progs -j -w {DEBUG_WATCHDOG} -t" in script
    assert "./test_progs -j -w" not in selftests.guest_script("/st", selftests.passes(Settings()))


def test_guest_script_ends_with_a_kmemleak_scan():
    from harness.config import Settings
    script = selftests.guest_script("/st", selftests.passes(Settings()))
    assert script.rstrip().endswith(selftests.KMEMLEAK_SCAN)
    assert "if [ -w /sys/kernel/debug/kmemleak ]" in script
