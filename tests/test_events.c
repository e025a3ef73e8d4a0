/*
 * test_events.c -- error events (NVM.PM.FILE.GET_ERROR_EVENT_INFO): the
 * SIGBUS a machine check raises, sent by the process to itself with
 * rt_tgsigqueueinfo exactly as the kernel fills it (si_code
 * BUS_MCEERR_AR/AO, si_addr, si_addr_lsb): inside and outside mappings,
 * chaining to the previous handler, the default action, threads, a full
 * queue, every error path.
 */
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "common.h"
#include "libpmem.h"
#include "sigbus.h"

#define LEN (1 << 20)

static char path[PATH_MAX];
static char *map;

/* Maps a fresh file into map. */
static void
setup(void)
{
	test_path(path, sizeof(path), "events");
	close(test_file(path, LEN, 'e'));
	map = pmem_map_file(path, 0, 0, 0, NULL, NULL);
	ck_assert_ptr_nonnull(map);
}

/* Unmaps and removes it. */
static void
teardown(void)
{
	pmem_unmap(map, LEN);
	unlink(path);
}

/* What the previous handler and the callback saw. */
static volatile int prev_calls, prev_code, cb_calls, cb_kind;
static void *volatile prev_addr;
static sigjmp_buf cb_jump;
static volatile int cb_jumps;

/* A handler installed before libpmem's. */
static void
prev_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	prev_calls++;
	prev_code = si->si_code;
	prev_addr = si->si_addr;
}

/* Installs prev_handler. */
static void
install_prev(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = prev_handler;
	sa.sa_flags = SA_SIGINFO;
	ck_assert_int_eq(sigaction(SIGBUS, &sa, NULL), 0);
}

/* A callback that counts. */
static void
count_cb(const struct pmem_error_event *ev, void *arg)
{
	ck_assert_ptr_eq(arg, (void *)&cb_calls);
	cb_calls++;
	cb_kind = ev->kind;
}

/* A callback that recovers from an AR by jumping out. */
static void
jump_cb(const struct pmem_error_event *ev, void *arg)
{
	(void)arg;
	cb_calls++;
	cb_kind = ev->kind;
	if (ev->kind == PMEM_ERROR_EVENT_AR) {
		cb_jumps++;
		siglongjmp(cb_jump, 1);
	}
}

/* AO inside a mapping: an event with file, offset, length; no chain. */
START_TEST(test_ao_inside)
{
	struct pmem_error_event ev;
	struct stat st;
	install_prev();
	ck_assert_int_eq(pmem_error_event_register(count_cb, (void *)&cb_calls), 0);
	ck_assert_int_eq(pmem__sigbus_raise(BUS_MCEERR_AO, map + 12345, 12),
		0);
	ck_assert_int_eq(cb_calls, 1);
	ck_assert_int_eq(cb_kind, PMEM_ERROR_EVENT_AO);
	ck_assert_int_eq(prev_calls, 0);
	ck_assert_int_eq(pmem_error_event_get(&ev), 1);
	ck_assert_int_eq(ev.kind, PMEM_ERROR_EVENT_AO);
	ck_assert_ptr_eq(ev.fault_addr, map + 12345);
	ck_assert_ptr_eq(ev.addr, map + 12288);
	ck_assert_uint_eq(ev.len, 4096);
	ck_assert_int_eq(ev.offset, 12288);
	ck_assert_str_eq(ev.path, path);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(ev.dev, st.st_dev);
	ck_assert_uint_eq(ev.ino, st.st_ino);
	ck_assert_int_eq(ev.tid, (pid_t)syscall(SYS_gettid));
	ck_assert_uint_eq(ev.dropped, 0);
	ck_assert_int_eq(pmem_error_event_get(&ev), 0);
}
END_TEST

/* AR inside: an event; the callback may recover by jumping out. */
START_TEST(test_ar_inside)
{
	struct pmem_error_event ev;
	ck_assert_int_eq(pmem_error_event_register(jump_cb, NULL), 0);
	if (sigsetjmp(cb_jump, 1) == 0) {
		pmem__sigbus_raise(BUS_MCEERR_AR, map + 100, 6);
		ck_abort_msg("AR returned to the faulting code");
	}
	ck_assert_int_eq(cb_jumps, 1);
	ck_assert_int_eq(pmem_error_event_get(&ev), 1);
	ck_assert_int_eq(ev.kind, PMEM_ERROR_EVENT_AR);
	ck_assert_ptr_eq(ev.addr, map + 64);
	ck_assert_uint_eq(ev.len, 64);
	ck_assert_int_eq(ev.offset, 64);
}
END_TEST

/* AR inside whose callback returns: chains to the previous handler. */
START_TEST(test_ar_chains)
{
	install_prev();
	ck_assert_int_eq(pmem_error_event_register(count_cb, (void *)&cb_calls), 0);
	pmem__sigbus_raise(BUS_MCEERR_AR, map + 5000, 12);
	ck_assert_int_eq(cb_calls, 1);
	ck_assert_int_eq(prev_calls, 1);
	ck_assert_int_eq(prev_code, BUS_MCEERR_AR);
	ck_assert_ptr_eq(prev_addr, map + 5000);
}
END_TEST

/* Outside any mapping, or not a machine check: the previous handler
 * gets it unchanged, and no event is made. */
START_TEST(test_outside_and_other)
{
	struct pmem_error_event ev;
	static char elsewhere[64];
	struct sigaction segv0, segv1;
	ck_assert_int_eq(sigaction(SIGSEGV, NULL, &segv0), 0);
	install_prev();
	ck_assert_int_eq(pmem_error_event_register(count_cb, (void *)&cb_calls), 0);
	pmem__sigbus_raise(BUS_MCEERR_AO, elsewhere, 12);
	ck_assert_int_eq(prev_calls, 1);
	ck_assert_int_eq(prev_code, BUS_MCEERR_AO);
	ck_assert_ptr_eq(prev_addr, elsewhere);
	pmem__sigbus_raise(BUS_ADRERR, map + 10, 0);
	ck_assert_int_eq(prev_calls, 2);
	ck_assert_int_eq(prev_code, BUS_ADRERR);
	ck_assert_ptr_eq(prev_addr, map + 10);
	/* just past the end of the mapping */
	pmem__sigbus_raise(BUS_MCEERR_AO, map + LEN, 12);
	ck_assert_int_eq(prev_calls, 3);
	ck_assert_int_eq(cb_calls, 0);
	ck_assert_int_eq(pmem_error_event_get(&ev), 0);
	/* SIGSEGV is never touched (a sanitizer may have its own there) */
	ck_assert_int_eq(sigaction(SIGSEGV, NULL, &segv1), 0);
	ck_assert_ptr_eq((void *)segv1.sa_handler, (void *)segv0.sa_handler);
}
END_TEST

/* With the default disposition before ours, an AR kills by SIGBUS after
 * the callback ran; an AO does not. */
START_TEST(test_default_kills)
{
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* the default disposition (a sanitizer may have set its own) */
		signal(SIGBUS, SIG_DFL);
		close(fds[0]);
		if (pmem_error_event_register(count_cb, (void *)&cb_calls) != 0)
			_exit(2);
		pmem__sigbus_raise(BUS_MCEERR_AO, map + 1, 12);
		if (cb_calls != 1)
			_exit(3);
		pmem__sigbus_raise(BUS_MCEERR_AR, map + 2, 12);
		if (write(fds[1], "x", 1) != 1)
			_exit(4);
		_exit(0);
	}
	close(fds[1]);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS,
		"status %x", status);
	char c;
	ck_assert_int_eq(read(fds[0], &c, 1), 0);
	close(fds[0]);
}
END_TEST

/* A handler that only counts (the 1-argument kind) is chained too. */
static volatile int plain_calls;
static void
plain_handler(int sig)
{
	(void)sig;
	plain_calls++;
}

START_TEST(test_chain_plain_and_ignored)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = plain_handler;
	ck_assert_int_eq(sigaction(SIGBUS, &sa, NULL), 0);
	ck_assert_int_eq(pmem_error_event_register(NULL, NULL), 0);
	pmem__sigbus_raise(BUS_MCEERR_AO, "x", 12);
	ck_assert_int_eq(plain_calls, 1);
}
END_TEST

/* A self-sent (si_code <= 0) SIGBUS to an ignoring process stays
 * ignored. */
START_TEST(test_chain_ignored)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	ck_assert_int_eq(sigaction(SIGBUS, &sa, NULL), 0);
	ck_assert_int_eq(pmem_error_event_register(NULL, NULL), 0);
	ck_assert_int_eq(pmem__sigbus_raise(SI_QUEUE, map, 0), 0);
	ck_assert_int_eq(raise(SIGBUS), 0);
}
END_TEST

struct thr {
	char *addr;
	pid_t tid;
};

/* Raises an AO on its address from its own thread. */
static void *
thr_raise(void *arg)
{
	struct thr *t = arg;
	t->tid = (pid_t)syscall(SYS_gettid);
	for (int i = 0; i < 10; i++)
		pmem__sigbus_raise(BUS_MCEERR_AO, t->addr, 12);
	return NULL;
}

/* Threads: each event carries its thread; none is lost or doubled. */
START_TEST(test_threads)
{
	struct thr t[4];
	pthread_t th[4];
	struct pmem_error_event ev;
	int seen[4] = { 0 };

	ck_assert_int_eq(pmem_error_event_register(NULL, NULL), 0);
	for (int i = 0; i < 4; i++) {
		t[i].addr = map + i * 65536;
		ck_assert_int_eq(pthread_create(&th[i], NULL, thr_raise, &t[i]),
			0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	while (pmem_error_event_get(&ev) == 1) {
		int i = (int)(ev.offset / 65536);
		ck_assert_int_lt(i, 4);
		ck_assert_int_eq(ev.tid, t[i].tid);
		seen[i]++;
	}
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(seen[i], 10);
}
END_TEST

/* A full queue drops events and says how many with the next one. */
START_TEST(test_overflow)
{
	struct pmem_error_event ev;
	ck_assert_int_eq(pmem_error_event_register(NULL, NULL), 0);
	for (int i = 0; i < 70; i++)
		pmem__sigbus_raise(BUS_MCEERR_AO, map + i * 4096, 12);
	int n = 0;
	while (pmem_error_event_get(&ev) == 1) {
		ck_assert_int_eq(ev.offset, (off_t)n * 4096);
		n++;
	}
	ck_assert_int_eq(n, 64);
	pmem__sigbus_raise(BUS_MCEERR_AO, map, 12);
	ck_assert_int_eq(pmem_error_event_get(&ev), 1);
	ck_assert_uint_eq(ev.dropped, 6);
}
END_TEST

/* Errors and unregistering. */
START_TEST(test_errors)
{
	struct pmem_error_event ev;
	errno = 0;
	ck_assert_int_eq(pmem_error_event_unregister(), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(pmem_error_event_get(NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(pmem_error_event_get(&ev), 0);

	install_prev();
	ck_assert_int_eq(pmem_error_event_register(count_cb, (void *)&cb_calls), 0);
	ck_assert_int_eq(pmem_error_event_unregister(), 0);
	pmem__sigbus_raise(BUS_MCEERR_AO, map, 12);
	ck_assert_int_eq(cb_calls, 0);
	ck_assert_int_eq(prev_calls, 1);
	ck_assert_int_eq(pmem_error_event_get(&ev), 0);
	/* after an unmap, the range makes no event */
	ck_assert_int_eq(pmem_error_event_register(count_cb, (void *)&cb_calls), 0);
	ck_assert_int_eq(pmem_unmap(map, 4096), 0);
	pmem__sigbus_raise(BUS_MCEERR_AO, map + 10, 12);
	ck_assert_int_eq(cb_calls, 0);
	pmem__sigbus_raise(BUS_MCEERR_AO, map + 4096, 12);
	ck_assert_int_eq(cb_calls, 1);
	ck_assert_int_eq(pmem_error_event_get(&ev), 1);
	ck_assert_int_eq(ev.offset, 4096);
	/* a handler set after ours: register refuses (EBUSY) */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	ck_assert_int_eq(sigaction(SIGBUS, &sa, NULL), 0);
	ck_assert_int_eq(pmem_error_event_register(count_cb, NULL), -1);
	ck_assert_int_eq(errno, EBUSY);
}
END_TEST

/* A hole unmapped in the middle splits the registered mapping: events on
 * both sides carry their own file offsets, none in the hole. */
START_TEST(test_split)
{
	struct pmem_error_event ev;
	install_prev();
	ck_assert_int_eq(pmem_error_event_register(NULL, NULL), 0);
	ck_assert_int_eq(pmem_unmap(map + 8192, 8192), 0);
	pmem__sigbus_raise(BUS_MCEERR_AO, map + 100, 12);
	pmem__sigbus_raise(BUS_MCEERR_AO, map + 8192 + 100, 12);
	pmem__sigbus_raise(BUS_MCEERR_AO, map + 16384 + 100, 12);
	ck_assert_int_eq(prev_calls, 1);	/* the hole chained */
	ck_assert_int_eq(pmem_error_event_get(&ev), 1);
	ck_assert_int_eq(ev.offset, 0);
	ck_assert_int_eq(pmem_error_event_get(&ev), 1);
	ck_assert_int_eq(ev.offset, 16384);
	ck_assert_ptr_eq(ev.addr, map + 16384);
	ck_assert_str_eq(ev.path, path);
	ck_assert_int_eq(pmem_error_event_get(&ev), 0);
}
END_TEST

/* Builds the suite. */
static Suite *
suite(void)
{
	Suite *s = suite_create("events");
	TCase *tc = test_case(s, "events", 10);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ao_inside);
	tcase_add_test(tc, test_ar_inside);
	tcase_add_test(tc, test_ar_chains);
	tcase_add_test(tc, test_outside_and_other);
	tcase_add_test(tc, test_default_kills);
	tcase_add_test(tc, test_chain_plain_and_ignored);
	tcase_add_test(tc, test_chain_ignored);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_overflow);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_split);
	return s;
}

int
main(void)
{
	return test_run(suite());
}
