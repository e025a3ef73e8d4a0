/*
 * pmm-lockshare.c -- preloaded (LD_PRELOAD) into one pmm-bench child
 * only: how much of that process's time libpmm holds a bank's lock.
 *
 * libpmm takes a bank's lock with pthread_mutex_trylock or
 * pthread_mutex_lock and releases it with pthread_mutex_unlock, all
 * called through the PLT, so this module sees each call first.  It
 * counts the time stamp counter from a lock taken to its release, for
 * mutexes inside the banks' address range only (a bank's mutexes live in
 * its header; pmm-bench's pairs take one, their arena's, at a time).  The
 * share of a single process's time spent holding it bounds what any number
 * of processes could do with one lock for the whole bank: at most 1 /
 * share of one process's throughput.  The child reads the sums with
 * pmm_lockshare_read, found with dlsym.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <x86intrin.h>

#include "layout.h"

#define EXPORT __attribute__((visibility("default")))

static int (*real_lock)(pthread_mutex_t *);
static int (*real_trylock)(pthread_mutex_t *);
static int (*real_unlock)(pthread_mutex_t *);
static __thread uint64_t taken;
/* Plain sums: pmm-bench's lock-share child makes its calls from one
 * thread (several would need atomic adds here). */
static uint64_t held, nheld;

/* The real functions, once (the first call of any of them). */
static void
resolve(void)
{
	if (real_unlock != NULL)
		return;
	real_lock = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT,
			"pthread_mutex_lock");
	real_trylock = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT,
			"pthread_mutex_trylock");
	real_unlock = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT,
			"pthread_mutex_unlock");
}

/* Whether m is a bank's mutex. */
static int
in_bank(const pthread_mutex_t *m)
{
	uintptr_t a = (uintptr_t)m;
	return a >= PMM__ADDR_MIN && a < PMM__ADDR_END;
}

/* A lock or trylock of m returned r: note when a bank's lock was taken. */
static int
note_taken(pthread_mutex_t *m, int r)
{
	if ((r == 0 || r == EOWNERDEAD) && in_bank(m))
		taken = __rdtsc();
	return r;
}

/* pthread_mutex_lock, noting when a bank's lock is taken. */
EXPORT int
pthread_mutex_lock(pthread_mutex_t *m)
{
	resolve();
	return note_taken(m, real_lock(m));
}

/* pthread_mutex_trylock, likewise. */
EXPORT int
pthread_mutex_trylock(pthread_mutex_t *m)
{
	resolve();
	return note_taken(m, real_trylock(m));
}

/* pthread_mutex_unlock, adding the time a bank's lock was held. */
EXPORT int
pthread_mutex_unlock(pthread_mutex_t *m)
{
	resolve();
	if (in_bank(m) && taken != 0) {
		held += __rdtsc() - taken;
		nheld++;
		taken = 0;
	}
	return real_unlock(m);
}

/* The sums so far: time stamp counter ticks held, and lock holds. */
EXPORT void pmm_lockshare_read(uint64_t *ticks, uint64_t *holds);
EXPORT void
pmm_lockshare_read(uint64_t *ticks, uint64_t *holds)
{
	*ticks = held;
	*holds = nheld;
}
