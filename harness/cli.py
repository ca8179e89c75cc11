"""Thin command line: `python3 -m harness COMMAND`.  See README.md."""

import argparse
import sys

import json

from harness import (HarnessError, bench, cross, crossboot, flavors, kfuncs, selftests,
                     series_check, source, summary, toolchain)
from harness.config import Settings
from harness.pipeline import Run
from harness.proc import say
from harness.toolchain import Toolchain

# What `make demo` shows in the guest, each step announced
DEMO_SCRIPT = """cd {dir}
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
echo '== BPF_F_ARENA_MAP_ALWAYS: the tests (kfunc access without fault, watermark, flags)'
./test_progs -t arena_map_always -b arena_map_always_stress | grep -E '^#|Summary'
echo '== TLB stress, 20 s: one CPU allocates/frees, the other writes via BPF and a kfunc'
ARENA_STRESS_SECONDS=20 ./test_progs -v -t arena_map_always_stress | grep -E 'CPUs:|stress:(OK|FAIL)'
echo '== upstream arena tests with every arena in MAP_ALWAYS mode'
BPF_TEST_ARENA_MAP_FLAGS={always:#x} ./test_progs -t arena_htab,arena_list,arena_atomics,arena_strsearch | grep -E '^#[0-9]+ |Summary'
echo '== first kernel touch of an unallocated page: default (fault + report) vs MAP_ALWAYS'
./bench -w1 -d3 -a -p1 arena-first-touch | grep Summary
./bench -w1 -d3 -a -p1 arena-first-touch --always | grep Summary
echo '== arena memory in generic kfunc arguments: log, emitted check, in-range, redirected, aborted'
./test_progs -v -t arena_memargs/demo | grep -vE ':PASS:|^#|^Summary|libbpf'
echo '== arena memory argument tests: both arena modes, fuzz, abort'
./test_progs -t verifier_arena_memargs,arena_memargs | grep -E '^#[0-9]+ |Summary'
"""


def cmd_build(args, s):
    with Run(s) as r:
        r.prepare()


def cmd_selftests(args, s):
    with Run(s) as r:
        r.prepare()
        boot, _ = r.selftests()
    bad = r.record["new_failures"] or boot.splats or boot.result.timed_out
    return 1 if bad else 0


def boot_script(s, name, script, targets=("test_progs",)):
    """Build, boot once, run script with its output on the terminal."""
    with Run(s) as r:
        r.prepare(selftests_targets=targets)
        boot = r.guest(name, script, echo=True)
    return 1 if boot.splats or boot.rc else 0


def cmd_demo(args, s):
    """Build, boot, and show BPF_F_ARENA_MAP_ALWAYS and arena kfunc arguments at work."""
    return boot_script(s, "demo", DEMO_SCRIPT.format(dir=s.selftests_dir, always=selftests.ARENA_MAP_ALWAYS),
                       targets=("test_progs", "bench"))


def cmd_run(args, s):
    """Build, boot, and run one shell command in the selftests directory."""
    return boot_script(s, "run", " ".join(args.command))


def cmd_scheds(args, s):
    """Build, boot, and run the arena-using sched_ext schedulers (harness/scheds.py)."""
    with Run(s) as r:
        r.prepare()
        boot, results, same, _ = r.schedulers()
    bad = (boot is not None and (boot.splats or boot.rc or boot.result.timed_out)) or \
        any(not x.ok for x in results) or bool(same)
    return 1 if bad else 0


def cmd_export(args, s):
    base = s.linux_base or source.BASE_TAG
    source.export(s.main_tree, base, s.runs_dir.parent / "export.log")


def cmd_apply(args, s):
    tc = Toolchain(s)
    log = s.runs_dir.parent / "apply.log"
    source.ensure_tree(s, tc, log)
    say(source.apply_series(s.main_tree, log))


def cmd_deps(args, s):
    try:
        import pytest  # noqa: F401
        has_pytest = True
    except ImportError:
        has_pytest = False
    toolchain.ensure_host_packages(has_pytest)


def cmd_baseline(args, s):
    """Record a run on the unpatched base as tests/baseline.json."""
    rec = summary.load(args.run)
    if not rec.get("series", "").startswith("0 patches"):
        raise HarnessError(f"{args.run} ran with the series applied ({rec.get('series')}); "
                           "a baseline is a run on the unpatched base (make test SERIES=none)")
    unexplained = selftests.write_baseline(rec)
    say(f"wrote {selftests.BASELINE}")
    for name in unexplained:
        say(f"  fails on the base, add it with a reason to {selftests.KNOWN_FAILURES}: {name}")


def cmd_compare(args, s):
    sys.stdout.write(summary.compare(args.a, args.b))


def cmd_bench(args, s):
    """The in-guest arena benchmark (ratios from one boot)."""
    bench.guest_bench(s)


def cmd_bench_build(args, s):
    bench.build_bench(s, fresh=args.fresh)


def cmd_kfuncs(args, s):
    """List the kfunc arguments that take generic memory (and so arena memory)."""
    found = kfuncs.audit_build(s, Toolchain(s), args.module)
    sys.stdout.write(kfuncs.to_json(found) if args.json else kfuncs.render(found))


def cmd_ci_flavors(args, s):
    """BPF CI's flavors: three test_progs builds, test_verifier, test_maps."""
    with Run(s) as r:
        r.prepare(selftests_targets=flavors.TARGETS)
        boot = r.guest("flavors", flavors.guest_script(s.selftests_dir))
        out = r.dir / "flavors"
        found = flavors.collect(out, flavors.exit_codes(open(boot.console, errors="replace").read()))
        r.record["flavors"] = found
        if s.unpatched:
            flavors.write_baseline(found)
            say(f"wrote {flavors.BASELINE}")
        rows = flavors.compare(found, None if s.unpatched else flavors.load_baseline())
        r.record["flavor_rows"] = rows
        sys.stdout.write(flavors.render(rows))
    bad = boot.splats or boot.result.timed_out or any(r["new_failures"] for r in rows)
    return 1 if bad else 0


def cmd_series_check(args, s):
    """Each patch builds on its own and passes checkpatch --strict."""
    tc = Toolchain(s)
    run_dir = summary.new_run_dir(s.runs_dir, "series-check")
    results = series_check.check(s, tc, s.linux_base or source.BASE_TAG, run_dir / "logs")
    (run_dir / "series-check.json").write_text(json.dumps(results, indent=1))
    text = series_check.render(results)
    (run_dir / "series-check.txt").write_text(text)
    sys.stdout.write(text)
    bad = series_check.failed(results)
    say(f"series check: {len(results)} patches, {len(bad)} failed to build or warned; "
        f"{run_dir / 'series-check.txt'}")
    return 1 if bad else 0


def cmd_cross(args, s):
    """Build and link the kernel with the series for other architectures."""
    tc = Toolchain(s)
    run_dir = summary.new_run_dir(s.runs_dir, "cross")
    logs = run_dir / "logs"
    tc.ensure(logs / "toolchain.log")
    source.ensure_tree(s, tc, logs / "source.log")
    if not s.linux_tree:
        say(f"source: {source.apply_series(s.tree, logs / 'source.log')}")
    head = source.git(s.tree, "log", "-1", "--format=%h %s").strip()
    arches = cross.by_name(args.arches)
    results = cross.build_all(s, tc, arches, logs)
    crossboot.boot_built(s, tc, arches, results, logs)
    (run_dir / "cross.json").write_text(json.dumps({"head": head, "results": results}, indent=1))
    say(f"cross builds of {head}:")
    for r in results:
        say(f"  {r['arch']:8} {'ok' if r['ok'] else 'FAILED'}"
            f"{'  ' + r['error'] if not r['ok'] else ''}"
            f"{'  (' + str(r.get('seconds')) + ' s)' if 'seconds' in r else ''}")
    return 0 if all(r["ok"] for r in results) else 1


def main(argv=None):
    p = argparse.ArgumentParser(prog="harness", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("build", help="toolchain, kernel tree, series, kernel and test_progs")
    sub.add_parser("selftests", help="build, boot and run the selected selftests")
    sub.add_parser("demo", help="build, boot and show the feature")
    rn = sub.add_parser("run", help="build, boot and run one command in the selftests dir")
    rn.add_argument("command", nargs="+")
    sub.add_parser("scheds", help="build, boot and run the arena-using sched_ext schedulers")
    sub.add_parser("apply", help="(re)apply patches/ to the kernel tree")
    sub.add_parser("export", help="regenerate patches/ from the kernel tree's commits")
    sub.add_parser("deps", help="install the host packages the harness needs")
    sub.add_parser("bench", help="in-guest arena benchmark: MAP_ALWAYS / default ratios")
    bn = sub.add_parser("bench-build", help="build-time benchmark: verifier.c rebuild [, fresh builds]")
    bn.add_argument("--fresh", action="store_true", help="also a fresh kernel and test_progs build")
    k = sub.add_parser("kfuncs", help="list kfunc args that take generic (so arena) memory")
    k.add_argument("--json", action="store_true", help="JSON instead of a table")
    k.add_argument("--module", action="append", default=[], metavar="KO",
                   help="another module to read (the build's and test_kmods/ are read)")
    sub.add_parser("ci-flavors", help="BPF CI's test flavors in one boot, against the base's")
    sub.add_parser("series-check", help="each patch builds on its own; checkpatch --strict")
    x = sub.add_parser("cross", help="build and link the series for arm64, riscv64, i386; "
                       "boot arm64 and load arena kfunc args there")
    x.add_argument("--arches", default="", help="comma-separated subset (default: all)")
    b = sub.add_parser("baseline", help="record a run on the unpatched base as the baseline")
    b.add_argument("run", nargs="?", default="out/latest")
    c = sub.add_parser("compare", help="two run summaries side by side")
    c.add_argument("a")
    c.add_argument("b")
    args = p.parse_args(argv)
    try:
        s = Settings()
        return globals()[f"cmd_{args.cmd.replace('-', '_')}"](args, s) or 0
    except HarnessError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
