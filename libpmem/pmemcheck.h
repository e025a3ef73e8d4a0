/*
 * pmemcheck.h -- the client requests of pmemcheck, PMDK's valgrind tool
 * that tracks stores to persistent memory until they are flushed and
 * fenced.  The request codes are pmemcheck's public ABI (PMDK's
 * pmemcheck.h: the tool base 'P','C', then these in this order); the
 * definitions are ours.
 *
 * pmemcheck sees flush (clflush, clflushopt, clwb) and fence instructions
 * by itself.  The library tells it, as PMDK's libpmem does, what it
 * cannot see: which ranges are persistent memory mappings, flushes that
 * run no instruction (eADR or PMEM_NO_FLUSH=1, msync, and non-temporal
 * stores, which bypass the cache) and drains that need no fence (after
 * clflush).  Outside valgrind a request is a few register rotations that
 * do nothing; without valgrind's headers (--disable-valgrind) none is
 * compiled in.
 */
#ifndef PMEM_PMEMCHECK_H
#define PMEM_PMEMCHECK_H 1

#ifdef PMEM_USE_VALGRIND
#include <valgrind/valgrind.h>

enum pmem__pmc_request {
	PMEM_PMC_REGISTER_PMEM_MAPPING = VG_USERREQ_TOOL_BASE('P', 'C'),
	PMEM_PMC_REGISTER_PMEM_FILE,	/* fd, addr, len, file offset */
	PMEM_PMC_REMOVE_PMEM_MAPPING,
	PMEM_PMC_CHECK_IS_PMEM_MAPPING,
	PMEM_PMC_PRINT_PMEM_MAPPINGS,
	PMEM_PMC_DO_FLUSH,		/* addr, len */
	PMEM_PMC_DO_FENCE,
	PMEM_PMC_RESERVED1,		/* formerly DO_COMMIT */
	PMEM_PMC_WRITE_STATS,
};

#define PMEM__PMC(req, a1, a2, a3, a4) \
	VALGRIND_DO_CLIENT_REQUEST_STMT((req), (a1), (a2), (a3), (a4), 0)
#else
#define PMEM__PMC(req, a1, a2, a3, a4) \
	((void)(a1), (void)(a2), (void)(a3), (void)(a4))
#endif

/* [addr, addr + len) is a new persistent memory mapping of fd's file. */
#define PMEM__PMC_REGISTER(fd, addr, len) do { \
	PMEM__PMC(PMEM_PMC_REGISTER_PMEM_MAPPING, (addr), (len), 0, 0); \
	PMEM__PMC(PMEM_PMC_REGISTER_PMEM_FILE, (fd), (addr), (len), 0); \
} while (0)

/* [addr, addr + len) is no longer mapped. */
#define PMEM__PMC_REMOVE(addr, len) \
	PMEM__PMC(PMEM_PMC_REMOVE_PMEM_MAPPING, (addr), (len), 0, 0)

/* [addr, addr + len) was flushed without a flush instruction. */
#define PMEM__PMC_FLUSH(addr, len) \
	PMEM__PMC(PMEM_PMC_DO_FLUSH, (addr), (len), 0, 0)

/* A drain that runs no fence instruction still orders the flushes. */
#define PMEM__PMC_FENCE() PMEM__PMC(PMEM_PMC_DO_FENCE, 0, 0, 0, 0)

#endif /* PMEM_PMEMCHECK_H */
