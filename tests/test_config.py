import pytest

from harness import HarnessError
from harness.config import DEFAULT_TESTS, Settings


def test_empty_environment_values_mean_defaults(monkeypatch, tmp_path):
    # make exports its variables even when they are unset, as empty strings
    for var in ("VARIANT", "ACCEL", "TOOLCHAIN", "LINUX_TREE", "TESTS", "SERIES"):
        monkeypatch.setenv(var, "")
    monkeypatch.setenv("ARENA_CACHE", "")
    s = Settings()
    assert (s.variant, s.accel, s.toolchain, s.tests) == ("normal", "auto", "auto", DEFAULT_TESTS)
    assert s.linux_tree == "" and s.cache.name == "arena-harness" and not s.unpatched


def test_debug_variant_has_its_own_build_dir_and_fragment(monkeypatch, tmp_path):
    monkeypatch.setenv("VARIANT", "debug")
    s = Settings(cache=tmp_path)
    assert s.build_dir == tmp_path / "build" / "debug"
    assert [f.name for f in s.fragments] == ["vm.config", "debug.config"]
    assert "verifier" not in s.tests.split(",")


def test_unknown_variant_is_refused(monkeypatch):
    monkeypatch.setenv("VARIANT", "fast")
    with pytest.raises(HarnessError, match="VARIANT=fast"):
        Settings()


def test_unpatched_base_has_its_own_tree_and_build_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("SERIES", "none")
    s = Settings(cache=tmp_path)
    assert s.unpatched and s.tree == tmp_path / "src" / "linux-base"
    assert s.main_tree == tmp_path / "src" / "linux"
    assert s.build_dir == tmp_path / "build" / "base-normal"
    monkeypatch.setenv("SERIES", "")
    assert Settings(cache=tmp_path).build_dir == tmp_path / "build" / "normal"


def test_series_knob_is_checked(monkeypatch, tmp_path):
    monkeypatch.setenv("SERIES", "base")
    with pytest.raises(HarnessError, match="SERIES=base"):
        Settings(cache=tmp_path)
    monkeypatch.setenv("SERIES", "none")
    monkeypatch.setenv("LINUX_TREE", str(tmp_path))
    with pytest.raises(HarnessError, match="needs LINUX_BASE"):
        Settings(cache=tmp_path)
