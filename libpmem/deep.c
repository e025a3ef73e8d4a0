/*
 * deep.c -- pmem_has_auto_flush and the deep flush calls: past the CPU
 * caches and the memory controller's queues, to the media.
 */
#include <errno.h>
#include <unistd.h>

#include "libpmem.h"
#include "common.h"
#include "dax.h"
#include "errormsg.h"
#include "ops.h"
#include "ranges.h"
#include "sysfs.h"

/* 1 when the platform flushes CPU caches on power loss (eADR). */
PMEM_EXPORT int
pmem_has_auto_flush(void)
{
	return pmem__auto_flush_at(PMEM_SYSFS_ROOT);
}

/* Flushes the CPU caches even with eADR or PMEM_NO_FLUSH=1. */
PMEM_EXPORT void
pmem_deep_flush(const void *addr, size_t len)
{
	pmem__ops.deep_flush(addr, len);
}

/* Drains one piece of the range according to the memory behind it. */
static int
deep_piece(const struct pmem__range *r, uintptr_t addr, size_t len,
	void *arg)
{
	(void)arg;
	if (r == NULL || r->type == PMEM_RANGE_MAP_SYNC)
		return pmem_msync((const void *)addr, len) ? -1 : 0;
	if (r->type == PMEM_RANGE_FIT)
		return fdatasync(r->fd) ? -1 : 0;
	pmem__ops.drain();
	if (!r->has_region) {
		errno = ENOTSUP;
		pmem__err("deep flush: the region of Device DAX mapping %p is "
			"unknown", (void *)r->base);
		return -1;
	}
	return pmem__dax_deep_flush(r->region_id) ? -1 : 0;
}

/* Makes earlier flushes of the range reach the media; 0 or -1/errno. */
PMEM_EXPORT int
pmem_deep_drain(const void *addr, size_t len)
{
	if (len == 0)
		return 0;
	return pmem__ranges_walk((uintptr_t)addr, len, deep_piece, NULL);
}

/* pmem_deep_flush, then pmem_deep_drain. */
PMEM_EXPORT int
pmem_deep_persist(const void *addr, size_t len)
{
	pmem_deep_flush(addr, len);
	return pmem_deep_drain(addr, len);
}
