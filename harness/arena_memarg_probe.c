// SPDX-License-Identifier: GPL-2.0
/*
 * /init of the cross-architecture guest (harness/crossboot.py): what does the
 * verifier of a kernel whose JIT cannot check arena kfunc memory arguments
 * say when a program passes arena memory to a generic kfunc memory argument?
 *
 * Static, no libbpf: it mounts sysfs, finds bpf_copy_from_user_str() (a
 * common kfunc: void *dst, u32 dst__sz, ...) in /sys/kernel/btf/vmlinux,
 * creates and maps a one-page arena and loads two sleepable BPF_PROG_TYPE_SYSCALL
 * programs that differ only in where dst points:
 *
 *   stack:  r1 = r10 - 16                        (the control: must load)
 *   arena:  r1 = addr_space_cast(0x1000, 0, 1)   (PTR_TO_ARENA)
 *
 *   r2 = map_fd ll; r1 = <dst>; r2 = 16; r3 = 0; r4 = 0;
 *   call bpf_copy_from_user_str; r0 = 0; exit
 *
 * and prints the verifier log of a load that fails, then, for the harness
 * to parse,
 *
 *   probe: <name> load=ok
 *   probe: <name> load=errno:<n> (<strerror>) log: <first verifier log line
 *                                                naming the kfunc>
 *
 * then, as /init, powers the machine off.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/reboot.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KFUNC "bpf_copy_from_user_str"

static char log_buf[1 << 16];

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static void *read_file(const char *path, size_t *len)
{
	size_t cap = 1 << 20, n = 0;
	char *buf = malloc(cap);
	int fd = open(path, O_RDONLY);
	ssize_t r;

	if (fd < 0 || !buf)
		return NULL;
	while ((r = read(fd, buf + n, cap - n)) > 0) {
		n += r;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				return NULL;
		}
	}
	close(fd);
	*len = n;
	return r < 0 ? NULL : buf;
}

/* Bytes that follow a struct btf_type of this kind, or -1 if unknown. */
static long btf_extra(const struct btf_type *t)
{
	unsigned int vlen = BTF_INFO_VLEN(t->info);

	switch (BTF_INFO_KIND(t->info)) {
	case BTF_KIND_INT:
	case BTF_KIND_VAR:
	case BTF_KIND_DECL_TAG:
		return 4;
	case BTF_KIND_PTR:
	case BTF_KIND_FWD:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_FUNC:
	case BTF_KIND_FLOAT:
	case BTF_KIND_TYPE_TAG:
		return 0;
	case BTF_KIND_ARRAY:
		return sizeof(struct btf_array);
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		return (long)vlen * sizeof(struct btf_member);
	case BTF_KIND_ENUM:
		return (long)vlen * sizeof(struct btf_enum);
	case BTF_KIND_ENUM64:
		return (long)vlen * sizeof(struct btf_enum64);
	case BTF_KIND_FUNC_PROTO:
		return (long)vlen * sizeof(struct btf_param);
	case BTF_KIND_DATASEC:
		return (long)vlen * sizeof(struct btf_var_secinfo);
	}
	return -1;
}

/* The BTF id of the FUNC named name in vmlinux's BTF, or a negative errno. */
static int btf_func_id(const char *name)
{
	const struct btf_header *h;
	const char *types, *strs, *p;
	size_t len;
	int id = 1;
	char *buf = read_file("/sys/kernel/btf/vmlinux", &len);

	if (!buf)
		return -errno;
	h = (const void *)buf;
	if (len < sizeof(*h) || h->magic != BTF_MAGIC)
		return -EINVAL;
	types = buf + h->hdr_len + h->type_off;
	strs = buf + h->hdr_len + h->str_off;
	for (p = types; p < types + h->type_len; id++) {
		const struct btf_type *t = (const void *)p;
		long extra = btf_extra(t);

		if (extra < 0)
			return -EPROTO;
		if (BTF_INFO_KIND(t->info) == BTF_KIND_FUNC && !strcmp(strs + t->name_off, name))
			return id;
		p += sizeof(*t) + extra;
	}
	return -ENOENT;
}

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), \
	.src_reg = (s), .off = (o), .imm = (i) })

/* Load the program; return 0 or -errno, with the verifier log in log_buf. */
static int load(int map_fd, int kfunc_id, int arena)
{
	struct bpf_insn insns[] = {
		/* r2 = map_fd ll: ties the arena to the program */
		INSN(BPF_LD | BPF_DW | BPF_IMM, 2, BPF_PSEUDO_MAP_FD, 0, map_fd),
		INSN(0, 0, 0, 0, 0),
		/* stack: *(u64 *)(r10 - 16) = 0, *(u64 *)(r10 - 8) = 0; r1 = r10 - 16 */
		INSN(BPF_ST | BPF_DW | BPF_MEM, 10, 0, -16, 0),
		INSN(BPF_ST | BPF_DW | BPF_MEM, 10, 0, -8, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 1, 10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, 1, 0, 0, -16),
		/* arena: r1 = 0x1000; r1 = addr_space_cast(r1, 0, 1) */
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 1, 0, 0, 0x1000),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 1, 1, BPF_ADDR_SPACE_CAST, 1),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 16),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 4, 0, 0, 0),
		INSN(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, kfunc_id),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	union bpf_attr attr;
	int fd;

	if (!arena) {
		/* the stack version: no arena cast */
		insns[6] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0);
		insns[7] = insns[6];
	} else {
		/* the arena version: no stack pointer in r1 */
		insns[4] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, 1, 0, 0, 0);
		insns[5] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, 1, 0, 0, 0);
	}
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SYSCALL;
	attr.prog_flags = BPF_F_SLEEPABLE;
	attr.insns = (uintptr_t)insns;
	attr.insn_cnt = sizeof(insns) / sizeof(insns[0]);
	attr.license = (uintptr_t)"GPL";
	attr.log_buf = (uintptr_t)log_buf;
	attr.log_size = sizeof(log_buf);
	attr.log_level = 1;
	log_buf[0] = 0;
	fd = sys_bpf(BPF_PROG_LOAD, &attr);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* The first log line that names the kfunc (or the first line, if none does). */
static const char *log_line(void)
{
	static char line[512];
	char *p = log_buf, *nl, *hit = NULL;

	for (; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		if (memmem(p, nl - p, KFUNC "()", strlen(KFUNC) + 2)) {
			hit = p;
			break;
		}
		if (!*nl)
			break;
	}
	p = hit ? hit : log_buf;
	nl = strchr(p, '\n');
	snprintf(line, sizeof(line), "%.*s", nl ? (int)(nl - p) : (int)strlen(p), p);
	return line;
}

static void report(const char *name, int err)
{
	if (!err) {
		printf("probe: %s load=ok\n", name);
		return;
	}
	printf("%s", log_buf);
	printf("probe: %s load=errno:%d (%s) log: %s\n", name, -err, strerror(-err), log_line());
}

int main(void)
{
	union bpf_attr attr;
	int id, map_fd;

	mkdir("/sys", 0755);
	if (mount("sysfs", "/sys", "sysfs", 0, NULL) && errno != EBUSY)
		printf("probe: error mount sysfs: %s\n", strerror(errno));
	id = btf_func_id(KFUNC);
	if (id < 0) {
		printf("probe: error no BTF id for %s: %s\n", KFUNC, strerror(-id));
		goto out;
	}
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARENA;
	attr.max_entries = 1;
	attr.map_flags = BPF_F_MMAPABLE;
	map_fd = sys_bpf(BPF_MAP_CREATE, &attr);
	if (map_fd < 0) {
		printf("probe: error arena map create: %s\n", strerror(errno));
		goto out;
	}
	/* a program may use the arena only once its user address is set */
	if (mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0) == MAP_FAILED) {
		printf("probe: error arena mmap: %s\n", strerror(errno));
		goto out;
	}
	printf("probe: kfunc %s btf_id=%d arena fd=%d\n", KFUNC, id, map_fd);
	report("stack", load(map_fd, id, 0));
	report("arena", load(map_fd, id, 1));
	printf("probe: done\n");
out:
	fflush(stdout);
	if (getpid() != 1)	/* run by hand, not as /init */
		return 0;
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}
