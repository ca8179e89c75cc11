"""Series hygiene: every patch builds on its own and passes checkpatch.

For each commit of the series (base..HEAD), in a worktree of the tree
(src/linux-check) built in build/check with the normal kernel config:

- scripts/checkpatch.pl --strict on the patch (git format-patch of that
  commit), keeping its ERROR, WARNING and CHECK lines;
- for a commit that touches kernel code (anything outside tools/ and
  Documentation/), `make` of the directories it touches, then of vmlinux, so
  each kernel patch compiles and links without the patches after it.
  Compiler warnings in the touched files count as failures.

- for a commit that touches libbpf, libbpf (`-Werror`);
- for a commit that touches the BPF selftests, the objects of the files it
  touches, against the vmlinux built for the commits before it: a BPF
  program `progs/X.c` as `X.bpf.o`, a benchmark as its object, the test
  modules (after `make modules`, for Module.symvers), all with upstream's
  `-Werror` and BPF_STRICT_BUILD=1, so an object that needs a later patch
  fails here.

test_progs' other sources (TRUNNER_EXTRA_SOURCES: test_loader.c, ...) build
as their objects too.  Not built per commit: `prog_tests/*.c`.  Upstream's
rule makes each test object depend on every BPF skeleton, so one
test object means all ~900 BPF objects again after each kernel commit
(vmlinux.h changes); `make test` builds them at the end of the series.
This is a target of its own (`make series-check`), run before an export.
"""

import re
from pathlib import Path

from harness import HarnessError
from harness.build import JOBS, selftests_make
from harness.proc import run, say
from harness.source import git

WORKTREE = "linux-check"
BUILD = "check"
KERNEL_EXCLUDE = ("tools/", "Documentation/")
SELFTESTS = "tools/testing/selftests/bpf/"
LIBBPF = "tools/lib/bpf/"
ISSUE = re.compile(r"^(ERROR|WARNING|CHECK): (.*)$", re.M)
WARNING = re.compile(r"^(\S+?):\d+:\d+: warning: .*$", re.M)


def commits(tree, base):
    """(hash, subject) of each commit of the series, oldest first."""
    out = git(tree, "log", "--reverse", "--format=%H %s", f"{base}..HEAD")
    return [tuple(line.split(" ", 1)) for line in out.splitlines() if line]


def changed(tree, commit):
    return git(tree, "show", "--name-only", "--format=", commit).split()


def kernel_files(files):
    return [f for f in files if not f.startswith(KERNEL_EXCLUDE)]


def make_targets(files):
    """The directories to build for the files a commit touches (object dirs
    for .c/.S files, nothing for headers and build files: vmlinux covers them)."""
    dirs = sorted({str(Path(f).parent) + "/" for f in files if f.endswith((".c", ".S"))})
    return dirs + ["vmlinux"]


def extra_sources(makefile):
    """test_progs' own .c files besides its tests (TRUNNER_EXTRA_SOURCES of
    the selftests Makefile): each builds as <name>.o without the skeletons."""
    m = re.search(r"^TRUNNER_EXTRA_SOURCES := test_progs\.c(.*?[^\\])$", makefile, re.M | re.S)
    return set(re.findall(r"(\S+\.c)\b", m.group(0))) if m else set()


def tools_targets(files, out, extra=()):
    """selftests make targets (under the output dir `out`) for the files a
    commit touches, and whether it touches libbpf; `extra` as extra_sources()."""
    targets = set()
    for f in files:
        if not f.startswith(SELFTESTS):
            continue
        rel = Path(f[len(SELFTESTS):])
        if rel.parts[0] == "progs" and rel.suffix == ".c":
            targets.add(f"{out}/{rel.stem}.bpf.o")
        elif rel.parts[0] == "test_kmods":
            targets.add(f"{out}/bpf_testmod.ko")
        elif ((rel.parts[0] == "benchs" and rel.suffix == ".c") or str(rel) == "bench.c"
              or str(rel) in extra):
            targets.add(f"{out}/{rel.stem}.o")
    return sorted(targets), any(f.startswith(LIBBPF) for f in files)


def build_tools(tc, wt, out, files, logs, n, vmlinux_current):
    """libbpf and the touched selftests objects; None if the commit has none.

    The selftests build against out/vmlinux.  Once this run has built a
    kernel commit it is the checked-out tree's (later commits without
    kernel files do not change it); before that it may be a previous run's,
    so vmlinux is built first."""
    makefile = wt / SELFTESTS / "Makefile"
    extra = extra_sources(makefile.read_text()) if makefile.exists() else set()
    targets, libbpf = tools_targets(files, out / "selftests", extra)
    if not targets and not libbpf:
        return None
    for d in (out / "selftests", out / "libbpf"):  # both Makefiles want them to exist
        d.mkdir(parents=True, exist_ok=True)
    steps = []
    if targets and not vmlinux_current:
        steps.append(("vmlinux", ["make", f"O={out}", f"-j{JOBS}", "vmlinux"]))
    if libbpf:
        steps.append(("libbpf", ["make", "-C", LIBBPF, f"-j{JOBS}", f"OUTPUT={out}/libbpf/"]))
    if any(t.endswith(".ko") for t in targets):
        steps.append(("modules", ["make", f"O={out}", f"-j{JOBS}", "modules"]))
    if targets:
        steps.append(("selftests", selftests_make(out, out / "selftests", targets, strict=True)))
    for name, argv in steps:
        res = run(tc.wrap(argv, cwd=wt), logs / f"{n:04}-{name}.log", f"{name} {n}",
                  check=False)
        if res.rc != 0:
            break
    return {"tools": "ok" if res.rc == 0 else f"{name} failed; see {res.log}",
            "tools_targets": [Path(t).name for t in targets] + (["libbpf"] if libbpf else []),
            "tools_steps": [name for name, _ in steps]}


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
    results, vmlinux_current = [], False
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
        touched = changed(tree, commit)
        files = kernel_files(touched)
        if files:
            argv = ["make", f"O={out}", f"-j{JOBS}", *make_targets(files)]
            res = run(tc.wrap(argv, cwd=wt), logs / f"{n:04}-build.log", f"build {n}",
                      check=False)
            r["build"] = "ok" if res.rc == 0 else f"failed; see {res.log}"
            r["warnings"] = warnings_in(Path(res.log).read_text(errors="replace"), files)
            vmlinux_current = res.rc == 0
        r.update(build_tools(tc, wt, out, touched, logs, n, vmlinux_current) or {})
        if r.get("tools") == "ok" and "vmlinux" in r["tools_steps"]:
            vmlinux_current = True
        results.append(r)
        say(f"<== {n:2}: build {r.get('build', '-')}, tools {r.get('tools', '-')}, "
            f"{len(r.get('warnings', []))} warnings, {len(r['checkpatch'])} checkpatch notes")
    return results


def render(results):
    lines = []
    for r in results:
        lines.append(f"{r['n']:2} {r['subject']}")
        if "build" in r:
            lines.append(f"     build: {r['build']}; warnings: {len(r['warnings'])}")
            lines.extend(f"       {w}" for w in r["warnings"])
        if "tools" in r:
            lines.append(f"     tools: {r['tools']} ({', '.join(r['tools_targets'])})")
        for issue in sorted(set(r["checkpatch"])):
            lines.append(f"     {issue} (x{r['checkpatch'].count(issue)})")
    return "\n".join(lines) + "\n"


def failed(results):
    return [r for r in results if r.get("build", "ok") != "ok" or r.get("warnings")
            or r.get("tools", "ok") != "ok"]
