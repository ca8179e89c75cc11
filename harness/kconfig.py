"""Kconfig fragments: merge them onto tinyconfig, then check what stuck.

Merging is done here rather than by scripts/kconfig/merge_config.sh so the
rules can be tested without a kernel tree: later fragments win, and every
option a fragment asks for is checked against the final .config after
olddefconfig, so a dependency that silently drops an option is an error.
"""

import re

from harness import HarnessError

_SET = re.compile(r"^(CONFIG_\w+)=(.*)$")
_UNSET = re.compile(r"^# (CONFIG_\w+) is not set$")


def parse(text):
    """Return {option: value} for a fragment or .config; 'n' for unset."""
    opts = {}
    for raw in text.splitlines():
        line = raw.strip()
        m = _SET.match(line)
        if m:
            opts[m.group(1)] = m.group(2)
            continue
        m = _UNSET.match(line)
        if m:
            opts[m.group(1)] = "n"
    return opts


def merge(base_text, fragments):
    """Apply fragments (texts, in order) to a .config text; return the new text."""
    wanted = requested(fragments)
    out, seen = [], set()
    for raw in base_text.splitlines():
        line = raw.strip()
        m = _SET.match(line) or _UNSET.match(line)
        if m and m.group(1) in wanted:
            name = m.group(1)
            seen.add(name)
            out.append(render(name, wanted[name]))
        else:
            out.append(raw)
    out.extend(render(k, v) for k, v in wanted.items() if k not in seen)
    return "\n".join(out) + "\n"


def render(name, value):
    return f"# {name} is not set" if value == "n" else f"{name}={value}"


def requested(fragments):
    wanted = {}
    for frag in fragments:
        wanted.update(parse(frag))
    return wanted


def mismatches(wanted, final_text):
    """Options whose final value differs from the request: [(name, want, got)]."""
    final = parse(final_text)
    bad = []
    for name, want in wanted.items():
        got = final.get(name, "n")
        if want.strip('"') != got.strip('"'):
            bad.append((name, want, got))
    return bad


def check(wanted, final_text, where):
    bad = mismatches(wanted, final_text)
    if bad:
        rows = "\n".join(f"  {n}: asked {w}, got {g}" for n, w, g in bad)
        raise HarnessError(f"{where}: options dropped by Kconfig dependencies "
                           f"(add what they depend on to the fragment):\n{rows}")
