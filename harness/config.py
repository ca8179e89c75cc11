"""Where things live, and the few knobs a user sets through the environment.

  ARENA_CACHE   cache for the build root, kernel tree, builds and ccache
                (default ~/.cache/arena-harness); reused across runs
  LINUX_TREE    use this kernel git tree instead of the Debian source
                (the series is then neither downloaded nor applied)
  LINUX_BASE    with LINUX_TREE: the commit the series sits on (for export)
  SERIES        "none": build and test the unpatched base instead, in a
                worktree of the tree at the base and a build dir of its own
  VARIANT       normal | debug (KASAN, lockdep, kmemleak; own build dir)
  ACCEL         auto | kvm | tcg (auto probes KVM with a short boot)
  TOOLCHAIN     auto | root | host (host: use the host's own tools)
  TESTS         test_progs -t filter for `make test`
  ALWAYS_TESTS  -t filter for the BPF_F_ARENA_MAP_ALWAYS pass ("none": no pass)
  SCHEDS        sched_ext schedulers `make test` runs (comma-separated names,
                "none": none; default all, none for VARIANT=debug)
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent

# The series base: Debian's linux-source-7.3 from trixie-backports.
SOURCE_PACKAGE = "linux-source-7.3"
BASE_FILE = PROJECT / "patches" / "BASE"

# What `make test` runs in the guest: upstream's arena-related tests, the
# verifier tests, the tests of what the series' first patches change
# (kfunc object arguments: cpumask, kfunc_call; programs running past their
# last reference: exceptions, prog_teardown) and this project's own tests.
DEFAULT_TESTS = (
    "arena,verifier_arena,stream,struct_ops_arena,"
    "test_struct_ops_arena,libarena,verifier,"
    "cpumask,kfunc_call,exceptions,prog_teardown"
)
# The debug kernel (KASAN, lockdep, kmemleak) under TCG verifies programs so
# slowly that the 1M-instruction verifier tests outlive test_progs' 120 s
# watchdog; its default selection is the arena-related tests (the project's
# among them) and the tests of the series' first patches.
DEBUG_TESTS = "arena,stream,struct_ops_arena,prog_teardown,cpumask"
# test_progs kills a test after 120 s; the debug kernel under TCG needs more
# (arena_htab_asm alone outlived 120 s there).
DEBUG_WATCHDOG = 900
# The same boot runs upstream's arena tests a second time with every arena
# created with BPF_F_ARENA_MAP_ALWAYS (test_progs' BPF_TEST_ARENA_MAP_FLAGS),
# reported as "always:<test>".  arena_map_always sets its own flags.
ALWAYS_TESTS = "arena,verifier_arena,stream,struct_ops_arena,test_struct_ops_arena,libarena"
# test_progs -d: glob patterns of tests the pass leaves out: those that set
# the arena mode themselves, and arena_mem_usage, which writes the first page
# of its 4 GiB aligned arena from user space: below a MAP_ALWAYS arena's
# watermark that is SIGSEGV by design, and test_progs would die of it.
ALWAYS_SKIP = "arena_map_always*,arena_memargs,arena_mem_usage"


def read_base():
    """Return the recorded base as a dict (package, version, kernel)."""
    base = {}
    for line in BASE_FILE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            base[key.strip()] = value.strip()
    return base


@dataclass
class Settings:
    cache: Path = field(default_factory=lambda: Path(
        os.environ.get("ARENA_CACHE") or Path.home() / ".cache" / "arena-harness"))
    variant: str = field(default_factory=lambda: os.environ.get("VARIANT") or "normal")
    accel: str = field(default_factory=lambda: os.environ.get("ACCEL") or "auto")
    toolchain: str = field(default_factory=lambda: os.environ.get("TOOLCHAIN") or "auto")
    linux_tree: str = field(default_factory=lambda: os.environ.get("LINUX_TREE") or "")
    linux_base: str = field(default_factory=lambda: os.environ.get("LINUX_BASE") or "")
    tests: str = field(default_factory=lambda: os.environ.get("TESTS") or "")
    # "none" turns the MAP_ALWAYS pass off
    always_tests: str = field(default_factory=lambda: os.environ.get("ALWAYS_TESTS") or "")
    series: str = field(default_factory=lambda: os.environ.get("SERIES") or "")
    # "none" turns the scheduler runs off (harness/scheds.py)
    scheds: str = field(default_factory=lambda: os.environ.get("SCHEDS") or "")
    # extra guest kernel command line, space-separated (diagnostics)
    append: str = field(default_factory=lambda: os.environ.get("APPEND") or "")
    build_name: str = ""  # build directory name; defaults to the variant
    # test_progs -w (seconds a test may run); 0: test_progs' default
    watchdog: int = 0
    cpus: int = 2
    memory: str = "4G"

    def __post_init__(self):
        self.cache = Path(self.cache).resolve()
        if not self.tests:
            self.tests = DEBUG_TESTS if self.variant == "debug" else DEFAULT_TESTS
        if not self.watchdog and self.variant == "debug":
            self.watchdog = DEBUG_WATCHDOG
        if not self.always_tests:
            self.always_tests = ALWAYS_TESTS
        if self.always_tests == "none":
            self.always_tests = ""
        if not self.scheds and self.variant == "debug":
            self.scheds = "none"  # the debug kernel under TCG: too slow for 30 s runs
        from harness import HarnessError
        if self.variant not in ("normal", "debug"):
            raise HarnessError(f"VARIANT={self.variant}: use 'normal' or 'debug'")
        if self.series not in ("", "none"):
            raise HarnessError(f"SERIES={self.series}: leave it unset (patches/) or use 'none'")
        if self.unpatched and self.linux_tree and not self.linux_base:
            raise HarnessError("SERIES=none with LINUX_TREE needs LINUX_BASE, the base commit")

    @property
    def unpatched(self):
        """Build and test the base without the series (SERIES=none)."""
        return self.series == "none"

    @property
    def root(self):
        return self.cache / "root"

    @property
    def main_tree(self):
        """The kernel git tree the series is developed in."""
        return Path(self.linux_tree).resolve() if self.linux_tree else self.cache / "src" / "linux"

    @property
    def tree(self):
        """The tree that is built: the main tree, or its worktree at the base."""
        return self.cache / "src" / "linux-base" if self.unpatched else self.main_tree

    @property
    def build_dir(self):
        default = f"base-{self.variant}" if self.unpatched else self.variant
        return self.cache / "build" / (self.build_name or default)

    @property
    def selftests_dir(self):
        return self.build_dir / "selftests"

    @property
    def ccache_dir(self):
        return self.cache / "ccache"

    @property
    def fragments(self):
        frags = [PROJECT / "configs" / "vm.config"]
        if self.variant == "debug":
            frags.append(PROJECT / "configs" / "debug.config")
        return frags

    @property
    def runs_dir(self):
        return PROJECT / "out" / "runs"
