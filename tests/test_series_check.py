"""harness/series_check.py: what a commit builds, and what counts as a finding."""

from harness import series_check


def test_make_targets_build_touched_dirs_then_link():
    files = ["kernel/bpf/arena.c", "kernel/bpf/verifier.c", "include/linux/bpf.h",
             "arch/x86/net/bpf_arena_memarg.S", "arch/x86/net/Makefile"]
    assert series_check.make_targets(files) == ["arch/x86/net/", "kernel/bpf/", "vmlinux"]


def test_checkpatch_issues():
    text = ("WARNING: line length of 101 exceeds 100 columns\n#1: FILE: x.c:1:\n"
            "CHECK: Alignment should match open parenthesis\n"
            "total: 0 errors, 1 warnings, 1 checks\n")
    assert series_check.checkpatch_issues(text) == [
        "WARNING: line length of 101 exceeds 100 columns",
        "CHECK: Alignment should match open parenthesis"]


def test_warnings_only_in_the_commits_files():
    log = ("/src/linux-check/kernel/bpf/arena.c:3:1: warning: unused variable 'x'\n"
           "/src/linux-check/kernel/bpf/core.c:3:1: warning: not this commit's\n")
    assert series_check.warnings_in(log, ["kernel/bpf/arena.c"]) == [
        "/src/linux-check/kernel/bpf/arena.c:3:1: warning: unused variable 'x'"]


def test_failed():
    ok = {"build": "ok", "warnings": []}
    assert series_check.failed([ok, {"checkpatch": []}]) == []
    assert series_check.failed([{"build": "failed; see x", "warnings": []}]) != []
    assert series_check.failed([{"build": "ok", "warnings": ["w"]}]) != []


class FakeResult:
    def __init__(self, log, rc=0):
        self.log, self.rc = str(log), rc


def run_check(tmp_path, monkeypatch, commits, fail=None):
    """series_check.check() against fakes.  `commits`: [(hash, subject,
    [files])]; `fail` names the step whose make exits 2.  Checkpatch logs
    say 'WARNING: a note'.  Returns (results, [(title, argv)] of the makes)."""
    cache, build = tmp_path / "cache", tmp_path / "build"
    build.mkdir()
    (build / ".config").write_text("CONFIG_BPF=y\n")
    (cache / "src" / series_check.WORKTREE).mkdir(parents=True)
    (cache / "build" / series_check.BUILD).mkdir(parents=True)
    (cache / "build" / series_check.BUILD / "vmlinux").write_text("a previous run's")
    files = {c: "\n".join(f) for c, _, f in commits}
    monkeypatch.setattr(series_check, "git", lambda tree, *a: {
        "log": "".join(f"{c} {subj}\n" for c, subj, _ in commits),
        "show": files.get(a[-1], ""), "format-patch": f"patch {a[-1]}\n"}.get(a[0], ""))
    steps = []

    def run(cmd, log, title, check=True):
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("WARNING: a note\n" if "checkpatch" in title else "")
        if not title.startswith("checkpatch"):
            steps.append((title, cmd))
        return FakeResult(log, 2 if fail and title.startswith(fail) else 0)

    monkeypatch.setattr(series_check, "run", run)
    monkeypatch.setattr(series_check, "say", lambda msg: None)

    class S:
        main_tree = tmp_path / "tree"
        build_dir = build

    S.cache = cache

    class TC:
        @staticmethod
        def wrap(argv, cwd=None):
            return argv

    results = series_check.check(S, TC, "base", tmp_path / "run" / "logs")
    # the selftests and libbpf Makefiles stop if their OUTPUT does not exist
    # (run 20261203-120650 stopped so at patch 2)
    out = cache / "build" / series_check.BUILD
    if any("tools" in r for r in results):
        assert (out / "selftests").is_dir() and (out / "libbpf").is_dir()
    return results, steps


def test_check_writes_its_logs_and_builds_only_kernel_commits(tmp_path, monkeypatch):
    """check() on a fresh run directory (its logs/ does not exist yet): one
    kernel commit is built, a commit outside the kernel and BPF selftests is not."""
    results, steps = run_check(tmp_path, monkeypatch, [
        ("c1", "bpf: one", ["kernel/bpf/arena.c", "include/linux/bpf.h"]),
        ("c2", "selftests/bpf: two", ["tools/testing/x.c"])])
    logs = tmp_path / "run" / "logs"
    assert (logs / "0001.patch").read_text() == "patch c1\n"
    assert [r["subject"] for r in results] == ["bpf: one", "selftests/bpf: two"]
    assert results[0]["build"] == "ok" and "build" not in results[1]
    assert "tools" not in results[1]
    assert [t for t, _ in steps] == ["build 1"] and steps[0][1][-2:] == ["kernel/bpf/", "vmlinux"]
    assert results[1]["checkpatch"] == ["WARNING: a note"]


def test_tools_targets_per_touched_file():
    files = ["tools/testing/selftests/bpf/progs/arena_memargs.c",
             "tools/testing/selftests/bpf/progs/bpf_arena_common.h",
             "tools/testing/selftests/bpf/prog_tests/arena_memargs.c",
             "tools/testing/selftests/bpf/test_kmods/bpf_testmod.c",
             "tools/testing/selftests/bpf/test_kmods/bpf_testmod_kfunc.h",
             "tools/testing/selftests/bpf/benchs/bench_arena_memargs.c",
             "tools/testing/selftests/bpf/bench.c",
             "tools/testing/selftests/bpf/Makefile", "kernel/bpf/arena.c"]
    assert series_check.tools_targets(files, "/o") == (
        ["/o/arena_memargs.bpf.o", "/o/bench.o", "/o/bench_arena_memargs.o",
         "/o/bpf_testmod.ko"], False)
    assert series_check.tools_targets(["tools/lib/bpf/libbpf.c"], "/o") == ([], True)
    assert series_check.tools_targets(["tools/include/uapi/linux/bpf.h"], "/o") == ([], False)


def one_commit(tmp_path, monkeypatch, touched, fail=None):
    results, steps = run_check(tmp_path, monkeypatch,
                               [("c1", "selftests/bpf: one", touched)], fail)
    return results[0], steps


def test_selftests_commit_builds_its_objects_strictly(tmp_path, monkeypatch):
    r, steps = one_commit(tmp_path, monkeypatch, [
        "tools/testing/selftests/bpf/progs/arena_map_always.c",
        "tools/testing/selftests/bpf/test_kmods/bpf_testmod.c"])
    # no kernel commit built in this run yet: out/vmlinux may be another
    # run's (run 20261203-123713 left commit 24's), so it is built first
    assert [t for t, _ in steps] == ["vmlinux 1", "modules 1", "selftests 1"]
    make = steps[2][1]
    assert "BPF_STRICT_BUILD=1" in make and "BPF_STRICT_BUILD=0" not in make
    assert make[:3] == ["make", "-C", series_check.SELFTESTS.rstrip("/")]
    assert make[-2].endswith("/selftests/arena_map_always.bpf.o")
    assert make[-1].endswith("/selftests/bpf_testmod.ko")
    assert r["tools"] == "ok" and "build" not in r
    assert series_check.failed([r]) == []


def test_a_selftests_object_that_does_not_build_fails_the_commit(tmp_path, monkeypatch):
    r, _ = one_commit(tmp_path, monkeypatch,
                        ["tools/testing/selftests/bpf/progs/arena_memargs.c"], fail="selftests")
    assert r["tools"].startswith("selftests failed")
    assert series_check.failed([r]) == [r]
    assert "tools: selftests failed" in series_check.render([r])


def test_libbpf_commit_builds_libbpf(tmp_path, monkeypatch):
    r, steps = one_commit(tmp_path, monkeypatch, ["tools/lib/bpf/libbpf.c"])
    assert [t for t, _ in steps] == ["libbpf 1"] and r["tools_targets"] == ["libbpf"]


def test_extra_sources_from_the_makefile():
    """Lines as in 7.3.4's selftests Makefile (test_progs' runner), with the
    series' arena_map_flags.c; test_maps' runner follows."""
    makefile = ("TRUNNER_EXTRA_SOURCES := test_progs.c\t\t\\\n"
                "\t\t\t cgroup_helpers.c\t\\\n"
                "\t\t\t test_loader.c\t\t\\\n"
                "\t\t\t $(VERIFY_SIG_HDR)\t\t\\\n"
                "\t\t\t arena_map_flags.c\t\\\n"
                "\t\t\t usdt_1.c usdt_2.c\t\\\n"
                "\t\t\t $(LIBARENA_ASAN_SKEL)\n"
                "TRUNNER_EXTRA_FILES := $(OUTPUT)/urandom_read\n"
                "TRUNNER_EXTRA_SOURCES := test_maps.c\n")
    extra = series_check.extra_sources(makefile)
    assert extra == {"test_progs.c", "cgroup_helpers.c", "test_loader.c",
                     "arena_map_flags.c", "usdt_1.c", "usdt_2.c"}
    files = ["tools/testing/selftests/bpf/test_loader.c",
             "tools/testing/selftests/bpf/test_maps.c"]  # test_maps.o: not test_progs'
    assert series_check.tools_targets(files, "/o", extra) == (["/o/test_loader.o"], False)


def test_selftests_after_a_kernel_commit_use_its_vmlinux(tmp_path, monkeypatch):
    """kernel commit, then two selftests commits: vmlinux is built once, by
    the kernel commit's build."""
    _, steps = run_check(tmp_path, monkeypatch, [
        ("c1", "bpf: one", ["kernel/bpf/arena.c"]),
        ("c2", "selftests/bpf: two", ["tools/testing/selftests/bpf/progs/a.c"]),
        ("c3", "selftests/bpf: three", ["tools/testing/selftests/bpf/progs/b.c"])])
    assert [t for t, _ in steps] == ["build 1", "selftests 2", "selftests 3"]


def test_the_strict_build_differs_from_make_tests_only_in_strictness(tmp_path):
    """series-check and make test's test_progs build share one command."""
    from harness import build
    loose = build.selftests_make(tmp_path, tmp_path / "st", ["t"])
    strict = build.selftests_make(tmp_path, tmp_path / "st", ["t"], strict=True)
    assert [a for a in loose if a not in strict] == ["BPF_STRICT_BUILD=0"]
    assert [a for a in strict if a not in loose] == ["BPF_STRICT_BUILD=1"]
