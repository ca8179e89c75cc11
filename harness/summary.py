"""Run records: summary.json for machines, summary.txt for people.

Each run writes both into out/runs/<stamp>-<variant>/ and points out/latest
at it.  `compare` prints two records side by side.
"""

import json
import time
from pathlib import Path

from harness.proc import fmt_secs


def new_run_dir(runs_dir, variant):
    stamp = time.strftime("%Y%m%d-%H%M%S")
    d = Path(runs_dir) / f"{stamp}-{variant}"
    d.mkdir(parents=True, exist_ok=True)
    latest = Path(runs_dir).parent / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(d.relative_to(latest.parent))
    return d


def write(run_dir, record):
    run_dir = Path(run_dir)
    (run_dir / "summary.json").write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    text = render(record)
    (run_dir / "summary.txt").write_text(text)
    return text


def render(record):
    rows = [("run", record.get("run", "")), ("variant", record.get("variant", "")),
            ("toolchain", record.get("toolchain", "")), ("accel", record.get("accel", "")),
            ("series", record.get("series", ""))]
    for step, secs in record.get("timings", {}).items():
        rows.append((f"time: {step}", fmt_secs(secs)))
    t = record.get("totals")
    if t:
        rows.append(("test_progs", f"{t['success']} tests ok ({t['success_subtest']} subtests), "
                     f"{t['failed']} failed ({t['failed_subtest']} subtests), "
                     f"{t['skipped']} skipped"))
    c = record.get("counts")
    if c:
        rows.append(("results", f"{c['passed']} passed, {c['known']} known failures, "
                     f"{c['new']} new failures"))
    for name, value in record.get("bench", {}).items():
        rows.append((f"bench: {name}", str(value)))
    scheds = record.get("schedulers")
    if isinstance(scheds, str):
        rows.append(("schedulers", scheds))
    for r in scheds if isinstance(scheds, list) else []:
        counts = " ".join(f"{k}={v}" for k, v in r["counts"].items()
                          if k in ("enqueued", "dispatched", "conversions"))
        rows.append((f"sched: {r['key']}", f"{'ok' if r['ok'] else 'FAIL'} {r['seconds']} s "
                     f"{counts}"))
    splats = sum(len(b["splats"]) for b in record.get("boots", []))
    rows.append(("kernel reports", str(splats)))
    for r in record.get("new_failures", []):
        rows.append(("NEW FAILURE", r))
    width = max(len(k) for k, _ in rows)
    return "".join(f"{k:<{width}}  {v}\n" for k, v in rows)


def load(path):
    path = Path(path)
    if path.is_dir():
        path = path / "summary.json"
    return json.loads(path.read_text())


def compare(a, b):
    """Side-by-side table of two run records (timings, totals, results)."""
    ra, rb = load(a), load(b)
    rows = [("", ra.get("run", str(a)), rb.get("run", str(b)))]
    for step in dict.fromkeys([*ra.get("timings", {}), *rb.get("timings", {})]):
        rows.append((f"time: {step}", *(fmt_secs(r["timings"][step])
                                         if step in r.get("timings", {}) else "-"
                                         for r in (ra, rb))))
    for key in ("success", "success_subtest", "failed", "failed_subtest", "skipped"):
        rows.append((key, *(str(r.get("totals", {}).get(key, "-")) for r in (ra, rb))))
    for name in dict.fromkeys([*ra.get("bench", {}), *rb.get("bench", {})]):
        rows.append((f"bench: {name}", *(str(r.get("bench", {}).get(name, "-"))
                                         for r in (ra, rb))))
    fa = {r["name"]: r["failed"] for r in ra.get("results", [])}
    fb = {r["name"]: r["failed"] for r in rb.get("results", [])}
    for name in sorted(set(fa) | set(fb)):
        if fa.get(name) != fb.get(name):
            rows.append((name, *(state(f.get(name)) for f in (fa, fb))))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    return "".join(f"{r[0]:<{w0}}  {r[1]:<{w1}}  {r[2]}\n" for r in rows)


def state(failed):
    return "absent" if failed is None else ("FAIL" if failed else "ok")
