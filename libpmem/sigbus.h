/*
 * sigbus.h -- libpmem's SIGBUS handler: guarded reads (flush-and-verify)
 * and error events (BUS_MCEERR_AR/AO in a mapping of ours); every other
 * signal goes to the handler that was there before, unchanged.
 */
#ifndef PMEM_SIGBUS_H
#define PMEM_SIGBUS_H 1

#include <setjmp.h>
#include <signal.h>
#include <stdint.h>

#ifndef BUS_MCEERR_AR
#define BUS_MCEERR_AR 4
#endif
#ifndef BUS_MCEERR_AO
#define BUS_MCEERR_AO 5
#endif

/*
 * A read the calling thread guards: a SIGBUS at an address in
 * [start, end) jumps back to jb (sigsetjmp(jb, 1) by the caller) with the
 * address in fault and the si_code in code.
 */
struct pmem__guard {
	sigjmp_buf jb;
	uintptr_t start, end;
	volatile uintptr_t fault;
	volatile int code;
};

/*
 * Installs the handler, once per process, chaining to the disposition
 * found.  0; -1 with errno EBUSY and a message when a later sigaction
 * replaced ours (chaining back to it could loop), or the sigaction errno.
 */
int pmem__sigbus_install(void);

/* Sets (or with NULL clears) the calling thread's guard. */
void pmem__guard_set(struct pmem__guard *g);

/*
 * Sends the calling thread the SIGBUS the kernel sends on a machine check:
 * si_code code (BUS_MCEERR_AR/AO), si_addr addr, si_addr_lsb lsb.
 * Delivered before this returns (unless blocked).  0 or -1 with errno.
 * Under valgrind (which dies of such a signal, taking it for its own
 * fault) libpmem's handler, when in place, is called directly instead.
 */
int pmem__sigbus_raise(int code, const void *addr, int lsb);

/*
 * Error events (events.c), called by the handler: makes an event of an
 * MCE SIGBUS in a registered mapping when events are registered.  Returns
 * 1 when the handler should just return (an AO event), 0 to chain.
 * Async-signal-safe.
 */
int pmem__events_deliver(const siginfo_t *si);

#endif /* PMEM_SIGBUS_H */
