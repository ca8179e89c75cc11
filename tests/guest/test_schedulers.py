"""Real sched_ext schedulers on the series' kernel, one pytest result each.

scx_qmap and scx_sdt (the tree's schedulers that keep their state in a BPF
arena) run for 30 s under a fork/sleep/migrate workload, in the default
arena mode and with BPF_F_ARENA_MAP_ALWAYS on every arena
(test_scheduler[scx_qmap-always]); the variant scx_sdt_cpumask runs with its
arena bitmap copied to a map value before bpf_cpumask_populate() and with
the arena passed directly.  A run passes if the scheduler stayed enabled for
the whole workload, the workload finished, the scheduler reported
scheduling, its arenas had the asked-for flags and it ended with a clean
unregister.  See harness/scheds.py; the table is out/runs/<run>/schedulers.txt.
"""

import pytest

from tests.guest.conftest import sched_outcome


def pytest_generate_tests(metafunc):
    if "sched_run" in metafunc.fixturenames:
        results = sched_outcome(metafunc.config)["results"]
        metafunc.parametrize("sched_run", results, ids=[r.key for r in results])


@pytest.fixture
def outcome(request):
    return sched_outcome(request.config)


def test_schedulers_ran(outcome):
    """The sched_ext build and the scheduler boot worked (or SCHEDS=none)."""
    assert outcome["error"] is None, outcome["error"]


def test_scheduler_guest_finished(outcome):
    boot = outcome["boot"]
    if boot is None:
        pytest.skip("no scheduler guest ran (SCHEDS=none, or see test_schedulers_ran)")
    assert not boot.result.timed_out, f"guest hung and was killed; console: {boot.console}"
    assert boot.rc == 0, f"guest command exited {boot.rc}; console: {boot.console}"


def test_scheduler_no_kernel_splat(outcome):
    boot = outcome["boot"]
    if boot is None:
        pytest.skip("no scheduler guest ran (SCHEDS=none, or see test_schedulers_ran)")
    assert not boot.splats, "kernel reports in the guest:\n\n" + "\n\n".join(boot.splats)


def test_scheduler(sched_run):
    print("\n".join(sched_run.stats + [sched_run.exit_line, sched_run.workload]))
    if not sched_run.ok:
        pytest.fail(f"{sched_run.key}:\n- " + "\n- ".join(sched_run.problems), pytrace=False)


def test_variant_same_result(outcome):
    """The variant's direct bpf_cpumask_populate() gives what the copy gives."""
    if outcome["same"] is None:
        pytest.skip("the variant did not run")
    assert not outcome["same"], "; ".join(outcome["same"])


def test_variant_benchmark_ran(outcome):
    """The copy-vs-direct benchmark printed its rounds (figures: schedulers.txt)."""
    if outcome["same"] is None:
        pytest.skip("the variant did not run")
    assert outcome["bench"], "scx_sdt_cpumask -B printed no bench lines; see scheds/bench.log"
