/*
 * test_map.c -- pmem_map_file, pmem_unmap and pmem_is_pmem through the
 * public API of the shared library: argument checks, creation, sizing,
 * temporary files, output pointers, unmapping, the is_pmem answer and
 * its environment override, and concurrent use.
 */
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <libpmem.h>
#include "common.h"

#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif

#define MIB ((size_t)1 << 20)
#define SENTINEL_LEN ((size_t)0xdeadbeef)
#define SENTINEL_PMEM 0x5a5a
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* The system page size. */
static size_t
page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* Asserts that the calling thread's message is non-empty and has needle. */
static void
assert_msg(const char *needle)
{
	const char *m = pmem_errormsg();
	ck_assert_ptr_nonnull(m);
	ck_assert_msg(m[0] != '\0', "pmem_errormsg() is empty");
	if (needle != NULL)
		ck_assert_msg(strstr(m, needle) != NULL,
			"message \"%s\" does not mention \"%s\"", m, needle);
}

/* Length of the run of byte c at the start of p (at most len). */
static size_t
count_byte(const char *p, size_t len, int c)
{
	size_t i = 0;
	while (i < len && p[i] == (char)c)
		i++;
	return i;
}

/* Asserts that path does not exist. */
static void
assert_missing(const char *path)
{
	struct stat st;
	ck_assert_int_eq(stat(path, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
}

/* Returns the size of the file at path (asserting that it exists). */
static off_t
size_of(const char *path)
{
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_size;
}

/* Creates an existing file of len bytes of byte c and closes it. */
static void
make_file(const char *path, size_t len, int c)
{
	int fd = test_file(path, len, c);
	ck_assert_int_eq(close(fd), 0);
}

/*
 * Calls pmem_map_file expecting failure with errno err; checks that the
 * output pointers were left alone and that a message was recorded.
 */
static void
map_fails(const char *path, size_t len, int flags, int err,
	const char *needle)
{
	size_t mlen = SENTINEL_LEN;
	int is_pmem = SENTINEL_PMEM;

	errno = 0;
	void *p = pmem_map_file(path, len, flags, 0600, &mlen, &is_pmem);
	int e = errno;
	ck_assert_ptr_null(p);
	ck_assert_msg(e == err, "errno %d (%s), expected %d (%s)", e,
		strerror(e), err, strerror(err));
	ck_assert_uint_eq(mlen, SENTINEL_LEN);
	ck_assert_int_eq(is_pmem, SENTINEL_PMEM);
	assert_msg(needle);
}

/* Maps path with flags and len; asserts success and returns the address. */
static char *
map_ok(const char *path, size_t len, int flags, size_t *mlen, int *is_pmem)
{
	void *p = pmem_map_file(path, len, flags, 0600, mlen, is_pmem);
	ck_assert_msg(p != NULL, "pmem_map_file(%s, %zu, %#x): %s", path, len,
		flags, pmem_errormsg());
	return p;
}

/* 1 when the kernel accepts MAP_SYNC for the file at path. */
static int
supports_map_sync(const char *path)
{
	int fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	void *p = mmap(NULL, page_size(), PROT_READ | PROT_WRITE,
		MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return 0;
	munmap(p, page_size());
	return 1;
}

/* A writable directory on an ordinary file system (not /dev/shm). */
static const char *
disk_dir(void)
{
	const char *t = getenv("TMPDIR");
	if (t != NULL && t[0] != '\0' && strncmp(t, "/dev/shm", 8) != 0 &&
			access(t, W_OK) == 0)
		return t;
	if (access("/var/tmp", W_OK) == 0)
		return "/var/tmp";
	return "/tmp";
}

/* ------------------------------------------------------- argument checks */

/* An unknown flag bit gives EINVAL and creates nothing. */
START_TEST(test_einval_unknown_flag)
{
	char path[PATH_MAX];
	test_path(path, sizeof(path), "flag");
	map_fails(path, 4096, PMEM_FILE_CREATE | (1 << 4), EINVAL, "flag");
	assert_missing(path);
	map_fails(path, 0, 1 << 4, EINVAL, "flag");
	map_fails(path, 4096, PMEM_FILE_CREATE | (1 << 30), EINVAL, "flag");
	assert_missing(path);
}
END_TEST

/* A non-zero len without PMEM_FILE_CREATE gives EINVAL. */
START_TEST(test_einval_len_without_create)
{
	char path[PATH_MAX];
	test_path(path, sizeof(path), "lenc");
	make_file(path, 4096, 'a');
	map_fails(path, 4096, 0, EINVAL, "len");
	map_fails(path, 1, PMEM_FILE_SPARSE, EINVAL, "len");
	map_fails(path, 4096, PMEM_FILE_EXCL, EINVAL, "len");
	ck_assert_int_eq(size_of(path), 4096);
	unlink(path);
}
END_TEST

/* len 0 with PMEM_FILE_CREATE gives EINVAL and creates nothing. */
START_TEST(test_einval_zero_len_with_create)
{
	char path[PATH_MAX];
	test_path(path, sizeof(path), "zlen");
	map_fails(path, 0, PMEM_FILE_CREATE, EINVAL, "len");
	map_fails(path, 0, PMEM_FILE_CREATE | PMEM_FILE_EXCL, EINVAL, "len");
	assert_missing(path);
}
END_TEST

/* A len that is negative as off_t with PMEM_FILE_CREATE gives EINVAL. */
START_TEST(test_einval_negative_len)
{
	char path[PATH_MAX];
	test_path(path, sizeof(path), "neg");
	map_fails(path, (size_t)-1, PMEM_FILE_CREATE, EINVAL, "length");
	map_fails(path, (size_t)1 << 63, PMEM_FILE_CREATE | PMEM_FILE_EXCL,
		EINVAL, "length");
	assert_missing(path);
}
END_TEST

/* PMEM_FILE_TMPFILE without PMEM_FILE_CREATE gives EINVAL. */
START_TEST(test_einval_tmpfile_without_create)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/pmem-test-tmpnc-XXXXXX", test_dir());
	ck_assert_ptr_nonnull(mkdtemp(dir));
	map_fails(dir, 0, PMEM_FILE_TMPFILE, EINVAL, "TMPFILE");
	map_fails(dir, 0, PMEM_FILE_TMPFILE | PMEM_FILE_EXCL, EINVAL,
		"TMPFILE");
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* A NULL path gives EINVAL. */
START_TEST(test_einval_null_path)
{
	map_fails(NULL, 4096, PMEM_FILE_CREATE, EINVAL, NULL);
	map_fails(NULL, 0, 0, EINVAL, NULL);
}
END_TEST

/* The first broken rule decides the message (man page order). */
START_TEST(test_einval_order)
{
	char path[PATH_MAX];
	test_path(path, sizeof(path), "order");

	/* 1 before 3: unknown flag and a negative len */
	map_fails(path, (size_t)-1, PMEM_FILE_CREATE | (1 << 4), EINVAL,
		"flag");
	/* 1 before 4: unknown flag and len without CREATE */
	map_fails(path, 4096, 1 << 4, EINVAL, "flag");
	/* 4 before 6: len without CREATE and TMPFILE without CREATE */
	map_fails(path, 4096, PMEM_FILE_TMPFILE, EINVAL, "non-zero");
	/* 3 before 5 cannot both hold; 5 alone with TMPFILE|CREATE */
	map_fails(path, 0, PMEM_FILE_CREATE | PMEM_FILE_TMPFILE, EINVAL,
		"zero");
	ck_assert_ptr_null(strstr(pmem_errormsg(), "non-zero"));
	/* 3 with TMPFILE: negative len is checked before the directory */
	map_fails(path, (size_t)-2, PMEM_FILE_CREATE | PMEM_FILE_TMPFILE,
		EINVAL, "length");
	assert_missing(path);
}
END_TEST

/* ------------------------------------------------------------- creation */

/* CREATE makes a file of exactly len bytes and maps len bytes. */
START_TEST(test_create_exact_size)
{
	static const size_t lens[] = { 1, 100, 4096, 3 * 4096 + 100,
		2 * MIB + 1 };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		char path[PATH_MAX];
		size_t mlen = 0;
		int is_pmem = -1;
		test_path(path, sizeof(path), "create");
		char *p = map_ok(path, lens[i],
			PMEM_FILE_CREATE | PMEM_FILE_EXCL, &mlen, &is_pmem);
		ck_assert_uint_eq(mlen, lens[i]);
		ck_assert(is_pmem == 0 || is_pmem == 1);

		int fd = open(path, O_RDONLY);
		ck_assert_int_ge(fd, 0);
		struct stat st;
		ck_assert_int_eq(fstat(fd, &st), 0);
		ck_assert_int_eq(st.st_size, (off_t)lens[i]);
		close(fd);

		/* a new file reads as zeros and takes stores at both ends */
		ck_assert_int_eq(p[0], 0);
		ck_assert_int_eq(p[lens[i] - 1], 0);
		p[0] = 'x';
		p[lens[i] - 1] = 'y';
		ck_assert_int_eq(pmem_unmap(p, mlen), 0);
		ck_assert_int_eq(unlink(path), 0);
	}
}
END_TEST

/* The mode argument gives the permission bits of a created file. */
START_TEST(test_create_mode)
{
	char path[PATH_MAX];
	test_path(path, sizeof(path), "mode");
	mode_t old = umask(0);
	void *p = pmem_map_file(path, 4096, PMEM_FILE_CREATE, 0640, NULL,
		NULL);
	umask(old);
	ck_assert_ptr_nonnull(p);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0640);
	ck_assert_int_eq(pmem_unmap(p, 4096), 0);
	unlink(path);
}
END_TEST

/* Without SPARSE the blocks are allocated. */
START_TEST(test_create_allocates)
{
	char path[PATH_MAX];
	size_t len = 1 * MIB;
	test_path(path, sizeof(path), "alloc");
	void *p = map_ok(path, len, PMEM_FILE_CREATE, NULL, NULL);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_msg((size_t)st.st_blocks * 512 >= len,
		"only %lld blocks allocated", (long long)st.st_blocks);
	ck_assert_int_eq(pmem_unmap(p, len), 0);
	unlink(path);
}
END_TEST

/* With SPARSE no block is allocated until written. */
START_TEST(test_create_sparse)
{
	char path[PATH_MAX];
	size_t len = 1 * MIB;
	test_path(path, sizeof(path), "sparse");
	char *p = map_ok(path, len, PMEM_FILE_CREATE | PMEM_FILE_SPARSE,
		NULL, NULL);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, (off_t)len);
	ck_assert_int_eq(st.st_blocks, 0);
	/* a write allocates on first touch */
	p[len / 2] = 1;
	ck_assert_int_eq(pmem_msync(p + len / 2, 1), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_gt(st.st_blocks, 0);
	ck_assert_int_eq(pmem_unmap(p, len), 0);
	unlink(path);
}
END_TEST

/* CREATE on an existing file truncates or extends it to len. */
START_TEST(test_create_resizes_existing)
{
	char path[PATH_MAX];
	size_t mlen = 0;
	test_path(path, sizeof(path), "resize");
	make_file(path, 3 * 4096, 'x');

	/* shrink: the kept bytes stay */
	char *p = map_ok(path, 4096, PMEM_FILE_CREATE, &mlen, NULL);
	ck_assert_uint_eq(mlen, 4096);
	ck_assert_int_eq(size_of(path), 4096);
	ck_assert_uint_eq(count_byte(p, 4096, 'x'), 4096);
	ck_assert_int_eq(pmem_unmap(p, mlen), 0);

	/* grow: the old bytes stay, the new ones are zero */
	p = map_ok(path, 5 * 4096 + 7, PMEM_FILE_CREATE | PMEM_FILE_SPARSE,
		&mlen, NULL);
	ck_assert_uint_eq(mlen, 5 * 4096 + 7);
	ck_assert_int_eq(size_of(path), 5 * 4096 + 7);
	ck_assert_int_eq(p[0], 'x');
	ck_assert_int_eq(p[4095], 'x');
	ck_assert_uint_eq(count_byte(p + 4096, mlen - 4096, 0), mlen - 4096);
	ck_assert_int_eq(pmem_unmap(p, mlen), 0);
	unlink(path);
}
END_TEST

/* Without CREATE the whole file is mapped and mapped_len is its size. */
START_TEST(test_open_existing)
{
	char path[PATH_MAX];
	size_t mlen = 0;
	int is_pmem = -1;
	test_path(path, sizeof(path), "open");
	make_file(path, 10000, 'q');
	char *p = map_ok(path, 0, 0, &mlen, &is_pmem);
	ck_assert_uint_eq(mlen, 10000);
	ck_assert_int_eq(is_pmem, pmem_is_pmem(p, mlen));
	ck_assert_uint_eq(count_byte(p, mlen, 'q'), mlen);
	ck_assert_int_eq(size_of(path), 10000);
	ck_assert_int_eq(pmem_unmap(p, mlen), 0);

	/* SPARSE alone is accepted and means nothing without CREATE */
	p = map_ok(path, 0, PMEM_FILE_SPARSE, &mlen, NULL);
	ck_assert_uint_eq(mlen, 10000);
	ck_assert_int_eq(pmem_unmap(p, mlen), 0);
	unlink(path);
}
END_TEST

/* An empty existing file cannot be mapped: EINVAL (mmap of 0 bytes). */
START_TEST(test_open_empty)
{
	char path[PATH_MAX];
	test_path(path, sizeof(path), "empty");
	make_file(path, 0, 0);
	map_fails(path, 0, 0, EINVAL, "mmap");
	ck_assert_int_eq(size_of(path), 0);
	unlink(path);
}
END_TEST

/* A missing file without CREATE gives ENOENT and is not created. */
START_TEST(test_open_missing)
{
	char path[PATH_MAX];
	test_path(path, sizeof(path), "missing");
	map_fails(path, 0, 0, ENOENT, strerror(ENOENT));
	assert_msg(path);
	assert_missing(path);
	/* a missing directory on the way, even with CREATE */
	char deep[PATH_MAX + 16];
	snprintf(deep, sizeof(deep), "%s/sub/file", path);
	map_fails(deep, 4096, PMEM_FILE_CREATE, ENOENT, strerror(ENOENT));
}
END_TEST

/* A directory without TMPFILE cannot be opened: EISDIR. */
START_TEST(test_open_directory)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/pmem-test-dir-XXXXXX", test_dir());
	ck_assert_ptr_nonnull(mkdtemp(dir));
	map_fails(dir, 0, 0, EISDIR, strerror(EISDIR));
	map_fails(dir, 4096, PMEM_FILE_CREATE, EISDIR, strerror(EISDIR));
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* CREATE|EXCL on an existing file: EEXIST, and the file is kept as is. */
START_TEST(test_excl_existing)
{
	char path[PATH_MAX];
	test_path(path, sizeof(path), "excl");
	make_file(path, 8192, 'e');
	map_fails(path, 4096, PMEM_FILE_CREATE | PMEM_FILE_EXCL, EEXIST,
		strerror(EEXIST));
	ck_assert_int_eq(size_of(path), 8192);
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	char c = 0;
	ck_assert_int_eq(pread(fd, &c, 1, 8191), 1);
	ck_assert_int_eq(c, 'e');
	close(fd);
	unlink(path);
}
END_TEST

/* 1 for the errors a 4 EiB file may give when sized or mapped. */
static int
huge_errno(int e, int sparse)
{
	return e == EFBIG || e == ENOSPC || e == EINVAL ||
		(sparse && e == ENOMEM);
}

/* CREATE|EXCL that fails after creating the file removes the file. */
START_TEST(test_excl_failure_unlinks)
{
	for (int sparse = 0; sparse <= 1; sparse++) {
		char path[PATH_MAX];
		size_t mlen = SENTINEL_LEN;
		int is_pmem = SENTINEL_PMEM;
		test_path(path, sizeof(path), "exclfail");
		int flags = PMEM_FILE_CREATE | PMEM_FILE_EXCL |
			(sparse ? PMEM_FILE_SPARSE : 0);
		errno = 0;
		void *p = pmem_map_file(path, (size_t)1 << 62, flags, 0600,
			&mlen, &is_pmem);
		int e = errno;
		ck_assert_ptr_null(p);
		ck_assert_msg(huge_errno(e, sparse), "errno %d (%s)", e,
			strerror(e));
		ck_assert_uint_eq(mlen, SENTINEL_LEN);
		ck_assert_int_eq(is_pmem, SENTINEL_PMEM);
		assert_msg(strerror(e));
		assert_missing(path);
	}
}
END_TEST

/* The same failure without EXCL leaves a pre-existing file in place. */
START_TEST(test_failure_keeps_existing)
{
	for (int excl = 0; excl <= 1; excl++) {
		char path[PATH_MAX];
		test_path(path, sizeof(path), "keep");
		make_file(path, 4096, 'k');
		errno = 0;
		void *p = pmem_map_file(path, (size_t)1 << 62,
			PMEM_FILE_CREATE | (excl ? PMEM_FILE_EXCL : 0), 0600,
			NULL, NULL);
		int e = errno;
		ck_assert_ptr_null(p);
		if (excl)	/* EEXIST before anything else happens */
			ck_assert_int_eq(e, EEXIST);
		else
			ck_assert_msg(huge_errno(e, 0), "errno %d (%s)", e,
				strerror(e));
		assert_msg(NULL);
		struct stat st;
		ck_assert_int_eq(stat(path, &st), 0);
		if (excl)
			ck_assert_int_eq(st.st_size, 4096);
		ck_assert_int_eq(unlink(path), 0);
	}
}
END_TEST

/* ------------------------------------------------------- output pointers */

/* NULL mapped_lenp and is_pmemp are allowed; each alone too. */
START_TEST(test_null_outputs)
{
	char path[PATH_MAX];
	size_t mlen = 0;
	int is_pmem = -1;
	test_path(path, sizeof(path), "nullout");
	char *p = map_ok(path, 8192, PMEM_FILE_CREATE, NULL, NULL);
	p[8191] = 1;
	ck_assert_int_eq(pmem_unmap(p, 8192), 0);

	p = map_ok(path, 0, 0, &mlen, NULL);
	ck_assert_uint_eq(mlen, 8192);
	ck_assert_int_eq(p[8191], 1);
	ck_assert_int_eq(pmem_unmap(p, mlen), 0);

	p = map_ok(path, 0, 0, NULL, &is_pmem);
	ck_assert(is_pmem == 0 || is_pmem == 1);
	ck_assert_int_eq(is_pmem, pmem_is_pmem(p, 8192));
	ck_assert_int_eq(pmem_unmap(p, 8192), 0);
	unlink(path);
}
END_TEST

/* Failures of every kind leave the output pointers untouched. */
START_TEST(test_outputs_untouched_on_failure)
{
	char path[PATH_MAX], dir[PATH_MAX];
	test_path(path, sizeof(path), "untouched");
	snprintf(dir, sizeof(dir), "%s/pmem-test-ut-XXXXXX", test_dir());
	ck_assert_ptr_nonnull(mkdtemp(dir));

	/* map_fails checks the sentinels after each of these */
	map_fails(path, 0, 0, ENOENT, NULL);
	map_fails(path, 0, PMEM_FILE_CREATE, EINVAL, NULL);
	map_fails(dir, 0, 0, EISDIR, NULL);
	make_file(path, 0, 0);
	map_fails(path, 0, 0, EINVAL, NULL);
	map_fails(path, 1, PMEM_FILE_CREATE | PMEM_FILE_EXCL, EEXIST, NULL);
	map_fails(path, 1, PMEM_FILE_CREATE | PMEM_FILE_TMPFILE, ENOTDIR,
		NULL);
	unlink(path);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* -------------------------------------------------------------- tmpfile */

/* Counts the entries of dir other than "." and "..". */
static int
dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* TMPFILE maps an unnamed file in a directory that stays empty. */
START_TEST(test_tmpfile_dir)
{
	static const int extra[] = { 0, PMEM_FILE_EXCL, PMEM_FILE_SPARSE };
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/pmem-test-tmp-XXXXXX", test_dir());
	ck_assert_ptr_nonnull(mkdtemp(dir));

	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		size_t mlen = 0;
		int is_pmem = -1;
		size_t len = 3 * 4096 + 5;
		char *p = map_ok(dir, len, PMEM_FILE_CREATE |
			PMEM_FILE_TMPFILE | extra[i], &mlen, &is_pmem);
		ck_assert_uint_eq(mlen, len);
		ck_assert_int_eq(is_pmem, pmem_is_pmem(p, mlen));
		ck_assert_int_eq(dir_entries(dir), 0);
		ck_assert_int_eq(p[len - 1], 0);
		for (size_t j = 0; j < len; j++)
			p[j] = (char)(j * 13 + i);
		pmem_persist(p, len);
		size_t good = 0;
		while (good < len && p[good] == (char)(good * 13 + i))
			good++;
		ck_assert_uint_eq(good, len);
		ck_assert_int_eq(pmem_msync(p, len), 0);
		ck_assert_int_eq(pmem_unmap(p, mlen), 0);
		ck_assert_int_eq(dir_entries(dir), 0);
	}
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* TMPFILE on a path that is not a directory fails with errno set. */
START_TEST(test_tmpfile_not_dir)
{
	char path[PATH_MAX];
	test_path(path, sizeof(path), "tmpnd");
	make_file(path, 4096, 't');
	size_t mlen = SENTINEL_LEN;
	errno = 0;
	void *p = pmem_map_file(path, 4096,
		PMEM_FILE_CREATE | PMEM_FILE_TMPFILE, 0600, &mlen, NULL);
	int e = errno;
	ck_assert_ptr_null(p);
	ck_assert_int_ne(e, 0);
	ck_assert_int_eq(e, ENOTDIR);
	ck_assert_uint_eq(mlen, SENTINEL_LEN);
	assert_msg(path);
	/* the file is left exactly as it was */
	ck_assert_int_eq(size_of(path), 4096);
	ck_assert_int_eq(unlink(path), 0);

	/* a directory that does not exist */
	errno = 0;
	p = pmem_map_file(path, 4096, PMEM_FILE_CREATE | PMEM_FILE_TMPFILE,
		0600, NULL, NULL);
	e = errno;
	ck_assert_ptr_null(p);
	ck_assert_int_eq(e, ENOENT);
	assert_msg(NULL);
	assert_missing(path);
}
END_TEST

/* ------------------------------------------------------------- mappings */

/* The mapping address is 2 MiB aligned whatever the length. */
START_TEST(test_alignment)
{
	static const size_t lens[] = { 1, 4096, 2 * MIB - 1, 2 * MIB,
		3 * MIB + 1 };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		char path[PATH_MAX];
		size_t mlen = 0;
		test_path(path, sizeof(path), "align");
		char *p = map_ok(path, lens[i],
			PMEM_FILE_CREATE | PMEM_FILE_SPARSE, &mlen, NULL);
		ck_assert_msg(((uintptr_t)p & (2 * MIB - 1)) == 0,
			"%p is not 2 MiB aligned", (void *)p);
		p[mlen - 1] = 1;
		ck_assert_int_eq(pmem_unmap(p, mlen), 0);
		ck_assert_int_eq(unlink(path), 0);
	}
}
END_TEST

/* A mapping of 2 GiB or more is 1 GiB aligned (sparse: nothing is touched). */
START_TEST(test_alignment_1g)
{
	char path[PATH_MAX];
	size_t len = (size_t)2 << 30, mlen = 0;
	test_path(path, sizeof(path), "align1g");
	char *p = map_ok(path, len, PMEM_FILE_CREATE | PMEM_FILE_SPARSE,
		&mlen, NULL);
	ck_assert_uint_eq(mlen, len);
	ck_assert_msg(((uintptr_t)p & ((1u << 30) - 1)) == 0,
		"%p is not 1 GiB aligned", (void *)p);
	p[len - 1] = 1;
	ck_assert_int_eq(pmem_unmap(p, mlen), 0);
	ck_assert_int_eq(unlink(path), 0);
}
END_TEST

/* The lowest free descriptor number (the next open would get it). */
static int
next_fd(void)
{
	int fd = open("/dev/null", O_RDONLY);
	ck_assert_int_ge(fd, 0);
	close(fd);
	return fd;
}

/* The file descriptor is closed again, after success and after failure. */
START_TEST(test_fd_closed)
{
	char path[PATH_MAX], dir[PATH_MAX];
	int before = next_fd();
	test_path(path, sizeof(path), "fd");

	char *p = map_ok(path, 4096, PMEM_FILE_CREATE, NULL, NULL);
	ck_assert_int_eq(next_fd(), before);
	ck_assert_int_eq(pmem_unmap(p, 4096), 0);
	p = map_ok(path, 0, 0, NULL, NULL);
	ck_assert_int_eq(next_fd(), before);
	ck_assert_int_eq(pmem_unmap(p, 4096), 0);

	/* failures after the open: huge size, empty file */
	ck_assert_ptr_null(pmem_map_file(path, (size_t)1 << 62,
		PMEM_FILE_CREATE, 0600, NULL, NULL));
	ck_assert_int_eq(next_fd(), before);
	ck_assert_int_eq(truncate(path, 0), 0);
	ck_assert_ptr_null(pmem_map_file(path, 0, 0, 0, NULL, NULL));
	ck_assert_int_eq(next_fd(), before);
	ck_assert_int_eq(unlink(path), 0);

	/* a temporary file */
	snprintf(dir, sizeof(dir), "%s/pmem-test-fd-XXXXXX", test_dir());
	ck_assert_ptr_nonnull(mkdtemp(dir));
	p = map_ok(dir, 4096, PMEM_FILE_CREATE | PMEM_FILE_TMPFILE, NULL,
		NULL);
	ck_assert_int_eq(next_fd(), before);
	ck_assert_int_eq(pmem_unmap(p, 4096), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* Stores through one mapping show in a second one and, after msync, in pread. */
START_TEST(test_shared_visibility)
{
	char path[PATH_MAX];
	size_t len = 5 * 4096, l1 = 0, l2 = 0;
	test_path(path, sizeof(path), "shared");
	char *a = map_ok(path, len, PMEM_FILE_CREATE, &l1, NULL);
	char *b = map_ok(path, 0, 0, &l2, NULL);
	ck_assert_ptr_ne(a, b);
	ck_assert_uint_eq(l1, l2);

	static const char msg[] = "written through the first mapping";
	memcpy(a + 4090, msg, sizeof(msg));
	ck_assert_mem_eq(b + 4090, msg, sizeof(msg));
	b[len - 1] = 'Z';
	ck_assert_int_eq(a[len - 1], 'Z');

	ck_assert_int_eq(pmem_msync(a + 4090, sizeof(msg)), 0);
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	char buf[sizeof(msg)];
	ck_assert_int_eq(pread(fd, buf, sizeof(buf), 4090),
		(ssize_t)sizeof(buf));
	ck_assert_mem_eq(buf, msg, sizeof(msg));
	close(fd);

	ck_assert_int_eq(pmem_unmap(a, l1), 0);
	/* the second mapping outlives the first */
	ck_assert_mem_eq(b + 4090, msg, sizeof(msg));
	ck_assert_int_eq(pmem_unmap(b, l2), 0);
	unlink(path);
}
END_TEST

/* pmem_unmap with len 0 gives -1/EINVAL and unmaps nothing. */
START_TEST(test_unmap_len0)
{
	char path[PATH_MAX];
	test_path(path, sizeof(path), "unmap0");
	char *p = map_ok(path, 4096, PMEM_FILE_CREATE, NULL, NULL);
	errno = 0;
	ck_assert_int_eq(pmem_unmap(p, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	assert_msg("munmap");
	p[0] = 1;	/* still mapped */
	ck_assert_int_eq(pmem_unmap(p, 4096), 0);
	unlink(path);
}
END_TEST

/* pmem_unmap of an address that is not page aligned gives -1/EINVAL. */
START_TEST(test_unmap_unaligned)
{
	char path[PATH_MAX];
	test_path(path, sizeof(path), "unmapua");
	char *p = map_ok(path, 8192, PMEM_FILE_CREATE, NULL, NULL);
	errno = 0;
	ck_assert_int_eq(pmem_unmap(p + 1, 4096), -1);
	ck_assert_int_eq(errno, EINVAL);
	assert_msg("munmap");
	errno = 0;
	ck_assert_int_eq(pmem_unmap(p + 4095, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	p[0] = 1;
	p[8191] = 2;	/* still mapped */
	ck_assert_int_eq(pmem_unmap(p, 8192), 0);
	unlink(path);
}
END_TEST

/* 1 when the page at addr is mapped (mincore succeeds). */
static int
page_mapped(const void *addr)
{
	unsigned char vec;
	int r = mincore((void *)addr, page_size(), &vec);
	if (r != 0)
		ck_assert_int_eq(errno, ENOMEM);
	return r == 0;
}

/* Unmapping the middle page of three keeps the outer two usable. */
START_TEST(test_unmap_middle)
{
	char path[PATH_MAX];
	size_t pg = page_size(), mlen = 0;
	int is_pmem = -1;
	test_path(path, sizeof(path), "middle");
	char *p = map_ok(path, 3 * pg, PMEM_FILE_CREATE, &mlen, &is_pmem);
	ck_assert_uint_eq(mlen, 3 * pg);
	memset(p, 'm', 3 * pg);

	ck_assert_int_eq(pmem_unmap(p + pg, pg), 0);
	ck_assert(page_mapped(p));
	ck_assert(!page_mapped(p + pg));
	ck_assert(page_mapped(p + 2 * pg));
	ck_assert_int_eq(pmem_is_pmem(p + pg, pg), 0);
	ck_assert_int_eq(pmem_is_pmem(p, 3 * pg), 0);
	ck_assert_int_eq(pmem_is_pmem(p, pg), is_pmem);
	ck_assert_int_eq(pmem_is_pmem(p + 2 * pg, pg), is_pmem);

	ck_assert_int_eq(p[0], 'm');
	ck_assert_int_eq(p[2 * pg + 5], 'm');
	p[1] = 'a';
	p[2 * pg + 1] = 'b';
	ck_assert_int_eq(pmem_msync(p, 2), 0);
	ck_assert_int_eq(pmem_msync(p + 2 * pg, 2), 0);

	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	char c;
	ck_assert_int_eq(pread(fd, &c, 1, 1), 1);
	ck_assert_int_eq(c, 'a');
	ck_assert_int_eq(pread(fd, &c, 1, (off_t)(2 * pg + 1)), 1);
	ck_assert_int_eq(c, 'b');
	close(fd);

	/*
	 * The rest goes piece by piece: a call spanning the hole could hit
	 * whatever another part of the process (a sanitizer) mapped there.
	 */
	ck_assert_int_eq(pmem_unmap(p + 2 * pg, pg), 0);
	ck_assert_int_eq(pmem_unmap(p, pg), 0);
	ck_assert(!page_mapped(p));
	ck_assert(!page_mapped(p + 2 * pg));
	unlink(path);
}
END_TEST

/* After a full unmap the memory is gone: mincore and msync give ENOMEM. */
START_TEST(test_unmap_gone)
{
	char path[PATH_MAX];
	size_t pg = page_size(), mlen = 0;
	test_path(path, sizeof(path), "gone");
	char *p = map_ok(path, 2 * pg + 1, PMEM_FILE_CREATE, &mlen, NULL);
	p[2 * pg] = 1;
	ck_assert_int_eq(pmem_unmap(p, mlen), 0);
	/* the last, partial page went too */
	for (size_t off = 0; off < 3 * pg; off += pg) {
		unsigned char vec;
		errno = 0;
		ck_assert_int_eq(mincore(p + off, pg, &vec), -1);
		ck_assert_int_eq(errno, ENOMEM);
	}
	if (!test_under_valgrind()) {	/* valgrind flags msync there */
		errno = 0;
		ck_assert_int_eq(msync(p, pg, MS_SYNC), -1);
		ck_assert_int_eq(errno, ENOMEM);
	}
	ck_assert_int_eq(pmem_is_pmem(p, mlen), 0);
	unlink(path);
}
END_TEST

/* --------------------------------------------------------------- is_pmem */

/*
 * Maps a new file in dir and checks that is_pmem matches MAP_SYNC
 * support and pmem_is_pmem() of the whole and of parts.
 */
static void
check_is_pmem_in(const char *dir)
{
	char path[PATH_MAX];
	size_t len = 64 * 1024, mlen = 0;
	int is_pmem = -1;
	snprintf(path, sizeof(path), "%s/pmem-test-ispmem-%d", dir,
		(int)getpid());
	char *p = map_ok(path, len, PMEM_FILE_CREATE | PMEM_FILE_EXCL, &mlen,
		&is_pmem);
	int sync = supports_map_sync(path);
	if (sync)
		ck_assert(is_pmem == 0 || is_pmem == 1);
	else
		ck_assert_int_eq(is_pmem, 0);
	ck_assert_int_eq(is_pmem, pmem_is_pmem(p, mlen));
	ck_assert_int_eq(is_pmem, pmem_is_pmem(p + 100, 1000));
	ck_assert_int_eq(is_pmem, pmem_is_pmem(p + mlen - 1, 1));
	/* one byte past the end is not ours */
	ck_assert_int_eq(pmem_is_pmem(p, mlen + 1), 0);
	ck_assert_int_eq(pmem_is_pmem(p - 1, 2), 0);
	ck_assert_int_eq(pmem_unmap(p, mlen), 0);
	ck_assert_int_eq(pmem_is_pmem(p, mlen), 0);
	ck_assert_int_eq(unlink(path), 0);
}

/* A file on /dev/shm (tmpfs: no MAP_SYNC) is not persistent memory. */
START_TEST(test_is_pmem_shm)
{
	struct stat st;
	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
			access("/dev/shm", W_OK) == 0)
		check_is_pmem_in("/dev/shm");
	else
		check_is_pmem_in(test_dir());
}
END_TEST

/* A file on an ordinary disk file system is not persistent memory. */
START_TEST(test_is_pmem_disk)
{
	check_is_pmem_in(disk_dir());
}
END_TEST

/* len 0 gives 0, even inside a mapping. */
START_TEST(test_is_pmem_len0)
{
	char path[PATH_MAX];
	test_path(path, sizeof(path), "len0");
	char *p = map_ok(path, 4096, PMEM_FILE_CREATE, NULL, NULL);
	ck_assert_int_eq(pmem_is_pmem(p, 0), 0);
	ck_assert_int_eq(pmem_is_pmem(p + 10, 0), 0);
	ck_assert_int_eq(pmem_is_pmem(NULL, 0), 0);
	ck_assert_int_eq(pmem_unmap(p, 4096), 0);
	unlink(path);
}
END_TEST

/* Memory the library did not map (heap, stack, own mmap) gives 0. */
START_TEST(test_is_pmem_foreign)
{
	char *buf = malloc(4096);
	ck_assert_ptr_nonnull(buf);
	char stack[64];
	ck_assert_int_eq(pmem_is_pmem(buf, 4096), 0);
	ck_assert_int_eq(pmem_is_pmem(buf + 1, 1), 0);
	ck_assert_int_eq(pmem_is_pmem(stack, sizeof(stack)), 0);
	free(buf);

	char path[PATH_MAX];
	test_path(path, sizeof(path), "foreign");
	int fd = test_file(path, 4096, 0);
	void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(m, MAP_FAILED);
	ck_assert_int_eq(pmem_is_pmem(m, 4096), 0);
	munmap(m, 4096);
	close(fd);
	unlink(path);
}
END_TEST

/* PMEM_IS_PMEM_FORCE=1 set after load (read lazily) forces 1 everywhere. */
START_TEST(test_is_pmem_force1)
{
	ck_assert_int_eq(setenv("PMEM_IS_PMEM_FORCE", "1", 1), 0);
	char *buf = malloc(256);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(pmem_is_pmem(buf, 256), 1);
	free(buf);

	char path[PATH_MAX];
	size_t mlen = 0;
	int is_pmem = -1;
	test_path(path, sizeof(path), "force1");
	char *p = map_ok(path, 8192, PMEM_FILE_CREATE, &mlen, &is_pmem);
	ck_assert_int_eq(is_pmem, 1);
	ck_assert_int_eq(pmem_is_pmem(p, mlen), 1);
	ck_assert_int_eq(pmem_unmap(p, mlen), 0);
	unlink(path);
}
END_TEST

/* PMEM_IS_PMEM_FORCE=0 forces 0, also through *is_pmemp. */
START_TEST(test_is_pmem_force0)
{
	ck_assert_int_eq(setenv("PMEM_IS_PMEM_FORCE", "0", 1), 0);
	char path[PATH_MAX];
	size_t mlen = 0;
	int is_pmem = -1;
	test_path(path, sizeof(path), "force0");
	char *p = map_ok(path, 8192, PMEM_FILE_CREATE, &mlen, &is_pmem);
	ck_assert_int_eq(is_pmem, 0);
	ck_assert_int_eq(pmem_is_pmem(p, mlen), 0);
	char *buf = malloc(64);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(pmem_is_pmem(buf, 64), 0);
	free(buf);
	ck_assert_int_eq(pmem_unmap(p, mlen), 0);
	unlink(path);
}
END_TEST

/* The variable is read once, at the first call: later changes do nothing. */
START_TEST(test_is_pmem_force_read_once)
{
	char *buf = malloc(64);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(setenv("PMEM_IS_PMEM_FORCE", "1", 1), 0);
	ck_assert_int_eq(pmem_is_pmem(buf, 64), 1);
	ck_assert_int_eq(setenv("PMEM_IS_PMEM_FORCE", "0", 1), 0);
	ck_assert_int_eq(pmem_is_pmem(buf, 64), 1);
	ck_assert_int_eq(unsetenv("PMEM_IS_PMEM_FORCE"), 0);
	ck_assert_int_eq(pmem_is_pmem(buf, 64), 1);
	free(buf);
}
END_TEST

/* A variable set after the first call is ignored; unset means "ask". */
START_TEST(test_is_pmem_force_too_late)
{
	char *buf = malloc(64);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(unsetenv("PMEM_IS_PMEM_FORCE"), 0);
	ck_assert_int_eq(pmem_is_pmem(buf, 64), 0);
	ck_assert_int_eq(setenv("PMEM_IS_PMEM_FORCE", "1", 1), 0);
	ck_assert_int_eq(pmem_is_pmem(buf, 64), 0);
	free(buf);
}
END_TEST

/* Values other than 0 and 1 do not force anything. */
START_TEST(test_is_pmem_force_other)
{
	ck_assert_int_eq(setenv("PMEM_IS_PMEM_FORCE", "yes", 1), 0);
	char *buf = malloc(64);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(pmem_is_pmem(buf, 64), 0);
	free(buf);
}
END_TEST

/* PMEM_IS_PMEM_FORCE=1 still answers 0 for an empty range (as PMDK). */
START_TEST(test_is_pmem_force1_len0)
{
	ck_assert_int_eq(setenv("PMEM_IS_PMEM_FORCE", "1", 1), 0);
	char *buf = malloc(64);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(pmem_is_pmem(buf, 0), 0);
	ck_assert_int_eq(pmem_is_pmem(NULL, 0), 0);
	ck_assert_int_eq(pmem_is_pmem(buf, 1), 1);
	free(buf);
}
END_TEST

/*
 * The value is read as a number, as PMDK reads it with atoi(): one that
 * reads as 1 forces 1, as 0 forces 0, anything else forces nothing.
 * Each value is tried in a fresh child, since the variable is read once.
 */
static int
force_answer(const char *value)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char *buf = malloc(64);
		if (buf == NULL || setenv("PMEM_IS_PMEM_FORCE", value, 1) != 0)
			_exit(99);
		_exit(pmem_is_pmem(buf, 64));
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* "01", " 1", "+1", "1x" force 1; "10", "2", "-1" do not; "0x1" is 0. */
START_TEST(test_is_pmem_force_parse)
{
	static const char *const ones[] = { "1", "01", " 1", "\t1", "+1",
		"001", "1x" };
	static const char *const others[] = { "10", "2", "-1", "11", " 10",
		"0", "00", "0x1", "", "yes" };
	for (size_t i = 0; i < sizeof(ones) / sizeof(ones[0]); i++)
		ck_assert_msg(force_answer(ones[i]) == 1,
			"PMEM_IS_PMEM_FORCE='%s' did not force 1", ones[i]);
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		ck_assert_msg(force_answer(others[i]) == 0,
			"PMEM_IS_PMEM_FORCE='%s' forced 1", others[i]);
}
END_TEST

/* --------------------------------------------------------------- threads */

#define THREADS 4
#define CYCLES 200

/* Thread body: map/is_pmem/unmap cycles on its own files; returns errors. */
static void *
cycle_thread(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	uintptr_t errors = 0;
	for (int i = 0; i < CYCLES; i++) {
		char path[PATH_MAX];
		size_t len = 4096 * (1 + (size_t)(i % 3)), mlen = 0;
		int is_pmem = -1;
		snprintf(path, sizeof(path), "%s/pmem-test-thr-%d-%u-%d",
			test_dir(), (int)getpid(), (unsigned)id, i);
		char *p = pmem_map_file(path, len,
			PMEM_FILE_CREATE | PMEM_FILE_EXCL, 0600, &mlen,
			&is_pmem);
		if (p == NULL) {
			errors++;
			unlink(path);
			continue;
		}
		if (mlen != len || ((uintptr_t)p & (2 * MIB - 1)) != 0)
			errors++;
		if (pmem_is_pmem(p, mlen) != is_pmem)
			errors++;
		memset(p, (int)id, mlen);
		if (p[mlen - 1] != (char)id)
			errors++;
		if (pmem_unmap(p, mlen) != 0)
			errors++;
		if (pmem_is_pmem(p, mlen) != 0)
			errors++;
		if (unlink(path) != 0)
			errors++;
	}
	return (void *)errors;
}

/* Four threads map, query and unmap concurrently without a failure. */
START_TEST(test_threads)
{
	pthread_t t[THREADS];
	for (uintptr_t i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, cycle_thread,
			(void *)(i + 1)), 0);
	uintptr_t total = 0;
	for (int i = 0; i < THREADS; i++) {
		void *r;
		ck_assert_int_eq(pthread_join(t[i], &r), 0);
		total += (uintptr_t)r;
	}
	ck_assert_uint_eq(total, 0);
}
END_TEST

/*
 * PMEM_MMAP_HINT places every mapping at the first free range above the
 * hint (aligned), as PMDK does, not only the first mapping and only at
 * the hint itself: with the hint's first 2 MiB taken, two 4 MiB files go
 * right above them, one after the other.
 */
START_TEST(test_mmap_hint)
{
	const uintptr_t hint = 0x7d0000000000;
	char dir[PATH_MAX], cmd[PATH_MAX * 3], self[PATH_MAX];
	test_path(dir, sizeof(dir), "hint");
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	ck_assert_int_gt(n, 0);
	self[n] = 0;
	snprintf(cmd, sizeof(cmd),
		"PMEM_MMAP_HINT=%lx '%s' --hint-child '%s' %lx",
		(unsigned long)hint, self, dir, (unsigned long)hint);
	FILE *f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	void *p0 = NULL, *p1 = NULL;
	int got = fscanf(f, "%p %p", &p0, &p1);
	int st = pclose(f);
	rmdir(dir);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		"child status %d", st);
	ck_assert_int_eq(got, 2);
	ck_assert_ptr_eq(p0, (void *)(hint + 2 * MIB));
	ck_assert_ptr_eq(p1, (void *)(hint + 6 * MIB));
}
END_TEST

/*
 * The child of test_mmap_hint, run with PMEM_MMAP_HINT set: 2 MiB taken
 * at the hint, then two 4 MiB files mapped; prints both addresses.
 */
static int
hint_child(const char *dir, uintptr_t hint)
{
	void *taken = mmap((void *)hint, 2 * MIB, PROT_NONE,
		MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (taken != (void *)hint)
		return 2;
	char path[PATH_MAX];
	void *p[2];
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/hint%d", dir, i);
		p[i] = pmem_map_file(path, 4 * MIB, PMEM_FILE_CREATE, 0600,
			NULL, NULL);
		unlink(path);
		if (p[i] == NULL)
			return 3;
	}
	printf("%p %p\n", p[0], p[1]);
	return 0;
}

/* The suite: one test case per area. */
static Suite *
suite(void)
{
	Suite *s = suite_create("map");
	TCase *tc;

	tc = test_case(s, "args", 10);
	tcase_add_test(tc, test_einval_unknown_flag);
	tcase_add_test(tc, test_einval_len_without_create);
	tcase_add_test(tc, test_einval_zero_len_with_create);
	tcase_add_test(tc, test_einval_negative_len);
	tcase_add_test(tc, test_einval_tmpfile_without_create);
	tcase_add_test(tc, test_einval_null_path);
	tcase_add_test(tc, test_einval_order);

	tc = test_case(s, "create", 10);
	tcase_add_test(tc, test_create_exact_size);
	tcase_add_test(tc, test_create_mode);
	tcase_add_test(tc, test_create_allocates);
	tcase_add_test(tc, test_create_sparse);
	tcase_add_test(tc, test_create_resizes_existing);
	tcase_add_test(tc, test_open_existing);
	tcase_add_test(tc, test_open_empty);
	tcase_add_test(tc, test_open_missing);
	tcase_add_test(tc, test_open_directory);
	tcase_add_test(tc, test_excl_existing);
	tcase_add_test(tc, test_excl_failure_unlinks);
	tcase_add_test(tc, test_failure_keeps_existing);

	tc = test_case(s, "outputs", 10);
	tcase_add_test(tc, test_null_outputs);
	tcase_add_test(tc, test_outputs_untouched_on_failure);

	tc = test_case(s, "tmpfile", 10);
	tcase_add_test(tc, test_tmpfile_dir);
	tcase_add_test(tc, test_tmpfile_not_dir);

	tc = test_case(s, "mapping", 10);
	tcase_add_test(tc, test_alignment);
	tcase_add_test(tc, test_alignment_1g);
	tcase_add_test(tc, test_mmap_hint);
	tcase_add_test(tc, test_fd_closed);
	tcase_add_test(tc, test_shared_visibility);
	tcase_add_test(tc, test_unmap_len0);
	tcase_add_test(tc, test_unmap_unaligned);
	tcase_add_test(tc, test_unmap_middle);
	tcase_add_test(tc, test_unmap_gone);

	tc = test_case(s, "is_pmem", 10);
	tcase_add_test(tc, test_is_pmem_shm);
	tcase_add_test(tc, test_is_pmem_disk);
	tcase_add_test(tc, test_is_pmem_len0);
	tcase_add_test(tc, test_is_pmem_foreign);
	tcase_add_test(tc, test_is_pmem_force1);
	tcase_add_test(tc, test_is_pmem_force0);
	tcase_add_test(tc, test_is_pmem_force_read_once);
	tcase_add_test(tc, test_is_pmem_force_too_late);
	tcase_add_test(tc, test_is_pmem_force_other);
	tcase_add_test(tc, test_is_pmem_force1_len0);
	tcase_add_test(tc, test_is_pmem_force_parse);

	tc = test_case(s, "threads", 30);
	tcase_add_test(tc, test_threads);

	return s;
}

/* Runs the suite in fork mode; the exit status says whether all passed. */
int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--hint-child") == 0)
		return hint_child(argv[2], (uintptr_t)strtoull(argv[3], NULL,
			16));
	return test_run(suite());
}
