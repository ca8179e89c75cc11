"""Build, boot and test a Linux BPF patch series under virtme-ng.

One module per job: toolchain (the trixie build root), source (kernel git
tree and the patch series), kconfig (config fragments), build (kernel,
bpf_testmod, test_progs), vm (booting a guest, splat detection), selftests
(test_progs in the guest and its JSON summary), bench (timings and ratios),
summary (machine-readable run records), kfuncs (the kfunc arguments that
take arena memory), scheds (sched_ext schedulers on arena memory, in the
guest).  cli is the thin front end.
"""


class HarnessError(Exception):
    """An error the user can act on; the CLI prints it without a traceback."""
