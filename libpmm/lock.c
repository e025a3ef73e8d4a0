/*
 * lock.c -- the bank's robust, process-shared mutex.
 *
 * A process killed while holding it hands the next locker EOWNERDEAD: that
 * locker finishes or discards the dead one's change (pmm__recover) before
 * marking the mutex consistent, so nobody blocks and nobody sees a torn
 * change.
 *
 * The mutex alone cannot tell a copy of a bank (or a bank whose holder
 * died before the robust list reached the kernel) from a live holder:
 * its state is a thread id.  So every process holds a shared flock on
 * the bank file while it has the bank open, and the opener that finds
 * no other holder (bank.c: join) initialises the mutex afresh, whatever
 * its bytes say (a kind, a holder): glibc's private fields are never
 * read.
 *
 * The holder marks the index dirty while it holds the lock: a bank opened
 * by nobody else (no robust mutex to report a dead holder then) is
 * rebuilt only when the mark says its last writer died mid-change.
 *
 * A locker that finds the lock taken tries again for a few microseconds
 * before it sleeps: the holder keeps it for well under a microsecond, and
 * a futex sleep and wake-up cost several (more on a virtual machine), so
 * two processes allocating at once went 2.4 times slower than one alone
 * (bench/pmm-bench, "2 processes / 1").  Only trylock is used to spin:
 * the mutex's own word is glibc's to read.  The pauses between two tries
 * double, up to a cap: each trylock takes the mutex's line from the
 * holder's CPU (hundreds of ns on some machines, see pmm-bench's line
 * row), and a waiter that tries every few hundred ns took it in the
 * middle of nearly every critical section, so that two processes did
 * half the pairs of one; backing off lets the holder run on with the
 * line in its cache, and the two then do about as many as one.
 */
#include <errno.h>
#include <pthread.h>

#include "pmm.h"

/* Initialise the mutex in a fresh (or rebooted) bank. */
void
pmm__lock_init(struct pmm__bank *b)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&b->hdr->lock, &a);
	pthread_mutexattr_destroy(&a);
}

/* Pauses after the first failed try (doubled after each), their cap,
 * and the pauses spent in all before sleeping (about 0.3 ms at 40 ns a
 * pause). */
#define SPIN_PAUSES_MIN 8
#define SPIN_PAUSES_MAX 512
#define SPIN_BUDGET 8192

/* pthread_mutex_lock, after a short spin on trylock. */
static int
lock_spin(pthread_mutex_t *m)
{
	for (int spent = 0, pauses = SPIN_PAUSES_MIN; spent < SPIN_BUDGET;
			spent += pauses, pauses += pauses < SPIN_PAUSES_MAX ?
				pauses : 0) {
		int r = pthread_mutex_trylock(m);
		if (r != EBUSY)
			return r;
		for (int k = 0; k < pauses; k++) {
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#else
			__asm__ __volatile__("" ::: "memory");
#endif
		}
	}
	return pthread_mutex_lock(m);
}

/* Take the bank lock, recovering from a holder that died. */
int
pmm__lock(struct pmm__bank *b)
{
	int r = lock_spin(&b->hdr->lock);
	if (r == 0) {
		b->ix->dirty = 1;
		return K_OK;
	}
	if (r == EOWNERDEAD) {
		int rc = pmm__recover(b);
		if (rc != K_OK) {
			/* left inconsistent, the mutex refuses everyone: a
			 * damaged bank stops here until pmmctl recreates it */
			pthread_mutex_unlock(&b->hdr->lock);
			return rc;
		}
		pthread_mutex_consistent(&b->hdr->lock);
		b->ix->dirty = 1;
		return K_OK;
	}
	errno = r;
	return pmm__fail_errno(r == ENOTRECOVERABLE ? K_ECORRUPT : K_ESYS,
			"cannot lock bank %s", b->path);
}

/* Release the bank lock. */
void
pmm__unlock(struct pmm__bank *b)
{
	b->ix->dirty = 0;
	pthread_mutex_unlock(&b->hdr->lock);
}
