"""Benchmarks.  Build times are wall-clock on the host; in-guest measures
are ratios taken in one boot, since TCG makes absolute guest times
meaningless.

guest_bench runs the selftests' `bench` tool in one boot, each arena
benchmark in the default mode and with BPF_F_ARENA_MAP_ALWAYS, and prints
the ratios the series claims (see RATIOS).

build_bench measures, on this machine:
  - the rebuild after touching kernel/bpf/verifier.c (the normal build dir),
  - with fresh=True also a fresh kernel build (empty build dir, ccache
    disabled) and a fresh test_progs build (empty output dir).
"""

import dataclasses
import re
import shutil
import time

from harness import HarnessError, build
from harness.pipeline import Run
from harness.proc import fmt_secs, say

# (benchmark, mode) pairs run in the guest; mode "always" adds --always
RUNS = [(b, m) for b in ("arena-create", "arena-alloc-free", "arena-first-touch")
        for m in ("default", "always")]
# name, numerator, denominator, target: ratios of per-op latencies
RATIOS = [
    ("arena create+destroy, MAP_ALWAYS / default",
     ("arena-create", "always"), ("arena-create", "default"), "<= 2x"),
    ("page alloc+free cycle, MAP_ALWAYS / default",
     ("arena-alloc-free", "always"), ("arena-alloc-free", "default"), "<= 1.25x"),
    ("first kernel touch of an unallocated page, default / MAP_ALWAYS",
     ("arena-first-touch", "default"), ("arena-first-touch", "always"), ">= 20x"),
]
SUMMARY = re.compile(r"^Summary: throughput\s+([\d.]+).*latency\s+([\d.]+) ns/op", re.M)
MEMORY = re.compile(r"^memory per arena: ([-\d.]+) KiB", re.M)
BENCH_ARGS = "-w1 -d5 -a -p1"


def guest_script(selftests_dir):
    """Run every benchmark once, its output between markers, into $OUT."""
    lines = [f"cd {selftests_dir}", "mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf"]
    for name, mode in RUNS:
        flag = " --always" if mode == "always" else ""
        lines.append(f"./bench {BENCH_ARGS} {name}{flag} > $OUT/bench-{name}-{mode}.txt 2>&1")
    return "\n".join(lines) + "\n"


def parse(out_dir):
    """{(name, mode): {"latency_ns": .., "memory_kib": ..}} from the outputs."""
    found = {}
    for name, mode in RUNS:
        path = out_dir / f"bench-{name}-{mode}.txt"
        text = path.read_text(errors="replace") if path.exists() else ""
        m = SUMMARY.search(text)
        if not m:
            raise HarnessError(f"bench {name} ({mode}) printed no summary; see {path}")
        found[(name, mode)] = {"latency_ns": float(m.group(2))}
        mem = MEMORY.search(text)
        if mem:
            found[(name, mode)]["memory_kib"] = float(mem.group(1))
        if "WARNING" in text:
            raise HarnessError(f"bench {name} ({mode}): {text[text.index('WARNING'):].splitlines()[0]}")
    return found


def ratios(found):
    """[(name, ratio, target)] from parsed results."""
    return [(name, found[a]["latency_ns"] / found[b]["latency_ns"], target)
            for name, a, b, target in RATIOS]


def report(found):
    lines = [f"{'measure':66} {'ratio':>8}  target"]
    for name, ratio, target in ratios(found):
        lines.append(f"{name:66} {ratio:7.2f}x  {target}")
    always = found[("arena-create", "always")].get("memory_kib")
    default = found[("arena-create", "default")].get("memory_kib")
    if always is not None and default is not None:
        lines.append(f"{'extra memory per arena, MAP_ALWAYS - default':66} "
                     f"{always - default:6.1f} KiB  <= one page ({default:.0f} KiB per default arena)")
    lines.append("")
    for (name, mode), v in found.items():
        lines.append(f"  {name:18} {mode:8} {v['latency_ns']:12.1f} ns/op (TCG, for the ratios only)")
    return "\n".join(lines) + "\n"


def guest_bench(settings):
    with Run(settings) as r:
        r.prepare(selftests_targets=("test_progs", "bench"))
        boot = r.guest("bench", guest_script(settings.selftests_dir))
        if boot.splats or boot.rc:
            raise HarnessError(f"bench guest failed (rc {boot.rc}, {len(boot.splats)} kernel "
                               f"reports); console: {boot.console}")
        found = parse(r.dir / "bench")
        text = report(found)
        (r.dir / "bench.txt").write_text(text)
        r.record["guest_bench"] = {f"{n} ({m})": v for (n, m), v in found.items()}
        say("\n" + text)
    return r.record


def measure(record, name, fn):
    start = time.monotonic()
    fn()
    record[name] = fmt_secs(time.monotonic() - start)
    say(f"bench: {name} {record[name]}")


def build_bench(settings, fresh=False):
    with Run(settings) as r:
        r.prepare()  # the normal build must be complete before the rebuild measure
        tc = r.tc
        b = r.record.setdefault("bench", {})
        (settings.tree / "kernel/bpf/verifier.c").touch()
        measure(b, "rebuild after touching verifier.c",
                lambda: build.kernel(settings, tc, r.log("bench-rebuild")))
        if fresh:
            other = dataclasses.replace(settings, build_name=f"bench-{settings.variant}")
            shutil.rmtree(other.build_dir, ignore_errors=True)
            env = dict(tc.env(), CCACHE_DISABLE="1")
            tc.env = lambda: env
            measure(b, "fresh kernel build (no ccache)",
                    lambda: build.kernel(other, tc, r.log("bench-kernel")))
            measure(b, "fresh test_progs build",
                    lambda: build.selftests(other, tc, r.log("bench-test_progs")))
            shutil.rmtree(other.build_dir, ignore_errors=True)
    return r.record
