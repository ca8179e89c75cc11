import pytest

from harness import HarnessError, kconfig

BASE = """\
CONFIG_64BIT=y
# CONFIG_BPF_SYSCALL is not set
CONFIG_NR_CPUS=1
CONFIG_LSM="landlock"
"""


def test_parse_reads_set_unset_and_strings():
    opts = kconfig.parse(BASE + "# a comment\n\nCONFIG_X=m\n")
    assert opts == {"CONFIG_64BIT": "y", "CONFIG_BPF_SYSCALL": "n", "CONFIG_NR_CPUS": "1",
                    "CONFIG_LSM": '"landlock"', "CONFIG_X": "m"}


def test_merge_replaces_in_place_and_appends_new_options():
    out = kconfig.merge(BASE, ["CONFIG_BPF_SYSCALL=y\nCONFIG_NR_CPUS=8\nCONFIG_NEW=y\n"])
    lines = out.splitlines()
    assert lines[1] == "CONFIG_BPF_SYSCALL=y"
    assert lines[2] == "CONFIG_NR_CPUS=8"
    assert lines[-1] == "CONFIG_NEW=y"
    assert out.count("BPF_SYSCALL") == 1


def test_later_fragment_wins_including_unset():
    out = kconfig.merge(BASE, ["CONFIG_KASAN=y\n", "# CONFIG_KASAN is not set\n"])
    assert kconfig.parse(out)["CONFIG_KASAN"] == "n"
    assert "# CONFIG_KASAN is not set" in out


def test_mismatches_report_dropped_options():
    wanted = kconfig.requested(["CONFIG_A=y\nCONFIG_B=y\n# CONFIG_C is not set\n"])
    final = "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=y\n"
    assert kconfig.mismatches(wanted, final) == [("CONFIG_B", "y", "n"), ("CONFIG_C", "n", "y")]
    # an unset option may simply be absent from the final config
    assert kconfig.mismatches({"CONFIG_D": "n"}, final) == []


def test_check_names_every_dropped_option():
    with pytest.raises(HarnessError) as e:
        kconfig.check({"CONFIG_B": "y", "CONFIG_E": "y"}, "CONFIG_A=y\n", "kernel config")
    assert "CONFIG_B: asked y, got n" in str(e.value)
    assert "CONFIG_E: asked y, got n" in str(e.value)


def test_project_fragments_parse_and_do_not_contradict_themselves():
    from harness.config import PROJECT
    for frag in (PROJECT / "configs").glob("*.config"):
        text = frag.read_text()
        names = [line.split("=")[0] for line in text.splitlines()
                 if line.startswith("CONFIG_")]
        assert len(names) == len(set(names)), f"{frag.name} sets an option twice"
        assert kconfig.parse(text), frag.name
