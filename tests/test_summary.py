"""Run records and the side-by-side comparison."""

import json

from harness import summary


def record(run, failed, timings):
    return {"run": run, "variant": "normal", "timings": timings,
            "totals": {"success": 10, "success_subtest": 90, "skipped": 2,
                       "failed": len(failed), "failed_subtest": len(failed)},
            "results": [{"name": "arena_htab/arena_htab_llvm", "failed": "arena_htab" in failed},
                        {"name": "verifier_and/x", "failed": False}],
            "boots": [{"splats": []}], "bench": {"create ratio": "1.10x"}}


def test_write_makes_json_and_a_table(tmp_path):
    rec = record("r1", [], {"kernel build": 600.0})
    text = summary.write(tmp_path, rec)
    assert json.loads((tmp_path / "summary.json").read_text()) == rec
    assert (tmp_path / "summary.txt").read_text() == text
    assert ["time:", "kernel", "build", "10:00"] in [line.split() for line in text.splitlines()]
    assert "kernel reports" in text and "create ratio" in text


def test_compare_shows_both_runs_and_only_changed_results(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    summary.write(a, record("base", [], {"kernel build": 600.0}))
    summary.write(b, record("series", ["arena_htab"], {"kernel build": 90.0, "guest": 30.0}))
    table = summary.compare(a, b).splitlines()
    assert table[0].split() == ["base", "series"]
    assert any(r.split() == ["time:", "kernel", "build", "10:00", "1:30"] for r in table)
    assert any(r.split() == ["time:", "guest", "-", "0:30"] for r in table)
    assert any(r.split() == ["arena_htab/arena_htab_llvm", "ok", "FAIL"] for r in table)
    assert not any(r.startswith("verifier_and") for r in table)


def test_new_run_dir_points_latest_at_it(tmp_path):
    d = summary.new_run_dir(tmp_path / "runs", "debug")
    assert d.name.endswith("-debug")
    assert (tmp_path / "latest").resolve() == d.resolve()
