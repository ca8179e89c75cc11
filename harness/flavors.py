"""BPF CI's test flavors: test_progs as built three ways, test_verifier and
test_maps, in one guest boot.

BPF CI runs test_progs, test_progs-no_alu32 (BPF objects built for
-mcpu=v2), test_progs-cpuv4 (-mcpu=v4), test_verifier and test_maps.  This
job builds all five from the tree under test and runs, in one boot:

- each test_progs flavor over FLAVOR_TESTS: the project's tests and
  upstream's arena tests (the 60 s TLB stress runs in `make test` only);
- test_verifier and test_maps in full.

Each flavor's results are kept per test, as for `make test`: test_progs
from its JSON summary, test_verifier from its "#N/p name FAIL" lines,
test_maps as one result.  A run on the unpatched base (SERIES=none) is
recorded as tests/baseline-flavors.json; a run with the series then
reports, per flavor, its pass and fail counts and the failures the base
does not have.  A test_progs failure that tests/known-failures.txt lists
(every failed subtest matched, as in `make test`) is reported apart, as
known, and is no new failure: one flaky run must not hide behind the base
having passed that time.  This is heavier than `make test` (three times the BPF
objects, two more binaries), so it is a target of its own, run before an
export: `make ci-flavors`.
"""

import json
import re
from pathlib import Path

from harness import HarnessError, selftests
from harness.config import PROJECT

BASELINE = PROJECT / "tests" / "baseline-flavors.json"
TEST_PROGS_FLAVORS = ("test_progs", "test_progs-no_alu32", "test_progs-cpuv4")
TARGETS = (*TEST_PROGS_FLAVORS, "test_verifier", "test_maps")
FLAVOR_TESTS = ("arena,verifier_arena,stream,struct_ops_arena,test_struct_ops_arena,"
                "libarena,prog_teardown,cpumask")
FLAVOR_SKIP = "arena_map_always_stress"
# test_maps and test_verifier print these
VERIFIER_FAIL = re.compile(r"^#(\d+)/(\w+) (.*) FAIL", re.M)
VERIFIER_SUMMARY = re.compile(r"^Summary: (\d+) PASSED, (\d+) SKIPPED, (\d+) FAILED", re.M)
MAPS_OK = re.compile(r"^test_maps: OK, (\d+) SKIPPED", re.M)


def guest_script(selftests_dir, tests=FLAVOR_TESTS):
    """Shell commands that run every flavor in the guest, writing into $OUT."""
    lines = ["mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf",
             "mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing",
             "ulimit -l unlimited",
             f"cd {selftests_dir}"]
    for flavor in TEST_PROGS_FLAVORS:
        lines.append(
            f"./{flavor} -l -t '{tests}' -d '{FLAVOR_SKIP}' > $OUT/{flavor}.list\n"
            f"./{flavor} -j -t '{tests}' -d '{FLAVOR_SKIP}' -J $OUT/{flavor}.json "
            f"> $OUT/{flavor}.log 2>&1\n"
            f'echo "{flavor} exit $?"')
    lines.append("./test_verifier > $OUT/test_verifier.log 2>&1; "
                 'echo "test_verifier exit $?"')
    lines.append("./test_maps > $OUT/test_maps.log 2>&1; echo \"test_maps exit $?\"")
    return "\n".join(lines) + "\n"


def verifier_results(text):
    """{'test_verifier/<n> <name>': failed} for failures, and the totals."""
    m = VERIFIER_SUMMARY.search(text)
    if not m:
        raise HarnessError("test_verifier printed no Summary line (crashed or killed?)")
    passed, skipped, failed = map(int, m.groups())
    fails = sorted({f"test_verifier/{name.strip()}" for _, _, name in VERIFIER_FAIL.findall(text)})
    return {"passed": passed, "skipped": skipped, "failed": failed, "failures": fails}


def maps_results(text, rc):
    m = MAPS_OK.search(text)
    ok = bool(m) and rc == 0
    return {"passed": 1 if ok else 0, "skipped": int(m.group(1)) if m else 0,
            "failed": 0 if ok else 1, "failures": [] if ok else ["test_maps"]}


def test_progs_results(out, flavor, known=None):
    """Counts and failures of one test_progs flavor; `known` maps a
    known-failures.txt pattern to its reason (default: that file)."""
    known = selftests.load_known_failures() if known is None else known
    listed = (Path(out) / f"{flavor}.list")
    summary = (Path(out) / f"{flavor}.json")
    if not listed.exists() or not summary.exists():
        raise HarnessError(f"{flavor} left no listing or summary in {out}")
    _, results = selftests.parse_summary(listed.read_text(), summary.read_text())
    failed = sorted((r for r in results if r.failed), key=lambda r: r.name)
    reasons = {f"{flavor}/{r.name}": selftests.known_reason(r, known) for r in failed}
    return {"passed": len(results) - len(failed), "skipped": 0, "failed": len(failed),
            "failures": list(reasons),
            "known_failures": {name: why for name, why in reasons.items() if why}}


def collect(out, rcs):
    """Every flavor's counts and failures, from the files the guest left."""
    found = {f: test_progs_results(out, f) for f in TEST_PROGS_FLAVORS}
    found["test_verifier"] = verifier_results(
        (Path(out) / "test_verifier.log").read_text(errors="replace"))
    found["test_maps"] = maps_results(
        (Path(out) / "test_maps.log").read_text(errors="replace"), rcs.get("test_maps", 1))
    return found


def exit_codes(console_text):
    """{'test_maps': 0, ...} from the guest script's echo lines."""
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"^(test_[\w-]+) exit (\d+)$", console_text, re.M)}


def compare(found, base):
    """Per flavor: counts, base counts, known failures, and the failures that
    neither the base has nor known-failures.txt lists."""
    rows = []
    for flavor, r in found.items():
        b = (base or {}).get(flavor)
        known = sorted(r.get("known_failures", {}))
        new = sorted(set(r["failures"]) - set(b["failures"]) - set(known)) if b else None
        rows.append({"flavor": flavor, **{k: r[k] for k in ("passed", "skipped", "failed")},
                     "base": {k: b[k] for k in ("passed", "skipped", "failed")} if b else None,
                     "new_failures": new, "known_failures": known})
    return rows


def render(rows):
    out = [f"{'flavor':22} {'series (pass/skip/fail)':>24} {'base':>16}  new failures"]
    for r in rows:
        b = r["base"]
        base = f"{b['passed']}/{b['skipped']}/{b['failed']}" if b else "-"
        new = "no base" if r["new_failures"] is None else (", ".join(r["new_failures"]) or "0")
        if r.get("known_failures"):
            new += f" (known: {', '.join(r['known_failures'])})"
        series = f"{r['passed']}/{r['skipped']}/{r['failed']}"
        out.append(f"{r['flavor']:22} {series:>24} {base:>16}  {new}")
    return "\n".join(out) + "\n"


def load_baseline():
    return json.loads(BASELINE.read_text()) if BASELINE.exists() else None


def write_baseline(found):
    BASELINE.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
