"""test_progs in the guest, and its JSON summary turned into per-test results.

test_progs writes a JSON summary with -J.  In serial mode it lists only the
failed tests; in parallel mode (-j) with -v it lists every test and subtest
that ran, with a `failed` flag and the test's log.  That is the mode used
here, so every selftest becomes one result.  The JSON has no per-test skip
flag: a skipped test counts as "not failed" (the summary's `skipped` total is
kept).  The text output goes to a file and is only used for progress lines.
"""

import fnmatch
import json
import re
from dataclasses import dataclass
from pathlib import Path

from harness import HarnessError
from harness.config import PROJECT

KNOWN_FAILURES = PROJECT / "tests" / "known-failures.txt"
RESULT_LINE = re.compile(r"^#\d+(/\d+)?\s+\S+:(OK|FAIL|SKIP)", re.M)


@dataclass
class TestResult:
    name: str          # "test" or "test/subtest"
    failed: bool
    message: str = ""


def guest_script(selftests_dir, tests):
    """Shell commands that run test_progs in the guest, writing into $OUT."""
    return f"""
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug
ulimit -l unlimited
cd {selftests_dir}
./test_progs -j -v -t '{tests}' -J $OUT/test_progs.json > $OUT/test_progs.log 2>&1
echo "test_progs exit $?"
"""


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


def parse_summary(text):
    """Parse a test_progs -J summary into (totals dict, [TestResult])."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise HarnessError(f"test_progs JSON summary is not valid JSON: {e}") from e
    totals = {k: data.get(k, 0) for k in
              ("success", "success_subtest", "skipped", "failed", "failed_subtest")}
    results = []
    for test in data.get("results", []):
        subtests = test.get("subtests", [])
        sub_failed = False
        for sub in subtests:
            results.append(TestResult(f"{test['name']}/{sub['name']}", bool(sub["failed"]),
                                      sub.get("message", "")))
            sub_failed |= bool(sub["failed"])
        if not subtests or (test["failed"] and not sub_failed):
            results.append(TestResult(test["name"], bool(test["failed"]),
                                      test.get("message", "")))
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


def known_reason(name, known):
    """The reason a result is a known failure, or None."""
    for pattern, reason in known.items():
        if fnmatch.fnmatchcase(name, pattern) or name.startswith(pattern + "/"):
            return reason
    return None


def classify(results, known):
    """Split results into passed, known failures, new failures."""
    passed, known_failed, new_failed = [], [], []
    for r in results:
        if not r.failed:
            passed.append(r)
        elif known_reason(r.name, known):
            known_failed.append(r)
        else:
            new_failed.append(r)
    return passed, known_failed, new_failed
