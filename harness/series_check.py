"""Series hygiene: every patch builds on its own and passes checkpatch.

For each commit of the series (base..HEAD), in a worktree of the tree
(src/linux-check) built in build/check with the normal kernel config:

- scripts/checkpatch.pl --strict on the patch (git format-patch of that
  commit), keeping its ERROR, WARNING and CHECK lines;
- for a commit that touches kernel code (anything outside tools/ and
  Documentation/), `make` of the directories it touches, then of vmlinux, so
  each kernel patch compiles and links without the patches after it.
  Compiler warnings in the touched files count as failures.

Selftests, benchmark and documentation patches are checked with checkpatch
only; `make test` builds the selftests at the end of the series.  This is a
target of its own (`make series-check`), run before an export.
"""

import re
from pathlib import Path

from harness import HarnessError
from harness.build import JOBS
from harness.proc import run, say
from harness.source import git

WORKTREE = "linux-check"
BUILD = "check"
KERNEL_EXCLUDE = ("tools/", "Documentation/")
ISSUE = re.compile(r"^(ERROR|WARNING|CHECK): (.*)$", re.M)
WARNING = re.compile(r"^(\S+?):\d+:\d+: warning: .*$", re.M)


def commits(tree, base):
    """(hash, subject) of each commit of the series, oldest first."""
    out = git(tree, "log", "--reverse", "--format=%H %s", f"{base}..HEAD")
    return [tuple(line.split(" ", 1)) for line in out.splitlines() if line]


def kernel_files(tree, commit):
    files = git(tree, "show", "--name-only", "--format=", commit).split()
    return [f for f in files if not f.startswith(KERNEL_EXCLUDE)]


def make_targets(files):
    """The directories to build for the files a commit touches (object dirs
    for .c/.S files, nothing for headers and build files: vmlinux covers them)."""
    dirs = sorted({str(Path(f).parent) + "/" for f in files if f.endswith((".c", ".S"))})
    return dirs + ["vmlinux"]


def checkpatch_issues(text):
    """checkpatch's findings, one line each: 'WARNING: ...'."""
    return [f"{kind}: {what}" for kind, what in ISSUE.findall(text)]


def warnings_in(log_text, files):
    """Compiler warnings in the given files."""
    found = []
    for m in WARNING.finditer(log_text):
        if any(m.group(1).endswith(f) for f in files):
            found.append(m.group(0).strip())
    return found


def check(s, tc, base, logs):
    """Check every commit; return one dict per commit."""
    tree, wt = s.main_tree, s.cache / "src" / WORKTREE
    out = s.cache / "build" / BUILD
    if not wt.exists():
        git(tree, "worktree", "add", "-f", "--detach", str(wt), base)
    out.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    config = s.build_dir / ".config"
    if not config.exists():
        raise HarnessError(f"no kernel config at {config}: run `make build` first")
    (out / ".config").write_bytes(config.read_bytes())
    results = []
    for n, (commit, subject) in enumerate(commits(tree, base), 1):
        say(f"==> {n:2}: {subject}")
        git(wt, "checkout", "-q", "--detach", commit)
        patch = git(tree, "format-patch", "-1", "--stdout", commit)
        pf = logs / f"{n:04}.patch"
        pf.write_text(patch)
        cp = run(["perl", wt / "scripts/checkpatch.pl", "--strict", "--no-tree", pf],
                 logs / f"{n:04}-checkpatch.log", f"checkpatch {n}", check=False)
        r = {"n": n, "commit": commit[:12], "subject": subject,
             "checkpatch": checkpatch_issues(Path(cp.log).read_text(errors="replace"))}
        files = kernel_files(tree, commit)
        if files:
            argv = ["make", f"O={out}", f"-j{JOBS}", *make_targets(files)]
            res = run(tc.wrap(argv, cwd=wt), logs / f"{n:04}-build.log", f"build {n}",
                      check=False)
            r["build"] = "ok" if res.rc == 0 else f"failed; see {res.log}"
            r["warnings"] = warnings_in(Path(res.log).read_text(errors="replace"), files)
        results.append(r)
        say(f"<== {n:2}: build {r.get('build', '-')}, "
            f"{len(r.get('warnings', []))} warnings, {len(r['checkpatch'])} checkpatch notes")
    return results


def render(results):
    lines = []
    for r in results:
        lines.append(f"{r['n']:2} {r['subject']}")
        if "build" in r:
            lines.append(f"     build: {r['build']}; warnings: {len(r['warnings'])}")
            lines.extend(f"       {w}" for w in r["warnings"])
        for issue in sorted(set(r["checkpatch"])):
            lines.append(f"     {issue} (x{r['checkpatch'].count(issue)})")
    return "\n".join(lines) + "\n"


def failed(results):
    return [r for r in results if r.get("build", "ok") != "ok" or r.get("warnings")]
