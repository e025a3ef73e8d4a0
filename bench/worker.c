/*
 * worker.c -- measures one library in one configuration.  The driver has
 * set the configuration's PMEM_* variables before starting this process,
 * so the library reads them when it is loaded here (dlopen by absolute
 * path).  Functions are called only through dlsym'd pointers.
 *
 * Method (see bench/README.md):
 * - the destination is a file in --dir (default /dev/shm) mapped
 *   MAP_SHARED, the source anonymous memory; both are touched first;
 * - sizes below RING_MIN use one hot slot; larger sizes walk a ring of
 *   slots spanning at least twice the last-level cache, so that neither
 *   side is served from the cache;
 * - a measurement is a warm-up call, a calibration that grows the batch
 *   until it takes BATCH_NS, then BATCHES batches of that many calls; the
 *   result is the fastest batch's time per call;
 * - persist and flush+drain work on dirty lines: below PER_OP_MIN one
 *   8-byte store per line is made inside the timed loop and the time of
 *   the same loop doing only the stores is subtracted; from PER_OP_MIN up
 *   the lines are dirtied outside the timed region before every call and
 *   the call and an mfence are timed (the mfence waits for clflush, which
 *   has no drain, so every instruction is timed until its lines are out);
 * - persist-cold: before every call, untimed, the lines are evicted
 *   (clflush + mfence) and then dirtied, so each store misses; the call
 *   and an mfence are timed, one by one, minus the cost of reading the
 *   clock.  This is a freshly written line rather than a line rewritten
 *   while still cached.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <emmintrin.h>
#include <libpmem.h>

#include "bench.h"

#define BATCH_NS	2000000.0	/* each batch takes at least 2 ms */
#define BATCHES		3		/* timed batches after calibration */
#define WALL_MAX	10		/* ... or BATCH_NS * 10 of wall time */
#define RING_MIN	(256 << 10)	/* from here on, walk the ring */
#define PER_OP_MIN	(64 << 10)	/* from here on, dirty untimed */
#define MISALIGN	7		/* offset of misaligned dst and src */
#define PAGE		4096

/* The library's functions. */
static struct {
	void (*persist)(const void *, size_t);
	void (*flush)(const void *, size_t);
	void (*drain)(void);
	void *(*memcpy_persist)(void *, const void *, size_t);
	void *(*memmove_persist)(void *, const void *, size_t);
	void *(*memset_persist)(void *, int, size_t);
	void *(*memcpy_nodrain)(void *, const void *, size_t);
	void *(*memmove_nodrain)(void *, const void *, size_t);
	void *(*memset_nodrain)(void *, int, size_t);
	void *(*memcpy)(void *, const void *, size_t, unsigned);
	void *(*memmove)(void *, const void *, size_t, unsigned);
	void *(*memset)(void *, int, size_t, unsigned);
	const char *(*check_version)(unsigned, unsigned);
} lib;

/* Buffers: dst in the mapped file, src anonymous, both buf_len long. */
static char *dst_buf, *src_buf;
static size_t buf_len, ring_span;

/* --quick: shorter batches, fewer of them. */
static double batch_ns = BATCH_NS;
static int batches = BATCHES;

/* What one clock_gettime() adds to a call timed alone. */
static double clock_ns;

/* What one batch runs. */
enum kind {
	K_PERSIST,	/* dirty + persist (or flush + drain) */
	K_DIRTY,	/* dirty only */
	K_COPY3,	/* f(dst, src, len) */
	K_COPY4,	/* f(dst, src, len, flags) */
	K_SET3,		/* f(dst, c, len) */
	K_SET4,		/* f(dst, c, len, flags) */
};

struct meas {
	enum kind kind;
	size_t size, off;
	unsigned flags;
	int per_op;			/* persist: dirty outside the timing */
	int cold;			/* persist: evict before dirtying */
	int flush_drain;		/* persist: flush + drain */
	void *(*copy3)(void *, const void *, size_t);
	void *(*copy4)(void *, const void *, size_t, unsigned);
	void *(*set3)(void *, int, size_t);
	void *(*set4)(void *, int, size_t, unsigned);
	size_t nslots, stride, next;
};

static double
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Offset of the next slot in the ring. */
static inline size_t
next_slot(struct meas *m)
{
	size_t o = m->next * m->stride;
	if (++m->next == m->nslots)
		m->next = 0;
	return o;
}

/* One 8-byte store to every line of [p, p + len). */
static inline void
dirty(char *p, size_t len, uint64_t v)
{
	for (size_t i = 0; i < len; i += 64)
		*(volatile uint64_t *)(p + i) = v;
}

/* Writes back and drops every line of [p, p + len). */
static void
evict(char *p, size_t len)
{
	for (size_t i = 0; i < len; i += 64)
		_mm_clflush(p + i);
	_mm_mfence();
}

/* Runs n calls and returns the nanoseconds they took. */
static double
batch(struct meas *m, size_t n)
{
	double t = 0, t0 = now_ns();
	switch (m->kind) {
	case K_PERSIST:
		if (m->per_op) {
			t0 = 0;
			for (size_t i = 0; i < n; i++) {
				char *p = dst_buf + next_slot(m);
				if (m->cold)
					evict(p, m->size);
				dirty(p, m->size, i);
				double a = now_ns();
				if (m->flush_drain) {
					lib.flush(p, m->size);
					lib.drain();
				} else {
					lib.persist(p, m->size);
				}
				_mm_mfence();
				t += now_ns() - a - clock_ns;
			}
			return t > 0 ? t : 0;
		}
		if (m->flush_drain) {
			for (size_t i = 0; i < n; i++) {
				char *p = dst_buf + next_slot(m);
				dirty(p, m->size, i);
				lib.flush(p, m->size);
				lib.drain();
			}
		} else {
			for (size_t i = 0; i < n; i++) {
				char *p = dst_buf + next_slot(m);
				dirty(p, m->size, i);
				lib.persist(p, m->size);
			}
		}
		break;
	case K_DIRTY:
		for (size_t i = 0; i < n; i++)
			dirty(dst_buf + next_slot(m), m->size, i);
		break;
	case K_COPY3:
		for (size_t i = 0; i < n; i++) {
			size_t o = next_slot(m) + m->off;
			m->copy3(dst_buf + o, src_buf + o, m->size);
		}
		break;
	case K_COPY4:
		for (size_t i = 0; i < n; i++) {
			size_t o = next_slot(m) + m->off;
			m->copy4(dst_buf + o, src_buf + o, m->size, m->flags);
		}
		break;
	case K_SET3:
		for (size_t i = 0; i < n; i++)
			m->set3(dst_buf + next_slot(m) + m->off, (int)(i & 0xff),
				m->size);
		break;
	case K_SET4:
		for (size_t i = 0; i < n; i++)
			m->set4(dst_buf + next_slot(m) + m->off, (int)(i & 0xff),
				m->size, m->flags);
		break;
	}
	return now_ns() - t0;
}

/*
 * Calibrates the batch (when *np is 0) and returns the best time per call
 * of the batches.  A batch whose calls are timed one by one stops growing
 * at WALL_MAX times its target in wall time too (the untimed dirtying
 * may dwarf a fast call).  When one call alone fills a batch, the
 * calibration batch and one more are enough.
 */
static double
best_per_call(struct meas *m, size_t *np)
{
	size_t n = *np;
	double best;
	int nb = batches;
	if (n == 0) {
		(void)batch(m, 1);	/* warm-up */
		n = 1;
		for (;;) {
			double w = now_ns();
			double t = batch(m, n);
			w = now_ns() - w;
			if (t >= batch_ns || w >= batch_ns * WALL_MAX) {
				best = t / (double)n;
				break;
			}
			double grow = t > 0 ? batch_ns * 1.1 / t : 64;
			if (grow > 64)
				grow = 64;
			if (grow < 2)
				grow = 2;
			n = (size_t)((double)n * grow);
		}
		*np = n;
		if (n == 1)
			nb = 1;
	} else {
		best = batch(m, n) / (double)n;
	}
	for (int b = 0; b < nb; b++) {
		double t = batch(m, n) / (double)n;
		if (t < best)
			best = t;
	}
	return best;
}

/* Measures clock_ns: the least a call of now_ns() (and an mfence) is
 * seen to take. */
static void
clock_cost(void)
{
	double best = 1e9;
	for (int i = 0; i < 10000; i++) {
		double a = now_ns();
		_mm_mfence();
		double b = now_ns();
		if (b - a < best)
			best = b - a;
	}
	clock_ns = best;
}

/* Sets up the slots of a measurement of size bytes. */
static void
place(struct meas *m, size_t size)
{
	m->size = size;
	m->next = 0;
	if (size < RING_MIN) {
		m->nslots = 1;
		m->stride = 0;
		return;
	}
	m->stride = (size + PAGE - 1) / PAGE * PAGE + PAGE;
	m->nslots = ring_span / m->stride;
	while (m->nslots * m->stride + PAGE > buf_len)
		m->nslots--;
	if (m->nslots == 0)
		m->nslots = 1;
}

static void
emit(const char *op, const char *path, const char *align, size_t size,
	double ns)
{
	printf("R\t%s\t%s\t%s\t%zu\t%.3f\n", op, path, align, size, ns);
	fflush(stdout);
}

/* persist (or flush + drain) of dirty lines, cached or evicted first. */
static void
measure_persist(const struct bench_config *c, size_t size, int flush_drain,
	int cold)
{
	struct meas m;
	memset(&m, 0, sizeof(m));
	place(&m, size);
	m.kind = K_PERSIST;
	m.flush_drain = flush_drain;
	m.cold = cold;
	m.per_op = cold || size >= PER_OP_MIN;
	size_t n = 0;
	double t = best_per_call(&m, &n);
	if (!m.per_op) {
		m.kind = K_DIRTY;
		double d = best_per_call(&m, &n);
		t = t > d ? t - d : 0;
	}
	emit(flush_drain ? "flush+drain" : cold ? "persist-cold" : "persist",
		c->flush, "a", size, t);
}

/*
 * persist-stream: store to and persist fresh lines, one range after the
 * other through a ring larger than the last-level cache, timed as a
 * batch with no fence of the benchmark's own; the stores alone, over the
 * same ring, are taken off.  This is the steady throughput of a program
 * that persists what it has just written and moves on (a log, a bulk
 * load): clflush, ordered with later stores but not waited for, keeps
 * many write-backs in flight here.
 */
static void
measure_persist_stream(const struct bench_config *c, size_t size)
{
	struct meas m;
	memset(&m, 0, sizeof(m));
	m.size = size;
	m.stride = (size + 63) / 64 * 64;
	m.nslots = ring_span / m.stride;
	while (m.nslots * m.stride + PAGE > buf_len)
		m.nslots--;
	if (m.nslots == 0)
		m.nslots = 1;
	m.kind = K_PERSIST;
	size_t n = 0;
	double t = best_per_call(&m, &n);
	m.kind = K_DIRTY;
	m.next = 0;
	double d = best_per_call(&m, &n);
	emit("persist-stream", c->flush, "a", size, t > d ? t - d : 0);
}

/* One mem* variant: op is memcpy, memmove or memset; mode is default,
 * temporal, nt or noflush (PMEM_F_MEM_NOFLUSH: cached stores that a
 * later flush makes durable, as libpmemobj writes its logs); nodrain
 * selects the _nodrain form. */
static void
measure_mem(const struct bench_config *c, const char *op, const char *mode,
	int nodrain, int misaligned, size_t size)
{
	struct meas m;
	memset(&m, 0, sizeof(m));
	place(&m, size);
	m.off = misaligned ? MISALIGN : 0;
	unsigned flags = nodrain ? PMEM_F_MEM_NODRAIN : 0;
	if (strcmp(mode, "temporal") == 0)
		flags |= PMEM_F_MEM_TEMPORAL;
	else if (strcmp(mode, "nt") == 0)
		flags |= PMEM_F_MEM_NONTEMPORAL;
	else if (strcmp(mode, "noflush") == 0)
		flags |= PMEM_F_MEM_NOFLUSH;
	int dflt = strcmp(mode, "default") == 0;
	m.flags = flags;
	if (strcmp(op, "memset") == 0) {
		m.kind = dflt ? K_SET3 : K_SET4;
		m.set3 = nodrain ? lib.memset_nodrain : lib.memset_persist;
		m.set4 = lib.memset;
	} else if (strcmp(op, "memmove") == 0) {
		m.kind = dflt ? K_COPY3 : K_COPY4;
		m.copy3 = nodrain ? lib.memmove_nodrain : lib.memmove_persist;
		m.copy4 = lib.memmove;
	} else {
		m.kind = dflt ? K_COPY3 : K_COPY4;
		m.copy3 = nodrain ? lib.memcpy_nodrain : lib.memcpy_persist;
		m.copy4 = lib.memcpy;
	}
	size_t n = 0;
	double t = best_per_call(&m, &n);
	char name[32], path[64];
	snprintf(name, sizeof(name), "%s_%s", op, nodrain ? "nodrain" :
		"persist");
	snprintf(path, sizeof(path), "%s/%s/%s", c->flush, c->isa, mode);
	emit(name, path, misaligned ? "m7" : "a", size, t);
}

/* The machine's limit: non-temporal copy and fill written here. */
static void
measure_limit(size_t size)
{
	struct meas m;
	memset(&m, 0, sizeof(m));
	place(&m, size);
	m.kind = K_COPY3;
	m.copy3 = bench_nt_copy;
	size_t n = 0;
	emit("nt-copy", bench_nt_name(), "a", size, best_per_call(&m, &n));
	place(&m, size);
	m.kind = K_SET3;
	m.set3 = bench_nt_fill;
	n = 0;
	emit("nt-fill", bench_nt_name(), "a", size, best_per_call(&m, &n));
}

/* Resolves every function; returns -1 (with a message) on failure. */
static int
load(const char *path)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		fprintf(stderr, "pmem-bench: %s\n", dlerror());
		return -1;
	}
	static const struct { const char *name; size_t off; } syms[] = {
#define SYM(f) { "pmem_" #f, offsetof(__typeof__(lib), f) }
		SYM(persist), SYM(flush), SYM(drain), SYM(memcpy_persist),
		SYM(memmove_persist), SYM(memset_persist),
		SYM(memcpy_nodrain), SYM(memmove_nodrain),
		SYM(memset_nodrain), SYM(memcpy), SYM(memmove), SYM(memset),
		SYM(check_version),
#undef SYM
	};
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *f = dlsym(h, syms[i].name);
		if (f == NULL) {
			fprintf(stderr, "pmem-bench: %s: no %s\n", path,
				syms[i].name);
			return -1;
		}
		memcpy((char *)&lib + syms[i].off, &f, sizeof(f));
	}
	const char *msg = lib.check_version(1, 0);
	if (msg != NULL) {
		fprintf(stderr, "pmem-bench: %s: %s\n", path, msg);
		return -1;
	}
	return 0;
}

/* Maps the destination file and the source; touches both. */
static int
buffers(const char *dir, size_t max_size)
{
	size_t llc = bench_llc_size();
	ring_span = 2 * llc;
	if (ring_span < 2 * max_size)
		ring_span = 2 * max_size;
	if (ring_span < (64 << 20))
		ring_span = 64 << 20;
	buf_len = ring_span + (1 << 20);
	char path[4096];
	snprintf(path, sizeof(path), "%s/pmem-bench.XXXXXX", dir);
	int fd = mkstemp(path);
	if (fd < 0) {
		fprintf(stderr, "pmem-bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	unlink(path);
	if (ftruncate(fd, (off_t)buf_len) != 0) {
		fprintf(stderr, "pmem-bench: ftruncate: %s\n", strerror(errno));
		close(fd);
		return -1;
	}
	dst_buf = mmap(NULL, buf_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		0);
	close(fd);
	src_buf = mmap(NULL, buf_len, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (dst_buf == MAP_FAILED || src_buf == MAP_FAILED) {
		fprintf(stderr, "pmem-bench: mmap: %s\n", strerror(errno));
		return -1;
	}
	memset(dst_buf, 0, buf_len);
	for (size_t i = 0; i < buf_len; i++)
		src_buf[i] = (char)(i * 31 + 7);
	return 0;
}

/* Runs on the highest-numbered CPU the process may use. */
static void
pin(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return;
	for (int i = CPU_SETSIZE - 1; i >= 0; i--) {
		if (!CPU_ISSET(i, &set))
			continue;
		CPU_ZERO(&set);
		CPU_SET(i, &set);
		(void)sched_setaffinity(0, sizeof(set), &set);
		return;
	}
}

int
bench_worker(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "pmem-bench: --worker LIBPATH CONFIG\n");
		return 2;
	}
	const char *libpath = argv[0], *cname = argv[1], *dir = "/dev/shm";
	int quick = 0;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			quick = 1;
			batch_ns = BATCH_NS / 2;
			batches = 2;
		}
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
	}
	struct bench_cpu cpu;
	struct bench_config cfgs[BENCH_MAX_CONFIGS];
	bench_cpu_detect(&cpu);
	size_t ncfg = bench_configs(&cpu, cfgs, NULL);
	const struct bench_config *c = NULL;
	for (size_t i = 0; i < ncfg; i++)
		if (strcmp(cfgs[i].name, cname) == 0)
			c = &cfgs[i];
	if (c == NULL) {
		fprintf(stderr, "pmem-bench: unknown configuration %s\n",
			cname);
		return 2;
	}
	size_t sizes[BENCH_MAX_SIZES];
	size_t nsizes = bench_sizes(quick, sizes);
	if (load(libpath) != 0 || buffers(dir, sizes[nsizes - 1]) != 0)
		return 1;
	pin();
	clock_cost();

	static const char *const ops[] = { "memcpy", "memset", "memmove" };
	static const char *const modes[] = { "default", "temporal", "nt",
		"noflush" };
#define NMODES (sizeof(modes) / sizeof(modes[0]))
	for (size_t s = 0; s < nsizes; s++) {
		size_t sz = sizes[s];
		if (c->flush_rows) {
			measure_persist(c, sz, 0, 0);
			measure_persist(c, sz, 1, 0);
			measure_persist(c, sz, 0, 1);
			measure_persist_stream(c, sz);
		}
		if (!c->matrix) {
			/* the copy and fill that flush, on this flush path */
			measure_mem(c, "memcpy", "default", 0, 0, sz);
			measure_mem(c, "memset", "default", 0, 0, sz);
			continue;
		}
		/* NOFLUSH implies NODRAIN: no _nodrain row of its own */
		for (size_t o = 0; o < 3; o++)
			for (size_t md = 0; md < NMODES; md++)
				for (int nd = 0; nd < 2 && !(nd == 1 &&
						strcmp(modes[md], "noflush") == 0);
						nd++)
					for (int mis = 0; mis < 2; mis++)
						measure_mem(c, ops[o],
							modes[md], nd, mis,
							sz);
		if (c->limit && sz >= (4 << 10))
			measure_limit(sz);
	}
	return ferror(stdout) ? 1 : 0;
}
