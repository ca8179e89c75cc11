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


def test_check_writes_its_logs_and_builds_only_kernel_commits(tmp_path, monkeypatch):
    """check() on a fresh run directory (its logs/ does not exist yet): one
    kernel commit is built, a selftests-only commit is not."""
    cache, build = tmp_path / "cache", tmp_path / "build"
    build.mkdir()
    (build / ".config").write_text("CONFIG_BPF=y\n")
    (cache / "src" / series_check.WORKTREE).mkdir(parents=True)
    files = {"c1": "kernel/bpf/arena.c\ninclude/linux/bpf.h", "c2": "tools/testing/x.c"}

    def git(tree, *args):
        if args[0] == "log":
            return "c1 bpf: one\nc2 selftests/bpf: two\n"
        if args[0] == "show":
            return files[args[-1]]
        if args[0] == "format-patch":
            return f"patch {args[-1]}\n"
        return ""

    builds = []

    def run(cmd, log, title, check=True):
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("WARNING: a note\n" if "checkpatch" in title else "")
        if title.startswith("build"):
            builds.append(cmd)
        return FakeResult(log)

    class S:
        main_tree = tmp_path / "tree"
        build_dir = build

    S.cache = cache
    monkeypatch.setattr(series_check, "git", git)
    monkeypatch.setattr(series_check, "run", run)
    monkeypatch.setattr(series_check, "say", lambda msg: None)

    class TC:
        @staticmethod
        def wrap(argv, cwd=None):
            return argv

    logs = tmp_path / "run" / "logs"
    results = series_check.check(S, TC, "base", logs)
    assert (logs / "0001.patch").read_text() == "patch c1\n"
    assert [r["subject"] for r in results] == ["bpf: one", "selftests/bpf: two"]
    assert results[0]["build"] == "ok" and "build" not in results[1]
    assert len(builds) == 1 and builds[0][-2:] == ["kernel/bpf/", "vmlinux"]
    assert results[1]["checkpatch"] == ["WARNING: a note"]
