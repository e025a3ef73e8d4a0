/*
 * lock.c -- the arenas' and the keys' robust, process-shared mutexes, and
 * the name buckets' writer bits.
 *
 * A bank has up to PMM__ARENAS arenas (layout.h), each a range of entries
 * and of pages with its own lock, so that two processes allocating and
 * freeing at once each work in their own arena: the lines a holder
 * writes (the lock's, the free-entry chain's, the free lists') stay in
 * its CPU's cache instead of moving to the other CPU with every hand-over
 * of one bank lock, which kept two processes at 0.8-0.9 times the pairs of
 * one (bench/README.md).  The name buckets are shared: a writer takes a
 * bucket's writer bit (meta bit 0) while holding an arena lock; the keys'
 * lists have a lock of their own.  Lock order: arenas in ascending order,
 * then the keys' lock, then buckets (a name's home first).  A call that
 * needs more than it holds releases everything and starts again "wide",
 * holding every lock (PMM__WIDE); so does a bucket waited for too long,
 * which makes any cycle of waits impossible.  Wide, no live process holds
 * a writer bit (it would hold an arena lock), so a set one is stale and
 * is taken over.  A call that has committed a change never starts again:
 * it marks the index untrusted before it lets go, and the wide locker
 * rebuilds it.
 *
 * Each thread allocates in an arena of its own choice: one picked from
 * its process and thread ids at first (after a fork too); another one,
 * kept, when its own is taken at that moment (so two processes end up
 * apart) or has no room for the block (pmm__arena_keep); the one with the
 * most room when its own has less than half the average.
 * A free takes the locks of the arenas its block lies in.
 *
 * A process killed while holding a lock hands the next locker EOWNERDEAD:
 * it makes the index generation odd (lock-free readers stop trusting the
 * index, lockers rebuild it) before it marks the mutex consistent, and
 * the first wide locker rebuilds the index from the table (pmm__recover).
 *
 * The mutexes alone cannot tell a copy of a bank (or a bank whose holder
 * died before the robust list reached the kernel) from a live holder:
 * their state is a thread id.  So every process holds a shared flock on
 * the bank file while it has the bank open, and the opener that finds no
 * other holder (bank.c: join) initialises them afresh, whatever their
 * bytes say: glibc's private fields are never read.  Each holder marks its
 * lock dirty while it holds it: a bank opened by nobody else is rebuilt
 * only when a mark says its last writer died mid-change.
 *
 * A locker that finds a lock taken tries again for a few microseconds
 * before it sleeps: the holder keeps it for well under a microsecond, and
 * a futex sleep and wake-up cost several.  Only trylock is used to spin:
 * the mutex's own word is glibc's to read.  The pauses between two tries
 * double, up to a cap: each trylock takes the mutex's line from the
 * holder's CPU, and a waiter that tries every few hundred ns took it in
 * the middle of nearly every critical section.
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "pmm.h"

/* Initialise the arenas' and the keys' mutexes of a fresh (or rebooted,
 * or copied) bank. */
void
pmm__lock_init(struct pmm__bank *b)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	for (unsigned i = 0; i < PMM__ARENAS; i++)
		pthread_mutex_init(&b->hdr->arena[i].lock, &a);
	pthread_mutex_init(&b->hdr->keys.lock, &a);
	pthread_mutexattr_destroy(&a);
}

/* Whether any lock's holder left its mark (it died mid-change). */
int
pmm__lock_dirty(const struct pmm__bank *b)
{
	int d = b->hdr->keys.dirty != 0;
	for (unsigned i = 0; i < b->g.narenas; i++)
		d |= b->hdr->arena[i].dirty != 0;
	return d;
}

/* Pauses after the first failed try (doubled after each), their cap,
 * and the pauses spent in all before sleeping (about 0.3 ms at 40 ns a
 * pause). */
#define SPIN_PAUSES_MIN 8
#define SPIN_PAUSES_MAX 512
#define SPIN_BUDGET 8192

/* n pauses. */
static void
pause_n(int n)
{
	for (int k = 0; k < n; k++)
		pmm__cpu_relax();
}

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
		pause_n(pauses);
	}
	return pthread_mutex_lock(m);
}

/* A lock call returned r on m: K_OK when m is held now (a dead holder's
 * change left for the rebuild), else the error. */
static int
taken(struct pmm__bank *b, pthread_mutex_t *m, int r)
{
	if (r == 0)
		return K_OK;
	if (r == EOWNERDEAD) {
		/* odd before consistent: nobody trusts the index until a wide
		 * locker has rebuilt it, even if this process dies now */
		pmm__ix_begin_rebuild(b);
		pthread_mutex_consistent(m);
		return K_OK;
	}
	errno = r;
	return pmm__fail_errno(r == ENOTRECOVERABLE ? K_ECORRUPT : K_ESYS,
			"cannot lock bank %s", b->path);
}

/* See pmm.h. */
int
pmm__arena_take(struct pmm__bank *b, unsigned a, int try)
{
	pthread_mutex_t *m = &b->hdr->arena[a].lock;
	int r = try ? pthread_mutex_trylock(m) : lock_spin(m);
	if (r == EBUSY && try)
		return PMM__AGAIN;
	int rc = taken(b, m, r);
	if (rc == K_OK)
		b->hdr->arena[a].dirty = 1;
	return rc;
}

/* Take arena a's lock (blocking). */
static int
arena_lock(struct pmm__bank *b, unsigned a)
{
	return pmm__arena_take(b, a, 0);
}

static void
arena_unlock(struct pmm__bank *b, unsigned a)
{
	b->hdr->arena[a].dirty = 0;
	pthread_mutex_unlock(&b->hdr->arena[a].lock);
}

/* ------------------------------------------------------------- wide */

/* Every arena's lock and the keys' lock, in order; the index rebuilt
 * when a holder was found dead (or a rebuild was cut short). */
int
pmm__lock(struct pmm__bank *b)
{
	unsigned n = (unsigned)b->g.narenas, a;
	int rc = K_OK;
	for (a = 0; a < n && rc == K_OK; a++)
		rc = arena_lock(b, a);
	if (rc != K_OK) {
		for (unsigned i = 0; i + 1 < a; i++)
			arena_unlock(b, i);
		return rc;
	}
	pthread_mutex_t *m = &b->hdr->keys.lock;
	if ((rc = taken(b, m, lock_spin(m))) != K_OK) {
		for (a = 0; a < n; a++)
			arena_unlock(b, a);
		return rc;
	}
	b->hdr->keys.dirty = 1;
	if (__atomic_load_n(&b->ix->gen, __ATOMIC_ACQUIRE) & 1) {
		if ((rc = pmm__recover(b)) != K_OK) {
			/* left inconsistent: every locker meets the damage
			 * until pmmctl recreates the bank */
			pmm__unlock(b);
			return rc;
		}
	}
	return K_OK;
}

/* Release every lock pmm__lock took. */
void
pmm__unlock(struct pmm__bank *b)
{
	b->hdr->keys.dirty = 0;
	pthread_mutex_unlock(&b->hdr->keys.lock);
	for (unsigned a = (unsigned)b->g.narenas; a-- > 0;)
		arena_unlock(b, a);
}

/* ----------------------------------------------------------- narrow */

/* This thread's arena: where its allocations go first (-1: not chosen
 * yet; a forked child chooses anew, not its parent's), and its calls
 * since it last compared the arenas' room. */
static __thread int my_arena __attribute__((tls_model("initial-exec"))) = -1;
static __thread int since_balance __attribute__((tls_model("initial-exec")));
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void
forked(void)
{
	my_arena = -1;
	since_balance = 0;
}

static void
register_fork(void)
{
	pthread_atfork(NULL, NULL, forked);
}

/* After narrow locks are taken: PMM__WIDE (all released) when the index
 * is untrusted, for the wide locker to rebuild. */
static int
check_gen(struct pmm__bank *b, struct pmm__locks *l)
{
	if (!(__atomic_load_n(&b->ix->gen, __ATOMIC_ACQUIRE) & 1))
		return K_OK;
	pmm__unlock_narrow(b, l);
	return PMM__WIDE;
}

/* Arena a's free pages and entries, in 1/4096ths of its own (read
 * without its lock: a hint). */
static uint64_t
room(const struct pmm__bank *b, unsigned a)
{
	const struct pmm__arena *A = &b->hdr->arena[a];
	uint64_t np = pmm__arena_page_lo(&b->g, a + 1) -
		pmm__arena_page_lo(&b->g, a);
	uint64_t ne = pmm__arena_entry_lo(&b->g, a + 1) -
		pmm__arena_entry_lo(&b->g, a);
	uint64_t up = __atomic_load_n(&A->used_pages, __ATOMIC_RELAXED);
	uint64_t ub = __atomic_load_n(&A->used_blocks, __ATOMIC_RELAXED);
	uint64_t fp = up < np ? (np - up) * 4096 / np : 0;
	uint64_t fe = ub < ne ? (ne - ub) * 4096 / ne : 0;
	return fp < fe ? fp : fe;
}

/* Every 64 calls: move to the arena with the most room when ours has
 * less than half the average, so that one process filling a bank leaves
 * room in every arena for whoever works there.  Only then, and not soon
 * after a thread found its arena taken by another and moved to a free one
 * (pmm__lock_any_arena): two processes that both go to the arena with the
 * most room meet again there. */
static void
balance(const struct pmm__bank *b)
{
	if (++since_balance < 64 || b->g.narenas == 1 || my_arena < 0)
		return;
	since_balance = 0;
	unsigned n = (unsigned)b->g.narenas, best = 0;
	unsigned mine = pmm__arena_pick(b);
	uint64_t r[PMM__ARENAS], sum = 0;
	for (unsigned a = 0; a < n; a++) {
		r[a] = room(b, a);
		sum += r[a];
		if (r[a] > r[best])
			best = a;
	}
	if (2 * n * r[mine] < sum)
		my_arena = (int)best;
}

/* See pmm.h. */
unsigned
pmm__arena_pick(const struct pmm__bank *b)
{
	if (my_arena < 0) {
		/* threads and processes start apart, most of the time */
		pthread_once(&fork_once, register_fork);
		uint64_t h = pmm__mix((uint64_t)getpid(),
				(uint64_t)pthread_self());
		my_arena = (int)((h >> 32) % PMM__ARENAS);
	}
	return (unsigned)my_arena % (unsigned)b->g.narenas;
}

/* See pmm.h. */
void
pmm__arena_keep(unsigned a)
{
	my_arena = (int)a;
}

/* See pmm.h. */
int
pmm__lock_any_arena(struct pmm__bank *b, struct pmm__locks *l, unsigned *a)
{
	unsigned n = (unsigned)b->g.narenas, first;
	int rc;
	*l = (struct pmm__locks){ 0 };
	if (n == 1) {
		if ((rc = arena_lock(b, 0)) != K_OK)
			return rc;
		l->arenas = 1;
		*a = 0;
		return check_gen(b, l);
	}
	balance(b);
	first = pmm__arena_pick(b);
	/* another thread or process in ours: take the next free one, and
	 * keep it for the next calls */
	for (unsigned i = 0; i < n; i++) {
		unsigned c = (first + i) % n;
		if ((rc = pmm__arena_take(b, c, 1)) == PMM__AGAIN)
			continue;
		if (rc != K_OK)
			return rc;
		if (i > 0)
			since_balance = -4096;	/* stay clear of the other */
		my_arena = (int)c;
		l->arenas = 1u << c;
		*a = c;
		return check_gen(b, l);
	}
	if ((rc = arena_lock(b, first)) != K_OK)
		return rc;
	l->arenas = 1u << first;
	*a = first;
	return check_gen(b, l);
}

/* See pmm.h. */
int
pmm__lock_arenas(struct pmm__bank *b, struct pmm__locks *l, unsigned mask)
{
	*l = (struct pmm__locks){ 0 };
	for (unsigned m = mask; m != 0; m &= m - 1) {
		unsigned a = (unsigned)__builtin_ctz(m);
		int rc = arena_lock(b, a);
		if (rc != K_OK) {
			pmm__unlock_narrow(b, l);
			return rc;
		}
		l->arenas |= 1u << a;
	}
	return check_gen(b, l);
}

/* See pmm.h. */
int
pmm__lock_keys(struct pmm__bank *b, struct pmm__locks *l)
{
	pthread_mutex_t *m = &b->hdr->keys.lock;
	int rc = taken(b, m, lock_spin(m));
	if (rc != K_OK) {
		pmm__unlock_narrow(b, l);
		return rc;
	}
	b->hdr->keys.dirty = 1;
	l->keys = 1;
	return check_gen(b, l);
}

/* The sequence after m's, the rest of m as it is. */
static uint32_t
seq_next(uint32_t m)
{
	return (m & ~PMM__NB_SEQ) | ((m + PMM__NB_SEQ_ONE) & PMM__NB_SEQ);
}

/* Release bucket k's writer bit, counting a removal in it (removed). */
static void
bucket_release(struct pmm__nbucket *k, int removed)
{
	if (!removed) {
		__atomic_fetch_and(&k->meta, ~PMM__NB_WRITER,
				__ATOMIC_RELEASE);
		return;
	}
	uint32_t m = __atomic_load_n(&k->meta, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(&k->meta, &m,
				seq_next(m) & ~PMM__NB_WRITER, 1,
				__ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
}

/* See pmm.h. */
void
pmm__unlock_narrow(struct pmm__bank *b, struct pmm__locks *l)
{
	while (l->nbkt > 0) {
		l->nbkt--;
		bucket_release(&b->nb[l->bkt[l->nbkt]],
				(l->removed >> l->nbkt) & 1);
	}
	l->removed = 0;
	if (l->keys) {
		b->hdr->keys.dirty = 0;
		pthread_mutex_unlock(&b->hdr->keys.lock);
		l->keys = 0;
	}
	for (unsigned m = l->arenas; m != 0; m &= m - 1)
		arena_unlock(b, (unsigned)__builtin_ctz(m));
	l->arenas = 0;
}

/* ---------------------------------------------------------- buckets */

/* Try to set bucket k's writer bit once. */
static int
bucket_try(struct pmm__nbucket *k)
{
	uint32_t m = __atomic_load_n(&k->meta, __ATOMIC_RELAXED);
	return !(m & PMM__NB_WRITER) && __atomic_compare_exchange_n(&k->meta,
			&m, m | PMM__NB_WRITER, 0, __ATOMIC_ACQUIRE,
			__ATOMIC_RELAXED);
}

/* The index of bucket i in l's writer bits, or -1. */
static int
held_at(const struct pmm__locks *l, uint64_t i)
{
	for (int j = 0; j < l->nbkt; j++)
		if (l->bkt[j] == i)
			return j;
	return -1;
}

/* See pmm.h. */
int
pmm__bucket_take(struct pmm__bank *b, struct pmm__locks *l, uint64_t i)
{
	struct pmm__nbucket *k = &b->nb[i];
	if (l == NULL) {
		/* wide: nobody else writes, and a writer bit still set is a
		 * dead writer's */
		__atomic_fetch_and(&k->meta, ~PMM__NB_WRITER, __ATOMIC_ACQUIRE);
		return K_OK;
	}
	if (b->g.narenas == 1)
		return K_OK;	/* the one arena's holder is the only writer */
	if (held_at(l, i) >= 0)
		return K_OK;
	if (l->nbkt == PMM__MAX_BUCKETS)
		return PMM__WIDE;
	for (int spent = 0, pauses = SPIN_PAUSES_MIN; !bucket_try(k);
			spent += pauses, pauses += pauses < SPIN_PAUSES_MAX ?
				pauses : 0) {
		if (spent >= SPIN_BUDGET)	/* a long holder, a dead */
			return PMM__WIDE;	/* one, or a wait in a cycle */
		pause_n(pauses);
	}
	l->bkt[l->nbkt++] = i;
	return K_OK;
}

/* See pmm.h. */
int
pmm__bucket_held(const struct pmm__bank *b, const struct pmm__locks *l,
		uint64_t i)
{
	return l == NULL || b->g.narenas == 1 || held_at(l, i) >= 0;
}

/* See pmm.h.  A writer bit's holder counts the removal with the bit's
 * release, one atomic operation for both: no reader can see the slot
 * reused before then, as only the bit's next holder can fill it. */
void
pmm__bucket_removed(struct pmm__bank *b, struct pmm__locks *l, uint64_t i)
{
	struct pmm__nbucket *k = &b->nb[i];
	int j = l != NULL ? held_at(l, i) : -1;
	if (j >= 0) {
		l->removed |= 1u << j;
		return;
	}
	/* every lock or the only arena: no other writer changes meta (the
	 * over counts and writer bits of others are changed under an
	 * arena's lock too) */
	uint32_t m = __atomic_load_n(&k->meta, __ATOMIC_RELAXED);
	__atomic_store_n(&k->meta, seq_next(m), __ATOMIC_RELEASE);
}
