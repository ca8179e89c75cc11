"""Kernel report detection on console logs."""

from pathlib import Path

from harness import vm

DATA = Path(__file__).parent / "data"


def test_warn_excerpt_runs_from_cut_here_to_end_trace():
    splats = vm.find_splats((DATA / "console-warn.log").read_text())
    assert len(splats) == 1
    first, last = splats[0].splitlines()[0], splats[0].splitlines()[-1]
    assert "cut here" in first
    assert "end trace" in last
    assert "WARNING: CPU: 1 PID: 212 at kernel/bpf/arena.c:412" in splats[0]
    assert "after the warning" not in splats[0]


def test_kasan_lockdep_and_atomic_sleep_are_each_reported():
    splats = vm.find_splats((DATA / "console-kasan-lockdep.log").read_text())
    heads = [s.splitlines()[0] for s in splats]
    assert any("BUG: KASAN: slab-use-after-free" in h for h in heads)
    assert any("possible circular locking dependency" in h for h in heads)
    assert any("BUG: sleeping function called from invalid context" in h for h in heads)
    assert not any("loading out-of-tree module" in s for s in splats)


def test_recorded_clean_boot_has_no_reports():
    text = (DATA / "console-clean.log").read_text()
    assert "virtme-ng" in text or "Linux version" in text
    assert vm.find_splats(text) == []


def test_same_report_in_console_and_dmesg_counts_once():
    text = (DATA / "console-warn.log").read_text()
    merged = vm.dedupe(vm.find_splats(text + "\n" + text))
    assert len(merged) == 1


def test_oops_and_panic_lines():
    for line in ("[    5.1] BUG: unable to handle page fault for address: ffffc90000000000",
                 "[    5.2] Oops: 0002 [#1] SMP NOPTI",
                 "[    5.3] Kernel panic - not syncing: Fatal exception",
                 "[    5.4] kmemleak: 3 new suspected memory leaks (see /sys/kernel/debug/kmemleak)",
                 "[    5.5] rcu: INFO: rcu_preempt self-detected stall on CPU",
                 "[    5.6] UBSAN: shift-out-of-bounds in kernel/bpf/verifier.c:100:5"):
        assert vm.find_splats(line), line
    for line in ("[    1.0] bpf_testmod: loading out-of-tree module taints kernel.",
                 "#12/3    verifier_arena/basic:OK",
                 "[    2.0] WARNING: this is not a kernel report format"):
        assert not vm.find_splats(line), line
