// SPDX-License-Identifier: GPL-2.0
/*
 * A small workload for sched_ext schedulers: it forks, sleeps and migrates.
 *
 *   sched_workload [SECONDS]      (default 30)
 *
 * Until SECONDS have passed it runs rounds; each round forks
 *   - PAIRS pairs of processes that ping-pong a byte over two pipes, each
 *     pinned with sched_setaffinity() to one CPU and moved to another one
 *     halfway through (migrations while the partner waits on the pipe);
 *   - SLEEPERS processes that nanosleep() 1 ms at a time and hop from CPU
 *     to CPU after every sleep;
 *   - SHORT processes that exit at once (task init/exit churn).
 * It waits for every child and checks its exit status.  Counters live in a
 * shared anonymous mapping.  It prints a progress line every 5 s and a final
 * line the harness parses:
 *
 *   workload: done seconds=30.2 rounds=41 forks=410 pingpongs=16400
 *             sleeps=1640 migrations=2132 failures=0 ok
 *
 * Exit status 0 only if every child exited 0 and at least one round ran.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { PAIRS = 2, TRIPS = 200, SLEEPERS = 2, HOPS = 20, SHORT = 4 };

struct counters {
	unsigned long forks, pingpongs, sleeps, migrations, failures;
};

static struct counters *cnt;
static int cpus[64];
static int nr_cpus;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void add(unsigned long *c, unsigned long v)
{
	__atomic_fetch_add(c, v, __ATOMIC_RELAXED);
}

/* Pin the caller to cpus[idx % nr_cpus]; count a migration if it moved. */
static int move_to(int idx)
{
	int before = sched_getcpu(), want = cpus[idx % nr_cpus];
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(want, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -1;
	if (sched_getcpu() != want)	/* the kernel moves us before returning */
		return -1;
	if (before != want)
		add(&cnt->migrations, 1);
	return 0;
}

static int full_read(int fd, char *c)
{
	ssize_t n;

	do
		n = read(fd, c, 1);
	while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : -1;
}

/* One side of a ping-pong pair: TRIPS round trips, migrating halfway. */
static int pingpong(int rd, int wr, int first, int cpu_idx)
{
	char c = 'x';
	int i;

	if (move_to(cpu_idx))
		return 1;
	for (i = 0; i < TRIPS; i++) {
		if (i == TRIPS / 2 && move_to(cpu_idx + 1))
			return 2;
		if (first) {
			if (write(wr, &c, 1) != 1 || full_read(rd, &c))
				return 3;
			add(&cnt->pingpongs, 1);
		} else {
			if (full_read(rd, &c) || write(wr, &c, 1) != 1)
				return 3;
		}
	}
	return 0;
}

static int sleeper(int cpu_idx)
{
	struct timespec ms = { 0, 1000 * 1000 };
	int i;

	for (i = 0; i < HOPS; i++) {
		while (nanosleep(&ms, NULL) && errno == EINTR)
			;
		add(&cnt->sleeps, 1);
		if (move_to(cpu_idx + i))
			return 4;
	}
	return 0;
}

static pid_t spawn(int (*fn)(int, int, int, int), int a, int b, int c, int d)
{
	pid_t pid = fork();

	if (pid == 0) {
		alarm(120);	/* a child whose partner died must not hang the run */
		_exit(fn(a, b, c, d));
	}
	if (pid > 0)
		add(&cnt->forks, 1);
	return pid;
}

static int do_sleeper(int cpu_idx, int b, int c, int d)
{
	return sleeper(cpu_idx);
}

static int do_short(int a, int b, int c, int d)
{
	return 0;
}

static int round_once(int round)
{
	pid_t kids[PAIRS * 2 + SLEEPERS + SHORT];
	int n = 0, i, status, bad = 0;

	for (i = 0; i < PAIRS; i++) {
		int ab[2], ba[2];

		if (pipe(ab) || pipe(ba))
			return -1;
		/* the two sides start on different CPUs and swap halfway */
		kids[n++] = spawn(pingpong, ba[0], ab[1], 1, round + i);
		kids[n++] = spawn(pingpong, ab[0], ba[1], 0, round + i + 1);
		close(ab[0]); close(ab[1]); close(ba[0]); close(ba[1]);
	}
	for (i = 0; i < SLEEPERS; i++)
		kids[n++] = spawn(do_sleeper, round + i, 0, 0, 0);
	for (i = 0; i < SHORT; i++)
		kids[n++] = spawn(do_short, 0, 0, 0, 0);

	for (i = 0; i < n; i++) {
		if (kids[i] < 0) {
			bad++;
			continue;
		}
		while (waitpid(kids[i], &status, 0) < 0)
			if (errno != EINTR)
				return -1;
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			bad++;
	}
	add(&cnt->failures, bad);
	return bad;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 30, start, last;
	cpu_set_t set;
	int rounds = 0, i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	cnt = mmap(NULL, sizeof(*cnt), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (cnt == MAP_FAILED || sched_getaffinity(0, sizeof(set), &set)) {
		perror("workload: setup");
		return 2;
	}
	for (i = 0; i < CPU_SETSIZE && nr_cpus < 64; i++)
		if (CPU_ISSET(i, &set))
			cpus[nr_cpus++] = i;
	printf("workload: %d CPUs, %.0f s, per round %d ping-pong pairs x %d trips, "
	       "%d sleepers x %d hops, %d short-lived children\n",
	       nr_cpus, seconds, PAIRS, TRIPS, SLEEPERS, HOPS, SHORT);

	start = last = now();
	while (now() - start < seconds) {
		if (round_once(rounds++) < 0) {
			perror("workload: round");
			return 2;
		}
		if (now() - last >= 5) {
			last = now();
			printf("workload: t=%.1fs rounds=%d forks=%lu pingpongs=%lu sleeps=%lu "
			       "migrations=%lu failures=%lu\n", last - start, rounds, cnt->forks,
			       cnt->pingpongs, cnt->sleeps, cnt->migrations, cnt->failures);
		}
	}
	printf("workload: done seconds=%.1f rounds=%d forks=%lu pingpongs=%lu sleeps=%lu "
	       "migrations=%lu failures=%lu %s\n", now() - start, rounds, cnt->forks,
	       cnt->pingpongs, cnt->sleeps, cnt->migrations, cnt->failures,
	       rounds && !cnt->failures ? "ok" : "FAILED");
	return rounds && !cnt->failures ? 0 : 1;
}
