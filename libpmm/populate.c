/*
 * populate.c -- a bank's pages mapped in ahead of use, off the caller's
 * path.
 *
 * A store to a page of a shared tmpfs mapping faults once per process
 * (and, the first time ever, the kernel zeroes it): a few microseconds
 * that would land on some pmmAllocate.  MAP_POPULATE pays them all in the
 * first call instead, proportional to the bank (90 ms for an existing
 * 4 GiB bank here, seconds for a new one).  So a small bank is populated
 * at once, and a large one by a thread of its own with
 * MADV_POPULATE_WRITE, metadata first, starting 20 ms later at the idle
 * priority, so that the first call does not share the CPU with it; a
 * kernel without it (before Linux 5.14) just faults on demand.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "pmm.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Below this, populating at once costs less than a thread. */
#define AT_ONCE (32ULL << 20)
#define CHUNK (2ULL << 20)

/* Fault in b's mapping, chunk by chunk, until done or told to stop. */
static void *
populate(void *arg)
{
	struct pmm__bank *b = arg;
	uint64_t size = b->g.file_size;
	/* only on an otherwise idle CPU, and after the call that opened the
	 * bank has returned: never ahead of the process's own calls */
	struct sched_param sp = { 0 };
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
	nanosleep(&pause, NULL);
	for (uint64_t off = 0; off < size; off += CHUNK) {
		if (atomic_load_explicit(&b->pop_stop, memory_order_relaxed))
			break;
		uint64_t n = size - off < CHUNK ? size - off : CHUNK;
		if (madvise(b->base + off, n, MADV_POPULATE_WRITE) != 0)
			break;		/* unsupported, or no memory: on demand */
	}
	return NULL;
}

/* Start populating b's (writable, shared) mapping. */
void
pmm__populate_start(struct pmm__bank *b)
{
	b->pop_pid = 0;
	atomic_store(&b->pop_stop, 0);
	if (b->g.file_size <= AT_ONCE) {
		int e = errno;
		if (madvise(b->base, b->g.file_size, MADV_POPULATE_WRITE) != 0)
			errno = e;
		return;
	}
	pthread_attr_t a;
	sigset_t all, old;
	/* the thread takes no signal meant for the process */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 << 10);
	if (pthread_create(&b->populator, &a, populate, b) == 0)
		b->pop_pid = getpid();
	pthread_attr_destroy(&a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Stop and wait for b's populating thread (this process's only: after a
 * fork the child has none). */
void
pmm__populate_stop(struct pmm__bank *b)
{
	if (b->pop_pid == 0 || b->pop_pid != getpid())
		return;
	atomic_store(&b->pop_stop, 1);
	pthread_join(b->populator, NULL);
	b->pop_pid = 0;
}
