/*
 * calibrate.c -- which flush instruction persists freshly written lines
 * fastest here?  (PMEM_FLUSH_CALIBRATE=1)
 *
 * clflush is ordered with later stores and needs no fence, so a program
 * that persists lines it has just written and then moves on to new ones
 * (an append-only log, a bulk load) can have many write-backs in flight,
 * where clwb and clflushopt wait in their sfence for each persist.  All
 * three give the same guarantee (the data reaches the persistence domain
 * before any later store), so such a program may use whichever is
 * fastest.  A program that writes the same lines again and again is
 * better served by clwb, which keeps them cached, and awaiting the
 * write-backs evens them out (bench/README.md has both figures): that is
 * why the priority clwb > clflushopt > clflush stays the default and this
 * measurement is asked for.  It takes some tens of microseconds at load,
 * on a 4 KiB buffer of its own: stores to lines that were not cached,
 * then the persist.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "calibrate.h"
#include "flush.h"

struct pmem__calibration pmem__calib;

#define LINES_SMALL 1
#define LINES_GROUP 16
#define LINES_LARGE 64	/* the buffer */
#define REPS 3

static char buf[LINES_LARGE * PMEM_CACHELINE] __attribute__((aligned(4096)));

/* Nanoseconds of the monotonic clock. */
static double
now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* Writes the lines back and drops them, so the next store misses. */
static void
evict(size_t lines)
{
	PMEM__FLUSH_RANGE(buf, lines * PMEM_CACHELINE, pmem__clflush_line);
	__asm__ volatile("mfence" : : : "memory");
}

/* Stores to lines [first, first + lines). */
static void
dirty(size_t first, size_t lines, int v)
{
	for (size_t i = first; i < first + lines; i++)
		((volatile char *)buf)[i * PMEM_CACHELINE] = (char)v;
}

/* Flushes lines [first, first + lines) with one instruction, then drains. */
static void
persist(enum pmem__flush_kind k, size_t first, size_t lines)
{
	char *p = buf + first * PMEM_CACHELINE;
	size_t len = lines * PMEM_CACHELINE;
	switch (k) {
	case PMEM_FLUSH_CLWB:
		PMEM__FLUSH_RANGE(p, len, pmem__clwb_line);
		pmem__sfence();
		break;
	case PMEM_FLUSH_CLFLUSHOPT:
		PMEM__FLUSH_RANGE(p, len, pmem__clflushopt_line);
		pmem__sfence();
		break;
	default:
		PMEM__FLUSH_RANGE(p, len, pmem__clflush_line);
		break;
	}
}

/*
 * Nanoseconds per persist of `lines` freshly dirtied lines: the buffer's
 * lines are evicted, then each group of `lines` is stored to and
 * persisted in turn; the same stores alone are taken off.  The least of
 * REPS rounds counts.  (Batches: single persists are below the clock's
 * resolution in some virtual machines.)
 */
static double
measure(enum pmem__flush_kind k, size_t lines)
{
	size_t groups = lines == 1 ? 16 : LINES_LARGE / lines;
	double with = 1e30, without = 1e30;
	for (int r = 0; r < REPS; r++) {
		evict(groups * lines);
		double t0 = now_ns();
		for (size_t g = 0; g < groups; g++) {
			dirty(g * lines, lines, r);
			persist(k, g * lines, lines);
		}
		double t1 = now_ns();
		evict(groups * lines);
		double t2 = now_ns();
		for (size_t g = 0; g < groups; g++)
			dirty(g * lines, lines, r);
		double t3 = now_ns();
		if (t1 - t0 < with)
			with = t1 - t0;
		if (t3 - t2 < without)
			without = t3 - t2;
	}
	return with > without ? (with - without) / (double)groups : 0;
}

/* The instruction the fixed priority would choose among the allowed. */
static enum pmem__flush_kind
by_priority(const int allowed[4])
{
	if (allowed[PMEM_FLUSH_CLWB])
		return PMEM_FLUSH_CLWB;
	if (allowed[PMEM_FLUSH_CLFLUSHOPT])
		return PMEM_FLUSH_CLFLUSHOPT;
	if (allowed[PMEM_FLUSH_CLFLUSH])
		return PMEM_FLUSH_CLFLUSH;
	return PMEM_FLUSH_NONE;
}

/* See calibrate.h. */
enum pmem__flush_kind
pmem__calibrate_flush(const struct pmem__cpu *cpu,
	const struct pmem__options *opt, struct pmem__calibration *out)
{
	static const size_t lines[PMEM_CALIB_SIZES] = { LINES_SMALL,
		LINES_GROUP };
	int allowed[4] = { 0 };
	allowed[PMEM_FLUSH_CLWB] = cpu->clwb && !opt->no_clwb;
	allowed[PMEM_FLUSH_CLFLUSHOPT] = cpu->clflushopt && !opt->no_clflushopt;
	allowed[PMEM_FLUSH_CLFLUSH] = cpu->clflush;
	int n = allowed[1] + allowed[2] + allowed[3];

	memset(out, 0, sizeof(*out));
	out->chosen = by_priority(allowed);
	if (!opt->calibrate || n < 2)
		return out->chosen;

	double t0 = now_ns();
	dirty(0, LINES_LARGE, 1);	/* fault the page in */
	for (int k = PMEM_FLUSH_CLFLUSH; k <= PMEM_FLUSH_CLWB; k++)
		if (allowed[k])
			for (int s = 0; s < PMEM_CALIB_SIZES; s++)
				out->ns[k][s] = measure(k, lines[s]);
	out->elapsed_ns = now_ns() - t0;
	out->done = 1;

	/*
	 * A challenger replaces the priority choice when it persists one
	 * line in under half the time and a group of lines in no more than
	 * a quarter longer: the margins keep a noisy machine from flipping
	 * the choice between processes.
	 */
	enum pmem__flush_kind prio = out->chosen, best = prio;
	for (int k = PMEM_FLUSH_CLFLUSH; k <= PMEM_FLUSH_CLWB; k++) {
		if (!allowed[k] || k == (int)prio)
			continue;
		if (out->ns[k][0] < 0.5 * out->ns[prio][0] &&
		    out->ns[k][1] <= 1.25 * out->ns[prio][1] &&
		    (best == prio || out->ns[k][0] < out->ns[best][0]))
			best = (enum pmem__flush_kind)k;
	}
	out->chosen = best;
	return best;
}
