"""test_progs in the guest, and its JSON summary turned into per-test results.

test_progs' JSON summary (-J) carries the totals and, for every failed test,
its failed subtests and their logs; passing and skipped tests are not listed
in it (in parallel mode with -v not even the failures are).  So the guest
first asks test_progs which tests the selection covers (`-l`, one name per
line), then runs them; a listed test is failed if the JSON says so and
passed otherwise.  The JSON has no per-test skip flag, so a skipped test
counts as passed; the skip total is kept in the run record.  test_progs'
text output goes to a file and is only used for progress lines.
"""

import fnmatch
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from harness import HarnessError
from harness.config import ALWAYS_SKIP, PROJECT

KNOWN_FAILURES = PROJECT / "tests" / "known-failures.txt"
BASELINE = PROJECT / "tests" / "baseline.json"
RESULT_LINE = re.compile(r"^#\d+(/\d+)?\s+\S.*:(OK|FAIL|SKIP)$", re.M)


@dataclass
class TestResult:
    name: str                       # a test_progs test, e.g. "verifier_arena"
    failed: bool
    message: str = ""
    failed_subtests: list = field(default_factory=list)


@dataclass
class Pass:
    """One test_progs run in the guest; its results are named prefix + test."""
    prefix: str
    tests: str
    skip: str = ""
    env: str = ""
    watchdog: int = 0   # test_progs -w; 0 keeps its default (120 s)

    @property
    def suffix(self):
        return "-" + self.prefix.rstrip(":") if self.prefix else ""

    def files(self, out):
        """The listing and JSON summary this pass leaves in out."""
        return (Path(out) / f"tests{self.suffix}.txt",
                Path(out) / f"test_progs{self.suffix}.json")


# BPF_F_ARENA_MAP_ALWAYS, for test_progs' BPF_TEST_ARENA_MAP_FLAGS
ARENA_MAP_ALWAYS = 1 << 20


def passes(settings):
    """The main selection, then (if set) the arena tests in MAP_ALWAYS mode."""
    w = settings.watchdog
    found = [Pass("", settings.tests, watchdog=w)]
    if settings.always_tests:
        found.append(Pass("always:", settings.always_tests, ALWAYS_SKIP,
                          f"BPF_TEST_ARENA_MAP_FLAGS={ARENA_MAP_ALWAYS:#x}", w))
    return found


def guest_script(selftests_dir, all_passes):
    """Shell commands that run test_progs in the guest, writing into $OUT.

    A pass with an environment switch runs only if test_progs knows the
    switch (it is added by the series), so the unpatched base skips it.
    """
    lines = ["mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf",
             "mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing",
             "mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug",
             "ulimit -l unlimited",
             f"cd {selftests_dir}"]
    for p in all_passes:
        skip = f" -d '{p.skip}'" if p.skip else ""
        wd = f" -w {p.watchdog}" if p.watchdog else ""
        run = (f"{p.env} ./test_progs -l -t '{p.tests}'{skip} > $OUT/tests{p.suffix}.txt || exit\n"
               f"{p.env} ./test_progs -j{wd} -t '{p.tests}'{skip} -J $OUT/test_progs{p.suffix}.json "
               f"> $OUT/test_progs{p.suffix}.log 2>&1\n"
               f'echo "test_progs{p.suffix} exit $?"')
        if p.env:
            switch = p.env.split("=")[0]
            run = (f"if grep -q {switch} ./test_progs; then\n{run}\n"
                   f'else echo "test_progs has no {switch}: {p.prefix} pass skipped"; fi')
        lines.append(run)
    lines.append(KMEMLEAK_SCAN)
    return "\n".join(lines) + "\n"


# With kmemleak (the debug variant): scan twice after the tests, so a leak
# they caused is reported ("kmemleak: N new suspected memory leaks" in dmesg
# fails the run like any kernel report) and listed in $OUT/kmemleak.txt.
KMEMLEAK_SCAN = """if [ -w /sys/kernel/debug/kmemleak ]; then
echo scan > /sys/kernel/debug/kmemleak; echo scan > /sys/kernel/debug/kmemleak
cat /sys/kernel/debug/kmemleak > $OUT/kmemleak.txt
echo "kmemleak: $(grep -c '^unreferenced object' $OUT/kmemleak.txt) unreferenced objects"
fi"""


def prefixed(results, prefix):
    """Results of a pass, named with its prefix."""
    return [TestResult(prefix + r.name, r.failed, r.message,
                       [prefix + s for s in r.failed_subtests]) for r in results]


def progress(log_path):
    """A progress callback: results so far, counted from test_progs' output."""
    def status():
        try:
            text = Path(log_path).read_text(errors="replace")
        except OSError:
            return "booting"
        found = RESULT_LINE.findall(text)
        fails = sum(1 for _, r in found if r == "FAIL")
        return f"{len(found)} results, {fails} failed"
    return status


def parse_summary(listing, summary_text):
    """Results for each listed test, failures from a test_progs -J summary.

    Returns (totals dict, [TestResult]).
    """
    try:
        data = json.loads(summary_text)
    except json.JSONDecodeError as e:
        raise HarnessError(f"test_progs JSON summary is not valid JSON: {e}") from e
    totals = {k: data.get(k, 0) for k in
              ("success", "success_subtest", "skipped", "failed", "failed_subtest")}
    failed = {}
    for test in data.get("results", []):
        if not test.get("failed"):
            continue
        subs = [s for s in test.get("subtests", []) if s.get("failed")]
        message = test.get("message", "") + "".join(
            f"\n--- {test['name']}/{s['name']}\n{s.get('message', '')}" for s in subs)
        failed[test["name"]] = TestResult(test["name"], True, message,
                                          [f"{test['name']}/{s['name']}" for s in subs])
    names = [n.strip() for n in listing.splitlines() if n.strip()]
    results = [failed.pop(n, None) or TestResult(n, False) for n in names]
    results.extend(failed.values())  # failed but not listed: still a failure
    if len([r for r in results if r.failed]) != totals["failed"]:
        raise HarnessError(f"JSON summary lists {len(failed)} failed tests, "
                           f"its total says {totals['failed']}")
    return totals, results


def load_known_failures(path=KNOWN_FAILURES):
    """Parse 'pattern  # reason' lines; every entry must give a reason."""
    known = {}
    if not Path(path).exists():
        return known
    for n, raw in enumerate(Path(path).read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pattern, sep, reason = line.partition("#")
        if not sep or not reason.strip():
            raise HarnessError(f"{path}:{n}: known failure '{pattern.strip()}' has no reason")
        known[pattern.strip()] = reason.strip()
    return known


def known_reason(result, known):
    """Why a failed result is expected, or None.

    A test is a known failure if its name matches an entry, or if every
    failed subtest matches one (so a new failing subtest is not hidden).
    """
    def match(name):
        for pattern, reason in known.items():
            if fnmatch.fnmatchcase(name, pattern):
                return reason
        return None
    reason = match(result.name)
    if reason or not result.failed_subtests:
        return reason
    reasons = [match(sub) for sub in result.failed_subtests]
    return "; ".join(dict.fromkeys(reasons)) if all(reasons) else None


def classify(results, known):
    """Split results into passed, known failures, new failures."""
    passed, known_failed, new_failed = [], [], []
    for r in results:
        if not r.failed:
            passed.append(r)
        elif known_reason(r, known):
            known_failed.append(r)
        else:
            new_failed.append(r)
    return passed, known_failed, new_failed


def write_baseline(record, path=BASELINE, known_path=KNOWN_FAILURES):
    """Write the selftests a base run ran; return its failures that have no reason yet."""
    results = record["results"]
    data = {"run": record["run"], "tests": record["tests"],
            "results": sorted(r["name"] for r in results),
            "failed": sorted(r["name"] for r in results if r["failed"])}
    Path(path).write_text(json.dumps(data, indent=1) + "\n")
    known = load_known_failures(known_path)
    unexplained = []
    for r in results:
        res = TestResult(r["name"], r["failed"], failed_subtests=r["failed_subtests"])
        if res.failed and not known_reason(res, known):
            unexplained.extend(res.failed_subtests or [res.name])
    return unexplained
