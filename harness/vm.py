"""Booting the built kernel with virtme-ng, and reading what it printed.

KVM is used only if a short probe boot proves that it works: on this
workplace /dev/kvm belongs to a nested hypervisor that hangs a normal kernel
at "Decompressing Linux...", so the probe times out and TCG is chosen.  The
probe's answer is cached per host boot.

Each boot keeps its console log; the guest command saves dmesg next to it.
Any WARN, BUG, Oops, KASAN, lockdep or similar report in either fails the
boot, with the excerpt printed.  A guest that outlives its timeout is
killed and its log kept.
"""

import os
import re
from pathlib import Path

from harness import HarnessError
from harness.proc import VERBOSE, run, say

PROBE_TIMEOUT = 90
PROBE_MARK = "arena-harness-probe-ok"

# A line that starts a kernel report which must fail the run.
SPLAT = re.compile(
    r"(------------\[ cut here \]------------"
    r"|WARNING: CPU: \d+ PID: \d+"
    r"|WARNING: .* at .*\+0x"
    r"|\bBUG: |kernel BUG at "
    r"|\bOops: |general protection fault|Kernel panic"
    r"|KASAN: |UBSAN: |KFENCE: "
    r"|WARNING: possible (circular|recursive) locking|WARNING: inconsistent lock state"
    r"|WARNING: suspicious RCU usage|INFO: possible irq lock inversion"
    r"|DEBUG_LOCKS_WARN_ON|BUG: sleeping function called"
    r"|kmemleak: \d+ new suspected memory leaks"
    r"|rcu: INFO: \w+ (self-)?detected stall|INFO: task .* blocked for more than"
    r"|watchdog: BUG: soft lockup|Unable to handle kernel)")
END = re.compile(r"---\[ end (trace|Kernel panic)|^={20,}$")
STAMP = re.compile(r"^\[\s*\d+\.\d+\]\s?")


def find_splats(text, context=40):
    """Return one excerpt per kernel report found in a console or dmesg text."""
    lines = text.splitlines()
    excerpts, i = [], 0
    while i < len(lines):
        if SPLAT.search(lines[i]):
            j = i + 1
            while j < len(lines) and j - i < context:
                if END.search(STAMP.sub("", lines[j])):
                    j += 1
                    break
                # another report starts (a "cut here" line's own WARNING is part of it)
                if SPLAT.search(lines[j]) and j > i + 1:
                    break
                j += 1
            excerpts.append("\n".join(lines[i:j]))
            i = j
        else:
            i += 1
    return excerpts


class Boot:
    def __init__(self, name, outdir, result, splats):
        self.name, self.outdir, self.result, self.splats = name, outdir, result, splats

    @property
    def console(self):
        return self.outdir / "console.log"

    @property
    def rc(self):
        rc_file = self.outdir / "rc"
        return int(rc_file.read_text()) if rc_file.exists() else None

    def record(self):
        return {"name": self.name, "seconds": round(self.result.seconds, 1),
                "timed_out": self.result.timed_out, "rc": self.rc,
                "splats": self.splats, "console": str(self.console)}


def kvm_works(settings, toolchain, kernel):
    """Probe KVM with a short boot; cache the answer for this host boot."""
    if settings.accel in ("kvm", "tcg"):
        return settings.accel == "kvm"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    cache = settings.cache / "kvm-probe"
    if cache.exists():
        saved_id, _, answer = cache.read_text().partition(" ")
        if saved_id == boot_id:
            return answer.strip() == "yes"
    say(f"vm: probing KVM with a {PROBE_TIMEOUT}s boot")
    log = settings.cache / "kvm-probe.log"
    if log.exists():
        log.unlink()
    res = run(toolchain.wrap(vng_argv(settings, kernel, f"echo {PROBE_MARK}", kvm=True)),
              log, "KVM probe", timeout=PROBE_TIMEOUT, check=False)
    ok = not res.timed_out and res.rc == 0 and PROBE_MARK in log.read_text(errors="replace")
    cache.write_text(f"{boot_id} {'yes' if ok else 'no'}\n")
    return ok


def vng_argv(settings, kernel, command, kvm, rwdirs=(), cwd=None, append=()):
    argv = ["vng", "--run", kernel, "--verbose", "--cpus", str(settings.cpus),
            "--memory", settings.memory, "--exec", command]
    if not kvm:
        argv.append("--disable-kvm")
    for d in rwdirs:
        argv += ["--rwdir", d]
    if cwd:
        argv += ["--cwd", cwd]
    for a in ("panic_on_warn=0", "oops=panic", *append):
        argv += ["--append", a]
    return argv


def boot(settings, toolchain, name, script, outdir, timeout, kvm, cwd=None, status=None,
         echo=False):
    """Boot the kernel, run script (a shell snippet) in it, return a Boot.

    The script runs with OUT set to outdir (writable in the guest); its exit
    code is saved in OUT/rc, and dmesg in OUT/dmesg.txt.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    kernel = settings.build_dir / "arch/x86/boot/bzImage"
    for stale in ("rc", "dmesg.txt", "console.log"):
        (outdir / stale).unlink(missing_ok=True)
    (outdir / "guest.sh").write_text(
        f"export OUT={outdir}\n( {script}\n)\necho $? > $OUT/rc\ndmesg > $OUT/dmesg.txt\n")
    argv = vng_argv(settings, kernel, f"sh {outdir}/guest.sh", kvm, rwdirs=[outdir], cwd=cwd,
                    append=settings.append.split())
    say(f"vm: booting {name} ({'KVM' if kvm else 'TCG'}, {settings.cpus} vCPUs), "
        f"console in {outdir / 'console.log'}")
    res = run(toolchain.wrap(argv), outdir / "console.log", f"guest {name}",
              timeout=timeout, check=False, status=status, echo=echo or VERBOSE)
    text = (outdir / "console.log").read_text(errors="replace")
    dmesg = outdir / "dmesg.txt"
    if dmesg.exists():
        text += "\n" + dmesg.read_text(errors="replace")
    splats = dedupe(find_splats(text))
    b = Boot(name, outdir, res, splats)
    if res.timed_out:
        say(f"vm: guest {name} hung and was killed after {timeout}s; log: {b.console}")
    for s in splats:
        say(f"vm: kernel report in guest {name}:\n{s}\n")
    if b.rc is None and not res.timed_out:
        first = f"; first kernel report: {splats[0].splitlines()[0]}" if splats else ""
        err = HarnessError(f"guest {name} did not run its command (exit {res.rc}), "
                           f"{len(splats)} kernel reports{first}; console: {b.console}")
        err.boot = b  # so the run's record keeps the boot and its reports
        raise err
    return b


def dedupe(excerpts):
    seen, out = set(), []
    for e in excerpts:
        key = STAMP.sub("", e.splitlines()[0])
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out
