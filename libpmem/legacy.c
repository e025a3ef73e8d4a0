/*
 * legacy.c -- the 0.8 API of <pmem.h>: pmem_map, pmem_flush_cache,
 * pmem_fence, pmem_drain_pm_stores and the two flush modes.
 *
 * A mode replaces the flush routines of the table for the whole process:
 * msync mode makes every flush an msync of the covering pages; fit mode
 * (fault-injection testing) keeps pmem_map mappings private and writes
 * each flushed line into the file, so a crash at any instant leaves in
 * the file exactly what was persisted.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pmem.h"
#include "common.h"
#include "errormsg.h"
#include "flush.h"
#include "log.h"
#include "mmap.h"
#include "ops.h"
#include "ranges.h"

enum mode { MODE_PM, MODE_MSYNC, MODE_FIT };
static enum mode mode = MODE_PM;
/* The CPU flush chosen at load: fit mode still uses it outside its files. */
static pmem__flush_fn cpu_flush;

/* Records a mapping made by pmem_map; fit mappings keep a dup of fd. */
static int
track(void *addr, size_t len, int fd, int fit, int is_sync)
{
	if (!fit && !is_sync)
		return 0;
	struct pmem__range r = {
		.base = (uintptr_t)addr,
		.end = (uintptr_t)addr + len,
		.type = fit ? PMEM_RANGE_FIT : PMEM_RANGE_MAP_SYNC,
		.fd = -1,
	};
	if (fit) {
		r.fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (r.fd < 0)
			return -1;
	}
	if (pmem__ranges_add(&r) != 0) {
		if (r.fd >= 0)
			close(r.fd);
		return -1;
	}
	return 0;
}

/* Maps len bytes of fd read/write; NULL with errno on failure. */
PMEM_EXPORT void *
pmem_map(int fd, size_t len)
{
	int is_sync, fit = mode == MODE_FIT;

	if (len == 0) {
		pmem__err("pmem_map: zero length");
		errno = EINVAL;
		return NULL;
	}
	void *addr = pmem__mmap_aligned(fd, len,
		pmem__mmap_align_for(len), fit ? PMEM_MAP_PRIVATE : 0,
		&is_sync);
	if (addr == NULL)
		return NULL;
	if (track(addr, len, fd, fit, is_sync) != 0) {
		int oerrno = errno;
		munmap(addr, len);
		errno = oerrno;
		pmem__err("!pmem_map: cannot track the mapping");
		return NULL;
	}
	return addr;
}

/* Flushes the processor caches over the range; flags are ignored. */
PMEM_EXPORT void
pmem_flush_cache(void *addr, size_t len, int flags)
{
	(void)flags;
	pmem__ops.flush(addr, len);
}

/* Persistent-memory store barrier. */
PMEM_EXPORT void
pmem_fence(void)
{
	pmem__sfence();
}

/*
 * Waits for stores to drain from hardware buffers.  On x86 the memory
 * controller's queues are inside the ADR domain, so nothing is needed.
 */
PMEM_EXPORT void
pmem_drain_pm_stores(void)
{
}

/*
 * msync mode: flushes are msync(MS_SYNC) of the covering pages.  A range
 * that is not mapped made the 0.8 library exit the program; a library
 * must not end its caller, so the flush is reported instead: errno (ENOMEM
 * from msync) and a message for pmem_errormsg(), logged at level 1.
 */
static void
flush_msync(const void *addr, size_t len)
{
	if (len != 0 && pmem_msync(addr, len) != 0)
		pmem__err("!msync mode: flush of %zu bytes at %p", len, addr);
}

/* Writes n bytes of the private mapping at p to the file at off. */
static int
fit_pwrite(int fd, const char *p, size_t n, off_t off)
{
	while (n > 0) {
		ssize_t w = pwrite(fd, p, n, off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			pmem__err("!fit mode: pwrite of %zu bytes at offset %jd",
				n, (intmax_t)off);
			return -1;
		}
		p += w;
		off += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * See ranges.h.  One pwrite per 64-byte line, in address order, as the
 * 0.8 library did: a kill between two writes then leaves the first lines
 * of a persist in the file and not the later ones, which is what a power
 * failure can leave on real hardware.  One write for several lines would
 * hide that state from the program under test.  The last line of a
 * mapping whose length is not a multiple of 64 is cut at the mapping's
 * end, so the file never grows (the 0.8 library wrote the whole line).
 */
int
pmem__fit_write(const struct pmem__range *r, uintptr_t addr, size_t len)
{
	uintptr_t lo = addr & ~(uintptr_t)(PMEM_CACHELINE - 1);
	uintptr_t end = addr + len;
	if (lo < r->base)
		lo = r->base;
	if (end > r->end)
		end = r->end;

	while (lo < end) {
		uintptr_t next = (lo + PMEM_CACHELINE) &
			~(uintptr_t)(PMEM_CACHELINE - 1);
		if (next > r->end)
			next = r->end;
		off_t off = r->offset + (off_t)(lo - r->base);
		if (fit_pwrite(r->fd, (const char *)lo, next - lo, off) != 0)
			return -1;
		lo = next;
	}
	return 0;
}

/* Flushes one piece: a fit range goes to its file, other memory to RAM. */
static int
fit_piece(const struct pmem__range *r, uintptr_t addr, size_t len, void *arg)
{
	(void)arg;
	if (r == NULL || r->type != PMEM_RANGE_FIT)
		cpu_flush((const void *)addr, len);
	else
		(void)pmem__fit_write(r, addr, len);
	return 0;
}

/* fit mode: each covering line of a pmem_map mapping goes to its file. */
static void
flush_fit(const void *addr, size_t len)
{
	if (len != 0)
		(void)pmem__ranges_walk((uintptr_t)addr, len, fit_piece, NULL);
}

/* Nothing to wait for: msync and pwrite complete before they return. */
static void
drain_none(void)
{
}

/* Installs a mode's flush in the table. */
static void
set_mode(enum mode m, pmem__flush_fn flush, const char *name)
{
	if (mode == MODE_PM)
		cpu_flush = pmem__ops.deep_flush;
	mode = m;
	pmem__ops.flush = flush;
	pmem__ops.persist = flush;	/* the drain is empty in both modes */
	pmem__ops.deep_flush = flush;
	pmem__ops.drain = drain_none;
	pmem__ops.memmove_nodrain = pmem__indirect_memmove;
	pmem__ops.memset_nodrain = pmem__indirect_memset;
	pmem__ops.flush_name = name;
	pmem__ops.drain_name = "none";
	pmem__ops.memmove_name = "generic+mode";
	pmem__ops.memset_name = "generic+mode";
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	pmem__log(3, "0.8 %s mode selected", name);
}

/* Makes every flush of the process an msync of the covering pages. */
PMEM_EXPORT void
pmem_msync_mode(void)
{
	set_mode(MODE_MSYNC, flush_msync, "msync");
}

/* Fault-injection testing mode; see pmem_map(3). */
PMEM_EXPORT void
pmem_fit_mode(void)
{
	set_mode(MODE_FIT, flush_fit, "fit");
}
