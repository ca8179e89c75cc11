"""The instruction sequences Documentation/bpf/map_arena.rst shows are the
ones the verifier emits.

The selftests memargs_xlated_const and memargs_xlated_var
(progs/verifier_arena_memargs.c) pin the emitted sequence with __xlated
patterns, checked in the guest against the program as loaded.  Here each of
those patterns must match a line of the code block the document shows for
that selftest: same instruction index, same instruction, with the pattern's
{{regex}} holes matching the document's example values.
"""

import re

import pytest

from tests.guest.conftest import guest_outcome

DOC = "Documentation/bpf/map_arena.rst"
PROGS = "tools/testing/selftests/bpf/progs/verifier_arena_memargs.c"
SELFTESTS = ("memargs_xlated_const", "memargs_xlated_var")


def xlated_patterns(source, name):
    """The __xlated("...") strings in front of the program called name."""
    m = re.search(r"((?:__\w+\(.*\)\n)+)__naked void " + name + r"\(", source)
    assert m, f"{PROGS}: no annotations before {name}()"
    return re.findall(r'^__xlated\("(.*)"\)$', m.group(1), re.M)


def pattern_regex(pattern):
    """'6: if w1 <= {{0x[0-9a-f]+}} goto pc+5' -> a regex for a doc line."""
    index, _, insn = pattern.partition(": ")
    parts = re.split(r"\{\{(.*?)\}\}", insn)
    body = "".join(p if i % 2 else re.escape(p) for i, p in enumerate(parts))
    return re.compile(rf"^\s*{re.escape(index)}: \([0-9a-f]{{2}}\) {body}$")


def doc_block(doc, name):
    """The indented literal block that follows the paragraph naming name."""
    m = re.search(r"``" + name + r"``[^\n]*(?:\n[^\n]+)*::\n\n((?:  [^\n]*\n)+)", doc)
    assert m, f"{DOC}: no example block after a paragraph naming ``{name}``"
    return m.group(1).splitlines()


@pytest.fixture
def tree(request):
    outcome = guest_outcome(request.config)
    if outcome["error"] is not None:
        pytest.skip("the pipeline failed (see test_pipeline)")
    return outcome["settings"].tree


@pytest.mark.parametrize("name", SELFTESTS)
def test_documented_sequence_is_emitted(tree, name):
    doc = (tree / DOC).read_text()
    patterns = xlated_patterns((tree / PROGS).read_text(), name)
    assert patterns, f"{name} has no __xlated patterns"
    lines = doc_block(doc, name)
    for pattern in patterns:
        assert any(pattern_regex(pattern).match(line) for line in lines), \
            f"{DOC} shows no line for {name}'s {pattern!r}; its block:\n" + "\n".join(lines)
