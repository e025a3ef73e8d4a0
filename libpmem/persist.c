/*
 * persist.c -- pmem_persist, pmem_flush, pmem_drain, pmem_msync.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libpmem.h"
#include "common.h"
#include "errormsg.h"
#include "ops.h"
#include "pmemcheck.h"
#include "ranges.h"
#include "track.h"

#undef pmem_persist

/* Flushes the range from the CPU caches; no ordering guarantee yet. */
PMEM_EXPORT void
pmem_flush(const void *addr, size_t len)
{
	pmem__ops.flush(addr, len);
}

/* Waits until earlier flushes and non-temporal stores are durable. */
PMEM_EXPORT void
pmem_drain(void)
{
	pmem__ops.drain();
}

/* Makes the range durable: flush, then drain, in one routine. */
PMEM_EXPORT void
pmem_persist(const void *addr, size_t len)
{
	pmem__ops.persist(addr, len);
}

/* No x86 CPU has a hardware drain instruction (PCOMMIT was withdrawn). */
PMEM_EXPORT int
pmem_has_hw_drain(void)
{
	return 0;
}

/* msync(MS_SYNC) of every page that holds a byte of the range. */
static int
msync_pages(const void *addr, size_t len)
{
	static long pagesize;
	if (pagesize == 0)
		pagesize = sysconf(_SC_PAGESIZE);

	uintptr_t start = (uintptr_t)addr & ~((uintptr_t)pagesize - 1);
	len += (uintptr_t)addr - start;
	/*
	 * The rounded-down pages may hold bytes memcheck calls unaddressable
	 * (a pool's red zones, say): syncing them is no bug, so memcheck
	 * reports nothing about this call (the caller's own range was checked
	 * in pmem_msync).  pmemcheck is told the pages were made durable.
	 */
	PMEM_VG_ERRORS_OFF();
	int ret = msync((void *)start, len, MS_SYNC);
	int oerrno = errno;
	PMEM_VG_ERRORS_ON();
	PMEM__PMC_FLUSH(start, len);
	PMEM__PMC_FENCE();
	if (ret != 0) {
		errno = oerrno;
		pmem__err("!msync");
		return -1;
	}
	return 0;
}

/* Syncs one piece: fit-mode private copies are written to their file. */
static int
msync_piece(const struct pmem__range *r, uintptr_t addr, size_t len,
	void *arg)
{
	(void)arg;
	if (r != NULL && r->type == PMEM_RANGE_FIT)
		return pmem__fit_write(r, addr, len);
	return msync_pages((const void *)addr, len);
}

/*
 * Makes the range durable through the kernel.  On a fit-mode mapping,
 * where msync would write nothing (it is private), the covering lines
 * are written to the file instead.
 */
PMEM_EXPORT int
pmem_msync(const void *addr, size_t len)
{
	PMEM_VG_CHECK_ADDRESSABLE(addr, len);
	if (pmem__unlikely(pmem__tracking))
		pmem__track_msync(addr, len);
	if (pmem__ranges_count() == 0)
		return msync_pages(addr, len);
	if (len == 0)
		return msync_pages(addr, 0);
	return pmem__ranges_walk((uintptr_t)addr, len, msync_piece, NULL);
}
