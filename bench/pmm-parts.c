/*
 * pmm-parts.c -- the parts of a new 4 KiB pmmAllocate timed one by one,
 * with the same calls libpmm makes (libpmem and pthreads), on a tmpfs
 * file mapped MAP_SHARED | MAP_POPULATE as a bank is, so that the report
 * can say where the time goes.  Each sample times batches of PB_BATCH
 * over PB_BATCH distinct "entries" (128 bytes) and pages:
 *
 *   part-lock     lock + unlock of a robust process-shared mutex
 *   part-zero     pmem_memset_nodrain(page, 0, 4 KiB), then the entry's
 *                 128 bytes written and pmem_flush'ed, then pmem_drain:
 *                 libpmm's first fence, with the zero fill
 *   part-entry    the same without the zero fill
 *   part-commit   an 8-byte store to the entry + pmem_persist of it: the
 *                 second fence (the commit)
 *   part-plain    memset(page, 0, 4 KiB) (its 64 lines prefetched for
 *                 writing first) and the entry written with plain
 *                 stores, no flush, no fence: what a tmpfs bank does
 *                 (libpmm(7)) where the three parts above are flushed
 *   part-reload   reading the entry's two lines right after the commit
 *                 (as the index updates do: the next address depends on
 *                 what is read), minus part-commit: what a flush that
 *                 evicts the line costs the next reader
 *   chase         one dependent load at a random line of a region of
 *                 k MiB mapped like a bank (tmpfs, MAP_SHARED, 4 KiB
 *                 pages): what memory costs here, for regions the size of
 *                 the index and of the table of big banks; timed on
 *                 the worker's clock (pmm-bench.h), with its stalls
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libpmem.h>

#include "pmm-bench.h"

#define ENTRY 128

static unsigned char *map;	/* mutex page, entries, then pages */
static pthread_mutex_t *mtx;
static unsigned char *entries, *pages;

/* An entry-sized record with every byte set, as libpmm fills one. */
static void
write_entry(unsigned char *e, size_t i)
{
	uint64_t w[ENTRY / 8];
	for (size_t j = 0; j < ENTRY / 8; j++)
		w[j] = i * 0x9e3779b97f4a7c15ULL + j;
	memcpy(e, w, ENTRY);
}

/* Time lock + unlock of the robust shared mutex, per pair. */
static double
time_lock(void)
{
	int bad = 0;
	double t0 = pb_now_ns();
	for (size_t i = 0; i < PB_BATCH; i++) {
		bad |= pthread_mutex_lock(mtx);
		bad |= pthread_mutex_unlock(mtx);
	}
	double t = (pb_now_ns() - t0) / PB_BATCH;
	return bad ? -1 : t;
}

/* Time the first fence of an allocation, with or without the zero fill. */
static double
time_first_fence(int zero)
{
	double t0 = pb_now_ns();
	for (size_t i = 0; i < PB_BATCH; i++) {
		if (zero)
			pmem_memset_nodrain(pages + i * PB_BLOCK, 0, PB_BLOCK);
		write_entry(entries + i * ENTRY, i);
		pmem_flush(entries + i * ENTRY, ENTRY);
		pmem_drain();
	}
	return (pb_now_ns() - t0) / PB_BATCH;
}

/* Time a tmpfs bank's fill: the zero fill and the entry, plain stores,
 * the page's lines asked for first as libpmm's cached fill does. */
static double
time_plain(void)
{
	double t0 = pb_now_ns();
	for (size_t i = 0; i < PB_BATCH; i++) {
		for (size_t l = 0; l < PB_BLOCK; l += 64)
			__builtin_prefetch(pages + i * PB_BLOCK + l, 1);
		memset(pages + i * PB_BLOCK, 0, PB_BLOCK);
		write_entry(entries + i * ENTRY, i);
		__asm__ __volatile__("" ::: "memory");
	}
	return (pb_now_ns() - t0) / PB_BATCH;
}

/* Always 0, but unknown to the compiler: makes an address depend on a
 * load, as the index's probe depends on the name it reads. */
static volatile uint64_t always_zero;

/* Time the commit (8-byte store + persist), then read the entry if asked;
 * the next iteration's address depends on what was read. */
static double
time_commit(int reload)
{
	uint64_t z = always_zero, dep = 0;
	double t0 = pb_now_ns();
	for (size_t i = 0; i < PB_BATCH; i++) {
		uint64_t *state = (uint64_t *)(entries + i * ENTRY + dep);
		*state = 0x444553554d4d5055ULL;
		pmem_persist(state, sizeof(*state));
		if (reload)
			dep = (state[4] ^ state[ENTRY / 8 - 1]) & z;
	}
	return (pb_now_ns() - t0) / PB_BATCH;
}

/* Chase regions: 1 MiB, 16 MiB (the name hash of 1,000,000 blocks is
 * 8 MiB), 128 MiB (their table). */
static const size_t chase_mib[] = { 1, 16, 128 };
#define NCHASE (sizeof(chase_mib) / sizeof(chase_mib[0]))

/* Time PB_BATCH dependent loads along the cycle from *pos, per load,
 * on clock c as the worker times its calls (the same stalls counted). */
static double
time_chase(unsigned char **pos, struct pb_clock *c)
{
	unsigned char *p = *pos;
	pb_clock_start(c);
	for (size_t i = 0; i < PB_BATCH; i++) {
		p = *(unsigned char *volatile *)p;
		pb_clock_tick(c, i);
	}
	double t = pb_clock_end(c, PB_BATCH);
	*pos = p;
	return t;
}

/* Map the scratch files, then a warm-up and `reps` printed samples. */
int
pb_parts(const char *dir, int reps)
{
	size_t len = 4096 + PB_BATCH * ENTRY + (size_t)PB_BATCH * PB_BLOCK;
	unsigned char *chase[NCHASE], *pos[NCHASE];
	map = pb_map_scratch(dir, "parts", len);
	if (map == NULL)
		return 1;
	for (size_t c = 0; c < NCHASE; c++) {
		chase[c] = pb_map_scratch(dir, "chase", chase_mib[c] << 20);
		if (chase[c] == NULL || pb_link_cycle(chase[c],
				chase_mib[c] << 20) != 0)
			return 1;
		pos[c] = chase[c];
		/* one full lap first: what fits in the caches is there */
		for (size_t i = 0; i < (chase_mib[c] << 20) / 64; i++)
			pos[c] = *(unsigned char **)pos[c];
	}
	mtx = (pthread_mutex_t *)map;
	entries = map + 4096;
	pages = entries + PB_BATCH * ENTRY;
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(mtx, &a);
	pthread_mutexattr_destroy(&a);
	pb_pin();
	for (int s = 0; s <= reps; s++) {
		double lock = time_lock();
		double zero = time_first_fence(1);
		double entry = time_first_fence(0);
		double commit = time_commit(0);
		double reload = time_commit(1) - commit;
		double plain = time_plain();
		double ch[NCHASE];
		struct pb_clock ck[NCHASE];
		for (size_t c = 0; c < NCHASE; c++)
			ch[c] = time_chase(&pos[c], &ck[c]);
		if (lock < 0) {
			fprintf(stderr, "pmm-bench: robust mutex failed\n");
			return 1;
		}
		if (s == 0)
			continue;
		pb_sample("part-lock", 0, 1, lock);
		pb_sample("part-zero", 0, 1, zero);
		pb_sample("part-entry", 0, 1, entry);
		pb_sample("part-commit", 0, 1, commit);
		pb_sample("part-reload", 0, 1, reload > 0 ? reload : 0);
		pb_sample("part-plain", 0, 1, plain);
		for (size_t c = 0; c < NCHASE; c++) {
			pb_sample("chase", 0, chase_mib[c], ch[c]);
			pb_clock_sample(&ck[c], "chase", 0, chase_mib[c]);
		}
	}
	for (size_t c = 0; c < NCHASE; c++)
		munmap(chase[c], chase_mib[c] << 20);
	munmap(map, len);
	return 0;
}
