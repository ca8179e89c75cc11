"""Real sched_ext schedulers whose state lives in a BPF arena, in the guest.

Of the schedulers in the tree's tools/sched_ext, two create an arena:
scx_qmap (a cid-form scheduler: task contexts, its five FIFOs, cmasks and
stats in one arena, which the kernel also allocates its cmasks from) and
scx_sdt (per-task data from an arena allocator).  The others only include
the cmask helpers (include/scx/cid.bpf.h) and create no arena.

build() makes them with the tree's own tools/sched_ext Makefile against the
kernel build (libbpf and bpftool come with it, built once), plus the
variant scx_sdt_cpumask: upstream's scx_sdt with
harness/sched_variants/scx_sdt_cpumask.patch applied to a copy at build
time (the kernel tree is never written).  The BPF objects are compiled with
`clang-21 -fno-builtin`: clang 21.1 merges stores to an arena struct into a
memset the BPF backend emits without the address-space cast, and scx_qmap
does not load (fixed in LLVM by PR #160025).

guest_script() runs, in one boot, each scheduler for RUN_SECONDS under
sched_workload (harness/sched_workload.c: forks, sleeps, pipe ping-pong,
sched_setaffinity across the CPUs) in the default arena mode and with
BPF_F_ARENA_MAP_ALWAYS on every arena it creates, through an LD_PRELOAD
shim (harness/sched_arena_shim.c) around libc's syscall(); the variant runs
in both of its conversion modes, then its copy-vs-direct benchmark.
parse() turns each run's files into a SchedRun: runtime, the counts the
scheduler reports, and the problems found (none means it passed).
"""

import os
import re
import shutil
import statistics
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from harness import HarnessError
from harness.build import JOBS, LLVM
from harness.config import PROJECT
from harness.proc import run

# clang 21.1 emits a memset of arena memory without the address-space cast
# (LLVM PR #160025, not in 21.1.8): scx_qmap does not load without the flag
CLANG = f"clang{LLVM} -fno-builtin"
RUN_SECONDS = 30
ENABLE_WAIT = 300        # s the guest waits for a scheduler to load and enable
WORKLOAD_TIMEOUT = 240   # s before a workload is killed (a stalled scheduler)
GUEST_TIMEOUT = 25 * 60
ARENA_MAP_ALWAYS = 1 << 20   # BPF_F_ARENA_MAP_ALWAYS (include/uapi/linux/bpf.h)
VARIANT_DIR = PROJECT / "harness" / "sched_variants"
WORKLOAD_SRC = PROJECT / "harness" / "sched_workload.c"
SHIM_SRC = PROJECT / "harness" / "sched_arena_shim.c"


@dataclass(frozen=True)
class Sched:
    name: str            # binary in tools/sched_ext
    ops: str             # /sys/kernel/sched_ext/root/ops while it runs
    arena: str           # what it keeps in its arena
    args: tuple = ()
    stats_lines: int = 1  # lines of its last stats report shown in the run log
    base: str = ""       # a variant: the upstream scheduler it is patched from
    patch: str = ""      # harness/sched_variants/<patch>
    modes: tuple = ()    # a variant's runs: (label, args)


SCHEDULERS = (
    Sched("scx_qmap", "qmap", "task contexts, five FIFOs, cid cmasks, stats "
          "(cid-form: the kernel allocates its cmasks there too)"),
    Sched("scx_sdt", "sdt", "per-task data from an arena allocator", stats_lines=2),
)
VARIANTS = (
    Sched("scx_sdt_cpumask", "sdt_cpumask",
          "scx_sdt + per-task arena cpumask, bpf_cpumask_populate() from it",
          stats_lines=3, base="scx_sdt", patch="scx_sdt_cpumask.patch",
          modes=(("copy", ("-m", "copy")), ("direct", ("-m", "direct")))),
)
ALL = SCHEDULERS + VARIANTS


@dataclass(frozen=True)
class Planned:
    """One run in the guest: a scheduler in one mode."""
    sched: Sched
    mode: str            # "default", "always" (MAP_ALWAYS via the shim), or a variant mode
    args: tuple

    @property
    def key(self):
        return f"{self.sched.name}-{self.mode}"

    @property
    def always(self):
        return self.mode == "always"


def plan(settings):
    """The runs `make test` makes: every arena scheduler in both arena modes,
    the variant in its copy and direct modes.  SCHEDS= narrows it (names,
    comma-separated) or turns it off ("none").  On the unpatched base
    (SERIES=none) there is no MAP_ALWAYS and no arena memory in kfunc
    arguments: the schedulers run in the default mode, the variant (whose
    benchmark program passes arena memory to a kfunc) not at all."""
    wanted = settings.scheds
    if wanted == "none":
        return []
    names = [n for n in wanted.split(",") if n] if wanted else [s.name for s in ALL]
    unknown = sorted(set(names) - {s.name for s in ALL})
    if unknown:
        raise HarnessError(f"SCHEDS: unknown scheduler(s) {', '.join(unknown)}; "
                           f"known: {', '.join(s.name for s in ALL)}")
    runs = []
    for s in ALL:
        if s.name not in names:
            continue
        if s.modes:
            if not settings.unpatched:
                runs += [Planned(s, label, args) for label, args in s.modes]
        else:
            runs += [Planned(s, m, s.args) for m in ("default", "always")
                     if not (settings.unpatched and m == "always")]
    return runs


def benchmarked(runs):
    """Whether the variant's copy-vs-direct benchmark runs (it needs both)."""
    return {r.mode for r in runs if r.sched.patch} >= {"copy", "direct"}


# --- build -----------------------------------------------------------------

def out_dir(settings):
    return settings.build_dir / "sched_ext"


def binary(settings, name):
    return out_dir(settings) / "build" / "bin" / name


def build(settings, toolchain, log, runs):
    """The planned schedulers (upstream's Makefile, O=build/<variant>/sched_ext),
    the workload and the shim.  Returns the source directory built from."""
    scheds = list(dict.fromkeys(r.sched for r in runs))
    out = out_dir(settings)
    # make would keep the objects of other tools or flags: start over then
    stamp, tools_id = out / ".toolchain", toolchain.identity() + CLANG + "\n"
    if not stamp.exists() or stamp.read_text() != tools_id:
        for d in ("build", "harness"):
            shutil.rmtree(out / d, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    stamp.write_text(tools_id)
    src = prepare_source(settings.tree, out / "src", [s for s in scheds if s.patch], log)
    names = [s.name for s in scheds]
    argv = ["make", "-C", src / "tools" / "sched_ext", f"-j{JOBS}", f"O={out}",
            f"VMLINUX_BTF={settings.build_dir / 'vmlinux'}",
            f"CLANG={CLANG}", f"LLVM_STRIP=llvm-strip{LLVM}", "SKIP_LLVM=1",
            # the Makefile's list of schedulers, so that a variant is one too
            f"c-sched-targets={' '.join(names)}", *names]
    run(toolchain.wrap(argv, cwd=src), log, "sched_ext build")
    tools = out / "harness"
    tools.mkdir(parents=True, exist_ok=True)
    cc = ["gcc", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    for source, target, flags, libs in (
        (WORKLOAD_SRC, tools / "sched_workload", [], []),
        # the tree's uapi header: BPF_MAP_TYPE_ARENA, BPF_COMMON_ATTRS
        (SHIM_SRC, tools / "sched_arena_shim.so",
         ["-shared", "-fPIC", f"-I{settings.tree / 'tools/include/uapi'}"], ["-ldl"]),
    ):
        if not target.exists() or target.stat().st_mtime < source.stat().st_mtime:
            run(toolchain.wrap([*cc, *flags, "-o", target, source, *libs]), log,
                f"build {target.name}")
    return src


def prepare_source(tree, src, variants, log):
    """A source tree the sched_ext Makefile can run in without writing the
    kernel tree: src/ links every top-level entry of the tree and src/tools/
    every entry of tools/, except tools/sched_ext, which is a copy with each
    variant's patch applied.  Files are rewritten only when their content
    changes, so make rebuilds only what a change touched."""
    tree, src = Path(tree), Path(src)
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    link_entries(tree, src, skip="tools")
    link_entries(tree / "tools", src / "tools", skip="sched_ext")
    staging = src.parent / "src-staging"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(tree / "tools" / "sched_ext", staging / "tools" / "sched_ext",
                    symlinks=True)
    for v in variants:
        apply_patch(staging, VARIANT_DIR / v.patch, log)
    sync_tree(staging / "tools" / "sched_ext", src / "tools" / "sched_ext")
    shutil.rmtree(staging)
    return src


def link_entries(source, dest, skip):
    dest.mkdir(parents=True, exist_ok=True)
    for entry in os.listdir(source):
        if entry == skip:
            continue
        link = dest / entry
        if link.is_symlink() and os.readlink(link) == str(source / entry):
            continue
        if link.is_symlink() or link.is_file():
            link.unlink()
        elif link.exists():
            shutil.rmtree(link)
        link.symlink_to(source / entry)
    if (dest / skip).is_symlink():
        (dest / skip).unlink()


def apply_patch(directory, patch, log):
    """git apply (a git-style patch: a variant is a copy of an upstream file)."""
    env = dict(os.environ, GIT_CEILING_DIRECTORIES=str(Path(directory).resolve().parent))
    p = subprocess.run(["git", "apply", "--verbose", os.fspath(patch)], cwd=directory,
                       env=env, capture_output=True, text=True)
    with open(log, "a") as f:
        f.write(f"$ git apply {patch}\n{p.stdout}{p.stderr}")
    if p.returncode:
        raise HarnessError(f"{patch.name} does not apply to the tree's tools/sched_ext:\n"
                           f"{p.stderr.strip()}")


def sync_tree(source, dest):
    """Make dest's files equal source's; untouched files keep their mtime."""
    source, dest = Path(source), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    wanted = set()
    for root, _, files in os.walk(source):
        rel = Path(root).relative_to(source)
        (dest / rel).mkdir(parents=True, exist_ok=True)
        for f in files:
            wanted.add(rel / f)
            a, b = Path(root) / f, dest / rel / f
            if not b.exists() or a.read_bytes() != b.read_bytes():
                shutil.copy2(a, b)
    for root, _, files in os.walk(dest):
        rel = Path(root).relative_to(dest)
        for f in files:
            if rel / f not in wanted:
                (Path(root) / f).unlink()


def arena_map_type(header_text):
    """BPF_MAP_TYPE_ARENA's value, from enum bpf_map_type in a uapi bpf.h."""
    body = re.search(r"enum bpf_map_type \{(.*?)\};", header_text, re.S)
    if not body:
        raise HarnessError("no enum bpf_map_type in the uapi header")
    value, seen = -1, {}
    for line in re.sub(r"/\*.*?\*/", "", body.group(1), flags=re.S).split(","):
        name, _, init = line.strip().partition("=")
        name, init = name.strip(), init.strip()
        if not name:
            continue
        # C: an initializer (a number or an earlier name) restarts the count
        value = (seen[init] if init in seen else int(init, 0)) if init else value + 1
        seen[name] = value
        if name == "BPF_MAP_TYPE_ARENA":
            return value
    raise HarnessError("BPF_MAP_TYPE_ARENA not in enum bpf_map_type")


# --- guest -----------------------------------------------------------------

# One run: start the scheduler, wait until it is enabled, note its arena maps
# (from /proc/PID/fdinfo) and the enable sequence, run the workload, stop it
# with SIGTERM (a clean unregister), keep its dmesg lines.  KEY.info holds
# key=value facts the harness checks; the scheduler's last stats lines and
# exit line also go to the console (the run log).
GUEST_FUNCTIONS = r"""
SX=/sys/kernel/sched_ext
state() { cat $SX/state 2>/dev/null || echo missing; }
run_sched() {
  key=$1; mode=$2; nstats=$3; shift 3
  d=$OUT/$key; i=$d.info
  echo "== $key: $* ($mode)"
  lines=$(dmesg | wc -l)
  { echo "state_before=$(state)"; echo "t_start=$(date +%s.%N)"; } > $i
  if [ "$mode" = always ]; then
    LD_PRELOAD=$H/sched_arena_shim.so SCX_ARENA_MAP_FLAGS=@FLAGS@ "$@" > $d.log 2>&1 &
  else
    "$@" > $d.log 2>&1 &
  fi
  pid=$!
  n=0
  while [ "$(state)" != enabled ] && kill -0 $pid 2>/dev/null && [ $n -lt @WAIT@ ]; do
    sleep 0.1; n=$((n+1))
  done
  { echo "t_enabled=$(date +%s.%N)"; echo "state_enabled=$(state)"
    echo "ops=$(cat $SX/root/ops 2>/dev/null)"
    echo "enable_seq_start=$(cat $SX/enable_seq)"; } >> $i
  for f in /proc/$pid/fdinfo/*; do
    awk '/^map_type:/{t=$2} /^map_flags:/{fl=$2} /^map_id:/{id=$2}
         END{if (t == @ARENA@) print "arena=id " id " flags " fl}' $f 2>/dev/null
  done >> $i
  if [ "$(state)" = enabled ]; then
    timeout @WLTIMEOUT@ $H/sched_workload @SECS@ > $d.workload 2>&1
    echo "workload_rc=$?" >> $i
  else
    echo "workload_rc=not run" >> $i
  fi
  { echo "t_workload_end=$(date +%s.%N)"; echo "state_after_workload=$(state)"
    echo "enable_seq_end=$(cat $SX/enable_seq)"; } >> $i
  cat $SX/root/events > $d.events 2>/dev/null
  kill -TERM $pid 2>/dev/null
  wait $pid
  { echo "sched_rc=$?"; echo "t_end=$(date +%s.%N)"; } >> $i
  n=0
  while [ "$(state)" != disabled ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n+1)); done
  echo "state_final=$(state)" >> $i
  dmesg | tail -n +$((lines + 1)) > $d.dmesg
  grep -E '@STATS@' $d.log | tail -n $nstats | sed "s/^/$key: /"
  grep -E '^(EXIT|arena-shim):' $d.log | sed "s/^/$key: /"
  tail -n 1 $d.workload 2>/dev/null | sed "s/^/$key: /"
}
"""
STATS_LINE = r"^(stats  :|enqueues=|select_idle_cpu=|cpumask: )"


def guest_script(settings, runs, arena_type):
    """Shell commands for the guest: every planned run, then the benchmark."""
    script = (GUEST_FUNCTIONS.replace("@FLAGS@", f"{ARENA_MAP_ALWAYS:#x}")
              .replace("@WAIT@", str(ENABLE_WAIT * 10)).replace("@ARENA@", str(arena_type))
              .replace("@WLTIMEOUT@", str(WORKLOAD_TIMEOUT)).replace("@SECS@", str(RUN_SECONDS))
              .replace("@STATS@", STATS_LINE))
    lines = [f"H={out_dir(settings) / 'harness'}", script.strip()]
    for r in runs:
        lines.append(f"run_sched {r.key} {r.mode} {r.sched.stats_lines} "
                     f"{binary(settings, r.sched.name)} " + " ".join(r.args))
    if benchmarked(runs):
        v = next(r.sched for r in runs if r.sched.patch)
        lines += [f'echo "== {v.name} -B: bpf_cpumask_populate() copy vs direct"',
                  f"{binary(settings, v.name)} -B > $OUT/bench.log 2>&1",
                  'echo "bench_rc=$?" >> $OUT/bench.log',
                  "grep '^bench' $OUT/bench.log"]
    lines.append("exit 0")
    return "\n".join(lines) + "\n"


def progress(out, runs):
    """A progress callback: which run the guest is in."""
    def status():
        done = [r for r in runs if (Path(out) / f"{r.key}.info").exists()]
        return f"{len(done)}/{len(runs)} runs started" + (f", now {done[-1].key}" if done else "")
    return status


# --- results ---------------------------------------------------------------

@dataclass
class SchedRun:
    key: str
    name: str
    mode: str
    seconds: float = 0.0                          # enabled until stopped
    counts: dict = field(default_factory=dict)    # as the scheduler reports them
    problems: list = field(default_factory=list)
    stats: list = field(default_factory=list)     # its last stats lines
    exit_line: str = ""
    arenas: list = field(default_factory=list)    # "id N flags 0x..." per arena
    workload: str = ""
    masks: dict = field(default_factory=dict)     # variant: cpumask -> count

    @property
    def ok(self):
        return not self.problems

    def record(self):
        return {"key": self.key, "name": self.name, "mode": self.mode, "ok": self.ok,
                "seconds": round(self.seconds, 1), "counts": self.counts,
                "problems": self.problems, "exit": self.exit_line, "arenas": self.arenas,
                "workload": self.workload, "stats": self.stats,
                **({"masks": self.masks} if self.masks else {})}


def parse_info(text):
    info, arenas = {}, []
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if not sep:
            continue
        if key == "arena":
            arenas.append(value.strip())
        else:
            info[key.strip()] = value.strip()
    return info, arenas


def parse_stats(text):
    """Counts from a scheduler's stats output (its last report of each)."""
    counts = {}
    qmap = re.findall(r"^stats\s*: enq=(\d+) dsp=(\d+)", text, re.M)
    if qmap:
        counts["enqueued"], counts["dispatched"] = map(int, qmap[-1])
    for key, name in (("enqueues", "enqueued"), ("inits", "inits"), ("exits", "exits"),
                      ("select_idle_cpu", "select_idle"), ("select_busy_cpu", "select_busy")):
        found = re.findall(rf"(?:^|\t){key}=(\d+)", text, re.M)
        if found:
            counts[name] = int(found[-1])
    cpumask = re.findall(r"^cpumask: mode=(\w+) (.*)$", text, re.M)
    if cpumask:
        for k, v in re.findall(r"(\w+)=(\d+)", cpumask[-1][1]):
            counts[k] = int(v)
    return counts


def parse_masks(text):
    """The variant's last `masks=0x1:12,0x3:40,` histogram."""
    found = re.findall(r"^cpumask: .* masks=(\S*)$", text, re.M)
    if not found:
        return {}
    return {m: int(c) for m, c in re.findall(r"(0x[0-9a-f]+|0):(\d+)", found[-1])}


def stats_lines(text, count):
    """The last count stats lines (one report) a scheduler printed."""
    lines = [line.rstrip() for line in text.splitlines() if re.match(STATS_LINE, line)]
    return lines[-count:]


def seconds_between(info, a, b):
    try:
        return float(info[b]) - float(info[a])
    except (KeyError, ValueError):
        return 0.0


def parse_run(out, r):
    """Read one run's files and check it; returns a SchedRun."""
    out = Path(out)
    res = SchedRun(r.key, r.sched.name, r.mode)
    info_file = out / f"{r.key}.info"
    if not info_file.exists():
        res.problems.append("did not run (no .info file; the guest ended early?)")
        return res
    info, res.arenas = parse_info(info_file.read_text(errors="replace"))
    log = _read(out / f"{r.key}.log")
    res.counts = parse_stats(log)
    res.masks = parse_masks(log)
    res.stats = stats_lines(log, r.sched.stats_lines)
    exits = re.findall(r"^EXIT: .*$", log, re.M)
    res.exit_line = exits[-1] if exits else ""
    wl = re.findall(r"^workload: done .*$", _read(out / f"{r.key}.workload"), re.M)
    res.workload = wl[-1] if wl else ""
    res.seconds = seconds_between(info, "t_enabled", "t_end")
    p = res.problems

    def tail():
        return "\n  " + "\n  ".join(log.splitlines()[-15:]) if log else " (empty log)"

    if info.get("state_before") != "disabled":
        p.append(f"another scheduler was on before the run (state {info.get('state_before')})")
    if info.get("state_enabled") != "enabled":
        p.append(f"never enabled (state {info.get('state_enabled')}); its output:{tail()}")
        return res
    if info.get("ops") != r.sched.ops:
        p.append(f"the running scheduler is {info.get('ops')!r}, not {r.sched.ops!r}")
    if info.get("state_after_workload") != "enabled":
        p.append(f"not enabled at the end of the workload "
                 f"(state {info.get('state_after_workload')}): {res.exit_line}")
    elif info.get("enable_seq_start") != info.get("enable_seq_end"):
        p.append(f"re-enabled during the run (enable_seq {info.get('enable_seq_start')} -> "
                 f"{info.get('enable_seq_end')})")
    if info.get("workload_rc") != "0" or not res.workload.endswith(" ok"):
        p.append(f"workload failed (exit {info.get('workload_rc')}): "
                 f"{res.workload or 'no final line'}")
    if res.exit_line != "EXIT: unregistered from user space":
        p.append(f"not a clean unregister: {res.exit_line or 'no EXIT line'}{tail()}")
    if info.get("sched_rc") != "0":
        p.append(f"scheduler exited {info.get('sched_rc')}")
    if info.get("state_final") != "disabled":
        p.append(f"sched_ext state {info.get('state_final')} after the stop")
    dmesg = _read(out / f"{r.key}.dmesg")
    if f'"{r.sched.ops}" disabled (unregistered from user space)' not in dmesg:
        bad = [l for l in dmesg.splitlines() if "sched_ext" in l]
        p.append("kernel did not log a clean unregister: " + ("; ".join(bad) or "nothing"))
    p.extend(arena_problems(r, res.arenas, log))
    if not any(res.counts.get(k) for k in ("dispatched", "enqueued")):
        p.append(f"no scheduling reported (stats: {res.counts or 'no stats line'})")
    if r.sched.patch:
        conv = res.counts.get("conversions", 0)
        if not conv:
            p.append("no arena bitmap was turned into a cpumask")
        elif res.counts.get("same_as_arena") != conv:
            p.append(f"{conv - res.counts.get('same_as_arena', 0)} of {conv} cpumasks differ "
                     "from the arena bitmap they were made from")
    if res.seconds < RUN_SECONDS:
        p.append(f"ran {res.seconds:.1f} s, less than {RUN_SECONDS} s")
    return res


def arena_problems(r, arenas, log):
    """Each arena the scheduler holds has BPF_F_ARENA_MAP_ALWAYS iff the run
    asked for it, and in that mode the shim reported changing it."""
    if not arenas:
        return ["no arena map among the scheduler's file descriptors"]
    flags = [int(a.rsplit(" ", 1)[1], 0) for a in arenas]
    if r.always:
        out = [f"arena without BPF_F_ARENA_MAP_ALWAYS: {a}"
               for a, f in zip(arenas, flags) if not f & ARENA_MAP_ALWAYS]
        if not re.search(r"^arena-shim: arena .* -> 0x[0-9a-f]+: fd \d+$", log, re.M):
            out.append("the shim reported no arena it changed")
        return out
    return [f"arena with BPF_F_ARENA_MAP_ALWAYS in the default mode: {a}"
            for a, f in zip(arenas, flags) if f & ARENA_MAP_ALWAYS]


def parse(out, runs):
    return [parse_run(out, r) for r in runs]


def same_result(results):
    """Problems, if the variant's copy and direct runs disagree: both must
    have turned every bitmap into the same cpumask and seen the same masks."""
    by_mode = {r.mode: r for r in results if r.mode in ("copy", "direct")}
    if set(by_mode) != {"copy", "direct"}:
        return ["the variant did not run in both modes"]
    problems = []
    for r in by_mode.values():
        if not r.ok:
            problems.append(f"{r.key} failed")
    a, b = by_mode["copy"].masks, by_mode["direct"].masks
    if set(a) != set(b):
        problems.append(f"different cpumasks: copy saw {sorted(a)}, direct saw {sorted(b)}")
    return problems


BENCH_LINE = re.compile(r"^bench: round=(\d+) words=(\d+) iters=(\d+) copy_ns=([\d.]+) "
                        r"direct_ns=([\d.]+) copy/direct=([\d.]+)$", re.M)


def parse_bench(text):
    """{words: {"copy_ns": [...], "direct_ns": [...], "ratio": median, "range": (lo, hi)}}"""
    found = {}
    for _, words, _, copy_ns, direct_ns, ratio in BENCH_LINE.findall(text):
        v = found.setdefault(int(words), {"copy_ns": [], "direct_ns": [], "ratios": []})
        v["copy_ns"].append(float(copy_ns))
        v["direct_ns"].append(float(direct_ns))
        v["ratios"].append(float(ratio))
    for v in found.values():
        v["ratio"] = statistics.median(v["ratios"])
        v["range"] = (min(v["ratios"]), max(v["ratios"]))
    return found


def report(results, bench=None, same=None):
    """The results table (and the benchmark) as text."""
    lines = [f"{'scheduler':16} {'mode':8} {'runtime':>8} {'enqueued':>9} {'dispatched':>10}"
             f"  {'other':34} result"]
    for r in results:
        c = r.counts
        other = " ".join(f"{k}={c[k]}" for k in ("select_idle", "select_busy", "conversions",
                                                  "kicks") if k in c)
        lines.append(f"{r.name:16} {r.mode:8} {r.seconds:7.1f}s {c.get('enqueued', '-'):>9} "
                     f"{c.get('dispatched', '-'):>10}  {other:34} "
                     f"{'ok' if r.ok else 'FAIL: ' + r.problems[0].splitlines()[0]}")
    if same is not None:
        masks = next((r.masks for r in results if r.mode == "direct"), {})
        lines.append(f"variant copy vs direct: {'same result' if not same else '; '.join(same)}"
                     f" (cpumasks seen: {', '.join(sorted(masks)) or '-'})")
    if bench:
        for words, v in sorted(bench.items()):
            lines.append(f"bench bpf_cpumask_populate, {words:2} word(s) in use: copy / direct "
                         f"{v['ratio']:.2f}x ({v['range'][0]:.2f}-{v['range'][1]:.2f}), "
                         f"copy {statistics.median(v['copy_ns']):.0f} ns, direct "
                         f"{statistics.median(v['direct_ns']):.0f} ns per call (TCG)")
    return "\n".join(lines) + "\n"


def _read(path):
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""
