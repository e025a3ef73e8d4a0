/*
 * test_legacy.c -- the 0.8 API of <pmem.h>: pmem_map, three-argument
 * pmem_persist, the partial flush calls, and the msync and fit modes
 * (what survives a crash is exactly what was persisted).
 */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <pmem.h>

#include "common.h"

#define LEN (64 * 1024)

static char path[256];
static int fd = -1;

/* A 64 KiB file of zeros. */
static void
setup(void)
{
	test_path(path, sizeof(path), "legacy");
	fd = test_file(path, LEN, 0);
}

/* Removes the file. */
static void
teardown(void)
{
	close(fd);
	unlink(path);
}

/* Reads n bytes of the file at off. */
static void
file_read(void *buf, size_t n, off_t off)
{
	ck_assert_int_eq(pread(fd, buf, n, off), (ssize_t)n);
}

/* Runs fn in a child that dies of SIGKILL at its end. */
static void
crash_after(void (*fn)(void))
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		fn();
		raise(SIGKILL);
		_exit(1);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
		"child did not die of SIGKILL (status %#x)", st);
}

/* pmem_map maps the file shared; the 0.8 persist calls compile and work. */
START_TEST(test_map_persist)
{
	char *p = pmem_map(fd, LEN);
	ck_assert_ptr_nonnull(p);
	strcpy(p, "zero-eight");
	pmem_persist(p, 11, 0);
	pmem_persist(p, 11, 12345);	/* unknown flags are ignored */
	pmem_persist(p, 11);		/* the 1.x form, same function */
	strcpy(p + 4096, "two");
	pmem_flush_cache(p + 4096, 4, 0);
	pmem_fence();
	pmem_drain_pm_stores();
	char buf[11];
	file_read(buf, 11, 0);
	ck_assert_str_eq(buf, "zero-eight");
	ck_assert_int_eq(pmem_is_pmem(p, LEN), 0);
	ck_assert_int_eq(pmem_unmap(p, LEN), 0);
}
END_TEST

/* pmem_map errors: zero length, bad descriptor, read-only descriptor. */
START_TEST(test_map_errors)
{
	errno = 0;
	ck_assert_ptr_null(pmem_map(fd, 0));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_nonnull(strstr(pmem_errormsg(), "zero length"));

	ck_assert_ptr_null(pmem_map(-1, LEN));
	ck_assert_int_eq(errno, EBADF);
	ck_assert_ptr_nonnull(strstr(pmem_errormsg(), "mmap"));

	int ro = open(path, O_RDONLY);
	ck_assert_ptr_null(pmem_map(ro, LEN));
	ck_assert_int_eq(errno, EACCES);
	close(ro);
}
END_TEST

/* msync mode: flushes and the copy routines still store correctly. */
START_TEST(test_msync_mode)
{
	pmem_msync_mode();
	char *p = pmem_map(fd, LEN);
	ck_assert_ptr_nonnull(p);
	strcpy(p + 100, "msync mode");
	pmem_persist(p + 100, 11, 0);
	pmem_memcpy_persist(p + 5000, "copied", 7);
	pmem_memset_persist(p + 9000, 'z', 3);
	char buf[16];
	file_read(buf, 11, 100);
	ck_assert_str_eq(buf, "msync mode");
	file_read(buf, 7, 5000);
	ck_assert_str_eq(buf, "copied");
	file_read(buf, 3, 9000);
	ck_assert_int_eq(memcmp(buf, "zzz", 3), 0);
	/* flushing memory the library did not map is harmless (static: the
	 * page msync covers must be addressable, unlike a stack page) */
	static char local[64] = "local";
	pmem_persist(local, sizeof(local), 0);
	ck_assert_int_eq(pmem_unmap(p, LEN), 0);
}
END_TEST

/* The child of the fit-mode crash test. */
static void
fit_child(void)
{
	pmem_fit_mode();
	char *p = pmem_map(fd, LEN);
	if (p == NULL)
		_exit(2);
	strcpy(p, "persisted");			/* line 0 */
	pmem_persist(p, 10, 0);
	strcpy(p + 200, "not persisted");	/* line 3 */
	p[70] = 'x';				/* line 1 ... */
	pmem_flush_cache(p + 64, 1, 0);		/* flushed by its line */
	p[128] = 'y';				/* line 2, never flushed */
	pmem_memcpy_persist(p + 4096, "memcpy", 7);
	pmem_memset_nodrain(p + 8192, 'm', 100);
	memcpy(p + 12288, "msync", 6);
	pmem_msync(p + 12288, 6);
	strcpy(p + LEN - 64, "tail");
	pmem_flush(p + LEN - 64, 5);
	pmem_deep_persist(p + 20000, 1);
}

/* fit mode: after a crash the file holds exactly the persisted lines. */
START_TEST(test_fit_crash)
{
	crash_after(fit_child);
	char buf[LEN];
	file_read(buf, LEN, 0);
	ck_assert_str_eq(buf, "persisted");
	ck_assert_int_eq(buf[70], 'x');
	ck_assert_int_eq(buf[128], 0);
	ck_assert_int_eq(buf[200], 0);
	ck_assert_str_eq(buf + 4096, "memcpy");
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(buf[8192 + i], 'm');
	ck_assert_int_eq(buf[8292], 0);
	ck_assert_str_eq(buf + 12288, "msync");
	ck_assert_str_eq(buf + LEN - 64, "tail");
	/* nothing else was written */
	size_t nonzero = 0;
	for (size_t i = 0; i < LEN; i++)
		nonzero += buf[i] != 0;
	ck_assert_uint_eq(nonzero, 9 + 1 + 6 + 100 + 5 + 4);
}
END_TEST

/* The child of the fit-mode line-granularity test: a line, exactly. */
static void
fit_line_child(void)
{
	pmem_fit_mode();
	char *p = pmem_map(fd, LEN);
	if (p == NULL)
		_exit(2);
	memset(p + 1000, 'a', 200);	/* lines 15..18 */
	pmem_persist(p + 1030, 1, 0);	/* line 16 only: 1024..1087 */
}

/* A flush of one byte persists its whole 64-byte line and nothing more. */
START_TEST(test_fit_line_granularity)
{
	crash_after(fit_line_child);
	char buf[2048];
	file_read(buf, sizeof(buf), 0);
	for (int i = 0; i < 2048; i++)
		ck_assert_int_eq(buf[i], i >= 1024 && i < 1088 ? 'a' : 0);
}
END_TEST

/* Counts the open descriptors of this process. */
static int
open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* fit mode: the mapping is private until flushed; pmem_unmap closes. */
START_TEST(test_fit_private_and_unmap)
{
	pmem_fit_mode();
	int before = open_fds();
	char *p = pmem_map(fd, LEN);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(open_fds(), before + 1);
	p[0] = 'q';
	char c;
	file_read(&c, 1, 0);
	ck_assert_int_eq(c, 0);
	pmem_persist(p, 1, 0);
	file_read(&c, 1, 0);
	ck_assert_int_eq(c, 'q');
	ck_assert_int_eq(pmem_is_pmem(p, LEN), 0);
	/* a partial unmap keeps the file for the rest */
	ck_assert_int_eq(pmem_unmap(p, 4096), 0);
	ck_assert_int_eq(open_fds(), before + 1);
	p[8192] = 'r';
	pmem_persist(p + 8192, 1, 0);
	file_read(&c, 1, 8192);
	ck_assert_int_eq(c, 'r');
	ck_assert_int_eq(pmem_unmap(p + 4096, LEN - 4096), 0);
	ck_assert_int_eq(open_fds(), before);
}
END_TEST

/* fit mode: a failed write to the file is reported, never a crash. */
START_TEST(test_fit_write_error)
{
	pmem_fit_mode();
	char *p = pmem_map(fd, LEN);
	ck_assert_ptr_nonnull(p);
	/* writes past 8 KiB of any file now fail with EFBIG */
	struct rlimit rl = { 8192, 8192 };
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	p[9000] = 1;
	errno = 0;
	ck_assert_int_eq(pmem_msync(p + 9000, 1), -1);
	ck_assert_int_eq(errno, EFBIG);
	ck_assert_ptr_nonnull(strstr(pmem_errormsg(), "pwrite"));
	pmem_persist(p + 9000, 1, 0);	/* void: the message says it */
	ck_assert_ptr_nonnull(strstr(pmem_errormsg(), "fit mode"));
	/* below the limit all is well */
	p[100] = 2;
	ck_assert_int_eq(pmem_msync(p + 100, 1), 0);
	char c;
	file_read(&c, 1, 100);
	ck_assert_int_eq(c, 2);
	ck_assert_int_eq(pmem_unmap(p, LEN), 0);
}
END_TEST

/* Builds the suite. */
static Suite *
suite(void)
{
	Suite *s = suite_create("legacy");
	TCase *tc = test_case(s, "map", 10);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_map_persist);
	tcase_add_test(tc, test_map_errors);
	tc = test_case(s, "msync_mode", 10);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_msync_mode);
	tc = test_case(s, "fit_mode", 10);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_fit_crash);
	tcase_add_test(tc, test_fit_line_granularity);
	tcase_add_test(tc, test_fit_private_and_unmap);
	tcase_add_test(tc, test_fit_write_error);
	return s;
}

int
main(void)
{
	return test_run(suite());
}
