"""The build root: a Debian trixie tree made by debootstrap, used by chroot.

The host (Debian 12) has clang 16 and pahole 1.24, too old for BPF
selftests and BTF.  The root gets trixie's gcc-14, pahole 1.30, QEMU and
virtme-ng, and clang-21 from trixie-backports.  It is made once and reused:
a stamp file records the package list it was made with.

Every command in the root runs in a private mount namespace (unshare -m), so
the bind mounts of /dev, /proc and /sys and of the cache and project
directories vanish with the process and never outlive it.
"""

import os
import re
import shutil

from harness import HarnessError
from harness.config import PROJECT
from harness.proc import capture, run, say

SUITE = "trixie"
MIRROR = "http://deb.debian.org/debian"
SOURCES = f"""\
deb {MIRROR} trixie main
deb {MIRROR} trixie-updates main
deb {MIRROR} trixie-backports main
deb http://deb.debian.org/debian-security trixie-security main
"""
PACKAGES = (
    "gcc g++ make bc bison flex cpio ccache kmod file xz-utils git rsync "
    "libelf-dev zlib1g-dev libzstd-dev libcap-dev libssl-dev dwarves "
    "python3 python3-pytest qemu-system-x86 virtme-ng busybox-static udev "
    "iproute2 procps "
    "clang-21/trixie-backports llvm-21/trixie-backports lld-21/trixie-backports "
    "llvm-21-dev/trixie-backports "
    "linux-source-7.3=7.3.4-1~bpo13+1"
).split()

# Host commands the harness needs, and the Debian package that has each.
HOST_TOOLS = {
    "git": "git",
    "unshare": "util-linux",
    "chroot": "coreutils",
    "mount": "mount",
    "debootstrap": "debootstrap",
}
# What "adequate host tools" means for TOOLCHAIN=host.
HOST_MINIMUM = {"clang": (18,), "pahole": (1, 26)}


def stamp_text():
    return "\n".join([SUITE, SOURCES, *PACKAGES]) + "\n"


def missing_host_tools(which=None, tools=HOST_TOOLS):
    """Return {tool: Debian package} for each required host command not found."""
    which = which or shutil.which
    return {t: p for t, p in tools.items() if not which(t)}


def ensure_host_packages(python_has_pytest):
    """Install the host packages the harness and its tests need, if missing."""
    need = sorted(set(missing_host_tools().values()))
    if not python_has_pytest:
        need.append("python3-pytest")
    if not need:
        return
    if os.geteuid() != 0:
        raise HarnessError(f"missing host packages: {' '.join(need)}; "
                           f"run: sudo apt-get install {' '.join(need)}")
    say(f"deps: installing {' '.join(need)}")
    log = PROJECT / "out" / "host-deps.log"
    for argv in (["apt-get", "update", "-q"],
                 ["apt-get", "install", "-y", "-q", "--no-install-recommends", *need]):
        res = run(argv, log, " ".join(argv[:2]), check=False,
                  env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        if res.rc:
            raise HarnessError(registry_hint(log) or f"{' '.join(argv[:2])} failed; see {log}")


def parse_version(text):
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    return tuple(int(x) for x in m.groups() if x is not None) if m else ()


def host_is_adequate(which=shutil.which, version_of=None):
    """True if the host has clang >= 18, pahole >= 1.26, vng and qemu."""
    version_of = version_of or (lambda t: capture([t, "--version"], check=False))
    if not all(which(t) for t in ("clang", "pahole", "vng", "qemu-system-x86_64")):
        return False
    for tool, minimum in HOST_MINIMUM.items():
        ver = parse_version(version_of(tool))
        if ver[: len(minimum)] < minimum:
            return False
    return True


class Toolchain:
    """Runs commands either in the build root or on the host."""

    def __init__(self, settings):
        self.s = settings
        self.mode = settings.toolchain
        if self.mode == "auto":
            self.mode = "host" if host_is_adequate() else "root"
        if self.mode not in ("host", "root"):
            raise HarnessError(f"TOOLCHAIN={self.mode}: use auto, root or host")

    @property
    def stamp(self):
        return self.s.root / ".arena-harness-stamp"

    def identity(self):
        """Changes whenever the tools change: the root's package list, or 'host'."""
        return "host" if self.mode == "host" else stamp_text()

    def describe(self):
        if self.mode == "host":
            return "host tools (clang >= 18, pahole >= 1.26, vng, qemu found on the host)"
        return f"debootstrap root {self.s.root} (Debian {SUITE} + backports)"

    def ensure(self, log):
        """Make the build root if it is missing or was made from another package list."""
        if self.mode == "host":
            say(f"toolchain: {self.describe()}")
            return False
        if os.geteuid() != 0:
            raise HarnessError("the build root needs root (debootstrap, chroot, unshare); "
                               "run as root or set TOOLCHAIN=host with clang >= 18, "
                               "pahole >= 1.26, vng and qemu-system-x86 installed")
        missing = missing_host_tools()
        if missing:
            raise HarnessError("missing host tools: " + ", ".join(
                f"{t} (apt-get install {p})" for t, p in missing.items()))
        if self.stamp.exists() and self.stamp.read_text() == stamp_text():
            say(f"toolchain: {self.describe()}, up to date")
            return False
        self._create(log)
        return True

    def _create(self, log):
        root, tmp = self.s.root, self.s.root.with_name("root.tmp")
        for path in (root, tmp):
            if path.exists():
                refuse_if_mounted(path)
                say(f"toolchain: removing incomplete root {path}")
                shutil.rmtree(path)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        res = run(["debootstrap", "--variant=minbase", SUITE, tmp, MIRROR], log,
                  "debootstrap", check=False)
        if res.rc:
            raise HarnessError(registry_hint(res.log) or
                               f"debootstrap failed; see {res.log}")
        (tmp / "etc/apt/sources.list").write_text(SOURCES)
        shutil.copy("/etc/resolv.conf", tmp / "etc/resolv.conf")
        for title, argv in (
            ("apt-get update", ["apt-get", "update", "-q"]),
            ("apt-get install", ["apt-get", "install", "-y", "-q",
                                 "--no-install-recommends", *PACKAGES]),
        ):
            res = run(self.wrap(argv, root=tmp, binds=False), log, title, check=False)
            if res.rc:
                raise HarnessError(registry_hint(res.log) or
                                   f"{title} in the build root failed; see {res.log}")
        # virtme-init ends the guest with `poweroff -f`; busybox provides it
        # without pulling systemd into the root.
        (tmp / "usr/sbin/poweroff").symlink_to("/bin/busybox")
        (tmp / self.stamp.name).write_text(stamp_text())
        tmp.rename(root)

    def env(self):
        # CCACHE_DEPEND: hash the headers gcc lists in the kernel's -MMD
        # dependency file instead of running the preprocessor once more on
        # every miss.  A cold-cache build of kernel/bpf/ and net/core/ took
        # 84 s with the default mode, 62 s with this, 61 s with no ccache.
        return {
            "PATH": "/usr/lib/ccache:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": "/root", "TERM": "dumb", "LANG": "C.UTF-8",
            "CCACHE_DIR": str(self.s.ccache_dir), "CCACHE_DEPEND": "1",
            "DEBIAN_FRONTEND": "noninteractive",
        }

    def wrap(self, argv, cwd=None, root=None, binds=True):
        """Return a command line that runs argv with the chosen tools, in cwd."""
        argv = [os.fspath(a) for a in argv]
        env = ["env", "-i", "-C", os.fspath(cwd or "/"),
               *(f"{k}={v}" for k, v in self.env().items())]
        if self.mode == "host":
            return env + argv
        # Identity bind mounts: the cache and the project have the same path
        # inside the root as outside, so no path is ever translated.
        shared = [os.fspath(self.s.cache), os.fspath(PROJECT)]
        if self.s.linux_tree:
            shared.append(os.fspath(self.s.main_tree))
        script = ['R="$1"; shift', 'mount --rbind /dev "$R/dev"',
                  'mount -t proc proc "$R/proc"', 'mount --rbind /sys "$R/sys"']
        if binds:
            for path in shared:
                script.append(f'mkdir -p "$R{path}"; mount --bind "{path}" "$R{path}"')
        script.append('exec chroot "$R" /usr/bin/"$@"')
        return ["unshare", "-m", "--propagation", "private", "sh", "-e", "-c",
                "\n".join(script), "sh", os.fspath(root or self.s.root), *env, *argv]


def refuse_if_mounted(path, mounts_file="/proc/mounts"):
    """Raise if anything is mounted below path (rm -rf would reach the host)."""
    path = os.path.realpath(path).rstrip("/") + "/"
    with open(mounts_file) as f:
        for line in f:
            target = line.split()[1].replace("\\040", " ")
            if (target.rstrip("/") + "/").startswith(path):
                raise HarnessError(f"{target} is still mounted inside {path}; "
                                   "unmount it before the root is removed")


def registry_hint(log):
    text = open(log, errors="replace").read()[-20000:]
    if re.search(r"Temporary failure resolving|Could not resolve|Failed getting release file|"
                 r"Network is unreachable|Connection (refused|timed out)|Unable to connect",
                 text):
        return ("cannot reach the Debian package registry (deb.debian.org); "
                f"check the network, then run again. Log: {log}")
    if "No space left on device" in text:
        return f"the disk is full (see `df -h`); log: {log}"
    return ""
