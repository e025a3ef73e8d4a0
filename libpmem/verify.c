/*
 * verify.c -- NVM.PM.FILE.OPTIMIZED_FLUSH_AND_VERIFY: persist a range, then
 * read it back from the persistence domain, reporting the first line that
 * cannot be read instead of dying on it.
 *
 * Each line is written back and evicted (clflush), so the read that
 * follows comes from the memory, not from the cache.  The read runs under
 * a guard of this thread: a SIGBUS on it (a poisoned line) jumps back
 * here.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libpmem.h"
#include "common.h"
#include "errormsg.h"
#include "poison.h"
#include "sigbus.h"

#undef pmem_persist

static struct {
	uintptr_t lo, hi;
} poison[PMEM_POISON_MAX];
static int npoison;
static pthread_mutex_t poison_lock = PTHREAD_MUTEX_INITIALIZER;

/* See poison.h. */
int
pmem__poison_inject(const void *addr, size_t len)
{
	int ret = 0;
	pthread_mutex_lock(&poison_lock);
	if (npoison == PMEM_POISON_MAX) {
		errno = ENOSPC;
		ret = -1;
	} else {
		poison[npoison].lo = (uintptr_t)addr;
		poison[npoison].hi = (uintptr_t)addr + len;
		npoison++;
	}
	pthread_mutex_unlock(&poison_lock);
	return ret;
}

/* See poison.h. */
void
pmem__poison_clear(void)
{
	pthread_mutex_lock(&poison_lock);
	npoison = 0;
	pthread_mutex_unlock(&poison_lock);
}

/* 1 if the line at a is marked poisoned. */
static int
poisoned(uintptr_t a)
{
	int hit = 0;
	if (__atomic_load_n(&npoison, __ATOMIC_RELAXED) == 0)
		return 0;
	pthread_mutex_lock(&poison_lock);
	for (int i = 0; i < npoison && !hit; i++)
		hit = a + PMEM_CACHELINE > poison[i].lo && a < poison[i].hi;
	pthread_mutex_unlock(&poison_lock);
	return hit;
}

/* Evicts the line at a from every cache (a fault here is caught as a
 * read's is: clflush faults on a page with nothing behind it). */
static inline void
evict(uintptr_t a)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_clflush((const void *)a);
#else
	(void)a;
#endif
}

/* Orders the evictions before the reads. */
static inline void
evict_fence(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_mfence();
#endif
}

/*
 * Under this thread's guard: persists the range with CPU flushes (pmem),
 * evicts every line, then reads one byte of each.  On a fault, *bad is the
 * first line known bad (the faulting one; while reading, never one before
 * the line being read, all of which read back) and *code the si_code.
 * 0 or -1.
 */
static int
read_back(uintptr_t lo, uintptr_t hi, int pmem, uintptr_t *bad, int *code)
{
	struct pmem__guard g;
	volatile uintptr_t a = lo;
	volatile int reading = 0;

	g.start = lo;
	g.end = hi;
	if (sigsetjmp(g.jb, 1) != 0) {
		uintptr_t f = g.fault & ~(uintptr_t)(PMEM_CACHELINE - 1);
		*bad = reading && f < a ? a : f;
		*code = g.code;
		return -1;
	}
	pmem__guard_set(&g);
	if (pmem)
		pmem_persist((const void *)lo, hi - lo);
	for (; a < hi; a += PMEM_CACHELINE)
		evict(a);
	evict_fence();
	reading = 1;
	for (a = lo; a < hi; a += PMEM_CACHELINE) {
		if (poisoned(a))
			pmem__sigbus_raise(BUS_MCEERR_AR, (const void *)a, 6);
		(void)*(const volatile char *)a;
	}
	pmem__guard_set(NULL);
	return 0;
}

/* 0 if every page of the range is mapped, else -1 with ENOMEM. */
static int
check_mapped(uintptr_t addr, size_t len)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = addr & ~(page - 1);
	unsigned char vec[1024];
	uintptr_t end = addr + len;

	while (start < end) {
		size_t n = (end - start + page - 1) / page;
		if (n > sizeof(vec))
			n = sizeof(vec);
		if (mincore((void *)start, n * page, vec) != 0)
			return -1;
		start += n * page;
	}
	return 0;
}

/* Persists the range and reads it back; see pmem_persist_verify(3). */
PMEM_EXPORT int
pmem_persist_verify(const void *addr, size_t len, size_t *bad_offp)
{
	uintptr_t a = (uintptr_t)addr, bad;
	int code = 0;

	if (len == 0)
		return 0;
	if (addr == NULL || a + len < a) {
		errno = EINVAL;
		pmem__err("invalid range %p, %zu bytes", addr, len);
		return -1;
	}
	if (check_mapped(a, len) != 0) {
		errno = ENOMEM;
		pmem__err("range %p, %zu bytes, is not mapped", addr, len);
		return -1;
	}
	if (pmem__sigbus_install() != 0)
		return -1;
	int pmem = pmem_is_pmem(addr, len);
	if (!pmem && pmem_msync(addr, len) != 0)
		return -1;

	uintptr_t lo = a & ~(uintptr_t)(PMEM_CACHELINE - 1);
	if (read_back(lo, a + len, pmem, &bad, &code) == 0)
		return 0;
	size_t off = bad > a ? bad - a : 0;
	if (bad_offp != NULL)
		*bad_offp = off;
	errno = EIO;
	if (code == BUS_ADRERR)
		pmem__err("offset %zu of %p (%zu bytes) is past the end of "
			"the file (truncated?)", off, addr, len);
	else
		pmem__err("media error at offset %zu of %p (%zu bytes)", off,
			addr, len);
	return -1;
}
