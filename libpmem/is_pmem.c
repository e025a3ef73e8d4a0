/*
 * is_pmem.c -- pmem_is_pmem: is a range persistent memory that may be
 * made durable with CPU flushes alone?
 */
#include <stdlib.h>

#include "libpmem.h"
#include "common.h"
#include "ranges.h"

#define FORCE_UNREAD (-2)

static int force = FORCE_UNREAD;

/*
 * Reads PMEM_IS_PMEM_FORCE as PMDK does, with atoi(): a value that reads
 * as 0 or 1 forces the answer ("01" and " 1" are 1; "10" forces
 * nothing); returns the forced answer, or -1.
 */
static int
read_force(void)
{
	const char *e = secure_getenv("PMEM_IS_PMEM_FORCE");
	int v = -1;
	if (e != NULL) {
		int n = atoi(e);
		if (n == 0 || n == 1)
			v = n;
	}
	__atomic_store_n(&force, v, __ATOMIC_RELAXED);
	return v;
}

/* Stops the walk (returns 1) at a piece that is not persistent memory. */
static int
not_pmem(const struct pmem__range *r, uintptr_t addr, size_t len, void *arg)
{
	(void)addr;
	(void)len;
	(void)arg;
	return r == NULL || r->type == PMEM_RANGE_FIT;
}

/*
 * 1 if the whole range is MAP_SYNC or Device DAX memory we mapped; an
 * empty range never is, whatever PMEM_IS_PMEM_FORCE says.
 */
PMEM_EXPORT int
pmem_is_pmem(const void *addr, size_t len)
{
	if (len == 0)
		return 0;
	int f = __atomic_load_n(&force, __ATOMIC_RELAXED);
	if (pmem__unlikely(f == FORCE_UNREAD))
		f = read_force();
	if (f >= 0)
		return f;
	if (pmem__ranges_count() == 0)
		return 0;
	return pmem__ranges_walk((uintptr_t)addr, len, not_pmem, NULL) == 0;
}
