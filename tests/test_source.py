"""Patch export/apply round trip on a small git tree, and the refusals."""

import subprocess

import pytest

from harness import HarnessError, source


def git(tree, *args):
    return subprocess.run(["git", "-C", str(tree), *args], check=True, text=True,
                          capture_output=True).stdout


@pytest.fixture
def tree(tmp_path, monkeypatch):
    for k, v in source.IDENTITY.items():
        monkeypatch.setenv(k, v)
    t = tmp_path / "linux"
    (t / "kernel/bpf").mkdir(parents=True)
    (t / "kernel/bpf/arena.c").write_text("".join(f"line {i}\n" for i in range(40)))
    (t / "Makefile").write_text("VERSION = 7\nPATCHLEVEL = 3\nSUBLEVEL = 4\n")
    git(t, "init", "-q", "-b", "base")
    git(t, "add", "-A")
    git(t, "commit", "-q", "-m", "base")
    git(t, "tag", source.BASE_TAG)
    git(t, "checkout", "-q", "-b", source.BRANCH)
    return t


def commit(tree, path, old, new, subject):
    p = tree / path
    p.write_text(p.read_text().replace(old, new))
    git(tree, "commit", "-q", "--date=2020-01-02T03:04:05+0000", "-am", f"{subject}\n\nWhy: {subject}.")


def test_round_trip(tree, tmp_path):
    patches = tmp_path / "patches"
    patches.mkdir()
    commit(tree, "kernel/bpf/arena.c", "line 3\n", "line three\n", "bpf: first")
    commit(tree, "kernel/bpf/arena.c", "line 30\n", "line thirty\n", "bpf: second")
    git(tree, "config", f"branch.{source.BRANCH}.description",
        "bpf: a series\n\nThe cover letter body.\n")
    want = (tree / "kernel/bpf/arena.c").read_text()
    log = tmp_path / "log"
    assert source.export(tree, source.BASE_TAG, log, patch_dir=patches) == 2
    names = sorted(p.name for p in patches.glob("*.patch"))
    assert names == ["0000-cover-letter.patch", "0001-bpf-first.patch", "0002-bpf-second.patch"]
    assert "base-commit:" in (patches / "0000-cover-letter.patch").read_text()
    # the cover letter is dated like the last commit, so re-exports match
    head_date = git(tree, "log", "-1", "--format=%aD", "HEAD").strip()
    assert f"\nDate: {head_date}\n" in (patches / "0000-cover-letter.patch").read_text()
    cover = source.cover_text((patches / "0000-cover-letter.patch").read_text())
    assert cover.startswith("bpf: a series\n\nThe cover letter body.")

    # a fresh tree at base gets the same result back, one commit per patch
    git(tree, "checkout", "-q", "-B", "other", source.BASE_TAG)
    source.state_file(tree).unlink()
    assert source.apply_series(tree, log, patch_dir=patches) == "applied 2 patches"
    assert (tree / "kernel/bpf/arena.c").read_text() == want
    assert git(tree, "log", "--format=%s", f"{source.BASE_TAG}..").split("\n")[:2] == \
        ["bpf: second", "bpf: first"]
    assert git(tree, "config", f"branch.{source.BRANCH}.description").startswith("bpf: a series")
    # and applying again is a no-op
    assert source.apply_series(tree, log, patch_dir=patches) == "series already applied"


def test_export_refuses_uncommitted_work(tree, tmp_path):
    (tree / "kernel/bpf/arena.c").write_text("edited\n")
    with pytest.raises(HarnessError, match="uncommitted changes"):
        source.export(tree, source.BASE_TAG, tmp_path / "log", patch_dir=tmp_path)
    (tree / "kernel/bpf/arena.c").write_text("edited\n")  # still there
    assert (tree / "kernel/bpf/arena.c").read_text() == "edited\n"


def test_export_refuses_untracked_new_file(tree, tmp_path):
    (tree / "kernel/bpf/new.c").write_text("new\n")
    with pytest.raises(HarnessError, match="uncommitted changes"):
        source.export(tree, source.BASE_TAG, tmp_path / "log", patch_dir=tmp_path)


def test_apply_names_the_patch_and_file_that_fail(tree, tmp_path):
    patches = tmp_path / "patches"
    patches.mkdir()
    commit(tree, "kernel/bpf/arena.c", "line 3\n", "line three\n", "bpf: first")
    source.export(tree, source.BASE_TAG, tmp_path / "log", patch_dir=patches)
    # move base so that the patch's context is gone
    git(tree, "checkout", "-q", source.BASE_TAG)
    (tree / "kernel/bpf/arena.c").write_text("something else entirely\n")
    git(tree, "commit", "-q", "-am", "diverge")
    git(tree, "tag", "-f", source.BASE_TAG)
    source.state_file(tree).unlink()
    with pytest.raises(HarnessError) as e:
        source.apply_series(tree, tmp_path / "log", patch_dir=patches)
    assert "0001-bpf-first.patch does not apply" in str(e.value)
    assert "kernel/bpf/arena.c" in str(e.value)
    assert not (source.state_file(tree).parent / "rebase-apply").exists()


def test_apply_keeps_commits_that_were_not_exported(tree, tmp_path):
    patches = tmp_path / "patches"
    patches.mkdir()
    source.apply_series(tree, tmp_path / "log", patch_dir=patches)
    commit(tree, "kernel/bpf/arena.c", "line 5\n", "line five\n", "bpf: work in progress")
    head = git(tree, "rev-parse", "HEAD")
    assert "beyond the series" in source.apply_series(tree, tmp_path / "log", patch_dir=patches)
    (patches / "0001-x.patch").write_text("changed series\n")
    with pytest.raises(HarnessError, match="not in patches"):
        source.apply_series(tree, tmp_path / "log", patch_dir=patches)
    assert git(tree, "rev-parse", "HEAD") == head


def test_check_version(tree):
    source.check_version(tree, "7.3.4")
    with pytest.raises(HarnessError, match="is 7.3.4, the series is based on 7.3.5"):
        source.check_version(tree, "7.3.5")


def test_debian_gitignore_stanza_is_dropped(tmp_path):
    gi = tmp_path / ".gitignore"
    gi.write_text("*.o\n#\n# Debian packaging: ignore everything\n#\n/*\n!/debian/\n")
    source.strip_debian_gitignore(gi)
    assert gi.read_text() == "*.o\n"


def test_base_worktree_follows_the_base_and_keeps_local_changes(tree, tmp_path):
    from harness.config import Settings
    commit(tree, "kernel/bpf/arena.c", "line 3\n", "line three\n", "bpf: first")
    s = Settings(cache=tmp_path / "cache", linux_tree=str(tree), series="none",
                 linux_base=source.BASE_TAG)
    assert s.tree == tmp_path / "cache/src/linux-base" and s.main_tree == tree
    base = git(tree, "rev-parse", source.BASE_TAG).strip()
    assert base[:12] in source.base_worktree(s, tmp_path / "log")
    assert git(s.tree, "rev-parse", "HEAD").strip() == base
    assert "line 3\n" in (s.tree / "kernel/bpf/arena.c").read_text()
    assert "line three\n" in (tree / "kernel/bpf/arena.c").read_text()  # series tree untouched
    # the base moves: the worktree follows, unless it has changes of its own
    git(tree, "tag", "-f", source.BASE_TAG, "HEAD")
    (s.tree / "kernel/bpf/arena.c").write_text("local edit\n")
    with pytest.raises(HarnessError, match="uncommitted changes"):
        source.base_worktree(s, tmp_path / "log")
    assert (s.tree / "kernel/bpf/arena.c").read_text() == "local edit\n"
    git(s.tree, "checkout", "-q", "--", ".")
    # build products (untracked) do not stop it, and stay
    (s.tree / "kernel/bpf/arena.o").write_text("object\n")
    source.base_worktree(s, tmp_path / "log")
    assert "line three\n" in (s.tree / "kernel/bpf/arena.c").read_text()
    assert (s.tree / "kernel/bpf/arena.o").read_text() == "object\n"


def test_base_worktree_needs_the_base(tree, tmp_path):
    from harness.config import Settings
    s = Settings(cache=tmp_path / "cache", linux_tree=str(tree), series="none",
                 linux_base="no-such-ref")
    with pytest.raises(HarnessError, match="no no-such-ref"):
        source.base_worktree(s, tmp_path / "log")
