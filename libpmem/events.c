/*
 * events.c -- NVM.PM.FILE.GET_ERROR_EVENT_INFO: a machine-check SIGBUS in
 * a mapping pmem_map_file made becomes an event, handed to the program's
 * callback (in the signal handler) and queued for pmem_error_event_get.
 *
 * The queue is a fixed array filled by signal handlers of any thread: a
 * producer claims a free slot with a compare-and-swap, writes it, then
 * marks it full; the consumer (under a mutex, never in a handler) takes
 * the full slot with the smallest sequence number.  Nothing here
 * allocates or locks on the producer side.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "libpmem.h"
#include "common.h"
#include "errormsg.h"
#include "maps.h"
#include "sigbus.h"

#define QUEUE_LEN 64

enum { SLOT_FREE, SLOT_WRITING, SLOT_FULL };

static struct {
	int state;
	unsigned long seq;
	struct pmem_error_event ev;
} queue[QUEUE_LEN];

static unsigned long next_seq;
static unsigned long dropped;
static pmem_error_event_fn *callback;
static void *callback_arg;
static int registered;
static pthread_mutex_t get_lock = PTHREAD_MUTEX_INITIALIZER;

/* Fills ev from the signal and the mapping it hit.  Async-signal-safe. */
static void
make_event(struct pmem_error_event *ev, const siginfo_t *si,
	const struct pmem__map *m)
{
	uintptr_t fault = (uintptr_t)si->si_addr;
	int lsb = si->si_addr_lsb > 0 && si->si_addr_lsb < 48 ?
		si->si_addr_lsb : 0;
	uintptr_t len = (uintptr_t)1 << lsb;
	uintptr_t start = fault & ~(len - 1);

	if (start < m->base)	/* the lost range clipped to the mapping */
		start = m->base;
	uintptr_t end = (fault | (len - 1)) + 1;
	if (end > m->end || end == 0)
		end = m->end;

	ev->kind = si->si_code == BUS_MCEERR_AR ? PMEM_ERROR_EVENT_AR :
		PMEM_ERROR_EVENT_AO;
	ev->tid = (pid_t)syscall(SYS_gettid);
	ev->fault_addr = si->si_addr;
	ev->addr = (void *)start;
	ev->len = end - start;
	ev->offset = m->offset + (off_t)(start - m->base);
	ev->dev = m->dev;
	ev->ino = m->ino;
	size_t i = 0;
	for (; i + 1 < sizeof(ev->path) && m->path[i] != '\0'; i++)
		ev->path[i] = m->path[i];
	ev->path[i] = '\0';
}

/* Queues ev, or counts it as dropped.  Async-signal-safe. */
static void
enqueue(const struct pmem_error_event *ev)
{
	unsigned long seq = __atomic_fetch_add(&next_seq, 1, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < QUEUE_LEN; i++) {
		unsigned k = (unsigned)((seq + i) % QUEUE_LEN);
		int expect = SLOT_FREE;
		if (!__atomic_compare_exchange_n(&queue[k].state, &expect,
				SLOT_WRITING, 0, __ATOMIC_ACQUIRE,
				__ATOMIC_RELAXED))
			continue;
		queue[k].ev = *ev;
		queue[k].ev.dropped = __atomic_exchange_n(&dropped, 0,
			__ATOMIC_RELAXED);
		queue[k].seq = seq;
		__atomic_store_n(&queue[k].state, SLOT_FULL, __ATOMIC_RELEASE);
		return;
	}
	__atomic_fetch_add(&dropped, 1, __ATOMIC_RELAXED);
}

/* See sigbus.h. */
int
pmem__events_deliver(const siginfo_t *si)
{
	struct pmem__map m;
	struct pmem_error_event ev;

	if (si->si_code != BUS_MCEERR_AR && si->si_code != BUS_MCEERR_AO)
		return 0;
	if (!__atomic_load_n(&registered, __ATOMIC_ACQUIRE) ||
	    pmem__maps_find_sigsafe((uintptr_t)si->si_addr, &m) != 0)
		return 0;
	make_event(&ev, si, &m);
	ev.dropped = 0;
	enqueue(&ev);
	pmem_error_event_fn *fn = __atomic_load_n(&callback, __ATOMIC_ACQUIRE);
	if (fn != NULL)
		fn(&ev, __atomic_load_n(&callback_arg, __ATOMIC_RELAXED));
	/* an AR fault returns to the load that consumed the poison: only
	 * the previous disposition (by default: death) may end it */
	return si->si_code == BUS_MCEERR_AO;
}

/* Registers for error events (fn may be NULL: queue only); 0 or -1. */
PMEM_EXPORT int
pmem_error_event_register(pmem_error_event_fn *fn, void *arg)
{
	if (pmem__sigbus_install() != 0)
		return -1;
	__atomic_store_n(&registered, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&callback_arg, arg, __ATOMIC_RELAXED);
	__atomic_store_n(&callback, fn, __ATOMIC_RELEASE);
	__atomic_store_n(&registered, 1, __ATOMIC_RELEASE);
	return 0;
}

/* Stops making events; queued ones stay for pmem_error_event_get. */
PMEM_EXPORT int
pmem_error_event_unregister(void)
{
	if (!__atomic_load_n(&registered, __ATOMIC_ACQUIRE)) {
		errno = ENOENT;
		pmem__err("no error event registration");
		return -1;
	}
	__atomic_store_n(&registered, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&callback, NULL, __ATOMIC_RELEASE);
	return 0;
}

/* Takes the oldest queued event: 1, 0 when there is none, or -1. */
PMEM_EXPORT int
pmem_error_event_get(struct pmem_error_event *ev)
{
	if (ev == NULL) {
		errno = EINVAL;
		pmem__err("event is NULL");
		return -1;
	}
	pthread_mutex_lock(&get_lock);
	int best = -1;
	for (int k = 0; k < QUEUE_LEN; k++)
		if (__atomic_load_n(&queue[k].state, __ATOMIC_ACQUIRE) ==
				SLOT_FULL && (best < 0 ||
				(long)(queue[k].seq - queue[best].seq) < 0))
			best = k;
	if (best >= 0) {
		*ev = queue[best].ev;
		__atomic_store_n(&queue[best].state, SLOT_FREE,
			__ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&get_lock);
	return best >= 0;
}
