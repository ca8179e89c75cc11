"""Benchmarks.  Build times are wall-clock on the host; in-guest measures
are ratios taken in one boot, since TCG makes absolute guest times
meaningless.

guest_bench runs the selftests' `bench` tool in one boot, each arena
benchmark in the default mode and with BPF_F_ARENA_MAP_ALWAYS, and the
arena kfunc argument benchmark, ROUNDS times over, and prints the median
of each ratio the series claims (see RATIOS) with its range.

build_bench measures, on this machine:
  - the rebuild after touching kernel/bpf/verifier.c (the normal build dir),
  - with fresh=True also a fresh kernel build and a fresh test_progs build
    (empty build dir, empty ccache: what a fresh machine does).
"""

import dataclasses
import re
import statistics
import shutil
import time

from harness import HarnessError, build
from harness.pipeline import Run
from harness.proc import fmt_secs, say

# (benchmark, mode) pairs run in the guest; mode "always" adds --always,
# an arena-memargs mode names the program to run (--memargs-prog)
# (":abort" loads it with BPF_F_ARENA_ARG_ABORT)
MEMARGS_PROGS = ("arena_64", "stack_64", "arena_4k", "arena_4k_var", "map_4k", "copyout_4k",
                 "arena_64:abort", "arena_4k:abort", "one_good:abort", "one_bad:abort")
RUNS = [(b, m) for b in ("arena-create", "arena-alloc-free", "arena-first-touch")
        for m in ("default", "always")] + [("arena-memargs", p) for p in MEMARGS_PROGS]
# name, numerator, denominator, target: ratios of per-op latencies
RATIOS = [
    ("arena create+destroy, MAP_ALWAYS / default",
     ("arena-create", "always"), ("arena-create", "default"), "<= 2x"),
    ("page alloc+free cycle, MAP_ALWAYS / default",
     ("arena-alloc-free", "always"), ("arena-alloc-free", "default"), "<= 1.25x"),
    ("first kernel touch of an unallocated page, default / MAP_ALWAYS",
     ("arena-first-touch", "default"), ("arena-first-touch", "always"), ">= 20x"),
    ("checked arena-arg call / stack buffer, 64 B",
     ("arena-memargs", "arena_64"), ("arena-memargs", "stack_64"), "<= 1.05x"),
    ("checked arena-arg call / map-value buffer, 4 KiB",
     ("arena-memargs", "arena_4k"), ("arena-memargs", "map_4k"), "<= 1.05x"),
    ("  same, variable size",
     ("arena-memargs", "arena_4k_var"), ("arena-memargs", "map_4k"), "<= 1.05x"),
    ("copy-out then call / checked arena-arg call, 4 KiB",
     ("arena-memargs", "copyout_4k"), ("arena-memargs", "arena_4k"), ">= 2x"),
    ("in-range call, abort / redirect mode, 64 B",
     ("arena-memargs", "arena_64:abort"), ("arena-memargs", "arena_64"), "<= 1.02x"),
    ("in-range call, abort / redirect mode, 4 KiB",
     ("arena-memargs", "arena_4k:abort"), ("arena-memargs", "arena_4k"), "<= 1.02x"),
    ("a run with one abort / a run with one in-range call",
     ("arena-memargs", "one_bad:abort"), ("arena-memargs", "one_good:abort"), "reported"),
]
INSNS = re.compile(r"^check insns per site: constant size (-?\d+), variable size (-?\d+)", re.M)
SUMMARY = re.compile(r"^Summary: throughput\s+([\d.]+).*latency\s+([\d.]+) ns/op", re.M)
MEMORY = re.compile(r"^memory per arena: ([-\d.]+) KiB", re.M)
BENCH_ARGS = "-w1 -d3 -a -p1"
# every benchmark runs once per round; ratios are medians over rounds
ROUNDS = 3


def _file(name, mode, rnd):
    return f"bench-{name}-{mode.replace(':', '-')}-r{rnd}.txt"


def guest_script(selftests_dir, rounds=None):
    """Run every benchmark once per round, each into its own file in $OUT.
    Rounds repeat the whole list, so that each ratio is taken from runs
    made close together, ROUNDS times: TCG speed drifts within a boot."""
    rounds = rounds or ROUNDS
    lines = [f"cd {selftests_dir}", "mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf"]
    for rnd in range(rounds):
        for name, mode in RUNS:
            flag = " --always" if mode == "always" else ""
            if name == "arena-memargs":
                prog, _, abort = mode.partition(":")
                flag = f" --memargs-prog {prog}" + (" --memargs-abort" if abort else "")
            lines.append(f"./bench {BENCH_ARGS} {name}{flag} > $OUT/{_file(name, mode, rnd)} 2>&1")
    return "\n".join(lines) + "\n"


def parse(out_dir, rounds=None):
    """{(name, mode): {"latency_ns": [per round], "memory_kib": ..}} from the outputs."""
    rounds = rounds or ROUNDS
    found = {}
    for rnd in range(rounds):
        for name, mode in RUNS:
            path = out_dir / _file(name, mode, rnd)
            text = path.read_text(errors="replace") if path.exists() else ""
            m = SUMMARY.search(text)
            if not m:
                raise HarnessError(f"bench {name} ({mode}) printed no summary; see {path}")
            v = found.setdefault((name, mode), {"latency_ns": []})
            v["latency_ns"].append(float(m.group(2)))
            mem = MEMORY.search(text)
            if mem and rnd == 0:
                v["memory_kib"] = float(mem.group(1))
            insns = INSNS.search(text)
            if insns:
                v["check_insns"] = [int(insns.group(1)), int(insns.group(2))]
            if "WARNING" in text:
                raise HarnessError(f"bench {name} ({mode}): "
                                   f"{text[text.index('WARNING'):].splitlines()[0]}")
    return found


def ratios(found):
    """[(name, median ratio, min, max, target)]: a ratio per round, of runs
    made in the same round."""
    out = []
    for name, a, b, target in RATIOS:
        per_round = sorted(x / y for x, y in zip(found[a]["latency_ns"], found[b]["latency_ns"]))
        out.append((name, statistics.median(per_round), per_round[0], per_round[-1], target))
    return out


def report(found):
    lines = [f"{'measure':58} {'median':>7} {'(min-max)':>13}  target"]
    for name, ratio, lo, hi, target in ratios(found):
        lines.append(f"{name:58} {ratio:6.2f}x {f'({lo:.2f}-{hi:.2f})':>13}  {target}")
    always = found[("arena-create", "always")].get("memory_kib")
    default = found[("arena-create", "default")].get("memory_kib")
    if always is not None and default is not None:
        lines.append(f"{'extra memory per arena, MAP_ALWAYS - default':58} "
                     f"{always - default:6.1f} KiB  <= one page ({default:.0f} KiB per default arena)")
    insns = found.get(("arena-memargs", "arena_4k"), {}).get("check_insns")
    if insns:
        lines.append(f"{'BPF insns added per site, constant / variable size':58} "
                     f"{insns[0]:3} / {insns[1]:<3}  <= 8 / <= 10")
    lines.append("")
    for (name, mode), v in found.items():
        lat = " ".join(f"{x:.1f}" for x in v["latency_ns"])
        lines.append(f"  {name:18} {mode:15} {lat} ns/op (TCG, for the ratios only)")
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
            cold = settings.cache / "bench-ccache"  # what a fresh machine starts with
            shutil.rmtree(cold, ignore_errors=True)
            env = dict(tc.env(), CCACHE_DIR=str(cold))
            tc.env = lambda: env
            measure(b, "fresh kernel build (empty ccache)",
                    lambda: build.kernel(other, tc, r.log("bench-kernel")))
            measure(b, "fresh test_progs build",
                    lambda: build.selftests(other, tc, r.log("bench-test_progs")))
            shutil.rmtree(other.build_dir, ignore_errors=True)
            shutil.rmtree(cold, ignore_errors=True)
    return r.record
