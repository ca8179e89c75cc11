"""Tool checks and the guard against deleting a root with live mounts."""

import pytest

from harness import HarnessError, toolchain


def test_missing_tool_names_its_package():
    have = {"git", "mount", "chroot"}
    missing = toolchain.missing_host_tools(which=lambda t: t in have)
    assert missing == {"unshare": "util-linux", "debootstrap": "debootstrap"}


def test_ensure_names_the_packages_of_missing_tools(tmp_path, monkeypatch):
    from harness import HarnessError
    from harness.config import Settings
    monkeypatch.setattr(toolchain.shutil, "which", lambda t: None if t == "debootstrap" else "/x")
    tc = toolchain.Toolchain(Settings(cache=tmp_path, toolchain="root"))
    with pytest.raises(HarnessError, match=r"debootstrap \(apt-get install debootstrap\)"):
        tc.ensure(tmp_path / "log")


def test_host_adequacy_checks_versions():
    def which(_):
        return True

    def versions(clang, pahole):
        return lambda t: {"clang": clang, "pahole": pahole}[t]

    assert toolchain.host_is_adequate(which, versions("Debian clang version 21.1.8", "v1.30"))
    assert not toolchain.host_is_adequate(which, versions("Debian clang version 16.0.6", "v1.30"))
    assert not toolchain.host_is_adequate(which, versions("clang version 19.1.0", "v1.24"))
    assert not toolchain.host_is_adequate(lambda t: t != "vng",
                                          versions("clang version 21.0.0", "v1.30"))


def test_refuses_to_remove_a_root_with_live_mounts(tmp_path):
    mounts = tmp_path / "mounts"
    root = tmp_path / "root"
    root.mkdir()
    mounts.write_text(f"proc /proc proc rw 0 0\nudev {root}/dev devtmpfs rw 0 0\n")
    with pytest.raises(HarnessError, match="still mounted"):
        toolchain.refuse_if_mounted(root, mounts_file=mounts)
    mounts.write_text(f"udev {root}-other/dev devtmpfs rw 0 0\n")
    toolchain.refuse_if_mounted(root, mounts_file=mounts)


def test_registry_and_disk_errors_are_explained(tmp_path):
    log = tmp_path / "log"
    log.write_text("E: Failed to fetch http://deb.debian.org/debian/dists/trixie/InRelease  "
                   "Temporary failure resolving 'deb.debian.org'\n")
    assert "cannot reach the Debian package registry" in toolchain.registry_hint(log)
    log.write_text("dpkg: error: No space left on device\n")
    assert "disk is full" in toolchain.registry_hint(log)
    log.write_text("E: Unable to locate package nothing-like-this\n")
    assert toolchain.registry_hint(log) == ""


def test_commands_run_in_a_private_mount_namespace(tmp_path):
    from harness.config import Settings
    tc = toolchain.Toolchain(Settings(cache=tmp_path, toolchain="root"))
    argv = tc.wrap(["make", "-j2"], cwd="/src")
    assert argv[:4] == ["unshare", "-m", "--propagation", "private"]
    assert "chroot" in argv[7] and f"mount --bind \"{tmp_path}\"" in argv[7]
    assert argv[-2:] == ["make", "-j2"] and "-C" in argv
