"""Building the kernel, bpf_testmod.ko and upstream's test_progs.

The kernel is built out of tree (O=build/<variant>) from tinyconfig plus the
fragments in configs/, with ccache.  test_progs and bpf_testmod.ko are built
from the same tree against that build, with clang-21, into
build/<variant>/selftests, so the project's tests and upstream's run from
one binary.  make is incremental, so a second run only rebuilds what changed.
"""

import os
import re
import shutil

from harness import kconfig
from harness.proc import run

# One job more than CPUs: keeps both cores busy while a job waits on I/O
# or on a single-threaded step (pahole, the final links).
JOBS = str((os.cpu_count() or 2) + 1)
LLVM = "-21"  # clang-21, llvm-strip-21, ... in the build root


def configure(settings, toolchain, log):
    """Write build/<variant>/.config from tinyconfig and the fragments."""
    b = settings.build_dir
    b.mkdir(parents=True, exist_ok=True)
    frags = [f.read_text() for f in settings.fragments]
    config = b / ".config"
    stamp = b / ".fragments"
    want = "".join(frags)
    if config.exists() and stamp.exists() and stamp.read_text() == want:
        return False
    make(settings, toolchain, log, "tinyconfig", title="make tinyconfig")
    config.write_text(kconfig.merge(config.read_text(), frags))
    make(settings, toolchain, log, "olddefconfig", title="make olddefconfig")
    kconfig.check(kconfig.requested(frags), config.read_text(), "kernel config")
    stamp.write_text(want)
    return True


def make(settings, toolchain, log, *targets, title=None, status=None):
    argv = ["make", f"O={settings.build_dir}", f"-j{JOBS}", *targets]
    return run(toolchain.wrap(argv, cwd=settings.tree), log, title or "make", status=status)


def kernel(settings, toolchain, log):
    """bzImage, modules (for Module.symvers) and vmlinux with BTF."""
    configure(settings, toolchain, log)
    return make(settings, toolchain, log, "bzImage", "modules", title="kernel build")


def selftests(settings, toolchain, log, targets=("test_progs",)):
    """test_progs (and with it bpf_testmod.ko) against this build.

    The kernel config is trimmed to what the selected selftests need, so
    some of upstream's ~1000 BPF objects (MPTCP, conntrack, tunnels...) do
    not compile against its vmlinux.h.  BPF_STRICT_BUILD=0 is upstream's
    permissive mode for that: such objects and the prog_tests using them
    are left out with a SKIP-BPF/SKIP-TEST line, which left_out() reads.
    """
    out = settings.selftests_dir
    stamp = out / ".toolchain"
    if out.exists() and (not stamp.exists() or stamp.read_text() != toolchain.identity()):
        # The selftests Makefile does not rebuild objects when a feature
        # check (LLVM disassembler, ...) changes with the toolchain: start over.
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    stamp.write_text(toolchain.identity())
    forget_other_kmods(settings)
    argv = selftests_make(settings.build_dir, out, targets)
    return run(toolchain.wrap(argv, cwd=settings.tree), log, "test_progs build",
               status=object_counter(out))


def selftests_make(build_dir, out, targets, strict=False):
    """make of the BPF selftests `targets` against the kernel built in
    build_dir, into `out`; strict: BPF_STRICT_BUILD=1 (a BPF object that
    does not compile fails the build instead of being left out)."""
    return ["make", "-C", "tools/testing/selftests/bpf", f"-j{JOBS}",
            f"O={build_dir}", f"OUTPUT={out}", f"VMLINUX_BTF={build_dir / 'vmlinux'}",
            f"CLANG=clang{LLVM}", f"LLC=llc{LLVM}", f"LLVM_STRIP=llvm-strip{LLVM}",
            f"LLVM_OBJCOPY=llvm-objcopy{LLVM}", f"LLVM_OBJDUMP=llvm-objdump{LLVM}",
            f"LLVM_CONFIG=llvm-config{LLVM}", f"BPF_STRICT_BUILD={int(strict)}", *targets]


def object_counter(directory):
    """A progress callback: how many object files exist below directory."""
    def status():
        count = 0
        for _, _, files in os.walk(directory):
            count += sum(f.endswith(".o") for f in files)
        return f"{count} objects"
    return status



def left_out(log_text):
    """prog_tests left out of test_progs by a permissive build (sorted names)."""
    return sorted(set(re.findall(r"^\s*SKIP-TEST\s+(\S+)\.test\.o\s*$", log_text, re.M)))


def forget_other_kmods(settings):
    """Drop bpf_testmod & co. built against another build directory.

    The selftests Makefile builds the test modules inside the source tree
    (test_kmods/), shared by all variants, and rebuilds them only when that
    build's vmlinux is newer; a module built for the debug kernel would be
    loaded into the normal one.  Remember which build they were made for.
    """
    kmods = settings.tree / "tools/testing/selftests/bpf/test_kmods"
    owner = settings.cache / "test_kmods-built-for"  # outside the tree: keeps it clean
    if owner.exists() and owner.read_text() == str(settings.build_dir):
        return
    for ko in kmods.glob("*.ko"):
        ko.unlink()
    owner.write_text(str(settings.build_dir))
