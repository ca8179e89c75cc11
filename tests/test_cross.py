"""harness/cross.py: architecture selection and the warning filter."""

import pytest

from harness import HarnessError, cross


def test_by_name_all_and_some():
    assert [a.name for a in cross.by_name("")] == ["arm64", "riscv64", "i386"]
    assert [a.name for a in cross.by_name("i386,arm64")] == ["i386", "arm64"]


def test_by_name_unknown():
    with pytest.raises(HarnessError, match="unknown architecture mips"):
        cross.by_name("arm64,mips")


def test_watched_warnings_only_series_files():
    log = "\n".join([
        "/src/linux/kernel/bpf/arena.c:12:5: warning: unused variable 'x' [-Wunused-variable]",
        "/src/linux/arch/arm64/net/bpf_jit_comp.c:3:1: warning: foo",
        "/src/linux/drivers/tty/vt.c:7:2: warning: not ours",
        "kernel/bpf/fixups.c:1:1: note: not a warning",
        "include/linux/bpf.h:2:3: warning: in a header the series changes",
    ])
    files = [f for f, _ in cross.watched_warnings(log)]
    assert files == ["/src/linux/kernel/bpf/arena.c", "/src/linux/arch/arm64/net/bpf_jit_comp.c",
                     "include/linux/bpf.h"]


def test_fragment_has_bpf_and_jit():
    text = cross.FRAGMENT.read_text()
    assert "CONFIG_BPF_SYSCALL=y" in text and "CONFIG_BPF_JIT=y" in text
