"""In-guest benchmark output parsing: per-round latencies, median ratios."""
import pytest

from harness import HarnessError, bench


def write_round(tmp_path, rnd, latency):
    for name, mode in bench.RUNS:
        lat = latency(name, mode)
        text = f"Summary: throughput    1.000 ± 0.000 M ops/s, latency {lat:.1f} ns/op\n"
        if (name, mode) == ("arena-memargs", "arena_4k"):
            text = "check insns per site: constant size 8, variable size 10\n" + text
        (tmp_path / bench._file(name, mode, rnd)).write_text(text)


def test_ratios_are_medians_of_same_round_ratios(tmp_path):
    # the guest gets slower each round; per-round ratios stay 1.5x
    for rnd, scale in enumerate((1.0, 2.0, 4.0)):
        write_round(tmp_path, rnd,
                    lambda n, m: scale * (150 if (n, m) == ("arena-memargs", "arena_64") else 100))
    found = bench.parse(tmp_path, rounds=3)
    assert found[("arena-memargs", "arena_64")]["latency_ns"] == [150.0, 300.0, 600.0]
    r = {name: (ratio, lo, hi) for name, ratio, lo, hi, _ in bench.ratios(found)}
    assert r["checked arena-arg call / stack buffer, 64 B"] == (1.5, 1.5, 1.5)
    text = bench.report(found)
    assert "8 / 10" in text


def test_missing_summary_names_the_file(tmp_path):
    write_round(tmp_path, 0, lambda n, m: 100)
    (tmp_path / bench._file("arena-memargs", "map_4k", 0)).write_text("program run failed\n")
    with pytest.raises(HarnessError, match="map_4k"):
        bench.parse(tmp_path, rounds=1)


def test_guest_script_runs_every_benchmark_each_round():
    script = bench.guest_script("/st", rounds=2)
    assert script.count("./bench ") == 2 * len(bench.RUNS)
    assert "--memargs-prog one_bad --memargs-abort" in script
