/*
 * pmm-util.c -- timing, pinning, shuffling and the sample line, shared by
 * pmm-bench and pmm-anchors (which links no library of ours).
 */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "pmm-bench.h"

/* The sizes of the pmmFreeAll calls: 1 to 10,000 blocks per call. */
size_t
pb_freeall_ks(int quick, unsigned long *ks)
{
	static const unsigned long all[] = { 1, 10, 100, 1000, 10000 };
	size_t n = quick ? 4 : sizeof(all) / sizeof(all[0]);
	for (size_t i = 0; i < n; i++)
		ks[i] = all[i];
	return n;
}

/* CLOCK_MONOTONIC in nanoseconds (tsc-backed here, ~46 ns a read). */
double
pb_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* See pmm-bench.h. */
void
pb_clock_start(struct pb_clock *c)
{
	c->nchunks = c->calls = c->stalled_calls = c->stalls = 0;
	c->stalled_ns = 0;
	c->t0 = pb_now_ns();
	c->c0 = c->last = pb_cycles();
}

/* See pmm-bench.h. */
double
pb_clock_end(struct pb_clock *c, size_t n)
{
	if (n % PB_CHUNK != 0)
		pb_clock_chunk(c);
	c->t1 = pb_now_ns();
	double ns = c->t1 - c->t0;
	double per_cycle = c->last > c->c0 ? ns / (double)(c->last - c->c0) :
		0;
	c->calls = n;
	for (size_t i = 0; i < c->nchunks; i++) {
		double t = (double)c->chunk[i] * per_cycle;
		if (t < PB_STALL_NS)
			continue;
		size_t calls = i + 1 < c->nchunks ? PB_CHUNK :
			n - (c->nchunks - 1) * PB_CHUNK;
		c->stalls++;
		c->stalled_ns += t;
		c->stalled_calls += calls;
	}
	return n > 0 ? ns / (double)n : 0;
}

/* See pmm-bench.h. */
void
pb_clock_sample(const struct pb_clock *c, const char *op, unsigned long pop,
	unsigned long k)
{
	char name[32];
	snprintf(name, sizeof(name), "%s-stalls", op);
	pb_sample(name, pop, k, (double)c->stalls);
	if (c->calls <= c->stalled_calls)
		return;
	snprintf(name, sizeof(name), "%s-calm", op);
	pb_sample(name, pop, k, (c->t1 - c->t0 - c->stalled_ns) /
		(double)(c->calls - c->stalled_calls));
}

/* Pin the calling process to cpu; 0, or -1 when refused. */
int
pb_pin_to(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* Keep the measuring process on one CPU so its caches stay warm. */
void
pb_pin(void)
{
	int cpu = sched_getcpu();
	cpu_set_t set;
	if (cpu < 0 || sched_getaffinity(0, sizeof(set), &set) != 0 ||
			!CPU_ISSET(cpu, &set))
		return;
	(void)pb_pin_to(cpu);
}

/* xorshift64*: reproducible across runs, good enough to pick names. */
uint64_t
pb_rand(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* Fisher-Yates, so every order is equally likely. */
void
pb_shuffle(uint32_t *idx, size_t n, uint64_t *state)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(pb_rand(state) % i);
		uint32_t t = idx[i - 1];
		idx[i - 1] = idx[j];
		idx[j] = t;
	}
}

/* One sample line on stdout, flushed so the driver sees progress. */
void
pb_sample(const char *op, unsigned long pop, unsigned long k, double ns)
{
	printf("S\t%s\t%lu\t%lu\t%.2f\n", op, pop, k, ns);
	fflush(stdout);
}

/* A tmpfs file of len bytes in dir, mapped shared and populated. */
void *
pb_map_scratch(const char *dir, const char *what, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s-%d", dir, what, (int)getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)len) != 0) {
		perror(path);
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
		return NULL;
	}
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED |
		MAP_POPULATE, fd, 0);
	close(fd);
	unlink(path);
	if (m == MAP_FAILED) {
		perror("pmm-bench: mmap");
		return NULL;
	}
	return m;
}

/* Link the lines of region r (len bytes) into one random cycle. */
int
pb_link_cycle(unsigned char *r, size_t len)
{
	size_t n = len / 64;
	uint32_t *order = malloc(n * sizeof(*order));
	uint64_t rng = 0x853c49e6748fea9bULL;
	if (order == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		order[i] = (uint32_t)i;
	pb_shuffle(order, n, &rng);
	for (size_t i = 0; i < n; i++)
		*(unsigned char **)(r + (size_t)order[i] * 64) =
			r + (size_t)order[(i + 1) % n] * 64;
	free(order);
	return 0;
}
