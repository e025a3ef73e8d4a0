/*
 * test_errormsg.c -- pmem_check_version and pmem_errormsg through the
 * public API of the shared library: version rules, per-thread messages,
 * strerror text in system errors, and errno preservation.
 */
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>

#include <libpmem.h>
#include "common.h"

#define MSG_COPY 1024

/* Copies the calling thread's message into buf. */
static void
snapshot(char *buf, size_t size)
{
	const char *m = pmem_errormsg();
	ck_assert_ptr_nonnull(m);
	snprintf(buf, size, "%s", m);
}

/* Asserts that a version request fails with a message mentioning what. */
static void
version_fails(unsigned major, unsigned minor, const char *what)
{
	const char *r = pmem_check_version(major, minor);
	ck_assert_msg(r != NULL, "version %u.%u accepted", major, minor);
	ck_assert_msg(strstr(r, what) != NULL, "\"%s\" does not mention %s",
		r, what);
	const char *m = pmem_errormsg();
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(m, r);
}

/* -------------------------------------------------------------- version */

/* The header's version and every older minor of major 1 are accepted. */
START_TEST(test_version_ok)
{
	ck_assert_ptr_null(pmem_check_version(PMEM_MAJOR_VERSION,
		PMEM_MINOR_VERSION));
	ck_assert_ptr_null(pmem_check_version(1, 0));
	ck_assert_ptr_null(pmem_check_version(1, 1));
	ck_assert_int_eq(PMEM_MAJOR_VERSION, 1);
	ck_assert_int_eq(PMEM_MINOR_VERSION, 1);
	/* accepting records no message */
	ck_assert_str_eq(pmem_errormsg(), "");
}
END_TEST

/* Another major version, older or newer, is refused with "major". */
START_TEST(test_version_major)
{
	version_fails(0, 0, "major");
	version_fails(2, 0, "major");
	version_fails(0, 1, "major");
	version_fails(2, 5, "major");
	version_fails(UINT_MAX, 0, "major");
}
END_TEST

/* A newer minor version is refused with "minor". */
START_TEST(test_version_minor)
{
	version_fails(1, 2, "minor");
	version_fails(1, PMEM_MINOR_VERSION + 1, "minor");
	version_fails(1, UINT_MAX, "minor");
}
END_TEST

/* A later successful call does not clear the message. */
START_TEST(test_version_msg_kept)
{
	char before[MSG_COPY];
	version_fails(2, 0, "major");
	snapshot(before, sizeof(before));
	ck_assert_ptr_null(pmem_check_version(1, 0));
	ck_assert_str_eq(pmem_errormsg(), before);
	/* a second failure replaces it */
	version_fails(1, 2, "minor");
	ck_assert_str_ne(pmem_errormsg(), before);
}
END_TEST

/* -------------------------------------------------------------- threads */

/* What a thread of the isolation tests saw. */
struct seen {
	char first[MSG_COPY];	/* the message when the thread began */
	char own[MSG_COPY];	/* the message right after its error */
	char last[MSG_COPY];	/* the message when it ended */
	int errno_after;	/* errno right after its error */
	int kind;		/* 0: map_file(NULL), 1: check_version(2, 0) */
	pthread_barrier_t *bar;	/* NULL, or a barrier to wait at twice */
};

/* Thread body: reads the message, provokes an error, reads again. */
static void *
erring_thread(void *arg)
{
	struct seen *s = arg;
	snprintf(s->first, sizeof(s->first), "%s", pmem_errormsg());
	if (s->kind == 0) {
		errno = 0;
		if (pmem_map_file(NULL, 0, 0, 0, NULL, NULL) != NULL)
			abort();
		s->errno_after = errno;
	} else {
		if (pmem_check_version(2, 0) == NULL)
			abort();
	}
	snprintf(s->own, sizeof(s->own), "%s", pmem_errormsg());
	if (s->bar != NULL) {
		pthread_barrier_wait(s->bar);	/* both have erred */
		pthread_barrier_wait(s->bar);	/* the other has read */
	}
	snprintf(s->last, sizeof(s->last), "%s", pmem_errormsg());
	return NULL;
}

/* Runs one erring thread to completion. */
static void
run_thread(struct seen *s)
{
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, erring_thread, s), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
}

/* A thread started after another one erred sees none of its message. */
START_TEST(test_thread_after)
{
	char mine[MSG_COPY];
	version_fails(1, 2, "minor");
	snapshot(mine, sizeof(mine));

	struct seen a = { .kind = 0 }, b = { .kind = 1 };
	run_thread(&a);
	ck_assert_str_eq(a.first, "");
	ck_assert_int_eq(a.errno_after, EINVAL);
	ck_assert_str_ne(a.own, "");
	ck_assert_str_ne(a.own, mine);

	run_thread(&b);
	ck_assert_str_eq(b.first, "");
	ck_assert_ptr_nonnull(strstr(b.own, "major"));
	ck_assert_str_ne(b.own, a.own);
	ck_assert_str_eq(b.last, b.own);

	/* the main thread's message is still its own */
	ck_assert_str_eq(pmem_errormsg(), mine);
}
END_TEST

/* Two threads erring at the same time each keep their own message. */
START_TEST(test_thread_concurrent)
{
	pthread_barrier_t bar;
	ck_assert_int_eq(pthread_barrier_init(&bar, NULL, 3), 0);
	struct seen a = { .kind = 0, .bar = &bar };
	struct seen b = { .kind = 1, .bar = &bar };
	pthread_t ta, tb;
	ck_assert_int_eq(pthread_create(&ta, NULL, erring_thread, &a), 0);
	ck_assert_int_eq(pthread_create(&tb, NULL, erring_thread, &b), 0);

	pthread_barrier_wait(&bar);	/* both have erred */
	/* the main thread has not erred: still empty */
	ck_assert_str_eq(pmem_errormsg(), "");
	version_fails(1, 7, "minor");
	pthread_barrier_wait(&bar);

	ck_assert_int_eq(pthread_join(ta, NULL), 0);
	ck_assert_int_eq(pthread_join(tb, NULL), 0);
	ck_assert_int_eq(pthread_barrier_destroy(&bar), 0);

	ck_assert_str_eq(a.first, "");
	ck_assert_str_eq(b.first, "");
	ck_assert_str_eq(a.last, a.own);
	ck_assert_str_eq(b.last, b.own);
	ck_assert_ptr_null(strstr(a.own, "major"));
	ck_assert_ptr_nonnull(strstr(b.own, "major"));
	ck_assert_ptr_nonnull(strstr(pmem_errormsg(), "minor"));
}
END_TEST

#define MANY 8
#define ROUNDS 50

/* Thread body: alternates its own error kind with checks of its message. */
static void *
many_thread(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	uintptr_t bad = 0;
	char path[64];
	snprintf(path, sizeof(path), "/nonexistent-pmem-test-%u/file",
		(unsigned)id);
	for (int i = 0; i < ROUNDS; i++) {
		if (id % 2 == 0) {
			if (pmem_check_version(2 + (unsigned)id, 0) == NULL)
				bad++;
			if (strstr(pmem_errormsg(), "major") == NULL)
				bad++;
		} else {
			if (pmem_map_file(path, 0, 0, 0, NULL, NULL) != NULL ||
					errno != ENOENT)
				bad++;
		}
		sched_yield();
		const char *m = pmem_errormsg();
		if (id % 2 == 0 && strstr(m, "major") == NULL)
			bad++;
		if (id % 2 == 1 && (strstr(m, "major") != NULL ||
				strstr(m, strerror(ENOENT)) == NULL))
			bad++;
	}
	return (void *)bad;
}

/* Eight threads erring in a loop never see each other's messages. */
START_TEST(test_thread_many)
{
	pthread_t t[MANY];
	for (uintptr_t i = 0; i < MANY; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, many_thread,
			(void *)i), 0);
	uintptr_t bad = 0;
	for (int i = 0; i < MANY; i++) {
		void *r;
		ck_assert_int_eq(pthread_join(t[i], &r), 0);
		bad += (uintptr_t)r;
	}
	ck_assert_uint_eq(bad, 0);
	ck_assert_str_eq(pmem_errormsg(), "");
}
END_TEST

/* Thread body: stores what pmem_errormsg() returns in a new thread. */
static void *
fresh_thread(void *arg)
{
	const char **out = arg;
	out[0] = pmem_errormsg();
	out[1] = out[0] != NULL && out[0][0] == '\0' ? "" : "not empty";
	return NULL;
}

/* A new thread's message is "" (not NULL), whatever its parent did. */
START_TEST(test_thread_fresh)
{
	const char *out[2] = { "unset", "unset" };
	ck_assert_ptr_nonnull(pmem_check_version(0, 0));
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, fresh_thread, out), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_ptr_nonnull(out[0]);
	ck_assert_str_eq(out[1], "");
	/* the parent's own message is unchanged */
	ck_assert_ptr_nonnull(strstr(pmem_errormsg(), "major"));
}
END_TEST

/* The main thread's message is "" before anything failed. */
START_TEST(test_initial_empty)
{
	const char *m = pmem_errormsg();
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(m, "");
	/* successful calls leave it empty */
	ck_assert_ptr_null(pmem_check_version(1, 1));
	ck_assert_int_eq(pmem_is_pmem(m, 1), 0);
	ck_assert_str_eq(pmem_errormsg(), "");
}
END_TEST

/* ---------------------------------------------------------------- errno */

/* Maps path expecting failure with err; the message has strerror(err). */
static void
map_fails_with(const char *path, size_t len, int flags, int err)
{
	errno = 0;
	void *p = pmem_map_file(path, len, flags, 0600, NULL, NULL);
	int e = errno;
	ck_assert_ptr_null(p);
	ck_assert_int_eq(e, err);
	const char *m = pmem_errormsg();
	ck_assert_msg(strstr(m, strerror(err)) != NULL,
		"\"%s\" lacks \"%s\"", m, strerror(err));
	/* pmem_errormsg() left errno alone */
	ck_assert_int_eq(errno, err);
}

/* System errors carry the strerror text: ENOENT, EEXIST, EISDIR. */
START_TEST(test_strerror_text)
{
	char path[PATH_MAX];
	test_path(path, sizeof(path), "errmsg");
	map_fails_with(path, 0, 0, ENOENT);
	ck_assert_ptr_nonnull(strstr(pmem_errormsg(),
		"No such file or directory"));
	ck_assert_ptr_nonnull(strstr(pmem_errormsg(), path));

	int fd = test_file(path, 4096, 0);
	close(fd);
	map_fails_with(path, 4096, PMEM_FILE_CREATE | PMEM_FILE_EXCL, EEXIST);
	ck_assert_int_eq(unlink(path), 0);

	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/pmem-test-errdir-XXXXXX", test_dir());
	ck_assert_ptr_nonnull(mkdtemp(dir));
	map_fails_with(dir, 0, 0, EISDIR);
	ck_assert_int_eq(rmdir(dir), 0);

	/* pmem_unmap errors too */
	errno = 0;
	ck_assert_int_eq(pmem_unmap((void *)(uintptr_t)4097, 4096), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_nonnull(strstr(pmem_errormsg(), strerror(EINVAL)));
}
END_TEST

/* pmem_errormsg() and pmem_check_version() leave errno as it was. */
START_TEST(test_errno_preserved)
{
	errno = ENOSPC;
	(void)pmem_errormsg();
	ck_assert_int_eq(errno, ENOSPC);

	char path[PATH_MAX];
	test_path(path, sizeof(path), "errno");
	errno = 0;
	ck_assert_ptr_null(pmem_map_file(path, 0, 0, 0, NULL, NULL));
	ck_assert_int_eq(errno, ENOENT);
	for (int i = 0; i < 3; i++) {
		const char *m = pmem_errormsg();
		ck_assert_ptr_nonnull(m);
		ck_assert_int_eq(errno, ENOENT);
	}

	errno = 12345;
	(void)pmem_errormsg();
	ck_assert_int_eq(errno, 12345);
	errno = EBADF;
	ck_assert_ptr_null(pmem_check_version(1, 0));
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

/* A message about a very long path is cut short safely, not overflowed. */
START_TEST(test_long_message)
{
	size_t n = 3 * PATH_MAX;
	char *path = malloc(n + 1);
	ck_assert_ptr_nonnull(path);
	path[0] = '/';
	memset(path + 1, 'p', n - 1);
	path[n] = '\0';
	errno = 0;
	ck_assert_ptr_null(pmem_map_file(path, 0, 0, 0, NULL, NULL));
	ck_assert_int_eq(errno, ENAMETOOLONG);
	const char *m = pmem_errormsg();
	ck_assert_ptr_nonnull(m);
	ck_assert_int_gt(strlen(m), 0);
	ck_assert_int_lt(strlen(m), n);
	free(path);
}
END_TEST

/* The suite: one test case per area. */
static Suite *
suite(void)
{
	Suite *s = suite_create("errormsg");
	TCase *tc;

	tc = test_case(s, "version", 10);
	tcase_add_test(tc, test_version_ok);
	tcase_add_test(tc, test_version_major);
	tcase_add_test(tc, test_version_minor);
	tcase_add_test(tc, test_version_msg_kept);

	tc = test_case(s, "threads", 10);
	tcase_add_test(tc, test_thread_after);
	tcase_add_test(tc, test_thread_concurrent);
	tcase_add_test(tc, test_thread_many);
	tcase_add_test(tc, test_thread_fresh);
	tcase_add_test(tc, test_initial_empty);

	tc = test_case(s, "errno", 10);
	tcase_add_test(tc, test_strerror_text);
	tcase_add_test(tc, test_errno_preserved);
	tcase_add_test(tc, test_long_message);

	return s;
}

/* Runs the suite in fork mode; the exit status says whether all passed. */
int
main(void)
{
	return test_run(suite());
}
