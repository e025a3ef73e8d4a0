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

/* Makes the range durable: flush, then drain. */
PMEM_EXPORT void
pmem_persist(const void *addr, size_t len)
{
	pmem__ops.flush(addr, len);
	pmem__ops.drain();
}

/* No x86 CPU has a hardware drain instruction (PCOMMIT was withdrawn). */
PMEM_EXPORT int
pmem_has_hw_drain(void)
{
	return 0;
}

/* msync(MS_SYNC) of every page that holds a byte of the range. */
PMEM_EXPORT int
pmem_msync(const void *addr, size_t len)
{
	static long pagesize;
	if (pagesize == 0)
		pagesize = sysconf(_SC_PAGESIZE);

	PMEM_VG_CHECK_ADDRESSABLE(addr, len);
	uintptr_t start = (uintptr_t)addr & ~((uintptr_t)pagesize - 1);
	len += (uintptr_t)addr - start;
	if (msync((void *)start, len, MS_SYNC) != 0) {
		pmem__err("!msync");
		return -1;
	}
	return 0;
}
