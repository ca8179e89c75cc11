"""Boot a cross-built kernel: what does its verifier say to arena memory in a
generic kfunc memory argument?

Only x86-64's JIT emits the call-site check (bpf_jit_supports_arena_mem_args()),
so on every other architecture the verifier must reject such a program with
"JIT does not support arena memory for memory arguments of kfunc ...()" and
keep loading everything it loaded before.  `make cross` builds arm64 with
configs/cross-boot.config on top, so its Image boots in qemu-system-aarch64
(TCG, -M virt).  This job builds harness/arena_memarg_probe.c statically with
the cross compiler, packs it as /init of an initramfs (written here, newc
cpio), boots it, and reads the probe's lines from the serial console:

    probe: stack load=ok
    probe: arena load=errno:95 (Operation not supported) log: JIT does not ...

The architecture passes if the stack control loaded, the arena program was
rejected with EOPNOTSUPP and that message, the probe finished, and the
console has no kernel report (harness/vm.py's patterns).  A guest that does
not power off within TIMEOUT is killed; its console log is kept.
"""

import errno
import re
from dataclasses import dataclass

from harness import vm
from harness.config import PROJECT
from harness.cross import ensure_packages
from harness.proc import run, say

PROBE_SRC = PROJECT / "harness" / "arena_memarg_probe.c"
KFUNC = "bpf_copy_from_user_str"
MESSAGE = f"JIT does not support arena memory for memory arguments of kfunc {KFUNC}()"
TIMEOUT = 300
PROBE = re.compile(r"^probe: (stack|arena) load=(ok|errno:\d+)(?: \([^)]*\))?(?: log: (.*))?$")


@dataclass(frozen=True)
class Machine:
    qemu: str            # binary in the build root
    packages: tuple      # (file in the root, Debian package with it): qemu, static libc
    args: tuple          # machine and CPU
    image: str           # kernel image, relative to the build dir
    console: str         # console= device


MACHINES = {
    "arm64": Machine("qemu-system-aarch64",
                     (("usr/bin/qemu-system-aarch64", "qemu-system-arm"),
                      ("usr/aarch64-linux-gnu/lib/libc.a", "libc6-dev-arm64-cross")),
                     ("-M", "virt", "-cpu", "cortex-a57"),
                     "arch/arm64/boot/Image", "ttyAMA0"),
}


def cpio(entries):
    """An uncompressed newc cpio archive of (name, mode, data, rdev) entries;
    rdev is (major, minor) for device nodes."""
    out = bytearray()

    def pad():
        out.extend(b"\0" * (-len(out) % 4))

    for ino, (name, mode, data, rdev) in enumerate(
            [*entries, ("TRAILER!!!", 0, b"", (0, 0))], 1):
        fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1],
                  len(name) + 1, 0)
        out.extend(b"070701" + b"".join(b"%08X" % f for f in fields))
        out.extend(name.encode() + b"\0")
        pad()
        out.extend(data)
        pad()
    return bytes(out)


def initramfs(init):
    """/init, /dev/console (the kernel opens it for init's output), /sys."""
    return cpio([("dev", 0o040755, b"", (0, 0)),
                 ("dev/console", 0o020600, b"", (5, 1)),
                 ("sys", 0o040755, b"", (0, 0)),
                 ("init", 0o100755, init, (0, 0))])


def parse(console):
    """{'stack': (result, log line), 'arena': ...} and whether the probe
    finished, from the console text."""
    lines = [line.strip() for line in console.splitlines()]
    loads = {m.group(1): (m.group(2), m.group(3) or "")
             for m in map(PROBE.match, lines) if m}
    errors = [line for line in lines if line.startswith("probe: error")]
    return loads, "probe: done" in lines, errors


def verdict(loads, done, errors, splats):
    """None if the architecture behaved, else what went wrong."""
    if splats:
        return f"{len(splats)} kernel reports; first: {splats[0].splitlines()[0]}"
    if errors:
        return errors[0]
    if not done:
        return "the probe did not finish"
    stack = loads.get("stack", ("missing", ""))
    if stack[0] != "ok":
        return f"the stack control did not load: {stack[0]} {stack[1]}".strip()
    arena = loads.get("arena", ("missing", ""))
    if arena[0] == "ok":
        return "the arena program loaded: the verifier accepted arena memory it cannot check"
    if arena[0] != f"errno:{errno.EOPNOTSUPP}" or MESSAGE not in arena[1]:
        return f"the arena program was rejected otherwise: {arena[0]} {arena[1]}".strip()
    return None


def boot_one(s, tc, arch, logs):
    """Build the probe, boot the architecture's cross kernel; return a result."""
    m = MACHINES[arch.name]
    build = s.cache / "build" / f"cross-{arch.name}"
    work = logs / f"boot-{arch.name}"
    work.mkdir(parents=True, exist_ok=True)
    ensure_packages(s, tc, dict(m.packages), logs / "cross-packages.log")
    probe = work / "probe"
    res = run(tc.wrap([f"{arch.cross}gcc", "-static", "-O2", "-Wall", "-Werror",
                       "-o", probe, PROBE_SRC]),
              work / "probe-build.log", f"{arch.name}: probe", check=False)
    if res.rc:
        return {"ok": False, "error": f"probe build failed; see {res.log}"}
    (work / "initramfs.cpio").write_bytes(initramfs(probe.read_bytes()))
    console = work / "console.log"
    console.unlink(missing_ok=True)
    argv = [m.qemu, *m.args, "-m", "512", "-smp", "1", "-display", "none",
            "-monitor", "none", "-no-reboot", "-serial", f"file:{console}",
            "-kernel", build / m.image, "-initrd", work / "initramfs.cpio",
            "-append", f"console={m.console} panic=-1 rdinit=/init"]
    res = run(tc.wrap(argv), work / "qemu.log", f"{arch.name}: boot", timeout=TIMEOUT,
              check=False)
    text = console.read_text(errors="replace") if console.exists() else ""
    loads, done, errors = parse(text)
    splats = vm.dedupe(vm.find_splats(text))
    result = {"ok": False, "seconds": round(res.seconds), "console": str(console),
              "loads": {k: list(v) for k, v in loads.items()}, "reports": len(splats)}
    if res.timed_out:
        result["error"] = f"guest did not power off in {TIMEOUT} s (killed); console: {console}"
        return result
    problem = verdict(loads, done, errors, splats)
    if problem:
        result["error"] = f"{problem}; console: {console}"
    result["ok"] = problem is None
    return result


def boot_built(s, tc, arches, results, logs):
    """Boot every architecture of MACHINES whose build succeeded; its result
    gets the boot's, and fails with it."""
    for a, r in zip(arches, results):
        if not r["ok"] or a.name not in MACHINES:
            continue
        say(f"==> boot: {a.name}")
        b = r["boot"] = boot_one(s, tc, a, logs)
        if b["ok"]:
            say(f"<== boot: {a.name}: ok: " + " / ".join(
                f"{k} {' '.join(v).strip()}" for k, v in b["loads"].items()))
        else:
            say(f"<== boot: {a.name}: FAILED: {b['error']}")
            r["ok"], r["error"] = False, f"boot: {b['error']}"
