"""One run from nothing to results: each step in order, timed and recorded.

toolchain -> kernel tree -> series -> kernel -> test_progs -> guest.  Every
step is incremental, so a second run redoes only what changed.  The run's
record (summary.json/.txt) is written even when a step fails.
"""

import shutil

from harness import HarnessError, build, scheds, selftests, source, summary, vm
from harness.proc import Timer, say
from harness.toolchain import Toolchain

GUEST_TIMEOUT = 45 * 60
# The debug kernel under TCG: booting takes about 7 minutes and its two
# test_progs passes about 30 and 8 (runs 20261203-060221, 20261203-073219).
DEBUG_GUEST_TIMEOUT = 100 * 60
MIN_FREE_GB = 20  # a fresh build root, tree, build and selftests need about 15


def check_disk(path, built):
    path.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(path).free / 2**30
    if free < (3 if built else MIN_FREE_GB):
        raise HarnessError(f"only {free:.1f} GiB free under {path}; a fresh run needs "
                           f"{MIN_FREE_GB} GiB (set ARENA_CACHE to a roomier disk)")


class Run:
    def __init__(self, settings):
        self.s = settings
        self.dir = summary.new_run_dir(settings.runs_dir, settings.variant)
        self.record = {"run": self.dir.name, "variant": settings.variant, "timings": {},
                       "boots": []}
        self.tc = None
        self.kvm = None  # decided by the first boot

    def log(self, name):
        return self.dir / "logs" / f"{name}.log"

    def step(self, name):
        return Timer(self.record["timings"], name)

    def prepare(self, selftests_targets=("test_progs",)):
        """Toolchain, tree, series, kernel and test_progs (or other targets)."""
        s = self.s
        check_disk(s.cache, (s.build_dir / "vmlinux").exists())
        self.tc = Toolchain(s)
        self.record["toolchain"] = self.tc.describe()
        with self.step("toolchain"):
            self.tc.ensure(self.log("toolchain"))
        with self.step("kernel tree"):
            source.ensure_tree(s, self.tc, self.log("source"))
            if s.unpatched:
                say(f"source: {source.base_worktree(s, self.log('source'))}")
            elif not s.linux_tree:
                say(f"source: {source.apply_series(s.tree, self.log('source'))}")
            head = source.git(s.tree, "log", "-1", "--format=%h %s").strip()
            count = 0 if s.unpatched else len(source.series_files())
            self.record["series"] = f"{count} patches; HEAD {head}"
        with self.step("kernel build"):
            build.kernel(s, self.tc, self.log("kernel-build"))
        with self.step("test_progs build"):
            res = build.selftests(s, self.tc, self.log("test_progs-build"),
                                  targets=selftests_targets)
        self.record["left_out_of_test_progs"] = build.left_out(
            open(res.log, errors="replace").read())

    def guest(self, name, script, timeout=GUEST_TIMEOUT, status=None, echo=False):
        """Boot once, run script; record the boot and return it."""
        if self.kvm is None:
            kernel = self.s.build_dir / "arch/x86/boot/bzImage"
            self.kvm = vm.kvm_works(self.s, self.tc, kernel)
            self.record["accel"] = "kvm" if self.kvm else "tcg"
        try:
            with self.step(f"guest {name}"):
                b = vm.boot(self.s, self.tc, name, script, self.dir / name, timeout, self.kvm,
                            cwd=self.s.selftests_dir, status=status, echo=echo)
        except HarnessError as e:
            if getattr(e, "boot", None):
                self.record["boots"].append(e.boot.record())
            raise
        self.record["boots"].append(b.record())
        return b

    def selftests(self):
        """Run the selected test_progs tests in one boot and classify them."""
        out = self.dir / "selftests"
        passes = selftests.passes(self.s)
        timeout = DEBUG_GUEST_TIMEOUT if self.s.variant == "debug" else GUEST_TIMEOUT
        b = self.guest("selftests", selftests.guest_script(self.s.selftests_dir, passes),
                       timeout=timeout, status=selftests.progress(out / "test_progs.log"))
        totals, results, ran, unfinished = {}, [], [], None
        for p in passes:
            listing, summary_file = p.files(out)
            if p.prefix and not listing.exists():
                continue  # a test_progs without this pass's switch
            summary_text = summary_file.read_text() if summary_file.exists() else ""
            if b.result.timed_out and not summary_text.strip():
                # killed during this pass: keep what the passes before it found
                unfinished = p.prefix or "main"
                break
            if not summary_file.exists() or not listing.exists():
                raise HarnessError(f"test_progs wrote no test list or JSON summary; see "
                                   f"{out}/test_progs{p.suffix}.log and {b.console}")
            t, r = selftests.parse_summary(listing.read_text(), summary_text)
            for k, v in t.items():
                totals[k] = totals.get(k, 0) + v
            results += selftests.prefixed(r, p.prefix)
            ran.append(p.prefix or "main")
        self.record["passes"] = ran
        known = selftests.load_known_failures()
        passed, known_failed, new_failed = selftests.classify(results, known)
        self.record.update(
            tests=self.s.tests, totals=totals,
            counts={"passed": len(passed), "known": len(known_failed), "new": len(new_failed)},
            results=[{"name": r.name, "failed": r.failed, "failed_subtests": r.failed_subtests,
                      "known": selftests.known_reason(r, known) if r.failed else None}
                     for r in results],
            new_failures=[r.name for r in new_failed])
        if unfinished:
            self.record["unfinished_pass"] = unfinished
            raise HarnessError(
                f"the guest was killed after {timeout} s during the {unfinished} test_progs "
                f"pass; passes finished: {', '.join(ran) or 'none'} ({len(passed)} tests ok, "
                f"{len(new_failed)} new failures); see {out} and {b.console}")
        return b, results

    def schedulers(self):
        """Build the arena-using sched_ext schedulers and run them in one boot.

        Returns (boot, [scheds.SchedRun], same-result problems or None,
        benchmark dict); (None, [], None, {}) if SCHEDS=none."""
        runs = scheds.plan(self.s)
        if not runs:
            self.record["schedulers"] = "not run (SCHEDS=none)"
            return None, [], None, {}
        with self.step("sched_ext build"):
            scheds.build(self.s, self.tc, self.log("sched_ext-build"), runs)
        arena_type = scheds.arena_map_type(
            (self.s.tree / "include/uapi/linux/bpf.h").read_text())
        out = self.dir / "scheds"
        b = self.guest("scheds", scheds.guest_script(self.s, runs, arena_type),
                       timeout=scheds.GUEST_TIMEOUT, status=scheds.progress(out, runs))
        results = scheds.parse(out, runs)
        same = (scheds.same_result(results)
                if any(r.sched.patch for r in runs) else None)
        bench = (scheds.parse_bench((out / "bench.log").read_text(errors="replace"))
                 if (out / "bench.log").exists() else {})
        text = scheds.report(results, bench, same)
        (self.dir / "schedulers.txt").write_text(text)
        say("\n" + text)
        self.record["schedulers"] = [r.record() for r in results]
        if same is not None:
            self.record["scheduler_variant_same_result"] = same or "same"
        if bench:
            self.record["scheduler_bench"] = {
                f"{w} words": {"copy/direct": v["ratio"], "range": v["range"],
                               "copy_ns": v["copy_ns"], "direct_ns": v["direct_ns"]}
                for w, v in bench.items()}
        return b, results, same, bench

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb):
        """Write the run record, with the harness error that ended it."""
        if isinstance(error, KeyboardInterrupt):
            error = "interrupted (Ctrl-C or SIGTERM); the running command was killed"
        elif not isinstance(error, HarnessError):
            error = None
        self.finish(error)
        return False

    def finish(self, error=None):
        if error:
            self.record["error"] = str(error)
        text = summary.write(self.dir, self.record)
        say(f"\n{text}summary: {self.dir / 'summary.json'}")
