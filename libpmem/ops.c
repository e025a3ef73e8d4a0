/*
 * ops.c -- chooses the flush, drain and copy routines once, at load.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "libpmem.h"
#include "calibrate.h"
#include "sysfs.h"
#include "flush.h"
#include "log.h"
#include "ops.h"
#include "pmemcheck.h"
#include "ranges.h"
#include "track.h"

struct pmem__ops pmem__ops;
struct pmem__cpu pmem__cpu_info;
struct pmem__options pmem__opts;

/*
 * Flushes nothing: the platform (eADR) or the user said not to; pmemcheck
 * is told the range counts as flushed.
 */
static void
flush_none(const void *addr, size_t len)
{
	PMEM__PMC_FLUSH(addr, len);
}

/* Flushes a range with clflush. */
static void
flush_clflush(const void *addr, size_t len)
{
	PMEM_VG_CHECK_ADDRESSABLE(addr, len);
	PMEM__FLUSH_RANGE(addr, len, pmem__clflush_line);
}

/* Flushes a range with clflushopt. */
static void
flush_clflushopt(const void *addr, size_t len)
{
	PMEM_VG_CHECK_ADDRESSABLE(addr, len);
	PMEM__FLUSH_RANGE(addr, len, pmem__clflushopt_line);
}

/* Flushes a range with clwb. */
static void
flush_clwb(const void *addr, size_t len)
{
	PMEM_VG_CHECK_ADDRESSABLE(addr, len);
	PMEM__FLUSH_RANGE(addr, len, pmem__clwb_line);
}

/* Persist with nothing to flush: a fence orders earlier streaming stores. */
static void
persist_none(const void *addr, size_t len)
{
	PMEM__PMC_FLUSH(addr, len);
	pmem__sfence();
}

/* Persist with clflush, ordered as it is: pmemcheck is told of the drain. */
static void
persist_clflush(const void *addr, size_t len)
{
	flush_clflush(addr, len);
	PMEM__PMC_FENCE();
}

/* Persist with clflushopt, then the fence it needs (inlined: one call). */
static void
persist_clflushopt(const void *addr, size_t len)
{
	flush_clflushopt(addr, len);
	pmem__sfence();
}

/* Persist with clwb, then the fence it needs (inlined: one call). */
static void
persist_clwb(const void *addr, size_t len)
{
	flush_clwb(addr, len);
	pmem__sfence();
}

/* Drain after weakly ordered flushes. */
static void
drain_sfence(void)
{
	pmem__sfence();
}

/*
 * Drain after clflush (each is already ordered with stores) or with no
 * flush instruction: no fence, but pmemcheck is told of one.
 */
static void
drain_none(void)
{
	PMEM__PMC_FENCE();
}

/* See ops.h. */
const char *
pmem__flush_kind_name(enum pmem__flush_kind k)
{
	switch (k) {
	case PMEM_FLUSH_CLFLUSH: return "clflush";
	case PMEM_FLUSH_CLFLUSHOPT: return "clflushopt";
	case PMEM_FLUSH_CLWB: return "clwb";
	default: return "none";
	}
}

/*
 * Picks the flush instruction: the one the load-time calibration found
 * fastest, else the newest the CPU has and the user allows.
 */
static enum pmem__flush_kind
pick_flush(const struct pmem__cpu *cpu, const struct pmem__options *opt)
{
	if (opt->calibrated > PMEM_FLUSH_NONE &&
			opt->calibrated <= PMEM_FLUSH_CLWB)
		return (enum pmem__flush_kind)opt->calibrated;
	if (cpu->clwb && !opt->no_clwb)
		return PMEM_FLUSH_CLWB;
	if (cpu->clflushopt && !opt->no_clflushopt)
		return PMEM_FLUSH_CLFLUSHOPT;
	if (cpu->clflush)
		return PMEM_FLUSH_CLFLUSH;
	return PMEM_FLUSH_NONE;
}

/* The copy kernels of one instruction set. */
struct isa {
	const char *name;
	pmem__memmove_fn (*memmove)(enum pmem__flush_kind);
	pmem__memset_fn (*memset)(enum pmem__flush_kind);
};

static const struct isa isa_avx512f = { "avx512f", pmem__avx512f_memmove,
	pmem__avx512f_memset };
static const struct isa isa_avx2 = { "avx2", pmem__avx2_memmove,
	pmem__avx2_memset };
static const struct isa isa_sse2 = { "sse2", pmem__sse2_memmove,
	pmem__sse2_memset };
static const struct isa isa_generic = { "generic", pmem__generic_memmove,
	pmem__generic_memset };

/*
 * The widest vector kernels the CPU and OS (XCR0) support and the user
 * allows; PMEM_NO_MOVNT=1 selects the portable 8-byte-store kernels.
 */
static const struct isa *
pick_isa(const struct pmem__cpu *cpu, const struct pmem__options *opt)
{
	if (opt->no_movnt)
		return &isa_generic;
	if (cpu->avx512f && !opt->no_avx512f)
		return &isa_avx512f;
	if (cpu->avx2 && !opt->no_avx)
		return &isa_avx2;
	if (cpu->sse2)
		return &isa_sse2;
	return &isa_generic;
}

/* Writes "isa+flush" into a static name table (the names never change). */
static const char *
kernel_name(const struct isa *isa, enum pmem__flush_kind k)
{
	static char names[4][4][32];
	int i = isa == &isa_avx512f ? 0 : isa == &isa_avx2 ? 1 :
		isa == &isa_sse2 ? 2 : 3;
	if (names[i][k][0] == '\0')
		snprintf(names[i][k], sizeof(names[i][k]), "%s+%s", isa->name,
			k == PMEM_FLUSH_NONE ? "noflush" :
			pmem__flush_kind_name(k));
	return names[i][k];
}

/* See ops.h. */
void
pmem__ops_select(struct pmem__ops *ops, const struct pmem__cpu *cpu,
	const struct pmem__options *opt, int auto_flush)
{
	static const pmem__flush_fn flush_of[] = { flush_none, flush_clflush,
		flush_clflushopt, flush_clwb };
	/* clflush is ordered with later stores: its persist is its flush */
	static const pmem__flush_fn persist_of[] = { persist_none,
		persist_clflush, persist_clflushopt, persist_clwb };
	enum pmem__flush_kind k = pick_flush(cpu, opt);

	ops->flush_kind = k;
	ops->deep_flush = flush_of[k];
	ops->auto_flush = auto_flush;

	if (k == PMEM_FLUSH_CLWB || k == PMEM_FLUSH_CLFLUSHOPT) {
		ops->drain = drain_sfence;
		ops->drain_name = "sfence";
	} else {
		ops->drain = drain_none;
		ops->drain_name = "none";
	}

	if (opt->no_flush == PMEM_TRI_ON)
		ops->flush_skipped = 1;
	else if (opt->no_flush == PMEM_TRI_OFF)
		ops->flush_skipped = 0;
	else
		ops->flush_skipped = auto_flush == 1;

	enum pmem__flush_kind eff = ops->flush_skipped ? PMEM_FLUSH_NONE : k;
	ops->flush = flush_of[eff];
	ops->persist = persist_of[eff];
	ops->flush_name = pmem__flush_kind_name(eff);

	/*
	 * When nothing needs flushing, cached stores are durable as they
	 * are and streaming only adds a fence: copy through the cache
	 * unless asked otherwise (as PMDK does with eADR).
	 */
	ops->movnt_threshold = opt->movnt_threshold_set ?
		opt->movnt_threshold : ops->flush_skipped ? SIZE_MAX :
		PMEM_MOVNT_THRESHOLD_DEFAULT;

	if (opt->no_movnt && opt->no_generic_memcpy) {
		ops->memmove_nodrain = pmem__libc_memmove;
		ops->memset_nodrain = pmem__libc_memset;
		ops->memmove_name = "libc+flush";
		ops->memset_name = "libc+flush";
	} else {
		const struct isa *isa = pick_isa(cpu, opt);
		ops->memmove_nodrain = isa->memmove(eff);
		ops->memset_nodrain = isa->memset(eff);
		ops->memmove_name = kernel_name(isa, eff);
		ops->memset_name = ops->memmove_name;
	}
}

/* Logs what was chosen, for PMEM_LOG_LEVEL >= 3. */
static void
log_choice(void)
{
	const struct pmem__cpu *c = &pmem__cpu_info;
	pmem__log(3, "cpu %s: clflush %d clflushopt %d clwb %d sse2 %d "
		"avx %d avx2 %d avx512f %d", c->vendor, c->clflush,
		c->clflushopt, c->clwb, c->sse2, c->avx, c->avx2, c->avx512f);
	if (pmem__calib.done)
		pmem__log(3, "flush calibration (%.0f ns): clflush %.0f/%.0f, "
			"clflushopt %.0f/%.0f, clwb %.0f/%.0f ns per 1/16 lines",
			pmem__calib.elapsed_ns,
			pmem__calib.ns[PMEM_FLUSH_CLFLUSH][0],
			pmem__calib.ns[PMEM_FLUSH_CLFLUSH][1],
			pmem__calib.ns[PMEM_FLUSH_CLFLUSHOPT][0],
			pmem__calib.ns[PMEM_FLUSH_CLFLUSHOPT][1],
			pmem__calib.ns[PMEM_FLUSH_CLWB][0],
			pmem__calib.ns[PMEM_FLUSH_CLWB][1]);
	pmem__log(3, "flush %s%s, drain %s, memmove %s, memset %s, "
		"auto flush %d", pmem__flush_kind_name(pmem__ops.flush_kind),
		pmem__ops.flush_skipped ? " (skipped)" : "",
		pmem__ops.drain_name, pmem__ops.memmove_name,
		pmem__ops.memset_name, pmem__ops.auto_flush);
}

/* See ops.h. */
void
pmem__init(void)
{
	static int done;
	if (done)
		return;
	done = 1;

	pmem__options_read(&pmem__opts, secure_getenv);
	pmem__log_init(pmem__opts.log_level, pmem__opts.log_file);
	if (pmem__opts.sysfs_root != NULL && pmem__opts.sysfs_root[0] == '/')
		pmem__sysfs_root = pmem__opts.sysfs_root;
	pmem__cpu_detect(&pmem__cpu_info);
	pmem__opts.calibrated = (int)pmem__calibrate_flush(&pmem__cpu_info,
		&pmem__opts, &pmem__calib);
	int af = pmem__auto_flush_at(PMEM_SYSFS_ROOT);
	pmem__ops_select(&pmem__ops, &pmem__cpu_info, &pmem__opts, af);
	pmem__track_init(&pmem__ops);	/* pmem-crashtest(1) only */
	pmem__log(3, "libpmem %d.%d (pmem-stack %s) loaded",
		PMEM_MAJOR_VERSION, PMEM_MINOR_VERSION, PACKAGE_VERSION);
	log_choice();
}

/* Load-time constructor: the dispatch is fixed before main() runs. */
__attribute__((constructor)) static void
libpmem_init(void)
{
	pmem__init();
}

/* Unload-time destructor: releases the range tracker and the log. */
__attribute__((destructor)) static void
libpmem_fini(void)
{
	pmem__ranges_fini();
	pmem__log_fini();
}
