"""Kfunc arguments that take generic memory: the ones arena memory can reach.

The series lets a kfunc argument that takes generic memory accept arena
memory (PTR_TO_ARENA), checked at the call site.  This lists those arguments
for a build: every kfunc in the BTF of vmlinux and of the modules (a FUNC
with the decl tag "bpf_kfunc", from `bpftool btf dump ... format raw`), each
argument classified in the order get_kfunc_arg_type() in
kernel/bpf/verifier.c uses, and these kinds of memory kept:

  sized          pointer followed by a scalar named *__sz (KF_ARG_PTR_TO_MEM)
  const-sized    the same with *__szk: the size must be a verifier constant
  fixed scalar   pointer to a scalar, no size (KF_ARG_PTR_TO_MEM | MEM_FIXED_SIZE)
  scalar struct  pointer to a struct or union of scalars: KF_ARG_PTR_TO_BTF_ID,
                 which check_kfunc_args() takes as fixed-size memory when the
                 register is no BTF pointer, unless the kfunc uses the
                 argument as a kernel object (is_kfunc_arg_kernel_object():
                 an acquire or release kfunc, one returning a pointer to that
                 struct, or a struct with a registered destructor)

get_kfunc_arg_type() sends every struct pointer without a size argument to
KF_ARG_PTR_TO_BTF_ID before its fixed-size branch, so a struct of scalars is
fixed-size memory only through that fallback.

Flags come from the kfunc ID sets in each object's .BTF_ids section (symbols
__BTF_ID__set8__*, flagged BTF_SET8_KFUNCS: u32 cnt, u32 flags, then cnt
pairs of u32 BTF id, u32 kfunc flags), as resolve_btfids left them for this
build.  Unlike BTF_ID_FLAGS() in the source they hold exactly what the
config built, ids included, with no #ifdef or macro to interpret.
Destructor types come from the same section: a BTF_ID(struct, X) directly
followed by a BTF_ID(func, *_dtor), as register_btf_id_dtor_kfuncs() users
write them.
"""

import json
import mmap
import re
import shutil
import struct
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness import HarnessError

# include/linux/btf.h (bits 3 and 4 are unused in 7.3; bit 19 is the series')
FLAGS = {
    "KF_ACQUIRE": 1 << 0, "KF_RELEASE": 1 << 1, "KF_RET_NULL": 1 << 2,
    "KF_SLEEPABLE": 1 << 5, "KF_DESTRUCTIVE": 1 << 6, "KF_RCU": 1 << 7,
    "KF_ITER_NEW": 1 << 8, "KF_ITER_NEXT": 1 << 9, "KF_ITER_DESTROY": 1 << 10,
    "KF_RCU_PROTECTED": 1 << 11, "KF_FASTCALL": 1 << 12, "KF_ARENA_RET": 1 << 13,
    "KF_ARENA_ARG1": 1 << 14, "KF_ARENA_ARG2": 1 << 15, "KF_IMPLICIT_ARGS": 1 << 16,
    "KF_SPINLOCK_SAFE": 1 << 17, "KF_PERFMON": 1 << 18, "KF_NO_ARENA_MEM": 1 << 19,
}
KF_ITER = FLAGS["KF_ITER_NEW"] | FLAGS["KF_ITER_NEXT"] | FLAGS["KF_ITER_DESTROY"]
KF_OBJECT = FLAGS["KF_ACQUIRE"] | FLAGS["KF_RELEASE"]
BTF_SET8_KFUNCS = 1 << 0
MAX_BPF_FUNC_REG_ARGS = 5

SIZED, CONST_SIZED = "sized __sz", "const-sized __szk"
FIXED_SCALAR, SCALAR_STRUCT = "fixed-size scalar", "scalar struct (BTF_ID fallback)"

MODIFIERS = {"TYPEDEF", "CONST", "VOLATILE", "RESTRICT", "TYPE_TAG"}
# Kfuncs whose pointer arguments are all the program context
CTX_KFUNCS = {"bpf_cast_to_kern_ctx", "bpf_session_is_return", "bpf_session_cookie"}
# Canonical context types (include/linux/bpf_types.h) that are structs of
# scalars: for those program types btf_is_prog_ctx_type() makes the
# argument PTR_TO_CTX, in the others it is memory
SCALAR_CTX_TYPES = {"xdp_md": "XDP", "bpf_sock": "CGROUP_SOCK",
                    "bpf_sysctl": "CGROUP_SYSCTL", "bpf_cgroup_dev_ctx": "CGROUP_DEVICE",
                    "bpf_perf_event_data": "PERF_EVENT", "pt_regs": "KPROBE"}

_HEAD = re.compile(r"^\[(\d+)\] (\w+) '([^']*)'(.*)$")
_MEMBER = re.compile(r"^\t'([^']*)' type_id=(\d+)")
_ATTR = re.compile(r"(\w+)=(-?\w+)")


@dataclass
class BtfType:
    id: int
    kind: str
    name: str
    attrs: dict = field(default_factory=dict)
    members: list = field(default_factory=list)  # [(name, type_id)]: members, params

    @property
    def ref(self):
        return self.attrs.get("type_id", 0)


@dataclass
class MemArg:
    index: int
    name: str
    kind: str
    type: str
    size_arg: str = ""
    nullable: bool = False
    notes: list = field(default_factory=list)


@dataclass
class Kfunc:
    name: str
    object: str
    flags: int
    args: list
    in_set: bool = True

    @property
    def flag_names(self):
        return [n for n, v in FLAGS.items() if self.flags & v]


# --- BTF: bpftool's raw dump --------------------------------------------------

def parse_raw(text, types=None):
    """Add the types of a `bpftool btf dump ... format raw` text to types {id: BtfType}."""
    types = {} if types is None else types
    cur = None
    for line in text.splitlines():
        m = _HEAD.match(line)
        if m:
            attrs = {k: int(v) if re.fullmatch(r"-?\d+", v) else v
                     for k, v in _ATTR.findall(m.group(4))}
            cur = BtfType(int(m.group(1)), m.group(2), m.group(3), attrs)
            types[cur.id] = cur
            continue
        m = _MEMBER.match(line)
        if m and cur is not None:
            cur.members.append((m.group(1), int(m.group(2))))
    return types


def skip_modifiers(types, tid):
    """btf_type_skip_modifiers(): (id, type) past typedefs and qualifiers; None is void."""
    t = types.get(tid)
    while t is not None and t.kind in MODIFIERS:
        tid = t.ref
        t = types.get(tid)
    return tid, t


def is_scalar(t):
    """btf_type_is_scalar(): INT or ENUM (not ENUM64, not FLOAT)."""
    return t is not None and t.kind in ("INT", "ENUM")


def is_struct(t):
    return t is not None and t.kind in ("STRUCT", "UNION")


def is_scalar_struct(types, t, depth=0):
    """__btf_type_is_scalar_struct(): scalars, arrays of scalars, 4 levels of nesting."""
    if not is_struct(t):
        return False
    for _, mtid in t.members:
        _, m = skip_modifiers(types, mtid)
        if is_struct(m):
            if depth >= 3 or not is_scalar_struct(types, m, depth + 1):
                return False
        elif m is not None and m.kind == "ARRAY":
            if not m.attrs.get("nr_elems"):
                return False
            if not is_scalar(skip_modifiers(types, m.ref)[1]):
                return False
        elif not is_scalar(m):
            return False
    return True


def type_name(types, tid):
    """A short C spelling of a type, for the listing."""
    t = types.get(tid)
    if t is None:
        return "void"
    if t.kind == "PTR":
        return type_name(types, t.ref) + " *"
    if t.kind in ("CONST", "VOLATILE", "RESTRICT", "TYPE_TAG"):
        return type_name(types, t.ref)
    if t.kind in ("STRUCT", "UNION", "ENUM", "ENUM64"):
        return f"{t.kind.lower().replace('64', '')} {t.name}"
    if t.kind == "ARRAY":
        return f"{type_name(types, t.ref)}[{t.attrs.get('nr_elems', 0)}]"
    return t.name


def kfunc_funcs(types, first_id=1):
    """FUNC types (ids >= first_id) carrying the decl tag "bpf_kfunc"."""
    ids = {t.ref for t in types.values()
           if t.kind == "DECL_TAG" and t.name == "bpf_kfunc"
           and t.attrs.get("component_idx", -1) == -1 and t.id >= first_id}
    return sorted((types[i] for i in ids if i in types and types[i].kind == "FUNC"),
                  key=lambda f: f.name)


# --- classification -----------------------------------------------------------

def has_suffix(name, suffix):
    """btf_param_match_suffix(): the name ends in suffix and is longer than it."""
    return len(name) > len(suffix) and name.endswith(suffix)


def pointee(types, ptr):
    """(id, type) a pointer points to, past modifiers; type None is void."""
    return skip_modifiers(types, ptr.ref)


def points_to_struct(name):
    """A check that the pointer points to the struct of that name (kf_arg_btf_ids[])."""
    def check(types, func, params, i, flags):
        t = pointee(types, skip_modifiers(types, params[i][1])[1])[1]
        return t is not None and t.kind == "STRUCT" and t.name == name
    return check


def named(*suffixes):
    """A check that the argument's name ends in one of suffixes."""
    def check(types, func, params, i, flags):
        return any(has_suffix(params[i][0], s) for s in suffixes)
    return check


def is_ctx_kfunc(types, func, params, i, flags):
    return func.name in CTX_KFUNCS


def is_iter(types, func, params, i, flags):
    """is_kfunc_arg_iter(): arg 0 of an iterator kfunc, or a *__iter argument."""
    return i == 0 if flags & KF_ITER else has_suffix(params[i][0], "__iter")


def is_callback(types, func, params, i, flags):
    t = pointee(types, skip_modifiers(types, params[i][1])[1])[1]
    return t is not None and t.kind == "FUNC_PROTO"


# The pointer arguments get_kfunc_arg_type() resolves to something other than
# memory, in its order.  The program context (btf_is_prog_ctx_type(), second
# in its order) depends on the program type: see SCALAR_CTX_TYPES.
NOT_MEMORY = (
    ("KF_ARG_PTR_TO_CTX", is_ctx_kfunc),
    ("KF_ARG_PTR_TO_ALLOC_BTF_ID", named("__alloc")),
    ("KF_ARG_PTR_TO_REFCOUNTED_KPTR", named("__refcounted_kptr")),
    ("KF_ARG_PTR_TO_DYNPTR", points_to_struct("bpf_dynptr")),
    ("KF_ARG_PTR_TO_ITER", is_iter),
    ("KF_ARG_PTR_TO_LIST_HEAD", points_to_struct("bpf_list_head")),
    ("KF_ARG_PTR_TO_LIST_NODE", points_to_struct("bpf_list_node")),
    ("KF_ARG_PTR_TO_RB_ROOT", points_to_struct("bpf_rb_root")),
    ("KF_ARG_PTR_TO_RB_NODE", points_to_struct("bpf_rb_node")),
    ("KF_ARG_PTR_TO_CONST_STR", named("__str")),
    ("KF_ARG_CONST_MAP_PTR", named("__const_map")),
    ("KF_ARG_PTR_TO_BTF_ID (map)", named("__map")),
    ("KF_ARG_PTR_TO_WORKQUEUE", points_to_struct("bpf_wq")),
    ("KF_ARG_PTR_TO_TIMER", points_to_struct("bpf_timer")),
    ("KF_ARG_PTR_TO_TASK_WORK", points_to_struct("bpf_task_work")),
    ("KF_ARG_PTR_TO_IRQ_FLAG", named("__irq_flag")),
    ("KF_ARG_PTR_TO_RES_SPIN_LOCK", points_to_struct("bpf_res_spin_lock")),
    ("KF_ARG_PTR_TO_CALLBACK", is_callback),
    ("KF_ARG_PTR_TO_ARENA", named("__arena__nullable", "__arena")),
)


def special_kind(types, func, params, i, flags):
    """Why pointer argument i is no memory: a kfunc_ptr_arg_type name, or ''."""
    for kind, check in NOT_MEMORY:
        if check(types, func, params, i, flags):
            return kind
    return ""


def size_kind(types, params, i):
    """SIZED/CONST_SIZED if argument i + 1 is a scalar named *__sz/*__szk."""
    if i + 1 >= len(params):
        return ""
    name, tid = params[i + 1]
    if not is_scalar(skip_modifiers(types, tid)[1]):
        return ""
    if has_suffix(name, "__szk"):
        return CONST_SIZED
    if has_suffix(name, "__sz"):
        return SIZED
    return ""


def is_kernel_object(types, proto, ref_id, flags, dtor_types):
    """is_kfunc_arg_kernel_object(): the struct is used as an object, not memory."""
    if flags & KF_OBJECT or types[ref_id].name in dtor_types:
        return True
    _, ret = skip_modifiers(types, proto.attrs.get("ret_type_id", 0))
    if ret is None or ret.kind != "PTR":
        return False
    return skip_modifiers(types, ret.ref)[0] == ref_id


def classify(types, func, flags, dtor_types=frozenset()):
    """The generic-memory arguments of kfunc func: [MemArg]."""
    proto = types[func.ref]
    params = proto.members
    found = []
    for i in range(len(params)):
        arg = classify_arg(types, func, proto, params, i, flags, dtor_types)
        if arg is None:
            continue
        if flags & FLAGS["KF_FASTCALL"]:
            arg.notes.append("bpf_fastcall kfunc: arena memory rejected")
        if flags & FLAGS["KF_NO_ARENA_MEM"]:
            arg.notes.append("KF_NO_ARENA_MEM: arena memory rejected")
        if flags & FLAGS["KF_RELEASE"] and i == 0:
            arg.notes.append("released argument: must be referenced, arena memory rejected")
        last = i + 1 if arg.size_arg else i
        if last >= MAX_BPF_FUNC_REG_ARGS:
            arg.notes.append("stack argument: arena memory rejected")
        found.append(arg)
    return found


def classify_arg(types, func, proto, params, i, flags, dtor_types):
    """Argument i as get_kfunc_arg_type() sees it: a MemArg, or None if no memory."""
    name, tid = params[i]
    _, t = skip_modifiers(types, tid)
    if t is None or t.kind != "PTR":
        return None  # a scalar (a size, a constant) or rejected
    # gen_kfunc_arg_proto() skips these before get_kfunc_arg_type()
    if points_to_struct("bpf_prog_aux")(types, func, params, i, flags) or \
            has_suffix(name, "__ign"):
        return None
    if special_kind(types, func, params, i, flags):
        return None
    ref_id, ref = pointee(types, t)
    nullable = has_suffix(name, "__nullable")
    kind = size_kind(types, params, i)
    if kind:
        if ref is not None and not is_scalar(ref) and not is_scalar_struct(types, ref):
            return None  # rejected: "must point to void, scalar, or struct with scalar"
        arg = MemArg(i, name, kind, type_name(types, t.ref), params[i + 1][0], nullable)
    elif is_struct(ref):
        # KF_ARG_PTR_TO_BTF_ID; check_kfunc_args() falls back to fixed-size memory
        if not is_scalar_struct(types, ref) or \
                is_kernel_object(types, proto, ref_id, flags, dtor_types):
            return None
        arg = MemArg(i, name, SCALAR_STRUCT, type_name(types, t.ref), nullable=nullable)
        if ref.name in SCALAR_CTX_TYPES:
            arg.notes.append(f"program context in BPF_PROG_TYPE_{SCALAR_CTX_TYPES[ref.name]}")
    elif is_scalar(ref):
        arg = MemArg(i, name, FIXED_SCALAR, type_name(types, t.ref), nullable=nullable)
    else:
        return None  # rejected: "must point to scalar, or struct with scalar"
    if has_suffix(name, "__uninit"):
        arg.notes.append("__uninit: written, not read")
    return arg


# --- ELF: .BTF_ids -----------------------------------------------------------

def elf_sections(data):
    """{name: (addr, offset, size, link, entsize)} of a 64-bit little-endian ELF."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise HarnessError("not a 64-bit little-endian ELF file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    raw = []
    for n in range(shnum or struct.unpack_from("<Q", data, shoff + 32)[0]):
        name, _, _, addr, off, size, link, _, _, entsize = struct.unpack_from(
            "<IIQQQQIIQQ", data, shoff + n * shentsize)
        raw.append((name, addr, off, size, link, entsize))
    strtab = raw[shstrndx][2]
    return {cstr(data, strtab + name): (*rest, n) for n, (name, *rest) in enumerate(raw)}


def cstr(data, pos):
    return bytes(data[pos:data.find(b"\0", pos)]).decode()


def btf_ids_symbols(data):
    """[(file offset, name)] of the symbols in .BTF_ids, by address."""
    secs = elf_sections(data)
    if ".BTF_ids" not in secs or ".symtab" not in secs:
        return []
    addr, off, size, _, _, index = secs[".BTF_ids"]
    _, symoff, symsize, link, entsize, _ = secs[".symtab"]
    stroff = next(s[1] for s in secs.values() if s[5] == link)
    syms = []
    for pos in range(symoff, symoff + symsize, entsize or 24):
        name, _, _, shndx, value, _ = struct.unpack_from("<IBBHQQ", data, pos)
        if shndx != index:
            continue
        syms.append((off + value - addr, cstr(data, stroff + name)))
    return sorted(syms)


def kfunc_set_flags(data, syms):
    """{btf id: flags} from the BTF_SET8_KFUNCS sets (flags or'ed over sets)."""
    flags = {}
    for pos, name in syms:
        if not name.startswith("__BTF_ID__set8__"):
            continue
        cnt, set_flags = struct.unpack_from("<II", data, pos)
        if not set_flags & BTF_SET8_KFUNCS:
            continue
        for n in range(cnt):
            btf_id, kf = struct.unpack_from("<II", data, pos + 8 + 8 * n)
            if btf_id:
                flags[btf_id] = flags.get(btf_id, 0) | kf
    return flags


def dtor_types(syms):
    """Struct names with a destructor: BTF_ID(struct, X) right before BTF_ID(func, *_dtor)."""
    found = set()
    syms = [s for s in syms if s[1].startswith("__BTF_ID__")]
    for (pos, name), (npos, nname) in zip(syms, syms[1:]):
        s = re.match(r"__BTF_ID__struct__(\w+?)__\d+$", name)
        f = re.match(r"__BTF_ID__func__(\w+_dtor)__\d+$", nname)
        if s and f and npos == pos + 4:
            found.add(s.group(1))
    return found


def read_btf_ids(path):
    """(kfunc flags by BTF id, dtor struct names, has .BTF.base) of an ELF file."""
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        syms = btf_ids_symbols(data)
        return kfunc_set_flags(data, syms), dtor_types(syms), ".BTF.base" in elf_sections(data)


def flags_by_name(types, flags):
    """{kfunc name: flags} from {BTF id: flags}, the ids numbered as in types."""
    return {types[i].name: f for i, f in flags.items() if i in types}


# --- a build ------------------------------------------------------------------

def find_bpftool(build_dir):
    for cand in (Path(build_dir) / "selftests/tools/sbin/bpftool", shutil.which("bpftool")):
        if cand and Path(cand).exists():
            return Path(cand)
    raise HarnessError(f"no bpftool: build the selftests first ({build_dir}/selftests)")


def find_modules(build_dir, extra=()):
    """Built modules, one per file name: the build directory's, then extra ones."""
    seen = {}
    for ko in [*sorted(Path(build_dir).rglob("*.ko")), *map(Path, extra)]:
        seen.setdefault(ko.name, ko)
    return list(seen.values())


def stale_modules(build_dir, modules):
    """Modules older than vmlinux without a distilled base (.BTF.base) that libbpf
    relocates: their split BTF may name other base type ids."""
    built = (Path(build_dir) / "vmlinux").stat().st_mtime
    return [ko for ko in modules if ko.stat().st_mtime < built and not read_btf_ids(ko)[2]]


def audit(build_dir, dump, modules=()):
    """Every kfunc of vmlinux and modules with a generic-memory argument: [Kfunc].

    dump(path, base) returns bpftool's raw BTF dump of path, split BTF on top
    of base when base is given.  A module with a distilled base (.BTF.base,
    out-of-tree modules such as bpf_testmod) is relocated onto vmlinux by
    that, which renumbers its types; its .BTF_ids keep the numbering of its
    own BTF, so those ids are matched by name in a dump without base.
    """
    vmlinux = Path(build_dir) / "vmlinux"
    if not vmlinux.exists():
        raise HarnessError(f"{vmlinux} is missing: build the kernel first")
    base = parse_raw(dump(vmlinux, None))
    objects = [("vmlinux", vmlinux, base, 1)]
    for ko in modules:
        objects.append((ko.stem, ko, parse_raw(dump(ko, vmlinux), dict(base)), max(base) + 1))
    flags, dtors = {}, set()
    for _, path, types, _ in objects:
        by_id, obj_dtors, distilled = read_btf_ids(path)
        own = parse_raw(dump(path, None)) if distilled else types
        flags[path] = flags_by_name(own, by_id)
        dtors |= obj_dtors
    out = []
    for obj, path, types, first in objects:
        for func in kfunc_funcs(types, first):
            f = flags[path].get(func.name, 0)
            args = classify(types, func, f, dtors)
            if args:
                out.append(Kfunc(func.name, obj, f, args, func.name in flags[path]))
    return out


def audit_build(settings, toolchain, extra=()):
    """audit() of a harness build: its vmlinux, its modules and test_kmods/."""
    kmods = settings.tree / "tools/testing/selftests/bpf/test_kmods"
    modules = find_modules(settings.build_dir, [*sorted(kmods.glob("*.ko")), *extra])
    for ko in stale_modules(settings.build_dir, modules):
        print(f"warning: {ko} is older than vmlinux", file=sys.stderr)
    dump = bpftool_dump(toolchain, find_bpftool(settings.build_dir))
    return audit(settings.build_dir, dump, modules)


def bpftool_dump(toolchain, bpftool):
    """A dump() for audit() that runs bpftool through the toolchain (root or host)."""
    def dump(path, base):
        argv = [bpftool, *(["-B", base] if base else []), "btf", "dump", "file", path]
        res = subprocess.run(toolchain.wrap([*argv, "format", "raw"]), capture_output=True,
                             text=True, errors="replace")
        if res.returncode:
            raise HarnessError(f"bpftool btf dump {path} failed: {res.stderr.strip()}")
        return res.stdout
    return dump


# --- output -------------------------------------------------------------------

def render(kfuncs):
    """A text table, one row per memory argument."""
    rows = [("kfunc", "object", "arg", "kind", "type", "null", "flags / notes")]
    for k in kfuncs:
        flags = "|".join(f[3:] for f in k.flag_names) or "-"
        if not k.in_set:
            flags = "? (in no kfunc set)"
        for a in k.args:
            arg = f"{a.index}:{a.name}" + (f",{a.size_arg}" if a.size_arg else "")
            rows.append((k.name, k.object, arg, a.kind, a.type,
                         "yes" if a.nullable else "no", "; ".join([flags, *a.notes])))
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]) - 1)]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths)) + "  " + r[-1] for r in rows]
    args = sum(len(k.args) for k in kfuncs)
    refused = sum(1 for k in kfuncs if "KF_NO_ARENA_MEM" in k.flag_names)
    lines.append(f"{len(kfuncs)} kfuncs, {args} generic-memory arguments, "
                 f"{refused} kfuncs flagged KF_NO_ARENA_MEM")
    return "\n".join(line.rstrip() for line in lines) + "\n"


def to_json(kfuncs):
    return json.dumps([{**asdict(k), "flag_names": k.flag_names} for k in kfuncs], indent=1) + "\n"
