"""The sched_ext scheduler runs: plan, guest script, parsing and checks.

tests/data/scheds/ holds the files of two real runs (scx_qmap with
BPF_F_ARENA_MAP_ALWAYS, the variant in direct mode; the variant's log cut
to its last three reports) and the variant's benchmark output, from one
boot of the series' kernel under TCG.
"""

import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness import HarnessError, scheds
from harness.config import Settings

DATA = Path(__file__).parent / "data" / "scheds"
TREE = Settings().main_tree


def settings(scheds_knob="", unpatched=False, tmp=Path("/cache/build/normal")):
    return SimpleNamespace(scheds=scheds_knob, unpatched=unpatched, build_dir=tmp)


def planned(key):
    return next(r for r in scheds.plan(settings()) if r.key == key)


def copy_run(tmp_path, key):
    for f in DATA.glob(f"{key}.*"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


def edit_info(path, **changes):
    lines = []
    for line in path.read_text().splitlines():
        key = line.partition("=")[0]
        if key in changes:
            value = changes.pop(key)
            if value is None:
                continue
            line = f"{key}={value}"
        lines.append(line)
    lines += [f"{k}={v}" for k, v in changes.items() if v is not None]
    path.write_text("\n".join(lines) + "\n")


# --- plan ------------------------------------------------------------------

def test_plan_runs_every_arena_scheduler_in_both_modes_and_the_variant():
    keys = [r.key for r in scheds.plan(settings())]
    assert keys == ["scx_qmap-default", "scx_qmap-always", "scx_sdt-default", "scx_sdt-always",
                    "scx_sdt_cpumask-copy", "scx_sdt_cpumask-direct"]
    assert scheds.benchmarked(scheds.plan(settings()))
    assert planned("scx_sdt_cpumask-copy").args == ("-m", "copy")
    assert planned("scx_qmap-always").always and not planned("scx_qmap-default").always


def test_plan_on_the_unpatched_base_has_no_map_always_and_no_variant():
    keys = [r.key for r in scheds.plan(settings(unpatched=True))]
    assert keys == ["scx_qmap-default", "scx_sdt-default"]


def test_plan_knob_selects_or_turns_off():
    assert [r.key for r in scheds.plan(settings("scx_sdt"))] == ["scx_sdt-default",
                                                                  "scx_sdt-always"]
    assert scheds.plan(settings("none")) == []
    assert not scheds.benchmarked(scheds.plan(settings("scx_qmap")))
    with pytest.raises(HarnessError, match="scx_nope"):
        scheds.plan(settings("scx_qmap,scx_nope"))


def test_debug_variant_runs_no_schedulers_unless_asked(monkeypatch):
    monkeypatch.setenv("VARIANT", "debug")
    assert Settings().scheds == "none"
    monkeypatch.setenv("SCHEDS", "scx_sdt")
    assert Settings().scheds == "scx_sdt"


# --- guest script ------------------------------------------------------------

def test_guest_script_runs_each_plan_then_the_benchmark():
    runs = scheds.plan(settings())
    script = scheds.guest_script(settings(), runs, 33)
    assert "@" not in script.replace("$@", "")
    for r in runs:
        assert f"run_sched {r.key} {r.mode} {r.sched.stats_lines} " \
               f"/cache/build/normal/sched_ext/build/bin/{r.sched.name}" in script
    assert "SCX_ARENA_MAP_FLAGS=0x100000" in script and "t == 33" in script
    assert "LD_PRELOAD=$H/sched_arena_shim.so" in script
    assert "scx_sdt_cpumask -B > $OUT/bench.log" in script
    assert f"sched_workload {scheds.RUN_SECONDS}" in script
    assert "kill -TERM $pid" in script  # a clean unregister, not a kill
    assert "-B" not in scheds.guest_script(settings(), runs[:2], 33)


def test_arena_map_type_follows_c_enum_rules():
    header = """enum bpf_map_type {
        BPF_MAP_TYPE_UNSPEC,
        BPF_MAP_TYPE_HASH,
        BPF_MAP_TYPE_OLD,
        /* a comment, with a comma */
        BPF_MAP_TYPE_ALIAS = BPF_MAP_TYPE_OLD,
        BPF_MAP_TYPE_NEXT,
        BPF_MAP_TYPE_ARENA,
    };"""
    assert scheds.arena_map_type(header) == 4
    with pytest.raises(HarnessError):
        scheds.arena_map_type("enum bpf_map_type { BPF_MAP_TYPE_HASH };")


def need_tree(path):
    """Skip at run time, not collection time: on an empty cache the guest
    tests (collected first) unpack the tree before these run."""
    if not (TREE / path).exists():
        pytest.skip(f"no kernel tree ({TREE / path} missing)")


def test_arena_map_type_of_the_tree():
    need_tree("include/uapi/linux/bpf.h")
    assert scheds.arena_map_type((TREE / "include/uapi/linux/bpf.h").read_text()) == 33


# --- parsing and checks ------------------------------------------------------

def test_real_map_always_run_of_scx_qmap_passes(tmp_path):
    r = scheds.parse_run(copy_run(tmp_path, "scx_qmap-always"), planned("scx_qmap-always"))
    assert r.ok, r.problems
    assert r.counts["enqueued"] == 172152 and r.counts["dispatched"] == 172151
    assert 32 < r.seconds < 33
    assert r.arenas == ["id 24 flags 0x100400"]
    assert r.exit_line == "EXIT: unregistered from user space"
    assert r.stats == ["stats  : enq=172152 dsp=172151 delta=1 reenq/cid0=0/0 deq=172160 core=0 "
                       "enq_ddsp=42073"]
    assert r.workload.endswith("failures=0 ok")


def test_real_direct_run_of_the_variant_passes(tmp_path):
    r = scheds.parse_run(copy_run(tmp_path, "scx_sdt_cpumask-direct"),
                         planned("scx_sdt_cpumask-direct"))
    assert r.ok, r.problems
    assert r.counts["conversions"] == r.counts["same_as_arena"] == 346842
    assert r.counts["enqueued"] == 332820 and r.counts["select_busy"] == 3853
    assert r.masks == {"0x1": 170108, "0x2": 166897, "0x3": 9837}
    assert len(r.stats) == 3 and r.stats[-1].startswith("cpumask: mode=direct")


@pytest.mark.parametrize("changes, problem", [
    ({"state_after_workload": "disabled"}, "not enabled at the end of the workload"),
    ({"enable_seq_end": "3"}, "re-enabled during the run"),
    ({"workload_rc": "124"}, "workload failed (exit 124)"),
    ({"sched_rc": "1"}, "scheduler exited 1"),
    ({"ops": "simple"}, "is 'simple', not 'qmap'"),
    ({"state_before": "enabled"}, "another scheduler was on"),
    ({"state_final": "disabling"}, "state disabling after the stop"),
    ({"t_end": "1796227860.0"}, "less than 30 s"),
    ({"arena": "id 24 flags 0x400"}, "arena without BPF_F_ARENA_MAP_ALWAYS"),
])
def test_each_check_reports_its_problem(tmp_path, changes, problem):
    copy_run(tmp_path, "scx_qmap-always")
    edit_info(tmp_path / "scx_qmap-always.info", **changes)
    r = scheds.parse_run(tmp_path, planned("scx_qmap-always"))
    assert any(problem in p for p in r.problems), r.problems


def test_a_run_never_enabled_shows_its_output(tmp_path):
    copy_run(tmp_path, "scx_qmap-always")
    edit_info(tmp_path / "scx_qmap-always.info", state_enabled="disabled")
    (tmp_path / "scx_qmap-always.log").write_text(
        "libbpf: prog 'qmap_dequeue': failed to load: -13\nR7 invalid mem access 'scalar'\n")
    r = scheds.parse_run(tmp_path, planned("scx_qmap-always"))
    assert len(r.problems) == 1 and "never enabled" in r.problems[0]
    assert "R7 invalid mem access" in r.problems[0]


def test_error_exit_and_default_mode_flags_are_problems(tmp_path):
    copy_run(tmp_path, "scx_qmap-always")
    for ext in ("info", "log", "workload", "dmesg"):
        os.rename(tmp_path / f"scx_qmap-always.{ext}", tmp_path / f"scx_qmap-default.{ext}")
    log = tmp_path / "scx_qmap-default.log"
    log.write_text(log.read_text().replace("EXIT: unregistered from user space",
                                           "EXIT: scx_bpf_error (task_ctx slab exhausted)"))
    r = scheds.parse_run(tmp_path, planned("scx_qmap-default"))
    assert any("not a clean unregister: EXIT: scx_bpf_error" in p for p in r.problems)
    assert any("BPF_F_ARENA_MAP_ALWAYS in the default mode" in p for p in r.problems)


def test_missing_shim_report_and_missing_files(tmp_path):
    copy_run(tmp_path, "scx_qmap-always")
    log = tmp_path / "scx_qmap-always.log"
    log.write_text("".join(l for l in log.read_text().splitlines(True)
                           if not l.startswith("arena-shim")))
    r = scheds.parse_run(tmp_path, planned("scx_qmap-always"))
    assert r.problems == ["the shim reported no arena it changed"]
    r = scheds.parse_run(tmp_path, planned("scx_sdt-default"))
    assert r.problems and "did not run" in r.problems[0]


def test_variant_must_convert_every_bitmap_exactly(tmp_path):
    copy_run(tmp_path, "scx_sdt_cpumask-direct")
    log = tmp_path / "scx_sdt_cpumask-direct.log"
    log.write_text(log.read_text().replace("same_as_arena=346842", "same_as_arena=346840"))
    r = scheds.parse_run(tmp_path, planned("scx_sdt_cpumask-direct"))
    assert r.problems == ["2 of 346842 cpumasks differ from the arena bitmap they were made from"]


def test_parse_stats_of_each_scheduler():
    assert scheds.parse_stats("stats  : enq=5 dsp=4 delta=1\nstats  : enq=9 dsp=8 delta=1\n") \
        == {"enqueued": 9, "dispatched": 8}
    sdt = "enqueues=10\tinits=3\texits=2\t\nselect_idle_cpu=4\tselect_busy_cpu=5\t\n"
    assert scheds.parse_stats(sdt) == {"enqueued": 10, "inits": 3, "exits": 2,
                                       "select_idle": 4, "select_busy": 5}
    assert scheds.parse_stats("nothing\n") == {}


def test_same_result_compares_the_masks_seen():
    def run(mode, masks, problems=()):
        r = scheds.SchedRun(f"scx_sdt_cpumask-{mode}", "scx_sdt_cpumask", mode, masks=masks)
        r.problems = list(problems)
        return r
    assert scheds.same_result([run("copy", {"0x1": 3, "0x3": 1}),
                               run("direct", {"0x1": 9, "0x3": 2})]) == []
    found = scheds.same_result([run("copy", {"0x1": 3}), run("direct", {"0x1": 9, "0x3": 2})])
    assert found == ["different cpumasks: copy saw ['0x1'], direct saw ['0x1', '0x3']"]
    assert scheds.same_result([run("copy", {}), run("direct", {}, ["x"])]) == \
        ["scx_sdt_cpumask-direct failed"]
    assert scheds.same_result([run("copy", {})]) == ["the variant did not run in both modes"]


def test_bench_ratios_are_medians_per_size():
    found = scheds.parse_bench((DATA / "bench.log").read_text())
    assert sorted(found) == [1, 64]
    assert found[1]["ratio"] == 1.78 and found[1]["range"] == (1.64, 2.22)
    assert found[64]["ratio"] == 20.82
    assert found[64]["copy_ns"] == [842.7, 809.2, 807.1]


def test_report_table(tmp_path):
    r = scheds.parse_run(copy_run(tmp_path, "scx_qmap-always"), planned("scx_qmap-always"))
    bad = scheds.SchedRun("scx_sdt-default", "scx_sdt", "default", problems=["never enabled\nx"])
    text = scheds.report([r, bad], scheds.parse_bench((DATA / "bench.log").read_text()), [])
    lines = text.splitlines()
    assert lines[1].split()[:5] == ["scx_qmap", "always", "32.5s", "172152", "172151"]
    assert lines[1].endswith(" ok")
    assert lines[2].endswith("FAIL: never enabled")
    assert "variant copy vs direct: same result" in text
    assert "64 word(s) in use: copy / direct 20.82x (19.91-22.41)" in text


# --- source preparation ------------------------------------------------------

def test_sync_tree_rewrites_only_changed_files(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    (a / "sub").mkdir(parents=True)
    (a / "same.c").write_text("same")
    (a / "sub" / "new.c").write_text("new")
    (b).mkdir()
    (b / "same.c").write_text("same")
    (b / "stale.c").write_text("stale")
    os.utime(b / "same.c", (1, 1))
    scheds.sync_tree(a, b)
    assert (b / "same.c").stat().st_mtime == 1
    assert (b / "sub" / "new.c").read_text() == "new" and not (b / "stale.c").exists()


def test_variant_patch_applies_to_a_copy_and_leaves_the_tree_alone(tmp_path):
    need_tree("tools/sched_ext/scx_sdt.bpf.c")
    src = scheds.prepare_source(TREE, tmp_path / "src", [scheds.VARIANTS[0]],
                                tmp_path / "log")
    sx = src / "tools" / "sched_ext"
    assert not sx.is_symlink() and (sx / "scx_sdt_cpumask.bpf.c").exists()
    assert "to_cpumask_direct" in (sx / "scx_sdt_cpumask.bpf.c").read_text()
    upstream = TREE / "tools/sched_ext/scx_sdt.bpf.c"
    assert (sx / "scx_sdt.bpf.c").read_bytes() == upstream.read_bytes()
    assert (src / "tools" / "lib").resolve() == (TREE / "tools" / "lib").resolve()
    assert (src / "include").is_symlink()
    assert not (TREE / "tools/sched_ext/scx_sdt_cpumask.bpf.c").exists()
    mtime = (sx / "scx_sdt_cpumask.bpf.c").stat().st_mtime
    scheds.prepare_source(TREE, tmp_path / "src", [scheds.VARIANTS[0]], tmp_path / "log")
    assert (sx / "scx_sdt_cpumask.bpf.c").stat().st_mtime == mtime  # make rebuilds nothing
