"""The kernel git tree and the patch series in patches/.

The tree is made from Debian's linux-source-7.3 tarball: one baseline commit
with a fixed identity and date, so its hash is the same on every machine and
patches/BASE can record it.  The series is applied with `git am`, one commit
per patch, on branch `series`; `export` turns those commits back into
patches/ with `git format-patch`.  Work in the tree is never thrown away:
apply and export both refuse a tree with uncommitted changes, and apply
refuses to replace commits that were never exported.
"""

import hashlib
import os
import re
import shutil
from pathlib import Path

from harness import HarnessError
from harness.config import PROJECT, read_base
from harness.proc import capture, run, say

PATCH_DIR = PROJECT / "patches"
BRANCH = "series"
BASE_TAG = "series-base"
STATE = "arena-harness-applied"  # under .git: patches digest and the HEAD it made
IDENTITY = {
    "GIT_AUTHOR_NAME": "harness", "GIT_AUTHOR_EMAIL": "harness@localhost",
    "GIT_COMMITTER_NAME": "harness", "GIT_COMMITTER_EMAIL": "harness@localhost",
}
# Debian's tarball ignores every top-level path in .gitignore (its packaging
# repository keeps only debian/); the baseline commit drops that stanza so
# that new files in the tree show up in `git status`.
DEBIAN_STANZA = "#\n# Debian packaging"


def git(tree, *args, check=True):
    return capture(["git", "-C", tree, *args], check=check)


def series_files(patch_dir=PATCH_DIR):
    """The series' patch files in order, without the cover letter."""
    return sorted(p for p in Path(patch_dir).glob("[0-9][0-9][0-9][0-9]-*.patch")
                  if not p.name.startswith("0000-"))


def cover_letter(patch_dir=PATCH_DIR):
    found = sorted(Path(patch_dir).glob("0000-cover-letter.patch"))
    return found[0] if found else None


def series_digest(patch_dir=PATCH_DIR):
    h = hashlib.sha256()
    for p in series_files(patch_dir):
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def dirty(tree, untracked=True):
    """Uncommitted changes, including (unless untracked=False) untracked
    files that are not ignored."""
    mode = "normal" if untracked else "no"
    return git(tree, "status", "--porcelain", f"--untracked-files={mode}").strip()


def ensure_tree(settings, toolchain, log):
    """Create the baseline git tree from the Debian source package if missing."""
    tree = settings.main_tree
    if settings.linux_tree:
        if not (tree / ".git").exists():
            raise HarnessError(f"LINUX_TREE={tree} is not a git tree")
        say(f"source: using your tree {tree} as it is")
        return
    if (tree / ".git").exists() and git(tree, "tag", "-l", BASE_TAG).strip():
        return
    base = read_base()
    if toolchain.mode != "root":
        raise HarnessError("the Debian kernel source comes from the build root; "
                           "with TOOLCHAIN=host set LINUX_TREE to a kernel git tree")
    tarball = settings.root / "usr/src" / f"{base['package']}.tar.xz"
    got = capture(toolchain.wrap(["dpkg-query", "-W", "-f", "${Version}", base["package"]]),
                  check=False).strip()
    if got != base["version"] or not tarball.exists():
        raise HarnessError(f"{base['package']} {base['version']} is not installed in the "
                           f"build root (found '{got}'); remove {settings.root} to rebuild it")
    tmp = tree.with_name(tree.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    say(f"source: unpacking {tarball.name}")
    run(["tar", "-xJf", tarball, "-C", tmp], log, "unpack kernel source")
    src = next(tmp.iterdir())
    check_version(src, base["kernel"])
    strip_debian_gitignore(src / ".gitignore")
    env = dict(os.environ, **IDENTITY, GIT_AUTHOR_DATE=base["date"],
               GIT_COMMITTER_DATE=base["date"])
    msg = f"Linux {base['kernel']} from Debian {base['package']} {base['version']}"
    run(["sh", "-c", "git init -q -b base && git add -A && "
         f"git commit -q -m '{msg}' && git tag {BASE_TAG}"], log, "git baseline commit",
        cwd=src, env=env)
    made = git(src, "rev-parse", "HEAD").strip()
    if base.get("commit") and made != base["commit"]:
        raise HarnessError(f"baseline commit is {made}, patches/BASE records {base['commit']}")
    if tree.exists():
        shutil.rmtree(tree)
    src.rename(tree)
    shutil.rmtree(tmp)


def base_worktree(settings, log):
    """Put a detached worktree of the main tree at the base (SERIES=none).

    The unpatched base is built from its own worktree into its own build
    directory, so a baseline run leaves the series' tree and build alone.
    Returns a short description.
    """
    main, wt = settings.main_tree, settings.tree
    ref = settings.linux_base or BASE_TAG
    want = git(main, "rev-parse", "--verify", "-q", f"{ref}^{{commit}}", check=False).strip()
    if not want:
        raise HarnessError(f"{main} has no {ref} to check out as the unpatched base")
    if not (wt / ".git").exists():
        git(main, "worktree", "prune")
        run(["git", "-C", main, "worktree", "add", "-q", "--detach", wt, want], log,
            "git worktree add")
    elif git(wt, "rev-parse", "HEAD").strip() != want:
        # Untracked files here are build products (libarena's Makefile
        # writes its objects into the source tree); checkout keeps them and
        # refuses to overwrite one that the target commit tracks.
        if dirty(wt, untracked=False):
            raise HarnessError(f"{wt} has uncommitted changes; it is the base worktree "
                               "that SERIES=none builds, and is not overwritten")
        git(wt, "checkout", "-q", "--detach", want)
    return f"unpatched base {want[:12]} in {wt}"


def check_version(src, want):
    text = (Path(src) / "Makefile").read_text()
    got = ".".join(re.search(rf"^{k} = (\d+)", text, re.M).group(1)
                   for k in ("VERSION", "PATCHLEVEL", "SUBLEVEL"))
    if got != want:
        raise HarnessError(f"kernel source is {got}, the series is based on {want}")


def strip_debian_gitignore(path):
    text = path.read_text()
    i = text.find(DEBIAN_STANZA)
    if i >= 0:
        path.write_text(text[:i])


def state_file(tree):
    return Path(git(tree, "rev-parse", "--absolute-git-dir").strip()) / STATE


def apply_series(tree, log, patch_dir=PATCH_DIR):
    """Put branch `series` at base + patches/, unless it already is.

    Returns a short description of what was done.
    """
    digest = series_digest(patch_dir)
    head = git(tree, "rev-parse", "HEAD").strip()
    state = state_file(tree)
    saved_digest, saved_head = (state.read_text().split() + ["", ""])[:2] \
        if state.exists() else ("", "")
    if saved_head == head and saved_digest == digest:
        return "series already applied"
    if saved_head and saved_head != head:
        if saved_digest == digest:
            return "tree has commits beyond the series: building them (make export saves them)"
        raise HarnessError(f"{tree} has commits that are not in patches/ and patches/ "
                           "changed too; run `make export` or reset the tree first")
    if dirty(tree):
        raise HarnessError(f"{tree} has uncommitted changes; commit them and "
                           "`make export`, or stash them, before the series is re-applied")
    git(tree, "checkout", "-q", "-B", BRANCH, BASE_TAG)
    for patch in series_files(patch_dir):
        res = run(["git", "-C", tree, "am", "-q", "--keep-cr", patch], log,
                  f"git am {patch.name}", check=False)
        if res.rc:
            files = failed_files(open(res.log, errors="replace").read())
            git(tree, "am", "--abort", check=False)
            raise HarnessError(f"patch {patch.name} does not apply"
                               f"{' (' + ', '.join(files) + ')' if files else ''}; "
                               f"see {res.log}")
    set_description(tree, patch_dir)
    state.write_text(f"{digest} {git(tree, 'rev-parse', 'HEAD').strip()}\n")
    return f"applied {len(series_files(patch_dir))} patches"


def failed_files(am_output):
    """Files named by `git am`/`git apply` as not applying."""
    found = re.findall(r"error: (?:patch failed: |)([^:\s]+)(?::\d+)?(?:: patch does not apply"
                       r"|: does not exist in index|: No such file or directory|$)",
                       am_output, re.M)
    return sorted(set(f for f in found if "/" in f or "." in f))


def set_description(tree, patch_dir):
    """Carry the cover letter's subject and body as the branch description."""
    cover = cover_letter(patch_dir)
    if cover:
        git(tree, "config", f"branch.{BRANCH}.description", cover_text(cover.read_text()))


def cover_text(patch_text):
    """Subject and body of a format-patch cover letter, without the shortlog."""
    subject = re.search(r"^Subject: (?:\[[^\]]*\] )?(.*(?:\n .*)*)", patch_text, re.M)
    head, _, body = patch_text.partition("\n\n")
    body = re.split(r"\n[^\n]+ \(\d+\):\n", body)[0]
    subject = " ".join(subject.group(1).split()) if subject else ""
    return f"{subject}\n\n{body.strip()}\n"


def pin_cover_date(tree, patch_dir):
    """Date the cover letter like the last commit, not now, so that an
    export of an unchanged series leaves patches/ unchanged."""
    cover = cover_letter(patch_dir)
    if cover:
        date = git(tree, "log", "-1", "--format=%aD", "HEAD").strip()
        text = cover.read_text()
        cover.write_text(re.sub(r"^Date: .*$", f"Date: {date}", text, count=1, flags=re.M))


def export(tree, base_ref, log, patch_dir=PATCH_DIR):
    """Regenerate patches/ from the commits base_ref..HEAD."""
    if dirty(tree):
        raise HarnessError(f"{tree} has uncommitted changes; commit them first "
                           "(export writes only commits and would drop them)")
    count = int(git(tree, "rev-list", "--count", f"{base_ref}..HEAD").strip())
    patch_dir = Path(patch_dir)
    for old in patch_dir.glob("[0-9][0-9][0-9][0-9]-*.patch"):
        old.unlink()
    if count:
        args = ["format-patch", "-q", "--no-signature", f"--base={base_ref}",
                "-o", patch_dir, f"{base_ref}..HEAD"]
        if count > 1 or git(tree, "config", f"branch.{BRANCH}.description", check=False):
            args[1:1] = ["--cover-letter", "--cover-from-description=subject"]
        git(tree, *args)
        pin_cover_date(tree, patch_dir)
    head = git(tree, "rev-parse", "HEAD").strip()
    state = state_file(tree)
    state.write_text(f"{series_digest(patch_dir)} {head}\n")
    say(f"export: {count} patches in {patch_dir}")
    return count
