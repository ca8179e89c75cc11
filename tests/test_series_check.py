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
