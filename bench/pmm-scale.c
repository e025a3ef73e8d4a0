/*
 * pmm-scale.c -- what a bank costs beyond one call: a new process's first
 * call, threads retrieving at once, processes allocating at once, and the
 * metadata bytes of a block.
 *
 * The driver runs "--scale N reps" after the worker of population N, on
 * the bank the worker filled (PMM_DIR), in a fresh process:
 *
 *   first-alone  the first call (a retrieval) of a process it starts
 *                with fork + exec before it opens the bank itself, so
 *                that nobody else has the bank open (one sample a rep:
 *                a single one, as before 2026-12-06, could land on a
 *                slow page fault and judge the target by it)
 *   first-shared the same in a process it starts with fork + exec while
 *                it holds the bank (the common case of many processes)
 *   retr-t1/t2   retrievals of random existing names by 1 thread, then
 *                by 2 threads at once: ns per call of the total (wall
 *                time / all the calls)
 *   chase-t1/t2  the machine's own answer for the threads: dependent
 *                loads at random lines of 128 MiB (tmpfs, 4 KiB
 *                pages, the same as pmm-parts' miss) by 1 thread, then
 *                by 2 at once, each on its own part of one cycle: ns per
 *                load of the total
 *   af-p1/p2     4 KiB allocate + free pairs by 1 process, then by 2
 *                processes at once (fork: the same bank), timed from a
 *                common start after an untimed first lap to the last
 *                one's end: ns per pair of the total
 *   xfer         the machine's answer for the processes: one cache line
 *                moved from one CPU to the other (two processes pinned
 *                to two CPUs pass a counter back and forth in a shared
 *                mapping: ns per one-way move); every time a lock goes
 *                to the other process, its line and the index lines the
 *                last holder wrote move like this (two processes in
 *                arenas of their own avoid it)
 *   meta-bytes   bytes before the first data page / pmm.maxBlocks
 *                (header, table, index), from the bank file's header
 *
 * and "--lockshare N reps", run by the driver with pmm-lockshare.so
 * preloaded (and nothing else measured in that process):
 *
 *   lock-share   the share of af-p1's time (one process, in this process)
 *                that libpmm holds a lock (its arena's): with one lock
 *                for the whole bank, as in layout 3, two processes could
 *                do at most 1 / share of one's pairs
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <x86intrin.h>

#include "pmm/chPmm.h"
#include "pmm-bench.h"
#include "layout.h"

#define RETR_CALLS 100000
#define AF_PAIRS 20000
#define CHASE_MIB 128
#define CHASE_LOADS 200000
#define XFER_TRIPS 100000

/* Names built before the timed loops: random members of the population
 * for each retrieving thread. */
static PmmName *retr_names[2];

struct retr {
	const PmmName *names;
	int bad;
};

/* Stop: a failed call makes the figures meaningless. */
static void
fail(const char *what, int rc)
{
	fprintf(stderr, "pmm-bench scale: %s: %s (%s)\n", what,
		pmmStrError(rc), pmmErrorMsg());
	exit(1);
}

static void
pop_name(PmmName *n, unsigned long i)
{
	memset(n, 0, sizeof(*n));
	strcpy(n->medium, "RAM");
	snprintf(n->name, sizeof(n->name), "pop-%lu-0", i);
}

/* Time one retrieval: the first call when the process is new. */
static double
timed_first(void)
{
	PmmName n;
	VmAddr a;
	pop_name(&n, 0);
	double t0 = pb_now_ns();
	int rc = pmmAllocate(&a, &n, PB_BLOCK, NULL, 0);
	double t = pb_now_ns() - t0;
	if (rc != K_OK)
		fail("first call", rc);
	return t;
}

/* RETR_CALLS retrievals of random members of the population. */
static void *
retriever(void *arg)
{
	struct retr *r = arg;
	VmAddr a;
	int bad = 0;
	/* counted here, stored once: the two threads' struct retr share a
	 * cache line, and a store to it each call would pass that line
	 * between the CPUs on every retrieval */
	for (int i = 0; i < RETR_CALLS; i++)
		bad |= pmmAllocate(&a, (PmmName *)&r->names[i], PB_BLOCK,
			NULL, 0) != K_OK;
	r->bad = bad;
	return NULL;
}

/* CHASE_LOADS dependent loads from *(unsigned char **)arg. */
static void *
chaser(void *arg)
{
	unsigned char *p = *(unsigned char **)arg;
	for (int i = 0; i < CHASE_LOADS; i++)
		p = *(unsigned char *volatile *)p;
	*(unsigned char **)arg = p;
	return NULL;
}

/* Wall time per load of nthreads chasing at once, from pos[]. */
static double
timed_chase(int nthreads, unsigned char *pos[2])
{
	pthread_t th[2];
	double t0 = pb_now_ns();
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, chaser, &pos[i]) != 0)
			fail("pthread_create", K_ESYS);
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	return (pb_now_ns() - t0) / ((double)CHASE_LOADS * nthreads);
}

/* Wall time per call of nthreads retrieving at once. */
static double
timed_retrieve(int nthreads)
{
	pthread_t th[2];
	struct retr r[2];
	double t0 = pb_now_ns();
	for (int i = 0; i < nthreads; i++) {
		r[i] = (struct retr){ retr_names[i], 0 };
		if (pthread_create(&th[i], NULL, retriever, &r[i]) != 0)
			fail("pthread_create", K_ESYS);
	}
	int bad = 0;
	for (int i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		bad |= r[i].bad;
	}
	double t = pb_now_ns() - t0;
	if (bad)
		fail("retrieval", K_ECORRUPT);
	return t / ((double)RETR_CALLS * nthreads);
}

/* n allocate + free pairs of names of its own; the last block's address
 * in *last. */
static int
alloc_free(int who, unsigned long s, int n, VmAddr *last)
{
	VmAddr a = 0;
	static PmmName nm[64];
	for (int i = 0; i < 64; i++) {
		memset(&nm[i], 0, sizeof(nm[i]));
		strcpy(nm[i].medium, "RAM");
		snprintf(nm[i].name, sizeof(nm[i].name), "af-%d-%lu-%d", who,
			s, i);
	}
	for (int i = 0; i < n; i++)
		if (pmmAllocate(&a, &nm[i % 64], PB_BLOCK, NULL, 0) != K_OK ||
				pmmFree(&nm[i % 64]) != K_OK)
			return 1;
	*last = a;
	return 0;
}

/* Where the timed processes meet: how many are ready, the start, and
 * each one's end (ns) and last block's address. */
struct af_sync {
	int ready;
	int go;
	double end[2];
	uint64_t addr[2];
};

/* A timed process: a first lap, untimed (the bank's lines and its
 * names' pages faulted in), then pairs pairs from the common start. */
static int
alloc_free_timed(struct af_sync *y, int who, unsigned long s, int pairs)
{
	VmAddr a;
	if (alloc_free(who, s, 64, &a) != 0)
		return 1;
	__atomic_add_fetch(&y->ready, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&y->go, __ATOMIC_ACQUIRE))
		sched_yield();
	int r = alloc_free(who, s, pairs, &a);
	y->end[who] = pb_now_ns();
	y->addr[who] = a;
	return r;
}

/* See pmm-bench.h.  Fork, exit and each process's first faults are left
 * out: timed, they were more than half of one process's time, and the
 * second process started a fork later than the first, so the two ran at
 * once for only part of the time. */
double
pb_alloc_free_procs(int nprocs, unsigned long s, int pairs, uint64_t *addr)
{
	pid_t pid[2];
	struct af_sync *y = mmap(NULL, sizeof(*y), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (y == MAP_FAILED)
		fail("mmap", K_ESYS);
	fflush(NULL);
	for (int i = 0; i < nprocs; i++) {
		pid[i] = fork();
		if (pid[i] < 0)
			fail("fork", K_ESYS);
		if (pid[i] == 0)
			_exit(alloc_free_timed(y, i, s, pairs));
	}
	int bad = 0, st;
	while (!bad && __atomic_load_n(&y->ready, __ATOMIC_SEQ_CST) < nprocs)
		for (int i = 0; i < nprocs; i++)	/* one failed early */
			if (waitpid(pid[i], &st, WNOHANG) != 0)
				bad = 1;
	double t0 = pb_now_ns();
	__atomic_store_n(&y->go, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < nprocs; i++) {
		if (bad)
			kill(pid[i], SIGKILL);
		bad |= waitpid(pid[i], &st, 0) < 0 || !WIFEXITED(st) ||
			WEXITSTATUS(st) != 0;
	}
	double end = y->end[0];
	if (nprocs > 1 && y->end[1] > end)
		end = y->end[1];
	for (int i = 0; addr != NULL && i < nprocs; i++)
		addr[i] = y->addr[i];
	munmap(y, sizeof(*y));
	if (bad)
		fail("allocate + free in a child", K_ECORRUPT);
	return (end - t0) / ((double)pairs * nprocs);
}

/* The shared word's values besides the moves (2i - 1, 2i). */
#define XFER_UNSET UINT64_MAX		/* the child has not started */
#define XFER_NOPIN (UINT64_MAX - 1)	/* the child could not be pinned */

/* Whether the other process (child: the parent, else the child) is
 * gone. */
static int
xfer_gone(pid_t other, int child)
{
	return child ? getppid() != other :
		waitpid(other, NULL, WNOHANG) != 0;
}

/* Wait until *w holds v (want) or anything but v (!want); 0, or -1 when
 * the other process died first. */
static int
xfer_wait(volatile uint64_t *w, uint64_t v, int want, pid_t other,
		int child)
{
	for (unsigned long n = 1; (*w == v) != want; n++)
		if (n % (1ul << 22) == 0 && xfer_gone(other, child))
			return -1;
	return 0;
}

/* The child's side: pinned to cpu, answer each move of the parent. */
static void
xfer_child(volatile uint64_t *w, int cpu, pid_t parent)
{
	if (pb_pin_to(cpu) != 0) {
		*w = XFER_NOPIN;
		_exit(0);
	}
	*w = 0;
	for (uint64_t i = 1; i <= XFER_TRIPS; i++) {
		if (xfer_wait(w, 2 * i - 1, 1, parent, 1) != 0)
			_exit(1);
		*w = 2 * i;
	}
	_exit(0);
}

/* ns per one-way move of a cache line between two of this process's
 * CPUs; -1 (no sample) with fewer than two CPUs allowed, or when either
 * process cannot be pinned. */
static double
timed_xfer(void)
{
	cpu_set_t all;
	int cpu[2], n = 0;
	if (sched_getaffinity(0, sizeof(all), &all) != 0)
		return -1;
	for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &all))
			cpu[n++] = c;
	if (n < 2)
		return -1;
	volatile uint64_t *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (w == MAP_FAILED)
		fail("mmap", K_ESYS);
	*w = XFER_UNSET;
	fflush(NULL);
	pid_t parent = getpid(), pid = fork();
	if (pid < 0)
		fail("fork", K_ESYS);
	if (pid == 0)
		xfer_child(w, cpu[1], parent);
	int pinned = pb_pin_to(cpu[0]) == 0;
	int ok = xfer_wait(w, XFER_UNSET, 0, pid, 0) == 0;
	pinned &= ok && *w != XFER_NOPIN;
	double t0 = pb_now_ns();
	for (uint64_t i = 1; ok && pinned && i <= XFER_TRIPS; i++) {
		*w = 2 * i - 1;
		ok = xfer_wait(w, 2 * i, 1, pid, 0) == 0;
	}
	double t = pb_now_ns() - t0;
	if (!ok || !pinned)
		kill(pid, SIGKILL);
	int st;
	pid_t r = waitpid(pid, &st, 0);
	/* a child killed here because a process could not be pinned is no
	 * failure; one that died on its own (then already reaped by
	 * xfer_gone: r is -1) or exited non-zero is */
	ok &= r == pid && (!pinned || (WIFEXITED(st) &&
				WEXITSTATUS(st) == 0));
	sched_setaffinity(0, sizeof(all), &all);
	munmap((void *)w, 4096);
	if (!ok)
		fail("the line-transfer processes", K_ESYS);
	return pinned ? t / (2.0 * XFER_TRIPS) : -1;
}

/* The first call of a process started now (fork + exec of self). */
static double
first_in_child(const char *self)
{
	int fds[2];
	double ns = -1;
	if (pipe(fds) != 0)
		fail("pipe", K_ESYS);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		fail("fork", K_ESYS);
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		execl(self, "pmm-bench", "--first", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	FILE *in = fdopen(fds[0], "r");
	if (in == NULL || fscanf(in, "%lf", &ns) != 1)
		ns = -1;
	if (in != NULL)
		fclose(in);
	int st;
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
			WEXITSTATUS(st) != 0 || ns < 0)
		fail("the first call of a new process", K_ESYS);
	return ns;
}

/* "--first": print the first call's time (ns) and exit. */
int
pb_first(void)
{
	printf("%.0f\n", timed_first());
	return 0;
}

/* Read the bank header of $PMM_DIR/RAM.pmm, or exit. */
void
pb_bank_header(struct pmm__hdr *h)
{
	char path[4096];
	const char *dir = getenv("PMM_DIR");
	snprintf(path, sizeof(path), "%s/RAM.pmm", dir != NULL ? dir : ".");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, h, sizeof(*h), 0) != (ssize_t)sizeof(*h)) {
		perror(path);
		exit(1);
	}
	close(fd);
}

/* Metadata bytes per block of the bank file in PMM_DIR. */
static double
meta_bytes(void)
{
	struct pmm__hdr h;
	pb_bank_header(&h);
	return (double)h.data_off / (double)h.max_blocks;
}

/* See the file comment. */
int
pb_scale(unsigned long pop, int reps, const char *self)
{
	for (int s = 0; s < reps; s++)
		pb_sample("first-alone", pop, 1, first_in_child(self));
	pb_sample("meta-bytes", pop, 1, meta_bytes());
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	for (int t = 0; t < 2; t++) {
		retr_names[t] = calloc(RETR_CALLS, sizeof(PmmName));
		if (retr_names[t] == NULL)
			fail("no memory", K_ESYS);
		for (int i = 0; i < RETR_CALLS; i++)
			pop_name(&retr_names[t][i], pb_rand(&seed) % pop);
	}
	/* every page of the index mapped in this process first, as in one
	 * that has run a while */
	PmmName n;
	VmAddr a;
	for (unsigned long i = 0; i < pop; i++) {
		pop_name(&n, i);
		if (pmmAllocate(&a, &n, PB_BLOCK, NULL, 0) != K_OK)
			fail("warm-up retrieval", K_ECORRUPT);
	}
	/* the machine's misses, 1 and 2 threads, for scale */
	size_t clen = (size_t)CHASE_MIB << 20;
	unsigned char *region = pb_map_scratch(getenv("PMM_DIR"), "chase",
			clen), *pos[2];
	if (region == NULL || pb_link_cycle(region, clen) != 0)
		fail("the chase region", K_ESYS);
	pos[0] = pos[1] = region;
	for (size_t i = 0; i < clen / 128; i++)
		pos[1] = *(unsigned char **)pos[1];	/* half a lap on */
	for (int s = 0; s < reps; s++) {
		pb_sample("first-shared", pop, 1, first_in_child(self));
		pb_sample("chase-t1", pop, 1, timed_chase(1, pos));
		pb_sample("chase-t2", pop, 1, timed_chase(2, pos));
		pb_sample("retr-t1", pop, 1, timed_retrieve(1));
		pb_sample("retr-t2", pop, 1, timed_retrieve(2));
		pb_sample("af-p1", pop, 1,
			pb_alloc_free_procs(1, 2 * s, AF_PAIRS, NULL));
		pb_sample("af-p2", pop, 1,
			pb_alloc_free_procs(2, 2 * s + 1, AF_PAIRS, NULL));
		double x = timed_xfer();
		if (x > 0)
			pb_sample("xfer", pop, 1, x);
	}
	munmap(region, clen);
	free(retr_names[0]);
	free(retr_names[1]);
	return 0;
}

/* See the file comment: lock-share samples, in this process. */
int
pb_lockshare(unsigned long pop, int reps)
{
	void (*readf)(uint64_t *, uint64_t *) =
		(void (*)(uint64_t *, uint64_t *))dlsym(RTLD_DEFAULT,
			"pmm_lockshare_read");
	if (readf == NULL) {
		fprintf(stderr, "pmm-bench: pmm-lockshare.so is not loaded: "
			"no lock-share row\n");
		return 1;
	}
	VmAddr a;
	if (alloc_free(0, 1000, AF_PAIRS, &a) != 0)	/* mapped, lines warm */
		fail("allocate + free", K_ECORRUPT);
	for (int s = 0; s < reps; s++) {
		uint64_t h0, n0, h1, n1;
		readf(&h0, &n0);
		uint64_t t0 = __rdtsc();
		if (alloc_free(0, 1001 + (unsigned long)s, AF_PAIRS, &a) != 0)
			fail("allocate + free", K_ECORRUPT);
		uint64_t t1 = __rdtsc();
		readf(&h1, &n1);
		if (n1 - n0 < 2 * AF_PAIRS)
			fail("the lock was not seen taken", K_ECORRUPT);
		pb_sample("lock-share", pop, 1,
			(double)(h1 - h0) / (double)(t1 - t0));
	}
	return 0;
}
