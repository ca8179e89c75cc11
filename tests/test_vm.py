"""Guest command lines and the KVM decision (no boot needed)."""

from harness import vm
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
