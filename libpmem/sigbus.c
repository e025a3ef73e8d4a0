/*
 * sigbus.c -- libpmem's SIGBUS handler and its chaining to the previous
 * one.
 *
 * A machine check on poisoned persistent memory reaches a process as
 * SIGBUS with si_code BUS_MCEERR_AR (this thread consumed the poison) or
 * BUS_MCEERR_AO (found by a scrub; nothing consumed).  The handler turns
 * such a signal into a jump out of a guarded read, or into an error
 * event; any other SIGBUS is passed on exactly as it came.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"
#include "errormsg.h"
#include "sigbus.h"

static struct sigaction previous;	/* written before ours is installed */
static int installed;
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;

/* Initial-exec: reading it in the handler must not allocate. */
static __thread struct pmem__guard *guard
	__attribute__((tls_model("initial-exec")));

/* See sigbus.h. */
void
pmem__guard_set(struct pmem__guard *g)
{
	__atomic_store_n(&guard, g, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static void handler(int sig, siginfo_t *si, void *uc);

/* 1 under valgrind, which takes a self-sent SIGBUS with a machine-check
 * si_code for a fault of its own and dies of it. */
static int
under_valgrind(void)
{
#ifdef PMEM_USE_VALGRIND
	return RUNNING_ON_VALGRIND != 0;
#else
	return 0;
#endif
}

/* See sigbus.h.  Under valgrind, when libpmem's handler is the one in
 * place, it is called directly with the same information. */
int
pmem__sigbus_raise(int code, const void *addr, int lsb)
{
	siginfo_t si;
	struct sigaction cur;
	memset(&si, 0, sizeof(si));
	si.si_signo = SIGBUS;
	si.si_code = code;
	si.si_addr = (void *)addr;
	si.si_addr_lsb = (short)lsb;
	if (under_valgrind() && sigaction(SIGBUS, NULL, &cur) == 0 &&
	    (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == handler) {
		handler(SIGBUS, &si, NULL);
		return 0;
	}
	return (int)syscall(SYS_rt_tgsigqueueinfo, getpid(),
		(pid_t)syscall(SYS_gettid), SIGBUS, &si);
}

/* Passes the signal to the disposition that was there before ours: its
 * handler, or the default action (the signal is queued again with the
 * same information, to be delivered once this handler returns). */
static void
chain(int sig, siginfo_t *si, void *uc)
{
	const struct sigaction *p = &previous;
	if (p->sa_flags & SA_SIGINFO) {
		p->sa_sigaction(sig, si, uc);
		return;
	}
	/* a fault the kernel raised cannot be ignored: it would come back */
	if (p->sa_handler == SIG_IGN && si->si_code <= 0)
		return;
	if (p->sa_handler != SIG_DFL && p->sa_handler != SIG_IGN) {
		p->sa_handler(sig);
		return;
	}
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(sig, &dfl, NULL);
	if (under_valgrind())	/* see pmem__sigbus_raise */
		raise(sig);
	else
		syscall(SYS_rt_tgsigqueueinfo, getpid(),
			(pid_t)syscall(SYS_gettid), sig, si);
}

/* The handler: guarded read, error event, or chain. */
static void
handler(int sig, siginfo_t *si, void *uc)
{
	int oerrno = errno;
	struct pmem__guard *g = __atomic_load_n(&guard, __ATOMIC_RELAXED);
	uintptr_t a = (uintptr_t)si->si_addr;

	if (g != NULL && a >= g->start && a < g->end) {
		g->fault = a;
		g->code = si->si_code;
		pmem__guard_set(NULL);
		siglongjmp(g->jb, 1);
	}
	if (!pmem__events_deliver(si))
		chain(sig, si, uc);
	errno = oerrno;
}

/* See sigbus.h. */
int
pmem__sigbus_install(void)
{
	struct sigaction cur, ours;
	int ret = 0;

	pthread_mutex_lock(&install_lock);
	if (sigaction(SIGBUS, NULL, &cur) != 0) {
		pmem__err("!sigaction(SIGBUS)");
		ret = -1;
	} else if (installed) {
		if (!(cur.sa_flags & SA_SIGINFO) || cur.sa_sigaction != handler) {
			errno = EBUSY;
			pmem__err("the SIGBUS handler libpmem installed was "
				"replaced since; cannot guard reads");
			ret = -1;
		}
	} else {
		previous = cur;
		memset(&ours, 0, sizeof(ours));
		ours.sa_sigaction = handler;
		ours.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
		sigemptyset(&ours.sa_mask);
		if (sigaction(SIGBUS, &ours, NULL) != 0) {
			pmem__err("!sigaction(SIGBUS)");
			ret = -1;
		} else {
			installed = 1;
		}
	}
	pthread_mutex_unlock(&install_lock);
	return ret;
}
