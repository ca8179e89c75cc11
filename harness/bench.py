"""Benchmarks.  Build times are wall-clock on the host; in-guest measures
(added with the feature patches) are ratios taken in one boot, since TCG
makes absolute guest times meaningless.

build_bench measures, on this machine:
  - the rebuild after touching kernel/bpf/verifier.c (the normal build dir),
  - with fresh=True also a fresh kernel build (empty build dir, ccache
    disabled) and a fresh test_progs build (empty output dir).
"""

import dataclasses
import shutil
import time

from harness import build
from harness.pipeline import Run
from harness.proc import fmt_secs, say


def measure(record, name, fn):
    start = time.monotonic()
    fn()
    record[name] = fmt_secs(time.monotonic() - start)
    say(f"bench: {name} {record[name]}")


def build_bench(settings, fresh=False):
    r = Run(settings)
    r.prepare()  # the normal build must be complete before the rebuild measure
    tc = r.tc
    b = r.record.setdefault("bench", {})
    try:
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
    finally:
        r.finish()
    return r.record
