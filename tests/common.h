/*
 * common.h -- helpers shared by the Check suites: temporary files, the
 * runner, and how long sweeps may be.
 */
#ifndef PMEM_TEST_COMMON_H
#define PMEM_TEST_COMMON_H 1

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* 1 when the suite runs under valgrind (tests/run.sh sets this). */
static inline int
test_under_valgrind(void)
{
	const char *v = getenv("PMEM_TEST_VALGRIND");
	return v != NULL && v[0] == '1';
}

/* A directory for test files: $PMEM_TEST_DIR, /dev/shm, else /tmp. */
static inline const char *
test_dir(void)
{
	const char *d = getenv("PMEM_TEST_DIR");
	struct stat st;
	if (d != NULL && d[0] != '\0')
		return d;
	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
			access("/dev/shm", W_OK) == 0)
		return "/dev/shm";
	return "/tmp";
}

/* Fills buf with a fresh path name in the test directory. */
static inline void
test_path(char *buf, size_t size, const char *tag)
{
	static unsigned seq;
	snprintf(buf, size, "%s/pmem-test-%s-%d-%u", test_dir(), tag,
		(int)getpid(), seq++);
}

/* Creates a file of len bytes filled with byte c; returns its fd. */
static inline int
test_file(const char *path, size_t len, int c)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	char buf[4096];
	memset(buf, c, sizeof(buf));
	for (size_t off = 0; off < len; off += sizeof(buf)) {
		size_t n = len - off < sizeof(buf) ? len - off : sizeof(buf);
		ck_assert_int_eq(pwrite(fd, buf, n, (off_t)off), (ssize_t)n);
	}
	return fd;
}

/* Copies file from to to, byte for byte (what cp does: a new inode when
 * to does not exist). */
static inline void
test_copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT |
			O_TRUNC, 0600);
	ck_assert_int_ge(in, 0);
	ck_assert_int_ge(out, 0);
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(write(out, buf, (size_t)n), n);
	ck_assert_int_eq(n, 0);
	close(in);
	ck_assert_int_eq(close(out), 0);
}

/* Runs one suite in fork mode; the exit status is the number failed. */
static inline int
test_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Adds a test case with a timeout scaled for valgrind. */
static inline TCase *
test_case(Suite *s, const char *name, double timeout)
{
	TCase *tc = tcase_create(name);
	tcase_set_timeout(tc, test_under_valgrind() ? timeout * 20 : timeout);
	suite_add_tcase(s, tc);
	return tc;
}

#endif /* PMEM_TEST_COMMON_H */
