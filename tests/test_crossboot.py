"""harness/crossboot.py: the initramfs writer and the reading of the probe's
console."""

from harness import cross, crossboot


def read_cpio(data):
    """(name, mode, rdev, data) of each newc entry, for the writer's test."""
    out, off = [], 0
    while True:
        assert data[off:off + 6] == b"070701"
        f = [int(data[off + 6 + 8 * i:off + 14 + 8 * i], 16) for i in range(13)]
        mode, size, rdev, namesize = f[1], f[6], (f[9], f[10]), f[11]
        off += 110
        name = data[off:off + namesize - 1].decode()
        assert data[off + namesize - 1] == 0
        off += namesize
        off += -off % 4
        body = data[off:off + size]
        off += size
        off += -off % 4
        if name == "TRAILER!!!":
            assert off == len(data)
            return out
        out.append((name, mode, rdev, body))


def test_initramfs_layout():
    entries = read_cpio(crossboot.initramfs(b"\x7fELF12345"))
    assert [(n, oct(m), r) for n, m, r, _ in entries] == [
        ("dev", "0o40755", (0, 0)), ("dev/console", "0o20600", (5, 1)),
        ("sys", "0o40755", (0, 0)), ("init", "0o100755", (0, 0))]
    assert entries[-1][3] == b"\x7fELF12345"


CONSOLE = """[    1.2] Run /init as init process
probe: kfunc bpf_copy_from_user_str btf_id=1234 arena fd=3
probe: stack load=ok
probe: arena load=errno:95 (Operation not supported) log: JIT does not support arena memory \
for memory arguments of kfunc bpf_copy_from_user_str()
probe: done
[    1.9] reboot: Power down
"""


def test_parse_and_pass():
    loads, done, errors = crossboot.parse(CONSOLE)
    assert loads["stack"] == ("ok", "")
    assert loads["arena"][0] == "errno:95"
    assert loads["arena"][1].startswith("JIT does not support arena memory")
    assert done and not errors
    assert crossboot.verdict(loads, done, errors, []) is None


def test_arena_accepted_fails():
    text = CONSOLE.replace(
        "probe: arena load=errno:95 (Operation not supported) log: JIT does not support "
        "arena memory for memory arguments of kfunc bpf_copy_from_user_str()", "probe: arena load=ok")
    assert "arena program loaded" in crossboot.verdict(*crossboot.parse(text), [])


def test_other_rejection_fails():
    text = CONSOLE.replace("errno:95 (Operation not supported) log: JIT does not support arena",
                           "errno:22 (Invalid argument) log: R1 type=arena expected=fp")
    assert "rejected otherwise" in crossboot.verdict(*crossboot.parse(text), [])


def test_stack_control_must_load():
    text = CONSOLE.replace("probe: stack load=ok",
                           "probe: stack load=errno:22 (Invalid argument) log: calling kernel")
    assert "stack control did not load" in crossboot.verdict(*crossboot.parse(text), [])


def test_unfinished_error_and_reports_fail():
    loads, done, errors = crossboot.parse(CONSOLE.replace("probe: done\n", ""))
    assert crossboot.verdict(loads, done, errors, []) == "the probe did not finish"
    text = "probe: error no BTF id for bpf_copy_from_user_str: No such file or directory\n"
    assert "no BTF id" in crossboot.verdict(*crossboot.parse(text), [])
    splat = "WARNING: CPU: 0 PID: 1 at kernel/bpf/verifier.c:1 check\n"
    assert "1 kernel reports" in crossboot.verdict(*crossboot.parse(CONSOLE), [splat])


def test_every_machine_is_a_cross_arch_with_boot_options():
    names = {a.name: a for a in cross.ARCHES}
    for name in crossboot.MACHINES:
        assert "CONFIG_DEBUG_INFO_BTF=y" in names[name].config
        assert "CONFIG_BLK_DEV_INITRD=y" in names[name].config
    for name, m in crossboot.MACHINES.items():
        assert m.image.endswith(names[name].targets[-1])


def test_boot_built_boots_only_built_machines_and_fails_with_them(monkeypatch):
    booted = []

    def boot_one(s, tc, arch, logs):
        booted.append(arch.name)
        return {"ok": False, "error": "the probe did not finish", "loads": {}}

    monkeypatch.setattr(crossboot, "boot_one", boot_one)
    monkeypatch.setattr(crossboot, "say", lambda msg: None)
    arches = cross.by_name("arm64,riscv64,i386")
    results = [{"arch": "arm64", "ok": True}, {"arch": "riscv64", "ok": True},
               {"arch": "i386", "ok": False, "error": "build failed"}]
    crossboot.boot_built(None, None, arches, results, None)
    assert booted == ["arm64"]
    assert results[0]["ok"] is False and results[0]["error"] == "boot: the probe did not finish"
    assert results[1] == {"arch": "riscv64", "ok": True}
