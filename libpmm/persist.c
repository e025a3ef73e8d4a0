/*
 * persist.c -- how libpmm makes its stores durable: through libpmem on a
 * medium that survives a power failure, by their order alone on one
 * that survives only process crashes (tmpfs, the RAM medium).
 *
 * The table is reached through pmm__pers so that the crash campaign can
 * watch every flush and drain (and stop the world at any of them).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>

#include <libpmem.h>

#include "pmm.h"

#define TMPFS_MAGIC_ 0x01021994
#define RAMFS_MAGIC_ 0x858458f6
/* pmem-crashtest's variable (libpmem/track.h) in the programs it runs */
#define CRASHTEST_ENV "PMEM_CRASHTEST"

/* PMDK's PMEM_IS_PMEM_FORCE=1: treat every mapping as persistent memory. */
static int
forced_pmem(void)
{
	const char *e = secure_getenv("PMEM_IS_PMEM_FORCE");
	return e != NULL && atoi(e) == 1;
}

/* The smaller of a and b. */
static inline size_t
min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* Plain stores, each 4 KiB's lines asked for before it is written:
 * memset alone (rep stosb) has few of a cold page's lines in flight;
 * asked for together they arrive in parallel, and from one DRAM row
 * when pages are consecutive, as a run of new blocks' are (see
 * bench/README.md, "Issue 14: the zero fill"). */
void
pmm__fill_cached(void *a, int c, size_t n)
{
	char *p = a, *e = p + n;
	pmm__want_lines(p, min_size(n, PMM__FILL_AHEAD));
	while (p < e) {
		char *q = p + min_size((size_t)(e - p), PMM__FILL_AHEAD);
		pmm__want_lines(q, min_size((size_t)(e - q), PMM__FILL_AHEAD));
		memset(p, c, (size_t)(q - p));
		p = q;
	}
}

/* A cached medium's large fill: non-temporal stores, then the fence
 * that orders them before the commit's plain store (whole pages: no
 * partial line is left to flush). */
void
pmm__fill_streaming(void *a, int c, size_t n)
{
	pmem_memset(a, c, n, PMEM_F_MEM_NONTEMPORAL);
}

int
pmm__on_tmpfs(int fd)
{
	struct statfs s;
	return fstatfs(fd, &s) == 0 && ((unsigned long)s.f_type == TMPFS_MAGIC_ ||
			(unsigned long)s.f_type == RAMFS_MAGIC_);
}

int
pmm__medium_cached(int tmpfs)
{
	/* a store a killed process made is in the page cache, which the
	 * next process maps; a power failure or reboot empties tmpfs
	 * whatever was flushed: write-backs would cost ~200 ns a call and
	 * keep nothing more.  Anything else (DAX, or a file system whose
	 * DAX we cannot tell) is flushed, the safe side. */
	if (!tmpfs)
		return 0;
	const char *ct = secure_getenv(CRASHTEST_ENV);
	return !forced_pmem() && (ct == NULL || ct[0] == 0);
}

/* Fill with libpmem's non-temporal or flushed stores, without the fence. */
static void
memset_nodrain(void *addr, int c, size_t len)
{
	pmem_memset_nodrain(addr, c, len);
}

struct pmm__persist_ops pmm__pers = {
	.flush = pmem_flush,
	.drain = pmem_drain,
	.memset_nodrain = memset_nodrain,
};
