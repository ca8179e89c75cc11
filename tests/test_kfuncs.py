"""Which kfunc arguments take generic memory: BTF classification, .BTF_ids, listing."""

import json
import struct

import pytest

from harness import kfuncs

# A hand-written `bpftool btf dump file vmlinux format raw`: the kinds of
# argument get_kfunc_arg_type() tells apart.
BASE = """\
[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED
[2] INT 'long unsigned int' size=8 bits_offset=0 nr_bits=64 encoding=(none)
[3] TYPEDEF 'u32' type_id=4
[4] INT 'unsigned int' size=4 bits_offset=0 nr_bits=32 encoding=(none)
[5] PTR '(anon)' type_id=0
[6] CONST '(anon)' type_id=0
[7] PTR '(anon)' type_id=6
[8] PTR '(anon)' type_id=1
[9] STRUCT 'pair' size=8 vlen=2
\t'a' type_id=1 bits_offset=0
\t'b' type_id=3 bits_offset=32
[10] PTR '(anon)' type_id=9
[11] STRUCT 'holder' size=8 vlen=1
\t'p' type_id=5 bits_offset=0
[12] PTR '(anon)' type_id=11
[13] STRUCT 'bpf_dynptr' size=16 vlen=2
\t'__opaque' type_id=14 bits_offset=0
\t'x' type_id=1 bits_offset=64
[14] ARRAY '(anon)' type_id=2 index_type_id=1 nr_elems=1
[15] PTR '(anon)' type_id=13
[16] FUNC_PROTO '(anon)' ret_type_id=1 vlen=1
\t'x' type_id=1
[17] PTR '(anon)' type_id=16
[18] ENUM64 'big' encoding=UNSIGNED size=8 vlen=1
\t'BIG' val=1ULL
[19] PTR '(anon)' type_id=18
[20] STRUCT 'bpf_prog_aux' size=8 vlen=1
\t'p' type_id=5 bits_offset=0
[21] PTR '(anon)' type_id=20
[22] TYPEDEF 'pair_t' type_id=9
[23] CONST '(anon)' type_id=22
[24] PTR '(anon)' type_id=23
[25] STRUCT 'empty_arr' size=0 vlen=1
\t'data' type_id=26 bits_offset=0
[26] ARRAY '(anon)' type_id=1 index_type_id=1 nr_elems=0
[27] PTR '(anon)' type_id=25
[28] STRUCT 'xdp_md' size=4 vlen=1
\t'data' type_id=4 bits_offset=0
[29] PTR '(anon)' type_id=28
[30] UNION 'u' size=4 vlen=2
\t'i' type_id=1 bits_offset=0
\t'f' type_id=4 bits_offset=0
[31] PTR '(anon)' type_id=30
[32] VAR 'v' type_id=1, linkage=static
"""

FUNCS = {
    "sized": "'buf' type_id=5 'buf__sz' type_id=3",
    "const_sized": "'buf__nullable' type_id=7 'buf__szk' type_id=2",
    "sized_bad_pointee": "'h' type_id=12 'h__sz' type_id=4",
    "fixed": "'p' type_id=8 'q' type_id=19",
    "structs": "'s' type_id=10 'h' type_id=12 't' type_id=24 'e' type_id=27 'u' type_id=31",
    "special": ("'d' type_id=15 'cb' type_id=17 'name__str' type_id=7 'm__map' type_id=5 "
                "'x__ign' type_id=8 'a__arena' type_id=8 'f__irq_flag' type_id=8 "
                "'aux' type_id=21"),
    "no_size_void": "'buf' type_id=5 'len' type_id=3",
    "stack": ("'a' type_id=1 'b' type_id=1 'c' type_id=1 'd' type_id=1 "
              "'mem' type_id=5 'mem__sz' type_id=3"),
    "xdp": "'ctx' type_id=29",
}


def raw_dump(funcs=FUNCS, first=100, extra=""):
    """BASE plus one FUNC_PROTO, FUNC and bpf_kfunc decl tag per entry of funcs."""
    lines, tid = [], first
    for name, params in funcs.items():
        parts = params.split("'")[1:]
        pairs = [(parts[i], parts[i + 1].split("=")[1].strip()) for i in range(0, len(parts), 2)]
        lines.append(f"[{tid}] FUNC_PROTO '(anon)' ret_type_id=1 vlen={len(pairs)}")
        lines += [f"\t'{n}' type_id={t}" for n, t in pairs]
        lines.append(f"[{tid + 1}] FUNC '{name}' type_id={tid} linkage=global")
        lines.append(f"[{tid + 2}] DECL_TAG 'bpf_kfunc' type_id={tid + 1} component_idx=-1")
        tid += 3
    return BASE + "\n".join(lines) + "\n" + extra


@pytest.fixture
def types():
    return kfuncs.parse_raw(raw_dump())


def func(types, name):
    return next(f for f in kfuncs.kfunc_funcs(types) if f.name == name)


def args_of(types, name, flags=0, dtors=frozenset()):
    return {a.name: a for a in kfuncs.classify(types, func(types, name), flags, dtors)}


def test_parse_raw_reads_kinds_names_members_and_attributes(types):
    assert types[2].name == "long unsigned int" and types[2].kind == "INT"
    assert types[9].members == [("a", 1), ("b", 3)]
    assert types[14].attrs["nr_elems"] == 1 and types[14].ref == 2
    assert types[18].kind == "ENUM64" and types[18].members == []  # values are no members
    assert types[32].ref == 1
    assert [f.name for f in kfuncs.kfunc_funcs(types)] == sorted(FUNCS)


def test_only_funcs_with_the_bpf_kfunc_decl_tag_are_kfuncs():
    text = raw_dump({"k": "'p' type_id=8"}) + (
        "[200] FUNC 'plain' type_id=100 linkage=global\n"
        "[201] DECL_TAG 'bpf_kfunc' type_id=200 component_idx=0\n"
        "[202] DECL_TAG 'other' type_id=200 component_idx=-1\n")
    assert [f.name for f in kfuncs.kfunc_funcs(kfuncs.parse_raw(text))] == ["k"]


def test_sized_and_const_sized_memory(types):
    a = args_of(types, "sized")
    assert list(a) == ["buf"]
    assert (a["buf"].kind, a["buf"].size_arg, a["buf"].type, a["buf"].nullable) == \
        (kfuncs.SIZED, "buf__sz", "void", False)
    b = args_of(types, "const_sized")["buf__nullable"]
    assert (b.kind, b.size_arg, b.nullable) == (kfuncs.CONST_SIZED, "buf__szk", True)


def test_sized_pointer_to_a_struct_with_pointers_is_rejected_not_memory(types):
    assert args_of(types, "sized_bad_pointee") == {}


def test_fixed_size_needs_a_pointer_to_int_or_enum_not_enum64(types):
    a = args_of(types, "fixed")
    assert list(a) == ["p"]
    assert (a["p"].kind, a["p"].type) == (kfuncs.FIXED_SCALAR, "int")


def test_void_pointer_without_size_is_not_memory(types):
    assert args_of(types, "no_size_void") == {}


def test_struct_of_scalars_is_memory_only_through_the_btf_id_fallback(types):
    a = args_of(types, "structs")
    # holder has a pointer; empty_arr an array of 0 elements
    assert sorted(a) == ["s", "t", "u"]
    assert {x.kind for x in a.values()} == {kfuncs.SCALAR_STRUCT}
    assert a["t"].type == "pair_t"  # through a const typedef
    assert a["u"].type == "union u"


def test_struct_used_as_kernel_object_is_not_memory(types):
    for flag in ("KF_ACQUIRE", "KF_RELEASE"):
        assert "s" not in args_of(types, "structs", kfuncs.FLAGS[flag])
    assert "s" not in args_of(types, "structs", dtors={"pair"})
    # fixed-size scalars are memory in an acquire kfunc all the same
    assert "p" in args_of(types, "fixed", kfuncs.FLAGS["KF_ACQUIRE"])


def test_struct_returned_by_the_kfunc_is_a_kernel_object():
    text = raw_dump({"ret": "'s' type_id=10 'o' type_id=27"}).replace(
        "[100] FUNC_PROTO '(anon)' ret_type_id=1", "[100] FUNC_PROTO '(anon)' ret_type_id=24")
    t = kfuncs.parse_raw(text)
    # returns const pair_t *: pair is an object there; empty_arr is no memory anyway
    assert args_of(t, "ret") == {}


def test_special_arguments_are_not_memory(types):
    assert args_of(types, "special") == {}
    f = func(types, "special")
    params = types[f.ref].members
    kinds = [kfuncs.special_kind(types, f, params, i, 0) for i in range(len(params))]
    assert kinds[:3] == ["KF_ARG_PTR_TO_DYNPTR", "KF_ARG_PTR_TO_CALLBACK",
                         "KF_ARG_PTR_TO_CONST_STR"]
    assert "KF_ARG_PTR_TO_ARENA" in kinds and "KF_ARG_PTR_TO_IRQ_FLAG" in kinds


def test_iterator_state_is_arg_0_of_an_iterator_kfunc(types):
    assert "p" not in args_of(types, "fixed", kfuncs.FLAGS["KF_ITER_NEW"])
    t = kfuncs.parse_raw(raw_dump({"it": "'a' type_id=8 'b__iter' type_id=8 'c' type_id=8"}))
    assert sorted(args_of(t, "it")) == ["a", "c"]


def test_ctx_kfuncs_take_no_memory():
    t = kfuncs.parse_raw(raw_dump({"bpf_session_cookie": "'p' type_id=8"}))
    assert args_of(t, "bpf_session_cookie") == {}


def test_notes_for_what_the_call_site_check_rejects(types):
    stack = args_of(types, "stack")["mem"]
    assert stack.notes == ["stack argument: arena memory rejected"]
    fast = args_of(types, "sized", kfuncs.FLAGS["KF_FASTCALL"])["buf"]
    assert fast.notes == ["bpf_fastcall kfunc: arena memory rejected"]
    rel = args_of(types, "fixed", kfuncs.FLAGS["KF_RELEASE"])["p"]
    assert "released argument" in rel.notes[0]
    assert "BPF_PROG_TYPE_XDP" in args_of(types, "xdp")["ctx"].notes[0]


def test_scalar_struct_nesting_stops_at_four_levels():
    def chain(levels):
        lines = []
        for n in range(levels):
            member = 1 if n == levels - 1 else 51 + n
            lines += [f"[{50 + n}] STRUCT 's{n}' size=4 vlen=1",
                      f"\t'm' type_id={member} bits_offset=0"]
        return kfuncs.parse_raw(BASE + "\n".join(lines) + "\n")
    four, five = chain(4), chain(5)
    assert kfuncs.is_scalar_struct(four, four[50])
    assert not kfuncs.is_scalar_struct(five, five[50])


# --- .BTF_ids --------------------------------------------------------------

def elf(symbols, data, extra_sections=()):
    """A minimal ET_REL ELF64: .BTF_ids holding data, symbols [(name, offset)] in it."""
    names = b"\0.BTF_ids\0.symtab\0.strtab\0.shstrtab\0" + b"".join(
        s.encode() + b"\0" for s in extra_sections)
    strtab, offs = b"\0", []
    for name, _ in symbols:
        offs.append(len(strtab))
        strtab += name.encode() + b"\0"
    symtab = bytes(24) + b"".join(struct.pack("<IBBHQQ", o, 0, 0, 1, value, 0)
                                  for o, (_, value) in zip(offs, symbols))
    blobs = [data, symtab, strtab, names]
    pos, body, offsets = 64, b"", []
    for b in blobs:
        offsets.append(pos + len(body))
        body += b
    shoff = 64 + len(body)
    sh = [bytes(64)]
    for n, (name_off, kind, link, entsize) in enumerate(
            [(1, 1, 0, 0), (10, 2, 3, 24), (18, 3, 0, 0), (26, 3, 0, 0)]):
        sh.append(struct.pack("<IIQQQQIIQQ", name_off, kind, 0, 0, offsets[n], len(blobs[n]),
                              link, 0, 1, entsize))
    pos = 36
    for s in extra_sections:
        sh.append(struct.pack("<IIQQQQIIQQ", pos, 1, 0, 0, 0, 0, 0, 0, 1, 0))
        pos += len(s) + 1
    head = b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack(
        "<HHIQQQIHHHHHH", 1, 62, 1, 0, 0, shoff, 0, 64, 0, 0, 64, len(sh), 4)
    return head + body + b"".join(sh)


def btf_ids(pairs, set_flags=kfuncs.BTF_SET8_KFUNCS):
    data = struct.pack("<II", len(pairs), set_flags) + b"".join(
        struct.pack("<II", i, f) for i, f in pairs)
    # a dtor list after the set: struct pair, then its *_dtor function
    syms = [("__BTF_ID__set8__my_kfuncs", 0), ("my_dtor_ids", len(data)),
            ("__BTF_ID__struct__pair__12", len(data)),
            ("__BTF_ID__func__pair_release_dtor__13", len(data) + 4),
            ("__BTF_ID__struct__lonely__14", len(data) + 8)]
    return syms, data + bytes(12)


def test_btf_ids_give_kfunc_flags_and_dtor_types(tmp_path):
    syms, data = btf_ids([(101, 0x5), (104, 0x80), (0, 0x1)])
    path = tmp_path / "vmlinux"
    path.write_bytes(elf(syms, data))
    flags, dtors, distilled = kfuncs.read_btf_ids(path)
    assert flags == {101: 0x5, 104: 0x80}
    assert dtors == {"pair"}
    assert not distilled


def test_sets_without_the_kfuncs_flag_are_ignored(tmp_path):
    syms, data = btf_ids([(101, 0x5)], set_flags=0)
    path = tmp_path / "x.ko"
    path.write_bytes(elf(syms, data, [".BTF.base"]))
    flags, _, distilled = kfuncs.read_btf_ids(path)
    assert flags == {} and distilled


def test_not_an_elf_file_is_an_error(tmp_path):
    (tmp_path / "vmlinux").write_bytes(b"nope" * 20)
    with pytest.raises(kfuncs.HarnessError):
        kfuncs.read_btf_ids(tmp_path / "vmlinux")


# --- a build -------------------------------------------------------------------

def fake_build(tmp_path):
    """vmlinux, and a module with a distilled base: its own BTF numbers its
    kfunc 101, relocated onto vmlinux 1001.  dump() answers as bpftool would."""
    syms, data = btf_ids([(101, kfuncs.FLAGS["KF_SLEEPABLE"])])  # "sized"
    (tmp_path / "vmlinux").write_bytes(elf(syms, data))
    msyms, mdata = btf_ids([(101, kfuncs.FLAGS["KF_RCU"])])
    ko = tmp_path / "mod.ko"
    ko.write_bytes(elf(msyms, mdata, [".BTF.base"]))
    vmlinux = raw_dump({"sized": FUNCS["sized"], "fixed": FUNCS["fixed"]})
    module = {"mod_mem": "'m' type_id=8 'm__sz' type_id=3"}

    def dump(path, base):
        if path.name == "vmlinux":
            return vmlinux
        return raw_dump(module, first=1000 if base else 100)[len(BASE):]
    return ko, dump


def test_audit_lists_memory_kfuncs_of_vmlinux_and_modules(tmp_path):
    ko, dump = fake_build(tmp_path)
    found = kfuncs.audit(tmp_path, dump, [ko])
    assert [(k.name, k.object) for k in found] == [
        ("fixed", "vmlinux"), ("sized", "vmlinux"), ("mod_mem", "mod")]
    by = {k.name: k for k in found}
    assert by["sized"].flag_names == ["KF_SLEEPABLE"]
    assert not by["fixed"].in_set
    # the module's .BTF_ids id 101 is its own FUNC mod_mem, found by name
    assert by["mod_mem"].flag_names == ["KF_RCU"] and by["mod_mem"].in_set


def test_render_and_json(tmp_path):
    ko, dump = fake_build(tmp_path)
    found = kfuncs.audit(tmp_path, dump, [ko])
    text = kfuncs.render(found)
    assert text.splitlines()[0].split()[:3] == ["kfunc", "object", "arg"]
    assert "0:buf,buf__sz" in text and "SLEEPABLE" in text and "? (in no kfunc set)" in text
    assert text.splitlines()[-1] == ("3 kfuncs, 3 generic-memory arguments, "
                                     "0 kfuncs flagged KF_NO_ARENA_MEM")
    rows = json.loads(kfuncs.to_json(found))
    assert rows[1]["args"][0]["kind"] == kfuncs.SIZED
    assert rows[1]["flag_names"] == ["KF_SLEEPABLE"]


def test_audit_needs_a_vmlinux(tmp_path):
    with pytest.raises(kfuncs.HarnessError, match="vmlinux"):
        kfuncs.audit(tmp_path, lambda p, b: "", [])
