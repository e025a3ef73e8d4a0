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
#include <sys/syscall.h>
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

/*
 * The fault-injection hook: this program's pwrite (and pwrite64) take the
 * place of the C library's for libpmem too.  Once kill_at_pwrite is set,
 * the process dies of SIGKILL on entering that pwrite call, as a crash
 * driver's kill would land; until then every call is the real system call.
 */
static int kill_at_pwrite;
static int pwrites;

/* Counts the call, dies if it is the chosen one, else writes. */
static ssize_t
hooked_pwrite(int wfd, const void *buf, size_t n, off_t off)
{
	if (kill_at_pwrite != 0 && ++pwrites == kill_at_pwrite)
		raise(SIGKILL);
	return syscall(SYS_pwrite64, wfd, buf, n, off);
}

ssize_t
pwrite(int wfd, const void *buf, size_t n, off_t off)
{
	return hooked_pwrite(wfd, buf, n, off);
}

ssize_t
pwrite64(int wfd, const void *buf, size_t n, off_t off)
{
	return hooked_pwrite(wfd, buf, n, off);
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

/*
 * Makes a one-page hole between two mapped pages just before a call, so
 * that nothing (a sanitizer, the error path of the previous call) has
 * mapped it since; *base is the first page, for unmap_hole.
 */
static char *
make_hole(char **base)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	ck_assert_int_eq(munmap(p + pg, pg), 0);
	*base = p;
	return p + pg;
}

/* Unmaps the two pages around the hole (not the hole: see make_hole). */
static void
unmap_hole(char *base)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	ck_assert_int_eq(munmap(base, pg), 0);
	ck_assert_int_eq(munmap(base + 2 * pg, pg), 0);
}

/*
 * msync mode: a flush of memory that is not mapped does not end the
 * program (the 0.8 library exited); errno and pmem_errormsg() say it.
 */
START_TEST(test_msync_mode_unmapped)
{
	pmem_msync_mode();
	/* valgrind reports msync of unaddressable memory as an error */
	if (test_under_valgrind()) {
		fprintf(stderr, "test_msync_mode_unmapped: the unmapped "
			"flushes are not made under valgrind\n");
	} else {
		char *base;
		char *hole = make_hole(&base);
		errno = 0;
		pmem_persist(hole + 10, 100, 0);
		int err = errno;
		unmap_hole(base);
		ck_assert_int_eq(err, ENOMEM);
		ck_assert_ptr_nonnull(strstr(pmem_errormsg(),
			"msync mode: flush of 100 bytes"));
		hole = make_hole(&base);
		errno = 0;
		pmem_flush_cache(hole, 1, 0);
		err = errno;
		unmap_hole(base);
		ck_assert_int_eq(err, ENOMEM);
		ck_assert_ptr_nonnull(strstr(pmem_errormsg(),
			"msync mode: flush of 1 bytes"));
	}
	/* a mapped range afterwards is flushed as usual */
	char *m = pmem_map(fd, LEN);
	ck_assert_ptr_nonnull(m);
	strcpy(m, "after");
	pmem_persist(m, 6, 0);
	char buf[6];
	file_read(buf, 6, 0);
	ck_assert_str_eq(buf, "after");
	ck_assert_int_eq(pmem_unmap(m, LEN), 0);
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

/* The child of the torn-persist test: dies at its second pwrite. */
static void
fit_torn_child(void)
{
	pmem_fit_mode();
	char *p = pmem_map(fd, LEN);
	if (p == NULL)
		_exit(2);
	memset(p, 'a', 128);		/* lines 0 and 1 */
	kill_at_pwrite = 2;
	pmem_persist(p, 128, 0);
	_exit(3);			/* not reached: killed at line 1 */
}

/*
 * fit mode writes one 64-byte line per pwrite, in address order: a kill
 * between the two writes of a two-line persist leaves exactly the first
 * line in the file, the torn state a power failure can leave.
 */
START_TEST(test_fit_torn_persist)
{
	crash_after(fit_torn_child);
	char buf[256];
	file_read(buf, sizeof(buf), 0);
	for (int i = 0; i < 256; i++)
		ck_assert_msg(buf[i] == (i < 64 ? 'a' : 0),
			"byte %d is %#x", i, (unsigned char)buf[i]);
}
END_TEST

/* The child of the persist-order test: one kill point per run. */
static void
fit_order_child(void)
{
	pmem_fit_mode();
	char *p = pmem_map(fd, LEN);
	if (p == NULL)
		_exit(2);
	memset(p + 30, 'b', 200);	/* lines 0..3, partly */
	pmem_persist(p + 30, 200, 0);
	_exit(0);
}

/* Each kill point k leaves the first k - 1 lines of a 4-line persist. */
START_TEST(test_fit_persist_order)
{
	for (int k = 1; k <= 5; k++) {
		char zero[256] = { 0 };
		ck_assert_int_eq(pwrite(fd, zero, sizeof(zero), 0), 256);
		pid_t pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			kill_at_pwrite = k;
			fit_order_child();
		}
		int st;
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		if (k <= 4)
			ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
		else
			ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		char buf[256];
		file_read(buf, sizeof(buf), 0);
		size_t upto = (size_t)(k - 1) * 64;
		for (size_t i = 0; i < 256; i++) {
			int in = i >= 30 && i < 230 && i < upto;
			ck_assert_msg(buf[i] == (in ? 'b' : 0),
				"kill at write %d: byte %zu is %#x", k, i,
				(unsigned char)buf[i]);
		}
	}
}
END_TEST

/* Size of the file of the growth test: not a multiple of 64. */
#define ODD_LEN 8010

/* fit mode: the last, partial line is cut at the end; the file keeps its size. */
START_TEST(test_fit_no_growth)
{
	char opath[256];
	test_path(opath, sizeof(opath), "legacy-odd");
	int ofd = test_file(opath, ODD_LEN, 0);
	pmem_fit_mode();
	char *p = pmem_map(ofd, ODD_LEN);
	ck_assert_ptr_nonnull(p);
	p[ODD_LEN - 1] = 'z';
	p[ODD_LEN - 9] = 'y';
	pmem_persist(p + ODD_LEN - 1, 1, 0);
	struct stat st;
	ck_assert_int_eq(fstat(ofd, &st), 0);
	ck_assert_int_eq(st.st_size, ODD_LEN);
	char buf[64];
	ck_assert_int_eq(pread(ofd, buf, sizeof(buf), 8000), ODD_LEN - 8000);
	ck_assert_int_eq(buf[ODD_LEN - 1 - 8000], 'z');
	ck_assert_int_eq(buf[ODD_LEN - 9 - 8000], 'y');	/* same line */
	ck_assert_int_eq(pmem_unmap(p, ODD_LEN), 0);
	close(ofd);
	unlink(opath);
}
END_TEST

/*
 * A 0.8 program's pointer to pmem_persist (0.8 type) and a parenthesized
 * call reach the library's function: in fit mode the lines reach the file.
 */
START_TEST(test_fit_persist_pointer)
{
	pmem_fit_mode();
	char *p = pmem_map(fd, LEN);
	ck_assert_ptr_nonnull(p);
	void (*f)(void *, size_t, int) = pmem_persist;
	p[0] = 'f';
	p[64] = 'g';
	p[128] = 'h';
	f(p, 1, 0);
	(pmem_persist)(p + 64, 1, 7);
	char buf[129];
	file_read(buf, sizeof(buf), 0);
	ck_assert_int_eq(buf[0], 'f');
	ck_assert_int_eq(buf[64], 'g');
	ck_assert_int_eq(buf[128], 0);
	ck_assert_int_eq(pmem_unmap(p, LEN), 0);
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
	/* a persist across the limit: the line below it reaches the file */
	memset(p + 8128, 3, 128);
	errno = 0;
	pmem_persist(p + 8128, 128, 0);
	ck_assert_int_eq(errno, EFBIG);
	char two[128];
	file_read(two, sizeof(two), 8128);
	for (int i = 0; i < 128; i++)
		ck_assert_int_eq(two[i], i < 64 ? 3 : 0);
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
	tcase_add_test(tc, test_msync_mode_unmapped);
	tc = test_case(s, "fit_mode", 10);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_fit_crash);
	tcase_add_test(tc, test_fit_line_granularity);
	tcase_add_test(tc, test_fit_torn_persist);
	tcase_add_test(tc, test_fit_persist_order);
	tcase_add_test(tc, test_fit_no_growth);
	tcase_add_test(tc, test_fit_persist_pointer);
	tcase_add_test(tc, test_fit_private_and_unmap);
	tcase_add_test(tc, test_fit_write_error);
	return s;
}

int
main(void)
{
	return test_run(suite());
}
