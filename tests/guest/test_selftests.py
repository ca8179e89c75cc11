"""The selected test_progs tests, one pytest result each, from one guest boot.

A test listed in tests/known-failures.txt (it fails on the unpatched 7.3.4
base too, or asserts what BPF_F_ARENA_MAP_ALWAYS changes by design, for the
reason given there) is an expected failure; any other failure fails the
suite, and so does a kernel report in the guest.  Results of the MAP_ALWAYS
pass are named always:<test>.
"""

import pytest

from harness import selftests
from tests.guest.conftest import guest_outcome, load_baseline


def pytest_generate_tests(metafunc):
    if "selftest" in metafunc.fixturenames:
        results = guest_outcome(metafunc.config)["results"]
        metafunc.parametrize("selftest", results, ids=[r.name for r in results])


@pytest.fixture
def outcome(request):
    return guest_outcome(request.config)


def test_pipeline(outcome):
    """Toolchain, tree, series, kernel, test_progs and the boot all worked."""
    assert outcome["error"] is None, outcome["error"]


def test_guest_finished(outcome):
    boot = outcome["boot"]
    if boot is None:
        pytest.skip("no guest ran (see test_pipeline)")
    assert not boot.result.timed_out, f"guest hung and was killed; console: {boot.console}"
    assert boot.rc == 0, f"guest command exited {boot.rc}; console: {boot.console}"


def test_no_kernel_splat(outcome):
    boot = outcome["boot"]
    if boot is None:
        pytest.skip("no guest ran (see test_pipeline)")
    assert not boot.splats, "kernel reports in the guest:\n\n" + "\n\n".join(boot.splats)


def test_selected_tests_were_built(outcome):
    """The permissive test_progs build left out none of the selected tests."""
    left_out = outcome["run"].record.get("left_out_of_test_progs")
    if left_out is None:
        pytest.skip("test_progs was not built (see test_pipeline)")
    wanted = outcome["settings"].tests.split(",")
    missing = [t for t in left_out if any(w in t for w in wanted)]
    assert not missing, f"selected prog_tests failed to build: {missing}"


def test_baseline_tests_all_ran(outcome):
    """Every selftest that ran on the base ran again (none vanished)."""
    base = load_baseline()
    if outcome["boot"] is None or base is None:
        pytest.skip("no guest ran, or no baseline recorded")
    if base["tests"] != outcome["settings"].tests:
        pytest.skip(f"TESTS differs from the baseline's ({base['tests']})")
    ran = {r.name for r in outcome["results"]}
    missing = sorted(set(base["results"]) - ran)
    assert not missing, f"{len(missing)} selftests did not run: {missing[:20]}"


def test_selftest(selftest):
    known = selftests.load_known_failures()
    if selftest.failed:
        reason = selftests.known_reason(selftest, known)
        if reason:
            pytest.xfail(f"known failure: {reason}")
        pytest.fail(f"{selftest.name} failed:\n{selftest.message[-4000:]}", pytrace=False)
