"""Benchmarks.  Build times are wall-clock on the host; in-guest measures
(added with the feature patches) are ratios taken in one boot, since TCG
makes absolute guest times meaningless.

build_bench measures, on this machine:
  - a fresh kernel build (empty build dir, ccache disabled),
  - the rebuild after touching kernel/bpf/verifier.c (the normal build dir),
  - a fresh test_progs build (empty output dir).
"""

import dataclasses
import shutil
import time

from harness import build
from harness.pipeline import Run
from harness.proc import fmt_secs, say


def timed(fn):
    start = time.monotonic()
    fn()
    return round(time.monotonic() - start, 1)


def build_bench(settings):
    r = Run(settings)
    r.prepare()  # the normal build must exist for the rebuild measure
    fresh = dataclasses.replace(settings, build_name=f"bench-{settings.variant}")
    tc = r.tc
    nocache = dict(tc.env(), CCACHE_DISABLE="1")
    tc.env = lambda: nocache
    shutil.rmtree(fresh.build_dir, ignore_errors=True)
    b = r.record.setdefault("bench", {})
    try:
        b["fresh kernel build"] = fmt_secs(timed(lambda: build.kernel(fresh, tc, r.log("bench-kernel"))))
        say(f"bench: fresh kernel build {b['fresh kernel build']}")
        b["fresh test_progs build"] = fmt_secs(
            timed(lambda: build.selftests(fresh, tc, r.log("bench-test_progs"))))
        say(f"bench: fresh test_progs build {b['fresh test_progs build']}")
        (settings.tree / "kernel/bpf/verifier.c").touch()
        b["rebuild after touching verifier.c"] = fmt_secs(
            timed(lambda: build.kernel(settings, tc, r.log("bench-rebuild"))))
        say(f"bench: rebuild after touching verifier.c {b['rebuild after touching verifier.c']}")
    finally:
        shutil.rmtree(fresh.build_dir, ignore_errors=True)
        r.finish()
    return r.record
