# Front door.  `make demo` builds, boots and shows the feature; `make test`
# runs the test suite (pytest).  Both set up a fresh machine on their own.
#
#   make demo | test | fast | build | apply | export | bench | bench-build | baseline
#   make test VARIANT=debug      KASAN/lockdep/kmemleak kernel, own build dir
#   make test TESTS=arena        another test_progs -t filter
#   make test SERIES=none        the unpatched base (own worktree and build dir);
#                                `make baseline` then records it
#   make compare A=out/runs/X B=out/runs/Y
#   make scheds [SCHEDS=scx_qmap] only the sched_ext schedulers (arena modes, variant)
#   make kfunc-audit [JSON=1]    kfunc args that take generic (so arena) memory
#   make cross [ARCHES=arm64,...] build and link the series for arm64, riscv64, i386
#   make series-check            each patch builds on its own; checkpatch --strict
#   make ci-flavors [SERIES=none] BPF CI's flavors (no_alu32, cpuv4, test_verifier,
#                                test_maps) against tests/baseline-flavors.json
#   APPEND="a=b c"               extra guest kernel command line (diagnostics)
#   V=1                          stream every command's output

PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)
HARNESS = $(PYTHON) -m harness
PYTEST = $(PYTHON) -m pytest -ra -p no:cacheprovider

export VARIANT ACCEL TOOLCHAIN LINUX_TREE LINUX_BASE TESTS ALWAYS_TESTS SERIES SCHEDS APPEND ARENA_CACHE V

.PHONY: demo test fast build apply export bench bench-build baseline compare kfunc-audit cross ci-flavors series-check deps

demo: deps
	$(HARNESS) demo

test: deps
	$(PYTEST) tests

fast: deps
	$(PYTEST) tests --ignore=tests/guest

build: deps
	$(HARNESS) build

apply: deps
	$(HARNESS) apply

export:
	$(HARNESS) export

bench: deps
	$(HARNESS) bench

bench-build: deps
	$(HARNESS) bench-build $(if $(FRESH),--fresh)

baseline:
	$(HARNESS) baseline $(or $(RUN),out/latest)

compare:
	$(HARNESS) compare $(A) $(B)

kfunc-audit:
	$(HARNESS) kfuncs $(if $(JSON),--json)

scheds: deps
	$(HARNESS) scheds

cross: deps
	$(HARNESS) cross $(if $(ARCHES),--arches $(ARCHES))

ci-flavors: deps
	$(HARNESS) ci-flavors

series-check: deps
	$(HARNESS) series-check

deps:
	@$(HARNESS) deps
