/*
 * ops.h -- the table of flush, drain and copy routines chosen at load.
 */
#ifndef PMEM_OPS_H
#define PMEM_OPS_H 1

#include <stddef.h>

#include "cpu.h"
#include "options.h"

typedef void (*pmem__flush_fn)(const void *addr, size_t len);
typedef void (*pmem__fence_fn)(void);
typedef void (*pmem__memmove_fn)(void *dst, const void *src, size_t len,
	unsigned flags);
typedef void (*pmem__memset_fn)(void *dst, int c, size_t len,
	unsigned flags);

enum pmem__flush_kind {
	PMEM_FLUSH_NONE,
	PMEM_FLUSH_CLFLUSH,
	PMEM_FLUSH_CLFLUSHOPT,
	PMEM_FLUSH_CLWB,
};

struct pmem__ops {
	pmem__flush_fn flush;		/* pmem_flush: may be a no-op (eADR) */
	pmem__flush_fn persist;		/* pmem_persist: flush + drain, fused */
	pmem__flush_fn deep_flush;	/* pmem_deep_flush: always flushes */
	pmem__fence_fn drain;		/* sfence, or nothing for clflush */
	pmem__memmove_fn memmove_nodrain;
	pmem__memset_fn memset_nodrain;
	enum pmem__flush_kind flush_kind;	/* instruction of deep_flush */
	int flush_skipped;	/* flush is a no-op: eADR or PMEM_NO_FLUSH=1 */
	int auto_flush;		/* pmem_has_auto_flush() at load */
	size_t movnt_threshold;
	const char *flush_name;
	const char *drain_name;
	const char *memmove_name;
	const char *memset_name;
};

/* The table in force, filled by the load-time constructor. */
extern struct pmem__ops pmem__ops;
/* The features and options it was chosen from (for pmem-info). */
extern struct pmem__cpu pmem__cpu_info;
extern struct pmem__options pmem__opts;

/*
 * Chooses every routine from the CPU's features, the options and whether
 * the platform flushes caches on power loss (auto_flush == 1).  Pure: no
 * I/O, so tests can try every combination.
 */
void pmem__ops_select(struct pmem__ops *ops, const struct pmem__cpu *cpu,
	const struct pmem__options *opt, int auto_flush);

/* The name of a flush instruction, for logs and pmem-info. */
const char *pmem__flush_kind_name(enum pmem__flush_kind k);

/* Runs the constructor's work once (also used by tools linked statically). */
void pmem__init(void);

/* The SIMD kernels of kernel_<isa>.c (see kernel.h). */
pmem__memmove_fn pmem__sse2_memmove(enum pmem__flush_kind k);
pmem__memset_fn pmem__sse2_memset(enum pmem__flush_kind k);
pmem__memmove_fn pmem__avx2_memmove(enum pmem__flush_kind k);
pmem__memset_fn pmem__avx2_memset(enum pmem__flush_kind k);
pmem__memmove_fn pmem__avx512f_memmove(enum pmem__flush_kind k);
pmem__memset_fn pmem__avx512f_memset(enum pmem__flush_kind k);

/* The portable copy kernels of generic.c, one per flush instruction. */
pmem__memmove_fn pmem__generic_memmove(enum pmem__flush_kind k);
pmem__memset_fn pmem__generic_memset(enum pmem__flush_kind k);
void pmem__libc_memmove(void *dst, const void *src, size_t len,
	unsigned flags);
void pmem__libc_memset(void *dst, int c, size_t len, unsigned flags);
/* Kernels that copy, then call pmem__ops.flush (the 0.8 modes). */
void pmem__indirect_memmove(void *dst, const void *src, size_t len,
	unsigned flags);
void pmem__indirect_memset(void *dst, int c, size_t len, unsigned flags);

#endif /* PMEM_OPS_H */
