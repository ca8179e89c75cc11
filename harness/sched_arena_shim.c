// SPDX-License-Identifier: GPL-2.0
/*
 * LD_PRELOAD shim: run an unmodified sched_ext scheduler with extra map
 * flags on every BPF arena it creates.
 *
 *   LD_PRELOAD=sched_arena_shim.so SCX_ARENA_MAP_FLAGS=0x100000 scx_qmap
 *
 * The schedulers link libbpf statically, and libbpf issues every bpf(2)
 * command through libc's syscall(__NR_bpf, cmd, attr, size[, common,
 * common_size]).  This shim defines syscall(), so the dynamic linker binds
 * the scheduler's calls to it; a BPF_MAP_CREATE (with or without
 * BPF_COMMON_ATTRS) of a BPF_MAP_TYPE_ARENA map gets SCX_ARENA_MAP_FLAGS
 * ORed into map_flags on a copy of the attributes, everything else goes to
 * libc's syscall() unchanged.  Each arena it changes is reported on stderr:
 *
 *   arena-shim: arena 'arena' map_flags 0x400 -> 0x100400: fd 5
 *
 * The same idea as test_progs' BPF_TEST_ARENA_MAP_FLAGS (arena_map_flags.c),
 * which wraps syscall() at link time; here the binary stays upstream's.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>		/* the kernel tree's tools/include/uapi */

#ifndef BPF_COMMON_ATTRS
#define BPF_COMMON_ATTRS (1 << 16)
#endif

static long (*real_syscall)(long, ...);

static __u32 extra_flags(void)
{
	static __u32 flags = -1;
	const char *s;

	if (flags == (__u32)-1) {
		s = getenv("SCX_ARENA_MAP_FLAGS");
		flags = s ? strtoul(s, NULL, 0) : 0;
	}
	return flags;
}

/* syscall(2) passes at most six arguments, all in registers */
long syscall(long number, ...)
{
	/* room for a bpf_attr larger than this header's: the size is the caller's */
	union {
		union bpf_attr attr;
		char raw[4096];
	} u;
	long a[6], ret;
	va_list ap;
	int i, err;

	if (!real_syscall)
		real_syscall = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	va_start(ap, number);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);

	if (number == __NR_bpf && (a[0] & ~BPF_COMMON_ATTRS) == BPF_MAP_CREATE && a[1] &&
	    (unsigned long)a[2] >= offsetof(union bpf_attr, map_flags) + sizeof(__u32) &&
	    (unsigned long)a[2] <= sizeof(u) && extra_flags()) {
		memset(&u, 0, sizeof(u));
		memcpy(&u, (void *)a[1], a[2]);
		if (u.attr.map_type == BPF_MAP_TYPE_ARENA) {
			__u32 before = u.attr.map_flags;

			u.attr.map_flags |= extra_flags();
			ret = real_syscall(number, a[0], &u, a[2], a[3], a[4], a[5]);
			err = errno;
			fprintf(stderr, "arena-shim: arena '%.*s' map_flags %#x -> %#x: %s %ld\n",
				(int)sizeof(u.attr.map_name), u.attr.map_name, before,
				u.attr.map_flags, ret < 0 ? "error" : "fd", ret < 0 ? (long)err : ret);
			errno = err;
			return ret;
		}
	}
	return real_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
