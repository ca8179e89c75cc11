"""Cross builds: does the kernel with the series build and link elsewhere?

The guest is x86-64 only, but the series touches code that every
architecture builds with CONFIG_BPF_SYSCALL (kernel/bpf/), and arena code
that 64-bit MMU architectures build.  For each architecture in ARCHES this
configures tinyconfig plus configs/cross.config and the architecture's own
options, builds vmlinux with the cross compiler from the build root, in
build/cross-<arch>, and counts the compiler warnings in the files the series
touches.  A link error, an option Kconfig dropped, or such a warning fails
the architecture.

The cross compilers (Debian's gcc-<triplet> packages) are installed into the
build root the first time, not with the root itself: `make test` does not
need them.  i386 builds with the root's own gcc (-m32).  arm64 is also
configured to boot (configs/cross-boot.config), for harness/crossboot.py.
"""

import re
from dataclasses import dataclass

from harness import HarnessError, kconfig
from harness.build import JOBS
from harness.config import PROJECT
from harness.proc import run, say
from harness.toolchain import registry_hint


@dataclass(frozen=True)
class Arch:
    name: str
    arch: str            # ARCH= for the kernel
    cross: str           # CROSS_COMPILE= prefix, "" for the root's gcc
    package: str         # Debian package with the compiler, "" if none needed
    config: str = ""     # options on top of configs/cross.config
    targets: tuple = ("vmlinux",)   # make targets (a bootable image too, for crossboot)


FRAGMENT = PROJECT / "configs" / "cross.config"
# arm64 also boots (harness/crossboot.py): console, initramfs, sysfs, BTF.
BOOT_FRAGMENT = PROJECT / "configs" / "cross-boot.config"

ARCHES = (
    Arch("arm64", "arm64", "aarch64-linux-gnu-", "gcc-aarch64-linux-gnu",
         BOOT_FRAGMENT.read_text(), ("vmlinux", "Image")),
    Arch("riscv64", "riscv", "riscv64-linux-gnu-", "gcc-riscv64-linux-gnu",
         "CONFIG_ARCH_RV64I=y\nCONFIG_64BIT=y\n"),
    Arch("i386", "i386", "", "", "# CONFIG_64BIT is not set\n"),
)

# Files the series changes that these builds compile; warnings there fail.
WATCHED = re.compile(r"^(?:\S*/)?(kernel/bpf/|arch/[^/]+/net/|include/linux/(?:bpf|filter))")
WARNING = re.compile(r"^(\S+?):\d+:\d+: warning: ", re.M)


def by_name(names):
    """The ARCHES entries for a comma-separated list ("" for all)."""
    if not names:
        return list(ARCHES)
    known = {a.name: a for a in ARCHES}
    unknown = [n for n in names.split(",") if n not in known]
    if unknown:
        raise HarnessError(f"unknown architecture {', '.join(unknown)}; "
                           f"known: {', '.join(known)}")
    return [known[n] for n in names.split(",")]


def watched_warnings(log_text):
    """Warnings in files the series touches: [(file, line of the log)]."""
    found = []
    for line in log_text.splitlines():
        m = WARNING.match(line)
        if m and WATCHED.search(m.group(1)):
            found.append((m.group(1), line.strip()))
    return found


def ensure_packages(s, tc, wanted, log):
    """Install into the build root the packages of {path: package} whose
    file (a path inside the root, "usr/bin/..." for a program) it lacks."""
    need = sorted({pkg for path, pkg in wanted.items()
                   if pkg and not (s.root / path).exists()})
    if not need:
        return
    say(f"cross: installing {' '.join(need)} into the build root")
    for argv in (["apt-get", "update", "-q"],
                 ["apt-get", "install", "-y", "-q", "--no-install-recommends", *need]):
        res = run(tc.wrap(argv, binds=False), log, " ".join(argv[:2]), check=False)
        if res.rc:
            raise HarnessError(registry_hint(res.log) or
                               f"{' '.join(argv[:2])} in the build root failed; see {res.log}")


def ensure_compilers(s, tc, arches, log):
    """Install the cross compilers that the build root lacks."""
    ensure_packages(s, tc, {f"usr/bin/{a.cross}gcc": a.package for a in arches if a.package},
                    log)


def make(s, tc, a, log, *targets, title):
    out = s.cache / "build" / f"cross-{a.name}"
    argv = ["make", f"O={out}", f"ARCH={a.arch}", f"-j{JOBS}", *targets]
    if a.cross:
        argv.insert(3, f"CROSS_COMPILE={a.cross}")
    return run(tc.wrap(argv, cwd=s.tree), log, title, check=False)


def build_one(s, tc, a, log):
    """Configure and build vmlinux for one architecture; return its result."""
    out = s.cache / "build" / f"cross-{a.name}"
    out.mkdir(parents=True, exist_ok=True)
    frags = [FRAGMENT.read_text(), a.config]
    res = make(s, tc, a, log, "tinyconfig", title=f"{a.name}: tinyconfig")
    if res.rc:
        return {"arch": a.name, "ok": False, "error": f"tinyconfig failed; see {res.log}"}
    config = out / ".config"
    config.write_text(kconfig.merge(config.read_text(), frags))
    res = make(s, tc, a, log, "olddefconfig", title=f"{a.name}: olddefconfig")
    if res.rc:
        return {"arch": a.name, "ok": False, "error": f"olddefconfig failed; see {res.log}"}
    bad = kconfig.mismatches(kconfig.requested(frags), config.read_text())
    if bad:
        return {"arch": a.name, "ok": False,
                "error": "options dropped: " + ", ".join(f"{n}={w} (got {g})" for n, w, g in bad)}
    res = make(s, tc, a, log, *a.targets, title=f"{a.name}: {' '.join(a.targets)}")
    warnings = watched_warnings(open(res.log, errors="replace").read())
    result = {"arch": a.name, "ok": res.rc == 0 and not warnings,
              "vmlinux": (out / "vmlinux").exists(), "warnings": [w for _, w in warnings],
              "seconds": round(res.seconds)}
    if res.rc:
        result["error"] = f"build failed; see {res.log}"
    elif warnings:
        result["error"] = f"{len(warnings)} warnings in files the series touches"
    return result


def build_all(s, tc, arches, logs):
    """Build every architecture; return their results, in order."""
    ensure_compilers(s, tc, arches, logs / "cross-packages.log")
    results = []
    for a in arches:
        say(f"==> cross build: {a.name}")
        r = build_one(s, tc, a, logs / f"cross-{a.name}.log")
        say(f"<== cross build: {a.name}: {'ok' if r['ok'] else 'FAILED: ' + r['error']}")
        results.append(r)
    return results
