"""Guest command lines and the KVM decision (no boot needed)."""

from types import SimpleNamespace

import pytest

from harness import HarnessError, pipeline, vm
from harness.config import Settings


def test_tcg_boot_disables_kvm_and_shares_the_output_dir(tmp_path):
    s = Settings(cache=tmp_path)
    argv = vm.vng_argv(s, "bzImage", "sh guest.sh", kvm=False, rwdirs=["/out"], cwd="/st")
    assert "--disable-kvm" in argv
    assert argv[argv.index("--cpus") + 1] == "2"
    assert argv[argv.index("--rwdir") + 1] == "/out"
    assert argv[argv.index("--exec") + 1] == "sh guest.sh"
    assert "--disable-kvm" not in vm.vng_argv(s, "bzImage", "true", kvm=True)


def test_accel_setting_overrides_the_probe(tmp_path):
    assert vm.kvm_works(Settings(cache=tmp_path, accel="tcg"), None, None) is False
    assert vm.kvm_works(Settings(cache=tmp_path, accel="kvm"), None, None) is True


def test_probe_answer_is_cached_per_host_boot(tmp_path, monkeypatch):
    s = Settings(cache=tmp_path, accel="auto")
    monkeypatch.setattr(vm.os, "access", lambda *a: True)
    boot_id = open("/proc/sys/kernel/random/boot_id").read().strip()
    (tmp_path / "kvm-probe").write_text(f"{boot_id} no\n")
    assert vm.kvm_works(s, None, None) is False  # no probe boot: toolchain is None
    (tmp_path / "kvm-probe").write_text(f"{boot_id} yes\n")
    assert vm.kvm_works(s, None, None) is True


def test_a_guest_that_panics_keeps_its_reports_in_the_error_and_the_record(tmp_path, monkeypatch):
    """A panic ends the guest before its script writes rc: the error names the
    reports, and the run's record still counts them (summary: kernel reports)."""
    oops = ("BUG: unable to handle page fault for address: ffffc900205e1000\n"
            "Oops: Oops: 0000 [#1] SMP\n"
            "RIP: 0010:bpf_kfunc_arena_arg_test+0x9/0x20 [bpf_testmod]\n"
            "Kernel panic - not syncing: Fatal exception\n")

    def fake_run(argv, log, what, **kw):
        log.write_text(oops)
        return SimpleNamespace(rc=255, timed_out=False, seconds=29.0, log=log)
    monkeypatch.setattr(vm, "run", fake_run)
    monkeypatch.setattr(pipeline.summary, "new_run_dir", lambda runs_dir, v: tmp_path / "run")
    r = pipeline.Run(Settings(cache=tmp_path))
    r.tc, r.kvm = SimpleNamespace(wrap=lambda argv, **kw: argv), False
    with pytest.raises(HarnessError, match=r"did not run its command .*kernel reports; "
                                           r"first kernel report: BUG: unable to handle"):
        r.guest("selftests", "true")
    assert len(r.record["boots"]) == 1 and r.record["boots"][0]["splats"]
