/*
 * test_pmm.c -- libpmm's public API through the shared library, as users
 * link it: pmmAllocate's allocate-or-retrieve, pmmFree, pmmFreeAll and
 * deletion keys, every error code with its message, damaged bank files,
 * the configuration, threads, and the ChorusOS kernel shim (rgnAllocate,
 * vmPageSize).  Each test runs in its own forked process with its own
 * PMM_DIR, so it opens its banks afresh; other processes are forked
 * children or this program exec'd again as a helper.
 *
 * layout.h is read only to know where to damage a bank file.
 */
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>

#ifdef PMEM_USE_VALGRIND
#include <valgrind/memcheck.h>
#endif

#include <hr/hr.h>
#include <pmm/chPmm.h>
#include "common.h"
#include "layout.h"

static char g_root[256];	/* this run's directory */
static char g_self[PATH_MAX];	/* this program, for exec'd helpers */
static char g_dir[512];	/* this test's PMM_DIR */
static char g_bank[1024];	/* its RAM bank file */

#define MIB ((size_t)1 << 20)
#define DEFAULT_BANK MIB	/* pmm.rambankSize's default */
#define DEFAULT_BLOCKS 30	/* pmm.maxBlocks's default */

/* The system page size. */
static size_t
page(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* A PmmName of medium and name, zero-padded. */
static PmmName
pname(const char *medium, const char *name)
{
	PmmName n;
	memset(&n, 0, sizeof(n));
	snprintf(n.medium, sizeof(n.medium), "%s", medium);
	snprintf(n.name, sizeof(n.name), "%s", name);
	return n;
}

#define expect_err(rc, want, needle) \
	expect_err_at((rc), (want), (needle), __LINE__)

/* Asserts that a call returned want and that pmmErrorMsg() has needle. */
static void
expect_err_at(int rc, int want, const char *needle, int line)
{
	const char *m = pmmErrorMsg();
	ck_assert_msg(rc == want, "line %d: got %d (%s) \"%s\", want %d (%s)",
		line, rc, pmmStrError(rc), m, want, pmmStrError(want));
	ck_assert_msg(m != NULL && strstr(m, needle) != NULL,
		"line %d: message \"%s\" lacks \"%s\"", line,
		m != NULL ? m : "(null)", needle);
}

/* pmmAllocate(medium, name); *a gets the address. */
static int
alloc_rc(const char *medium, const char *name, size_t size, const void *key,
	size_t ks, VmAddr *a)
{
	PmmName n = pname(medium, name);
	*a = 0;
	return pmmAllocate(a, &n, size, key, ks);
}

#define alloc_key(m, n, s, k, ks) alloc_ok_at(m, n, s, k, ks, __LINE__)
#define alloc_ok(m, n, s) alloc_ok_at(m, n, s, NULL, 0, __LINE__)

/* Asserts that pmmAllocate succeeds with a page-aligned address. */
static char *
alloc_ok_at(const char *medium, const char *name, size_t size,
	const void *key, size_t ks, int line)
{
	VmAddr a;
	int rc = alloc_rc(medium, name, size, key, ks, &a);
	ck_assert_msg(rc == K_OK, "line %d: pmmAllocate(%s, %s, %zu): %d %s",
		line, medium, name, size, rc, pmmErrorMsg());
	ck_assert_msg(a != 0 && a % page() == 0,
		"line %d: address %#lx not page-aligned", line, a);
	return (char *)a;
}

/* 1 if the block exists (size 0 retrieves it), 0 if not. */
static int
exists(const char *medium, const char *name)
{
	VmAddr a;
	int rc = alloc_rc(medium, name, 0, NULL, 0, &a);
	ck_assert_msg(rc == K_OK || rc == K_ESIZE, "probe %s/%s: %d %s",
		medium, name, rc, pmmErrorMsg());
	return rc == K_OK;
}

/* Asserts that pmmFree succeeds. */
static void
free_ok(const char *medium, const char *name)
{
	PmmName n = pname(medium, name);
	int rc = pmmFree(&n);
	ck_assert_msg(rc == K_OK, "pmmFree(%s, %s): %d %s", medium, name, rc,
		pmmErrorMsg());
}

/* pmmFree's code for medium/name. */
static int
free_rc(const char *medium, const char *name)
{
	PmmName n = pname(medium, name);
	return pmmFree(&n);
}

/* 1 if len bytes at p are all c. */
static int
all_bytes(const void *p, size_t len, int c)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < len; i++)
		if (s[i] != (unsigned char)c)
			return 0;
	return 1;
}

/* Runs fn(arg) in a forked child; its exit status (0 = success). */
static int
in_child(int (*fn)(void *), void *arg)
{
	fflush(NULL);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(fn(arg));
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st), "child killed by signal %d",
		WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	return WEXITSTATUS(st);
}

/* A child's failure: says why on stderr, returns a non-zero status. */
static int
child_fail(int line, const char *what)
{
	fprintf(stderr, "child (line %d): %s: %s\n", line, what,
		pmmErrorMsg());
	return 1;
}

/*
 * Runs this program again as "--helper argv..." with this environment;
 * its standard output goes to out.  Returns its exit status.
 */
static int
run_helper(char *out, size_t len, const char *const *argv)
{
	const char *args[16] = { g_self, "--helper" };
	size_t n = 2;
	for (size_t i = 0; argv[i] != NULL && n < 15; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	fflush(NULL);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execv(g_self, (char *const *)args);
		_exit(127);
	}
	close(fds[1]);
	size_t got = 0;
	ssize_t r;
	while (got + 1 < len &&
			(r = read(fds[0], out + got, len - 1 - got)) > 0)
		got += (size_t)r;
	out[got] = 0;
	close(fds[0]);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st), "helper killed by signal %d",
		WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	return WEXITSTATUS(st);
}

/*
 * The helper: "get NAME" retrieves a RAM block and prints "rc addr text";
 * "put NAME TEXT" allocates one and writes TEXT into it.
 */
static int
helper_main(int argc, char **argv)
{
	VmAddr a = 0;
	int rc;
	if (argc == 2 && strcmp(argv[0], "get") == 0) {
		rc = alloc_rc("RAM", argv[1], 0, NULL, 0, &a);
		printf("%d %#lx %s\n", rc, a, rc == K_OK ? (char *)a : "-");
		return 0;
	}
	if (argc == 3 && strcmp(argv[0], "put") == 0) {
		rc = alloc_rc("RAM", argv[1], 1, NULL, 0, &a);
		if (rc == K_OK)
			strcpy((char *)a, argv[2]);
		printf("%d %#lx\n", rc, a);
		return 0;
	}
	fprintf(stderr, "helper: bad arguments\n");
	return 2;
}

/* Removes one file or directory (for nftw). */
static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* Removes a directory tree. */
static void
rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Each test: its own bank directory, no configuration file or override. */
static void
setup(void)
{
	snprintf(g_dir, sizeof(g_dir), "%s/t%d", g_root, (int)getpid());
	ck_assert_int_eq(mkdir(g_dir, 0700), 0);
	snprintf(g_bank, sizeof(g_bank), "%s/RAM.pmm", g_dir);
	setenv("PMM_DIR", g_dir, 1);
	setenv("PMM_CONF", "", 1);
	unsetenv("PMM_TUNABLES");
	unsetenv("HRCTL_GROUP");
}

/* Removes the test's directory. */
static void
teardown(void)
{
	rm_rf(g_dir);
}

/* Sets PMM_TUNABLES from a format. */
static void __attribute__((format(printf, 1, 2)))
tunables(const char *fmt, ...)
{
	char buf[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	setenv("PMM_TUNABLES", buf, 1);
}

/* ---------------------------------------------------- allocate-or-retrieve */

/* New blocks are whole pages, zero-filled, laid out a page apart. */
START_TEST(test_new_block_rounded_zeroed)
{
	size_t ps = page();
	char *a = alloc_ok("RAM", "a", 1);
	char *b = alloc_ok("RAM", "b", 1);
	ck_assert_uint_eq((size_t)(b > a ? b - a : a - b), ps);
	ck_assert(all_bytes(a, ps, 0));
	ck_assert(all_bytes(b, ps, 0));
	memset(a, 0x5a, ps);		/* the whole page is the caller's */
	ck_assert(all_bytes(b, ps, 0));
	char *c = alloc_ok("RAM", "c", ps + 1);
	char *d = alloc_ok("RAM", "d", 1);
	ck_assert_uint_eq((size_t)(d - c), 2 * ps);
	ck_assert(all_bytes(c, 2 * ps, 0));
	memset(c, 0x77, 2 * ps);
	ck_assert(all_bytes(a, ps, 0x5a));
	ck_assert(all_bytes(d, ps, 0));
}
END_TEST

/* Pages of a freed, written block come back zeroed. */
START_TEST(test_reuse_is_zeroed)
{
	size_t ps = page();
	char *a = alloc_ok("RAM", "a", ps);
	memset(a, 0xff, ps);
	free_ok("RAM", "a");
	char *b = alloc_ok("RAM", "b", ps);
	ck_assert_ptr_eq(b, a);		/* really the same pages */
	ck_assert(all_bytes(b, ps, 0));
	char *c = alloc_ok("RAM", "c", 3 * ps);
	memset(c, 0xee, 3 * ps);
	free_ok("RAM", "c");
	char *d = alloc_ok("RAM", "d", 2 * ps);
	ck_assert_ptr_eq(d, c);
	ck_assert(all_bytes(d, 2 * ps, 0));
	char *e = alloc_ok("RAM", "e", ps);
	ck_assert_ptr_eq(e, c + 2 * ps);
	ck_assert(all_bytes(e, ps, 0));
}
END_TEST

/* Every call for a name returns its address; size is then ignored. */
START_TEST(test_same_address_size_ignored)
{
	size_t ps = page();
	char *a = alloc_ok("RAM", "keep", 10);
	strcpy(a, "kept");
	for (int i = 0; i < 50; i++) {
		size_t sz = i % 3 == 0 ? 0 : (size_t)i * 4096 * 3;
		char *again = alloc_ok("RAM", "keep", sz);
		ck_assert_ptr_eq(again, a);
	}
	/* even a size larger than the bank retrieves */
	ck_assert_ptr_eq(alloc_ok("RAM", "keep", DEFAULT_BANK * 4), a);
	ck_assert_str_eq(a, "kept");
	/* the retrievals took nothing: the rest of the bank is free */
	char *rest = alloc_ok("RAM", "rest", DEFAULT_BANK - ps);
	ck_assert(all_bytes(rest, DEFAULT_BANK - ps, 0));
	VmAddr x;
	expect_err(alloc_rc("RAM", "more", 1, NULL, 0, &x), K_ENOMEM,
		"no 1 free contiguous pages");
}
END_TEST

/* A forked child finds the block at the same address, with our data. */
static int
child_retrieve(void *arg)
{
	char *want = arg;
	VmAddr a;
	if (alloc_rc("RAM", "shared", 0, NULL, 0, &a) != K_OK)
		return child_fail(__LINE__, "retrieve");
	if ((char *)a != want || strcmp(want, "from parent") != 0)
		return child_fail(__LINE__, "address or data differ");
	strcpy(want, "from child");
	return 0;
}

/* The block in a forked child: same address, same data, shared. */
START_TEST(test_forked_process)
{
	char *a = alloc_ok("RAM", "shared", 100);
	strcpy(a, "from parent");
	ck_assert_int_eq(in_child(child_retrieve, a), 0);
	ck_assert_str_eq(a, "from child");	/* a shared mapping */
}
END_TEST

/* A separately exec'd process maps the bank at the same address. */
START_TEST(test_exec_process)
{
	char out[512], want[512];
	char *a = alloc_ok("RAM", "x", 1);
	strcpy(a, "from parent");
	const char *get[] = { "get", "x", NULL };
	ck_assert_int_eq(run_helper(out, sizeof(out), get), 0);
	snprintf(want, sizeof(want), "0 %#lx from parent\n", (VmAddr)a);
	ck_assert_str_eq(out, want);
	const char *put[] = { "put", "y", "from helper", NULL };
	ck_assert_int_eq(run_helper(out, sizeof(out), put), 0);
	char *y = alloc_ok("RAM", "y", 0);
	snprintf(want, sizeof(want), "0 %#lx\n", (VmAddr)y);
	ck_assert_str_eq(out, want);
	ck_assert_str_eq(y, "from helper");
	const char *none[] = { "get", "nothing", NULL };
	ck_assert_int_eq(run_helper(out, sizeof(out), none), 0);
	snprintf(want, sizeof(want), "%d 0 -\n", K_ESIZE);
	ck_assert_str_eq(out, want);
}
END_TEST

/* A freed name is reusable at once, for a new zeroed block. */
START_TEST(test_name_reusable)
{
	size_t ps = page();
	char *a = alloc_ok("RAM", "n", ps);
	memset(a, 0xab, ps);
	free_ok("RAM", "n");
	ck_assert_int_eq(exists("RAM", "n"), 0);
	char *b = alloc_ok("RAM", "n", 2 * ps);
	ck_assert(all_bytes(b, 2 * ps, 0));
	free_ok("RAM", "n");
	expect_err(free_rc("RAM", "n"), K_EUNKNOWN, "no block \"n\" in RAM");
}
END_TEST

/* The same name in two media names two blocks. */
START_TEST(test_media_distinct)
{
	char disk[PATH_MAX];
	snprintf(disk, sizeof(disk), "%s/disk.pmm", g_dir);
	tunables("pmm.medium.DISK=%s", disk);
	char *r = alloc_ok("RAM", "x", 1);
	char *d = alloc_ok("DISK", "x", 1);
	ck_assert_ptr_ne(r, d);
	strcpy(r, "ram");
	strcpy(d, "disk");
	ck_assert_ptr_eq(alloc_ok("RAM", "x", 0), r);
	ck_assert_ptr_eq(alloc_ok("DISK", "x", 0), d);
	ck_assert_str_eq(r, "ram");
	free_ok("RAM", "x");
	ck_assert_int_eq(exists("RAM", "x"), 0);
	ck_assert_int_eq(exists("DISK", "x"), 1);
	ck_assert_str_eq(d, "disk");
	struct stat st;
	ck_assert_int_eq(stat(disk, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
}
END_TEST

/* Racing first users of a new bank all get the one block. */
static int
child_race(void *arg)
{
	int fd = *(int *)arg;
	VmAddr a;
	if (alloc_rc("RAM", "first", 1, NULL, 0, &a) != K_OK)
		return child_fail(__LINE__, "allocate");
	return write(fd, &a, sizeof(a)) == (ssize_t)sizeof(a) ? 0 : 1;
}

/* Four processes create the bank and allocate one name at once. */
START_TEST(test_concurrent_creation)
{
	enum { N = 4 };
	int fds[2];
	pid_t pids[N];
	ck_assert_int_eq(pipe(fds), 0);
	fflush(NULL);
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0)
			_exit(child_race(&fds[1]));
	}
	close(fds[1]);
	for (int i = 0; i < N; i++) {
		int st;
		ck_assert_int_eq(waitpid(pids[i], &st, 0), pids[i]);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	VmAddr got[N];
	ck_assert_int_eq(read(fds[0], got, sizeof(got)), (ssize_t)sizeof(got));
	close(fds[0]);
	char *mine = alloc_ok("RAM", "first", 0);
	for (int i = 0; i < N; i++)
		ck_assert_ptr_eq((char *)got[i], mine);
	/* one block, not four */
	alloc_ok("RAM", "rest", DEFAULT_BANK - page());
}
END_TEST

/* ------------------------------------------------------------ deletion keys */

/* Keys are binary: embedded NULs count, and so does the size. */
START_TEST(test_binary_keys)
{
	static const char k1[] = { 'a', 0, 'b' };
	static const char k2[] = { 'a', 0, 'c' };
	alloc_key("RAM", "x1", 1, k1, 3);
	alloc_key("RAM", "x2", 1, k1, 3);
	alloc_key("RAM", "y", 1, k2, 3);	/* differs after the NUL */
	alloc_key("RAM", "z", 1, k1, 2);	/* "a\0": a prefix of k1 */
	alloc_key("RAM", "s2", 1, "ab", 2);
	alloc_key("RAM", "s3", 1, "ab", 3);	/* "ab" and its NUL */
	ck_assert_int_eq(pmmFreeAll(k1, 3), K_OK);
	ck_assert_int_eq(exists("RAM", "x1"), 0);
	ck_assert_int_eq(exists("RAM", "x2"), 0);
	ck_assert_int_eq(exists("RAM", "y"), 1);
	ck_assert_int_eq(exists("RAM", "z"), 1);
	expect_err(pmmFreeAll(k1, 3), K_EUNKNOWN, "no block has this");
	ck_assert_int_eq(pmmFreeAll("ab", 2), K_OK);
	ck_assert_int_eq(exists("RAM", "s2"), 0);
	ck_assert_int_eq(exists("RAM", "s3"), 1);
	ck_assert_int_eq(pmmFreeAll("ab", 3), K_OK);
	ck_assert_int_eq(exists("RAM", "s3"), 0);
	ck_assert_int_eq(pmmFreeAll(k1, 2), K_OK);
	ck_assert_int_eq(exists("RAM", "z"), 0);
	ck_assert_int_eq(exists("RAM", "y"), 1);
}
END_TEST

/* pmmFreeAll frees exactly the key's blocks, in every medium, at once. */
START_TEST(test_free_all_exact)
{
	char disk[PATH_MAX], key32[PMM_DELKEY_MAX];
	snprintf(disk, sizeof(disk), "%s/disk.pmm", g_dir);
	tunables("pmm.medium.DISK=%s", disk);
	for (int i = 0; i < 5; i++) {
		char nm[16];
		snprintf(nm, sizeof(nm), "k%d", i);
		alloc_key("RAM", nm, 1 + (size_t)i * page(), "job", 4);
	}
	alloc_key("DISK", "k-disk", 1, "job", 4);
	alloc_key("RAM", "other", 1, "jobs", 5);
	alloc_ok("RAM", "nokey", 1);
	memset(key32, 'q', sizeof(key32));	/* the longest key */
	alloc_key("RAM", "long", 1, key32, sizeof(key32));
	ck_assert_int_eq(pmmFreeAll("job", 4), K_OK);
	for (int i = 0; i < 5; i++) {
		char nm[16];
		snprintf(nm, sizeof(nm), "k%d", i);
		ck_assert_int_eq(exists("RAM", nm), 0);
	}
	ck_assert_int_eq(exists("DISK", "k-disk"), 0);
	ck_assert_int_eq(exists("RAM", "other"), 1);
	ck_assert_int_eq(exists("RAM", "nokey"), 1);
	ck_assert_int_eq(exists("RAM", "long"), 1);
	expect_err(pmmFreeAll("job", 4), K_EUNKNOWN, "deletion key");
	/* the names, entries and pages are all reusable */
	alloc_key("RAM", "k0", 1, "job", 4);
	ck_assert_int_eq(pmmFreeAll(key32, sizeof(key32)), K_OK);
	ck_assert_int_eq(exists("RAM", "long"), 0);
	ck_assert_int_eq(pmmFreeAll("jobs", 5), K_OK);
	ck_assert_int_eq(pmmFreeAll("job", 4), K_OK);
	free_ok("RAM", "nokey");
	alloc_ok("RAM", "all", DEFAULT_BANK);
}
END_TEST

/* pmmFreeAll's argument errors. */
START_TEST(test_free_all_errors)
{
	char big[PMM_DELKEY_MAX + 1];
	memset(big, 'k', sizeof(big));
	alloc_key("RAM", "b", 1, "key", 4);
	expect_err(pmmFreeAll("key", 0), K_EKEYSIZE, "empty deletion key");
	expect_err(pmmFreeAll(big, sizeof(big)), K_EKEYSIZE, "33 bytes");
	expect_err(pmmFreeAll(NULL, 4), K_EFAULT, "NULL");
	expect_err(pmmFreeAll(HR_GROUP_KEY, HR_GROUP_KEYSIZE), K_EPRIV,
		"restart group");
	expect_err(pmmFreeAll("__SYS", 5), K_EPRIV, "\"__SYS\"");
	expect_err(pmmFreeAll("__SYS.anything", 15), K_EPRIV, "reserved");
	expect_err(pmmFreeAll("__SYS.HR_GROUP", 14), K_EPRIV, "reserved");
	expect_err(pmmFreeAll("nokey", 6), K_EUNKNOWN, "no block has");
	/* "__SY" is not reserved */
	alloc_key("RAM", "sy", 1, "__SY", 4);
	ck_assert_int_eq(pmmFreeAll("__SY", 4), K_OK);
	ck_assert_int_eq(exists("RAM", "b"), 1);
}
END_TEST

/* pmmAllocate's key errors create nothing. */
START_TEST(test_allocate_key_errors)
{
	char big[PMM_DELKEY_MAX + 1];
	VmAddr a;
	memset(big, 'k', sizeof(big));
	expect_err(alloc_rc("RAM", "b", 1, big, sizeof(big), &a), K_EKEYSIZE,
		"at most 32");
	expect_err(alloc_rc("RAM", "b", 1, NULL, 4, &a), K_EFAULT,
		"deletion key pointer");
	expect_err(alloc_rc("RAM", "b", 1, "__SYSkey", 9, &a), K_EPRIV,
		"reserved");
	ck_assert_int_eq(exists("RAM", "b"), 0);
	/* a NULL key of size 0 is no key; so is a key of size 0 */
	alloc_key("RAM", "b", 1, NULL, 0);
	alloc_key("RAM", "c", 1, "ignored", 0);
	expect_err(pmmFreeAll("ignored", 8), K_EUNKNOWN, "no block has");
}
END_TEST

/* HR_GROUP_KEY needs a restart group; pmmFree may free such a block. */
START_TEST(test_group_key)
{
	VmAddr a;
	expect_err(alloc_rc("RAM", "g", 1, HR_GROUP_KEY, HR_GROUP_KEYSIZE, &a),
		K_ENOGROUP, "outside a restart group");
	setenv("HRCTL_GROUP", "", 1);
	expect_err(alloc_rc("RAM", "g", 1, HR_GROUP_KEY, HR_GROUP_KEYSIZE, &a),
		K_ENOGROUP, "outside a restart group");
	setenv("HRCTL_GROUP", "123456789012345678", 1);
	expect_err(alloc_rc("RAM", "g", 1, HR_GROUP_KEY, HR_GROUP_KEYSIZE, &a),
		K_ENOGROUP, "too long");
	ck_assert_int_eq(exists("RAM", "g"), 0);
	setenv("HRCTL_GROUP", "7", 1);
	char *g = alloc_key("RAM", "g", 1, HR_GROUP_KEY, HR_GROUP_KEYSIZE);
	char *h = alloc_key("RAM", "h", 1, HR_GROUP_KEY, HR_GROUP_KEYSIZE);
	ck_assert_ptr_ne(g, h);
	expect_err(pmmFreeAll(HR_GROUP_KEY, HR_GROUP_KEYSIZE), K_EPRIV,
		"restart group");
	expect_err(pmmFreeAll("__SYS.hrgroup.7", 16), K_EPRIV, "reserved");
	ck_assert_int_eq(exists("RAM", "g"), 1);
	free_ok("RAM", "g");
	ck_assert_int_eq(exists("RAM", "g"), 0);
	ck_assert_int_eq(exists("RAM", "h"), 1);
	/* the seed's usage: its own string key, freed by another process */
	alloc_key("RAM", "PM1", sizeof(int), "HELLO_GROUP",
		sizeof("HELLO_GROUP"));
	ck_assert_int_eq(pmmFreeAll("HELLO_GROUP", sizeof("HELLO_GROUP")),
		K_OK);
}
END_TEST

/* --------------------------------------------------------- argument errors */

/* NULL pointers: K_EFAULT. */
START_TEST(test_null_args)
{
	PmmName n = pname("RAM", "x");
	VmAddr a = 0x1234;
	expect_err(pmmAllocate(NULL, &n, 1, NULL, 0), K_EFAULT,
		"address pointer");
	expect_err(pmmAllocate(&a, NULL, 1, NULL, 0), K_EFAULT, "PmmName");
	ck_assert_uint_eq(a, 0x1234);
	expect_err(pmmFree(NULL), K_EFAULT, "PmmName");
	ck_assert_int_eq(exists("RAM", "x"), 0);
}
END_TEST

/* Strings filling their arrays without a NUL: K_ENOTERM. */
START_TEST(test_unterminated)
{
	PmmName n = pname("RAM", "x");
	VmAddr a;
	memset(n.medium, 'M', sizeof(n.medium));
	expect_err(pmmAllocate(&a, &n, 1, NULL, 0), K_ENOTERM,
		"medium has no NUL within its 16 bytes");
	expect_err(pmmFree(&n), K_ENOTERM, "medium has no NUL");
	n = pname("RAM", "");
	memset(n.name, 'n', sizeof(n.name));
	expect_err(pmmAllocate(&a, &n, 1, NULL, 0), K_ENOTERM,
		"name has no NUL within its 64 bytes");
	expect_err(pmmFree(&n), K_ENOTERM, "name has no NUL");
	/* the longest strings that fit */
	n.name[sizeof(n.name) - 1] = 0;
	ck_assert_int_eq(pmmAllocate(&a, &n, 1, NULL, 0), K_OK);
	ck_assert_int_eq(pmmFree(&n), K_OK);
	memset(n.medium, 'M', sizeof(n.medium) - 1);
	n.medium[sizeof(n.medium) - 1] = 0;
	expect_err(pmmAllocate(&a, &n, 1, NULL, 0), K_ENOMEDIUM,
		"MMMMMMMMMMMMMMM");
}
END_TEST

/* Empty strings: K_EEMPTY. */
START_TEST(test_empty)
{
	VmAddr a;
	expect_err(alloc_rc("", "x", 1, NULL, 0, &a), K_EEMPTY, "empty medium");
	expect_err(alloc_rc("RAM", "", 1, NULL, 0, &a), K_EEMPTY,
		"empty block name");
	expect_err(free_rc("", "x"), K_EEMPTY, "empty medium");
	expect_err(free_rc("RAM", ""), K_EEMPTY, "empty block name");
}
END_TEST

/* Size 0 only retrieves: K_ESIZE for a new name. */
START_TEST(test_size_zero)
{
	VmAddr a;
	expect_err(alloc_rc("RAM", "none", 0, NULL, 0, &a), K_ESIZE,
		"no block \"none\" in RAM");
	ck_assert_int_eq(exists("RAM", "none"), 0);
	char *b = alloc_ok("RAM", "none", 1);
	ck_assert_ptr_eq(alloc_ok("RAM", "none", 0), b);
}
END_TEST

/* Larger than the bank: K_ETOOBIG; exactly the bank fits. */
START_TEST(test_too_big)
{
	VmAddr a;
	expect_err(alloc_rc("RAM", "big", DEFAULT_BANK + 1, NULL, 0, &a),
		K_ETOOBIG, "the whole RAM bank holds 1048576");
	expect_err(alloc_rc("RAM", "big", SIZE_MAX, NULL, 0, &a), K_ETOOBIG,
		"bytes asked");
	char *b = alloc_ok("RAM", "big", DEFAULT_BANK);
	ck_assert(all_bytes(b, DEFAULT_BANK, 0));
}
END_TEST

/* A full bank: K_ENOMEM, until frees merge enough contiguous pages. */
START_TEST(test_bank_full_and_merge)
{
	size_t q = DEFAULT_BANK / 4;
	VmAddr a;
	char *p[4];
	for (int i = 0; i < 4; i++) {
		char nm[16];
		snprintf(nm, sizeof(nm), "q%d", i);
		p[i] = alloc_ok("RAM", nm, q);
		memset(p[i], 'A' + i, q);
	}
	expect_err(alloc_rc("RAM", "more", 1, NULL, 0, &a), K_ENOMEM,
		"no 1 free contiguous pages in RAM");
	free_ok("RAM", "q0");
	free_ok("RAM", "q2");
	/* half the bank is free, but not in one piece */
	expect_err(alloc_rc("RAM", "half", 2 * q, NULL, 0, &a), K_ENOMEM,
		"pages used");
	ck_assert(all_bytes(p[1], q, 'B'));
	free_ok("RAM", "q1");		/* merges on both sides */
	char *h = alloc_ok("RAM", "three", 3 * q);
	ck_assert_ptr_eq(h, p[0]);
	ck_assert(all_bytes(h, 3 * q, 0));
	ck_assert(all_bytes(p[3], q, 'D'));
	free_ok("RAM", "three");
	free_ok("RAM", "q3");		/* merges on its left */
	alloc_ok("RAM", "whole", DEFAULT_BANK);
}
END_TEST

/* pmm.maxBlocks (30 by default) blocks, then K_ETOOMUCH. */
START_TEST(test_max_blocks_default)
{
	VmAddr a;
	char nm[16];
	for (int i = 0; i < DEFAULT_BLOCKS; i++) {
		snprintf(nm, sizeof(nm), "b%d", i);
		alloc_ok("RAM", nm, 1);
	}
	expect_err(alloc_rc("RAM", "one-more", 1, NULL, 0, &a), K_ETOOMUCH,
		"pmm.maxBlocks = 30 blocks exist in RAM");
	ck_assert_int_eq(exists("RAM", "one-more"), 0);
	ck_assert_int_eq(exists("RAM", "b29"), 1);	/* retrieval works */
	free_ok("RAM", "b7");
	alloc_ok("RAM", "one-more", 1);
	expect_err(alloc_rc("RAM", "two-more", 1, NULL, 0, &a), K_ETOOMUCH,
		"pmm.maxBlocks");
}
END_TEST

/* An unconfigured medium: K_ENOMEDIUM. */
START_TEST(test_unknown_medium)
{
	VmAddr a;
	expect_err(alloc_rc("DISK", "x", 1, NULL, 0, &a), K_ENOMEDIUM,
		"no medium \"DISK\"");
	expect_err(free_rc("DISK", "x"), K_ENOMEDIUM, "no medium \"DISK\"");
	expect_err(alloc_rc("ram", "x", 1, NULL, 0, &a), K_ENOMEDIUM,
		"no medium \"ram\"");
}
END_TEST

/* pmmFree of a name that has no block: K_EUNKNOWN. */
START_TEST(test_free_unknown)
{
	struct stat st;
	expect_err(free_rc("RAM", "zz"), K_EUNKNOWN, "no bank yet");
	ck_assert_int_eq(stat(g_bank, &st), -1);	/* none made */
	expect_err(free_rc("RAM", "zz"), K_EUNKNOWN, "no block \"zz\" in RAM");
	alloc_ok("RAM", "zz2", 1);
	expect_err(free_rc("RAM", "zz"), K_EUNKNOWN, "no block \"zz\"");
	ck_assert_int_eq(exists("RAM", "zz2"), 1);
}
END_TEST

/* RAM plus the 16 media the configuration allows, in one process, and
 * pmmFreeAll over all of them; a 17th medium is a configuration error. */
START_TEST(test_too_many_media)
{
	char conf[8192];
	size_t n = 0;
	for (int i = 0; i < 16; i++)
		n += (size_t)snprintf(conf + n, sizeof(conf) - n,
			"pmm.medium.M%d=%s/m%d.pmm;", i, g_dir, i);
	setenv("PMM_TUNABLES", conf, 1);
	alloc_key("RAM", "x", 1, "k", 2);
	for (int i = 0; i < 16; i++) {
		char m[8];
		snprintf(m, sizeof(m), "M%d", i);
		alloc_key(m, "x", 1, "k", 2);
	}
	ck_assert_int_eq(pmmFreeAll("k", 2), K_OK);
	ck_assert_int_eq(exists("RAM", "x"), 0);
	ck_assert_int_eq(exists("M15", "x"), 0);
	expect_err(pmmFreeAll("k", 2), K_EUNKNOWN, "no block");
	snprintf(conf + n, sizeof(conf) - n, "pmm.medium.M16=%s/m16.pmm",
		g_dir);
	setenv("PMM_TUNABLES", conf, 1);
	expect_err(pmmFreeAll("k", 1), K_ECONFIG, "more than 16 media");
}
END_TEST

/* System call failures: K_ESYS with the reason. */
START_TEST(test_system_errors)
{
	char file[1024], sub[PATH_MAX];
	VmAddr a;
	snprintf(file, sizeof(file), "%s/plain", g_dir);
	close(test_file(file, 10, 'x'));
	snprintf(sub, sizeof(sub), "%s/sub", file);
	setenv("PMM_DIR", sub, 1);
	expect_err(alloc_rc("RAM", "x", 1, NULL, 0, &a), K_ESYS,
		"Not a directory");
	setenv("PMM_DIR", g_dir, 1);
	ck_assert_int_eq(mkdir(g_bank, 0700), 0);	/* a directory */
	expect_err(alloc_rc("RAM", "x", 1, NULL, 0, &a), K_ESYS,
		"cannot open bank");
}
END_TEST

/* --------------------------------------------------------------- bank files */

/* Reads n bytes at off of path. */
static void
file_read(const char *path, off_t off, void *buf, size_t n)
{
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, n, off), (ssize_t)n);
	close(fd);
}

/* Writes n bytes at off of path. */
static void
file_write(const char *path, off_t off, const void *buf, size_t n)
{
	int fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, buf, n, off), (ssize_t)n);
	close(fd);
}

/* Inverts the byte at off of path. */
static void
file_flip(const char *path, off_t off)
{
	unsigned char c;
	file_read(path, off, &c, 1);
	c ^= 0xff;
	file_write(path, off, &c, 1);
}

/* The bank's header, read from its file. */
static struct pmm__hdr
bank_hdr(void)
{
	struct pmm__hdr h;
	file_read(g_bank, 0, &h, sizeof(h));
	ck_assert_int_eq(memcmp(h.magic, "CHPMMBNK", 8), 0);
	return h;
}

struct made {
	const char *name, *text;
};

/* Child: allocates a RAM block and writes its text. */
static int
child_make(void *arg)
{
	const struct made *m = arg;
	VmAddr a;
	if (alloc_rc("RAM", m->name, 1, NULL, 0, &a) != K_OK)
		return child_fail(__LINE__, "allocate");
	strcpy((char *)a, m->text);
	return 0;
}

/* Creates the RAM bank with a block in another process. */
static void
make_bank(const char *name, const char *text)
{
	struct made m = { name, text };
	ck_assert_int_eq(in_child(child_make, &m), 0);
}

/* A bank cut short: K_ETRUNC. */
START_TEST(test_truncated)
{
	VmAddr a;
	make_bank("b", "data");
	struct pmm__hdr h = bank_hdr();
	ck_assert_int_eq(truncate(g_bank, (off_t)h.file_size - 1), 0);
	expect_err(alloc_rc("RAM", "b", 0, NULL, 0, &a), K_ETRUNC,
		"bank file truncated");
	ck_assert_int_eq(truncate(g_bank, 100), 0);
	expect_err(free_rc("RAM", "b"), K_ETRUNC, "header alone");
}
END_TEST

/* A file that is not a bank: K_EFOREIGN, and it is left alone. */
START_TEST(test_foreign)
{
	VmAddr a;
	static const char text[] = "just some text, not a bank at all\n";
	close(test_file(g_bank, 0, 0));
	file_write(g_bank, 0, text, sizeof(text));
	expect_err(alloc_rc("RAM", "b", 1, NULL, 0, &a), K_EFOREIGN,
		"bad magic");
	char back[sizeof(text)];
	file_read(g_bank, 0, back, sizeof(back));
	ck_assert_int_eq(memcmp(back, text, sizeof(text)), 0);
	close(test_file(g_bank, 0, 0));		/* empty */
	expect_err(alloc_rc("RAM", "b", 1, NULL, 0, &a), K_EFOREIGN,
		"not a bank file");
}
END_TEST

/* Another layout version: K_EVERSION (checked before the checksum). */
START_TEST(test_version)
{
	VmAddr a;
	make_bank("b", "data");
	uint32_t v = PMM__LAYOUT + 1;
	file_write(g_bank, offsetof(struct pmm__hdr, layout), &v, sizeof(v));
	expect_err(alloc_rc("RAM", "b", 0, NULL, 0, &a), K_EVERSION,
		"bank layout version 5, this libpmm reads 4");
	/* the previous layouts: the message names the way to migrate them */
	v = PMM__LAYOUT_V1;
	file_write(g_bank, offsetof(struct pmm__hdr, layout), &v, sizeof(v));
	expect_err(alloc_rc("RAM", "b", 0, NULL, 0, &a), K_EVERSION,
		"migrate it with pmmctl upgrade");
	v = PMM__LAYOUT_V2;
	file_write(g_bank, offsetof(struct pmm__hdr, layout), &v, sizeof(v));
	expect_err(alloc_rc("RAM", "b", 0, NULL, 0, &a), K_EVERSION,
		"version 2 (libpmm 1.1, before the 112-byte entries)");
	ck_assert_ptr_nonnull(strstr(pmmErrorMsg(), "pmmctl upgrade"));
	v = PMM__LAYOUT_V3;
	file_write(g_bank, offsetof(struct pmm__hdr, layout), &v, sizeof(v));
	expect_err(alloc_rc("RAM", "b", 0, NULL, 0, &a), K_EVERSION,
		"version 3 (libpmm 1.2, before the arenas)");
	ck_assert_ptr_nonnull(strstr(pmmErrorMsg(), "pmmctl upgrade"));
}
END_TEST

/* A flipped byte anywhere in the header's static part: K_ECORRUPT. */
START_TEST(test_header_flip)
{
	VmAddr a;
	static const size_t offs[] = {
		offsetof(struct pmm__hdr, created),
		offsetof(struct pmm__hdr, base) + 5,
		offsetof(struct pmm__hdr, max_blocks),
		offsetof(struct pmm__hdr, medium) + 1,
		offsetof(struct pmm__hdr, checksum) + 7,
	};
	make_bank("b", "data");
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		file_flip(g_bank, (off_t)offs[i]);
		expect_err(alloc_rc("RAM", "b", 0, NULL, 0, &a), K_ECORRUPT,
			"checksum mismatch");
		file_flip(g_bank, (off_t)offs[i]);
	}
	char *b = alloc_ok("RAM", "b", 0);	/* undone: fine again */
	ck_assert_str_eq(b, "data");
}
END_TEST

/* The offset of the used table entry named name, from the file. */
static off_t
entry_off(const char *name)
{
	struct pmm__hdr h = bank_hdr();
	for (uint64_t i = 0; i < h.max_blocks; i++) {
		struct pmm__entry e;
		off_t off = (off_t)(h.table_off + i * sizeof(e));
		file_read(g_bank, off, &e, sizeof(e));
		if (e.state == PMM__USED && strcmp(e.name, name) == 0)
			return off;
	}
	ck_abort_msg("no entry \"%s\" in the bank", name);
	return -1;
}

/* A flipped byte in a block's table entry: K_ECORRUPT when the block is
 * freed (an ordinary open reads nothing proportional to the bank, so
 * not before; pmmctl check reads all). */
START_TEST(test_entry_flip)
{
	make_bank("b", "data");
	off_t e = entry_off("b");
	static const size_t fields[] = {
		offsetof(struct pmm__entry, page),
		offsetof(struct pmm__entry, npages),
		offsetof(struct pmm__entry, name) + 1,
		offsetof(struct pmm__entry, key) + 31,
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		file_flip(g_bank, e + (off_t)fields[i]);
		expect_err(free_rc("RAM", "b"), K_ECORRUPT,
			"checksum mismatch");
		file_flip(g_bank, e + (off_t)fields[i]);
	}
	file_flip(g_bank, e + (off_t)offsetof(struct pmm__entry, state) + 3);
	expect_err(free_rc("RAM", "b"), K_ECORRUPT, "bad state word");
	ck_assert_msg(strstr(pmmErrorMsg(), g_bank) != NULL,
		"message \"%s\" does not name the file", pmmErrorMsg());
}
END_TEST

/* Child: several blocks, a key, a freed hole. */
static int
child_populate(void *arg)
{
	(void)arg;
	for (int i = 0; i < 8; i++) {
		char nm[16];
		VmAddr a;
		snprintf(nm, sizeof(nm), "p%d", i);
		if (alloc_rc("RAM", nm, 1 + (size_t)i * 5000, "key", 4, &a) !=
				K_OK)
			return child_fail(__LINE__, "allocate");
		snprintf((char *)a, 16, "block %d", i);
	}
	PmmName n = pname("RAM", "p3");
	return pmmFree(&n) == K_OK ? 0 : child_fail(__LINE__, "free");
}

/* Checks child_populate's blocks; returns their addresses. */
static void
check_populated(char *addr[8])
{
	for (int i = 0; i < 8; i++) {
		char nm[16], want[16];
		snprintf(nm, sizeof(nm), "p%d", i);
		if (i == 3) {
			ck_assert_int_eq(exists("RAM", nm), 0);
			continue;
		}
		addr[i] = alloc_ok("RAM", nm, 0);
		snprintf(want, sizeof(want), "block %d", i);
		ck_assert_str_eq(addr[i], want);
	}
}

/* A damaged derived index is rebuilt silently when the bank is opened. */
START_TEST(test_index_scribble)
{
	char *addr[8];
	ck_assert_int_eq(in_child(child_populate, NULL), 0);
	struct pmm__hdr h = bank_hdr();
	size_t len = (size_t)(h.data_off - h.index_off);
	unsigned char *junk = malloc(len);
	ck_assert_ptr_nonnull(junk);
	unsigned seed = 12345;
	for (size_t i = 0; i < len; i++)
		junk[i] = (unsigned char)rand_r(&seed);
	file_write(g_bank, (off_t)h.index_off, junk, len);
	free(junk);
	check_populated(addr);
	/* the allocator works and respects the blocks */
	char *n = alloc_ok("RAM", "new", 3 * page());
	ck_assert(all_bytes(n, 3 * page(), 0));
	check_populated(addr);
	ck_assert_int_eq(pmmFreeAll("key", 4), K_OK);
	free_ok("RAM", "new");
	alloc_ok("RAM", "whole", DEFAULT_BANK);
}
END_TEST

/* An index of all-ones is rebuilt too. */
START_TEST(test_index_ones)
{
	char *addr[8];
	ck_assert_int_eq(in_child(child_populate, NULL), 0);
	struct pmm__hdr h = bank_hdr();
	size_t len = (size_t)(h.data_off - h.index_off);
	unsigned char *junk = malloc(len);
	ck_assert_ptr_nonnull(junk);
	memset(junk, 0xff, len);
	file_write(g_bank, (off_t)h.index_off, junk, len);
	free(junk);
	check_populated(addr);
	ck_assert_int_eq(pmmFreeAll("key", 4), K_OK);
	alloc_ok("RAM", "whole", DEFAULT_BANK);
}
END_TEST

/* The derived index damaged while the bank is open here (every arena's
 * free entries' chain, then their free lists): the next allocation rebuilds it
 * from the table and succeeds, every block where it was. */
START_TEST(test_index_damaged_open)
{
	char *one = alloc_ok("RAM", "one", 2 * page());
	memset(one, 0x11, 2 * page());
	struct pmm__hdr h = bank_hdr();
	uint64_t head = h.max_blocks + 7;
	for (unsigned a = 0; a < PMM__ARENAS; a++)
		file_write(g_bank, (off_t)offsetof(struct pmm__hdr,
			arena[a].free_head), &head, sizeof(head));
	char *two = alloc_ok("RAM", "two", page());
	ck_assert(two != one);
	ck_assert(all_bytes(two, page(), 0));
	memset(two, 0x22, page());
	uint32_t heads[PMM__NCLASS];
	memset(heads, 0xee, sizeof(heads));
	for (unsigned a = 0; a < PMM__ARENAS; a++)
		file_write(g_bank, (off_t)offsetof(struct pmm__hdr,
			arena[a].class_head), heads, sizeof(heads));
	char *three = alloc_ok("RAM", "three", 3 * page());
	ck_assert(three >= two + page() || three + 3 * page() <= one);
	ck_assert(all_bytes(three, 3 * page(), 0));
	ck_assert_ptr_eq(alloc_ok("RAM", "one", 0), one);
	ck_assert_ptr_eq(alloc_ok("RAM", "two", 0), two);
	ck_assert(all_bytes(one, 2 * page(), 0x11));
	ck_assert(all_bytes(two, page(), 0x22));
	free_ok("RAM", "one");
	free_ok("RAM", "two");
	free_ok("RAM", "three");
	alloc_ok("RAM", "whole", DEFAULT_BANK);
}
END_TEST

/* A bank file longer than its header says: K_ECORRUPT. */
START_TEST(test_grown)
{
	VmAddr a;
	make_bank("b", "data");
	struct pmm__hdr h = bank_hdr();
	ck_assert_int_eq(truncate(g_bank, (off_t)(h.file_size + page())), 0);
	expect_err(alloc_rc("RAM", "b", 0, NULL, 0, &a), K_ECORRUPT,
		"its header says");
}
END_TEST

/* The bank's address taken in this process: K_EMAPPED, then fine. */
START_TEST(test_mapped)
{
	VmAddr a;
	make_bank("b", "data");
	struct pmm__hdr h = bank_hdr();
	void *want = (void *)(uintptr_t)(h.base + h.file_size / 2);
	void *p = mmap(want, page(), PROT_NONE,
		MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ck_assert_ptr_eq(p, want);
	expect_err(alloc_rc("RAM", "b", 0, NULL, 0, &a), K_EMAPPED,
		"is occupied in this process");
	ck_assert_int_eq(munmap(p, page()), 0);
	char *b = alloc_ok("RAM", "b", 0);
	ck_assert_ptr_eq(b, (char *)(uintptr_t)(h.base + h.data_off));
	ck_assert_str_eq(b, "data");
}
END_TEST

/* ------------------------------------------------------------ configuration */

/* Every call reports a bad configuration as K_ECONFIG with its place. */
static void
config_fails(const char *needle)
{
	VmAddr a;
	expect_err(alloc_rc("RAM", "x", 1, NULL, 0, &a), K_ECONFIG, needle);
	expect_err(free_rc("RAM", "x"), K_ECONFIG, needle);
	expect_err(pmmFreeAll("k", 1), K_ECONFIG, needle);
	struct stat st;
	ck_assert_int_eq(stat(g_bank, &st), -1);	/* nothing created */
}

/* Each kind of configuration error, from PMM_TUNABLES and PMM_CONF. */
START_TEST(test_config_errors)
{
	tunables("pmm.maxBlocks=5;pmm.bogus=1");
	config_fails("PMM_TUNABLES:1: unknown tunable \"pmm.bogus\"");
	tunables("pmm.maxBlocks=12x");
	config_fails("PMM_TUNABLES:1: pmm.maxBlocks = \"12x\" is not a decimal");
	tunables("pmm.maxBlocks=");
	config_fails("is not a decimal or 0x hex number");
	tunables("pmm.rambankSize=0x");
	config_fails("is not a decimal or 0x hex number");
	tunables("pmm.maxBlocks=-1");
	config_fails("is not a decimal");
	tunables("pmm.maxBlocks=99999999999999999999999");
	config_fails("is not a decimal");
	tunables("pmm.maxBlocks=0");
	config_fails("pmm.maxBlocks = 0 out of range (1..16777216)");
	tunables("pmm.maxBlocks=16777217");
	config_fails("out of range");
	tunables("pmm.rambankSize=0x40000000001");
	config_fails("pmm.rambankSize = 4398046511105 out of range");
	tunables("hrCtrl.maxGroups=65537");
	config_fails("hrCtrl.maxGroups = 65537 out of range");
	tunables("garbage");
	config_fails("PMM_TUNABLES:1: \"garbage\" is not name = value");
	tunables("pmm.medium.D=relative/path");
	config_fails("medium D needs an absolute path");
	tunables("pmm.medium.SIXTEENCHARSLONG=/tmp/x");
	config_fails("longer than 15");
	tunables("pmm.medium.=/tmp/x");
	config_fails("empty or longer");
	unsetenv("PMM_TUNABLES");
	char missing[PATH_MAX];
	snprintf(missing, sizeof(missing), "%s/no-such.conf", g_dir);
	setenv("PMM_CONF", missing, 1);
	config_fails("cannot read");
	config_fails("no-such.conf: No such file or directory");
}
END_TEST

/* Writes text into the file path. */
static void
write_text(const char *path, const char *text)
{
	close(test_file(path, 0, 0));
	file_write(path, 0, text, strlen(text));
}

/* A configuration file's error names the file and the line. */
START_TEST(test_config_file_line)
{
	char conf[PATH_MAX], want[PATH_MAX + 64];
	snprintf(conf, sizeof(conf), "%s/pmm.conf", g_dir);
	setenv("PMM_CONF", conf, 1);
	write_text(conf, "# tunables\n\npmm.maxBlocks = 5\n"
		"pmm.rambankSize = 0x10000000000000\n");
	snprintf(want, sizeof(want), "%s:4: pmm.rambankSize", conf);
	config_fails(want);
	/* a ';' inside a comment is part of the comment */
	write_text(conf, "pmm.maxBlocks = 5 # not 10; never 20\n"
		"pmm.bad\n");
	snprintf(want, sizeof(want), "%s:2: \"pmm.bad\" is not name = value",
		conf);
	config_fails(want);
	/* items after a ';' are still on their line */
	write_text(conf, "pmm.maxBlocks = 5; hrCtrl.interval = 4\n"
		"hrCtrl.nothing = 1\n");
	snprintf(want, sizeof(want), "%s:2: unknown tunable", conf);
	config_fails(want);
}
END_TEST

/* Decimal and hex values, comments and blanks; PMM_TUNABLES overrides. */
START_TEST(test_config_accepted)
{
	char conf[PATH_MAX];
	VmAddr a;
	snprintf(conf, sizeof(conf), "%s/pmm.conf", g_dir);
	setenv("PMM_CONF", conf, 1);
	write_text(conf, "# a comment line\n"
		"\n"
		"   pmm.maxBlocks   =   5    # five blocks\n"
		"pmm.rambankSize=0x200000\n"
		"\thrCtrl.interval = 10\n"
		"hrCtrl.maxprocesses = 1000000\n"
		"hrCtrl.maxBadness = 0\n");
	char *b = alloc_ok("RAM", "b0", 0x200000);	/* the whole bank */
	ck_assert(all_bytes(b, 0x200000, 0));
	expect_err(alloc_rc("RAM", "big", 0x200001, NULL, 0, &a), K_ETOOBIG,
		"holds 2097152");
	free_ok("RAM", "b0");
	for (int i = 0; i < 5; i++) {
		char nm[16];
		snprintf(nm, sizeof(nm), "b%d", i);
		ck_assert_ptr_nonnull(alloc_ok("RAM", nm, 1));
	}
	expect_err(alloc_rc("RAM", "b5", 1, NULL, 0, &a), K_ETOOMUCH,
		"pmm.maxBlocks = 5 blocks");
}
END_TEST

/* Child: a new bank under PMM_TUNABLES; *arg blocks are allocated. */
static int
child_config_bank(void *arg)
{
	int n = *(int *)arg;
	for (int i = 0; i < n; i++) {
		char nm[16];
		VmAddr a;
		snprintf(nm, sizeof(nm), "b%d", i);
		if (alloc_rc("RAM", nm, 1, NULL, 0, &a) != K_OK)
			return child_fail(__LINE__, "allocate");
	}
	return 0;
}

/* PMM_TUNABLES overrides the file's values. */
START_TEST(test_config_override)
{
	char conf[PATH_MAX];
	VmAddr a;
	snprintf(conf, sizeof(conf), "%s/pmm.conf", g_dir);
	setenv("PMM_CONF", conf, 1);
	write_text(conf, "pmm.maxBlocks = 5\n");
	tunables("pmm.maxBlocks=0x7");
	int seven = 7;
	ck_assert_int_eq(in_child(child_config_bank, &seven), 0);
	expect_err(alloc_rc("RAM", "b7", 1, NULL, 0, &a), K_ETOOMUCH,
		"pmm.maxBlocks = 7 blocks");
}
END_TEST

/* Tunables are fixed when the bank is made; a change is reported once. */
START_TEST(test_config_static)
{
	char log[PATH_MAX], text[4096] = "";
	VmAddr a;
	tunables("pmm.maxBlocks=5");
	int one = 1;
	ck_assert_int_eq(in_child(child_config_bank, &one), 0);
	tunables("pmm.maxBlocks=9;pmm.rambankSize=0x200000");
	snprintf(log, sizeof(log), "%s/stderr", g_dir);
	int fd = test_file(log, 0, 0), saved = dup(2);
	fflush(stderr);
	dup2(fd, 2);
	for (int i = 0; i < 5; i++) {
		char nm[16];
		snprintf(nm, sizeof(nm), "b%d", i);
		alloc_ok("RAM", nm, 1);
	}
	int rc = alloc_rc("RAM", "b5", 1, NULL, 0, &a);
	int rc2 = alloc_rc("RAM", "big", 0x100001, NULL, 0, &a);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
	close(fd);
	ck_assert_int_ge(n, 0);
	text[n] = 0;
	ck_assert_int_eq(rc, K_ETOOMUCH);
	ck_assert_int_eq(rc2, K_ETOOBIG);
	const char *m = strstr(text, "keeps pmm.maxBlocks = 5; the configured 9");
	ck_assert_msg(m != NULL, "stderr: \"%s\"", text);
	ck_assert_msg(strstr(m + 1, "keeps pmm.maxBlocks") == NULL,
		"printed twice: \"%s\"", text);
	ck_assert_msg(strstr(text, "keeps pmm.rambankSize = 0x100000") != NULL,
		"stderr: \"%s\"", text);
	ck_assert_msg(strstr(text, g_bank) != NULL, "stderr: \"%s\"", text);
}
END_TEST

/* A bank made with pmm.maxBlocks=5 takes exactly 5 blocks. */
START_TEST(test_config_creation)
{
	VmAddr a;
	tunables("pmm.maxBlocks=5");
	for (int i = 0; i < 5; i++) {
		char nm[16];
		snprintf(nm, sizeof(nm), "b%d", i);
		alloc_ok("RAM", nm, 1);
	}
	expect_err(alloc_rc("RAM", "b5", 1, NULL, 0, &a), K_ETOOMUCH,
		"pmm.maxBlocks = 5");
}
END_TEST

/* PMM_DIR is made 0700 and the bank 0600, whatever the umask. */
START_TEST(test_file_modes)
{
	char dir[1024], bank[PATH_MAX];
	struct stat st;
	umask(0);
	snprintf(dir, sizeof(dir), "%s/new", g_dir);
	snprintf(bank, sizeof(bank), "%s/RAM.pmm", dir);
	setenv("PMM_DIR", dir, 1);
	alloc_ok("RAM", "x", 1);
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	ck_assert_int_eq(stat(bank, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_uint_eq(st.st_uid, getuid());
	/* no temporary file left behind */
	int count = 0;
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		count += e->d_name[0] != '.';
	closedir(d);
	ck_assert_int_eq(count, 1);
}
END_TEST

/* Writes text to a /proc file (user namespace maps). */
static int
proc_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/*
 * Child: in new user and mount namespaces with a private tmpfs on
 * /dev/shm, use the default directory (PMM_DIR unset).  *arg = 0: check
 * the modes libpmm gives; 1: a pre-made 0755 directory must be refused.
 * Exits 77 if namespaces are not available here.
 */
static int
child_default_dir(void *arg)
{
	int wrong_mode = *(int *)arg;
	char map[64], dir[64], bank[PATH_MAX];
	unsigned uid = (unsigned)getuid(), gid = (unsigned)getgid();
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
		return 77;
	proc_write("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "%u %u 1", uid, uid);
	if (proc_write("/proc/self/uid_map", map) != 0)
		return 77;
	snprintf(map, sizeof(map), "%u %u 1", gid, gid);
	if (proc_write("/proc/self/gid_map", map) != 0)
		return 77;
	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0 ||
			mount("tmpfs", "/dev/shm", "tmpfs", 0, "mode=1777") != 0)
		return 77;
	unsetenv("PMM_DIR");
	umask(0);
	snprintf(dir, sizeof(dir), "/dev/shm/pmm-%u", uid);
	snprintf(bank, sizeof(bank), "%s/RAM.pmm", dir);
	VmAddr a;
	struct stat st;
	if (wrong_mode) {
		if (mkdir(dir, 0755) != 0)
			return child_fail(__LINE__, "mkdir");
		int rc = alloc_rc("RAM", "x", 1, NULL, 0, &a);
		if (rc != K_ESYS || strstr(pmmErrorMsg(), "mode 0700") == NULL)
			return child_fail(__LINE__, "0755 directory accepted");
		return stat(bank, &st) == 0 ? child_fail(__LINE__, "bank made") : 0;
	}
	if (alloc_rc("RAM", "x", 1, NULL, 0, &a) != K_OK)
		return child_fail(__LINE__, "allocate");
	if (stat(dir, &st) != 0 || (st.st_mode & 07777) != 0700 ||
			st.st_uid != uid)
		return child_fail(__LINE__, "directory mode");
	if (stat(bank, &st) != 0 || (st.st_mode & 07777) != 0600)
		return child_fail(__LINE__, "bank mode");
	return 0;
}

/* The default directory /dev/shm/pmm-$UID, in a private /dev/shm. */
START_TEST(test_default_dir)
{
	int modes[2] = { 0, 1 };
	int rc = in_child(child_default_dir, &modes[0]);
	if (rc == 77) {
		fprintf(stderr, "test_default_dir: no user namespaces; "
			"only the PMM_DIR case was tested\n");
		return;
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(in_child(child_default_dir, &modes[1]), 0);
}
END_TEST

/* ------------------------------------------------------------------ threads */

#define NTHREADS 4
#define NSLOTS 16
#define ROUNDS 300

struct worker {
	int id;
	char why[256];			/* the first failure, or "" */
	char *live[NSLOTS];
	size_t size[NSLOTS];
};

/* Records a worker's first failure. */
static void
worker_fail(struct worker *w, int line, int rc)
{
	if (w->why[0] == 0)
		snprintf(w->why, sizeof(w->why), "thread %d line %d: %d %s",
			w->id, line, rc, pmmErrorMsg());
}

/* One thread: allocates, checks and frees its own names at random. */
static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned seed = (unsigned)w->id * 7919u + 1;
	char key[8];
	snprintf(key, sizeof(key), "thr%d", w->id);
	for (int r = 0; r < ROUNDS && w->why[0] == 0; r++) {
		int s = (int)(rand_r(&seed) % NSLOTS);
		char nm[16];
		snprintf(nm, sizeof(nm), "t%d-%d", w->id, s);
		PmmName n = pname("RAM", nm);
		VmAddr a = 0;
		int fill = w->id * NSLOTS + s + 1, rc;
		if (w->live[s] == NULL) {
			size_t sz = 1 + rand_r(&seed) % (3 * page());
			rc = pmmAllocate(&a, &n, sz, key, strlen(key) + 1);
			if (rc != K_OK || !all_bytes((void *)a, sz, 0)) {
				worker_fail(w, __LINE__, rc);
				break;
			}
			memset((void *)a, fill, sz);
			w->live[s] = (char *)a;
			w->size[s] = sz;
		} else {
			rc = pmmAllocate(&a, &n, 0, NULL, 0);
			if (rc != K_OK || (char *)a != w->live[s] ||
					!all_bytes(w->live[s], w->size[s], fill)) {
				worker_fail(w, __LINE__, rc);
				break;
			}
			if ((rc = pmmFree(&n)) != K_OK) {
				worker_fail(w, __LINE__, rc);
				break;
			}
			w->live[s] = NULL;
		}
		if (r % 10 == 0) {
			/* the message is this thread's own */
			char missing[32];
			snprintf(missing, sizeof(missing), "missing-%d", w->id);
			PmmName m = pname("RAM", missing);
			rc = pmmFree(&m);
			sched_yield();
			if (rc != K_EUNKNOWN ||
					strstr(pmmErrorMsg(), missing) == NULL) {
				worker_fail(w, __LINE__, rc);
				break;
			}
		}
	}
	return NULL;
}

/* Threads allocating and freeing at once; the bank stays whole. */
START_TEST(test_threads)
{
	struct worker w[NTHREADS];
	pthread_t t[NTHREADS];
	VmAddr a;
	tunables("pmm.maxBlocks=%d;pmm.rambankSize=0x400000",
		NTHREADS * NSLOTS);
	memset(w, 0, sizeof(w));
	for (int i = 0; i < NTHREADS; i++) {
		w[i].id = i;
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker_main, &w[i]),
			0);
	}
	for (int i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < NTHREADS; i++)
		ck_assert_msg(w[i].why[0] == 0, "%s", w[i].why);
	/* survivors intact; then each thread's key frees its own */
	for (int i = 0; i < NTHREADS; i++) {
		char key[8];
		int any = 0;
		for (int s = 0; s < NSLOTS; s++) {
			if (w[i].live[s] == NULL)
				continue;
			char nm[16];
			snprintf(nm, sizeof(nm), "t%d-%d", i, s);
			ck_assert_ptr_eq(alloc_ok("RAM", nm, 0), w[i].live[s]);
			ck_assert(all_bytes(w[i].live[s], w[i].size[s],
				i * NSLOTS + s + 1));
			any = 1;
		}
		snprintf(key, sizeof(key), "thr%d", i);
		ck_assert_int_eq(pmmFreeAll(key, strlen(key) + 1),
			any ? K_OK : K_EUNKNOWN);
	}
	/* every page and every entry came back */
	alloc_ok("RAM", "whole", 0x400000);
	free_ok("RAM", "whole");
	for (int i = 0; i < NTHREADS * NSLOTS; i++) {
		char nm[16];
		snprintf(nm, sizeof(nm), "e%d", i);
		alloc_ok("RAM", nm, 1);
	}
	expect_err(alloc_rc("RAM", "e-last", 1, NULL, 0, &a), K_ETOOMUCH,
		"pmm.maxBlocks = 64");
}
END_TEST

/* --------------------------------------------------------- kernel shim */

/* Child: reads the byte at arg (which must fault). */
static int
child_touch(void *arg)
{
	volatile char *p = arg;
#ifdef PMEM_USE_VALGRIND
	VALGRIND_DISABLE_ERROR_REPORTING;	/* the fault is the point */
#endif
	return *p == 0 ? 10 : 11;
}

/* Runs child_touch(p) and returns the signal that killed it (0: none). */
static int
touch_signal(void *p)
{
	fflush(NULL);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct rlimit none = { 0, 0 };
		setrlimit(RLIMIT_CORE, &none);	/* no core (or vgcore) file */
		signal(SIGSEGV, SIG_DFL);
		_exit(child_touch(p));
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}

/* A K_RESERVED region is address space only: any access faults. */
START_TEST(test_rgn_reserved)
{
	KnRgnDesc r;
	size_t ps = vmPageSize();
	memset(&r, 0, sizeof(r));
	r.options = K_ANYWHERE | K_RESERVED;
	r.size = 3 * ps + 1;
	ck_assert_int_eq(rgnAllocate(K_MYprocess, &r), K_OK);
	ck_assert_uint_eq(r.size, 4 * ps);
	ck_assert_uint_ne(r.startAddr, 0);
	ck_assert_uint_eq(r.startAddr % ps, 0);
	ck_assert_int_eq(touch_signal((void *)r.startAddr), SIGSEGV);
	ck_assert_int_eq(touch_signal((void *)(r.startAddr + 4 * ps - 1)),
		SIGSEGV);
	/* the seed's use: one page */
	memset(&r, 0, sizeof(r));
	r.options = K_ANYWHERE | K_RESERVED;
	r.size = vmPageSize();
	ck_assert_int_eq(rgnAllocate(K_MYprocess, &r), K_OK);
	ck_assert_int_eq(touch_signal((void *)r.startAddr), SIGSEGV);
}
END_TEST

/* A writable region is zero-filled and writable. */
START_TEST(test_rgn_writable)
{
	static const int opts[] = {
		K_ANYWHERE | K_WRITABLE,
		K_ANYWHERE | K_WRITABLE | K_FILLZERO,
		K_ANYWHERE,
	};
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		KnRgnDesc r;
		memset(&r, 0, sizeof(r));
		r.options = opts[i];
		r.size = 10000;
		ck_assert_int_eq(rgnAllocate(K_MYprocess, &r), K_OK);
		ck_assert_uint_eq(r.size, (10000 + vmPageSize() - 1) /
			vmPageSize() * vmPageSize());
		ck_assert(all_bytes((void *)r.startAddr, r.size, 0));
		memset((void *)r.startAddr, 0x3c, r.size);
		ck_assert(all_bytes((void *)r.startAddr, r.size, 0x3c));
		ck_assert_int_eq(munmap((void *)r.startAddr, r.size), 0);
	}
}
END_TEST

/* rgnAllocate's argument errors. */
START_TEST(test_rgn_errors)
{
	KnRgnDesc r;
	memset(&r, 0, sizeof(r));
	r.options = K_ANYWHERE | K_WRITABLE;
	r.size = 1;
	expect_err(rgnAllocate(K_MYprocess, NULL), K_EFAULT, "descriptor");
	expect_err(rgnAllocate(1, &r), K_EINVAL, "K_MYprocess");
	expect_err(rgnAllocate(-1, &r), K_EINVAL, "K_MYprocess");
	r.size = 0;
	expect_err(rgnAllocate(K_MYprocess, &r), K_EINVAL, "size 0");
	r.size = ~(VmAddr)0;
	expect_err(rgnAllocate(K_MYprocess, &r), K_EINVAL, "size");
	r.size = 1;
	r.options = K_ANYWHERE | 0x100;
	expect_err(rgnAllocate(K_MYprocess, &r), K_EINVAL,
		"unknown options 0x100");
	r.options = K_WRITABLE;
	r.startAddr = 0x10000001;
	expect_err(rgnAllocate(K_MYprocess, &r), K_EINVAL, "not page-aligned");
	ck_assert_uint_eq(r.size, 1);		/* left alone on failure */
	ck_assert_uint_eq(r.startAddr, 0x10000001);
}
END_TEST

/* Without K_ANYWHERE: exactly at startAddr, never over a mapping. */
START_TEST(test_rgn_fixed)
{
	KnRgnDesc r, f;
	size_t ps = vmPageSize();
	memset(&r, 0, sizeof(r));
	r.options = K_ANYWHERE | K_WRITABLE;
	r.size = 2 * ps;
	ck_assert_int_eq(rgnAllocate(K_MYprocess, &r), K_OK);
	memset((void *)r.startAddr, 1, 2 * ps);
	memset(&f, 0, sizeof(f));
	f.options = K_WRITABLE;
	f.startAddr = r.startAddr + ps;
	f.size = ps;
	expect_err(rgnAllocate(K_MYprocess, &f), K_EMAPPED, "rgnAllocate");
	ck_assert(all_bytes((void *)r.startAddr, 2 * ps, 1));
	ck_assert_int_eq(munmap((void *)r.startAddr, 2 * ps), 0);
	ck_assert_int_eq(rgnAllocate(K_MYprocess, &f), K_OK);
	ck_assert_uint_eq(f.startAddr, r.startAddr + ps);
	ck_assert(all_bytes((void *)f.startAddr, ps, 0));
	memset((void *)f.startAddr, 2, ps);
}
END_TEST

/* vmPageSize is the system's page size. */
START_TEST(test_page_size)
{
	ck_assert_uint_eq(vmPageSize(), (VmAddr)sysconf(_SC_PAGESIZE));
}
END_TEST

/* ----------------------------------------------------------------- texts */

/* Every code has its own text; anything else is "unknown error code". */
START_TEST(test_strerror)
{
	enum { LAST = -23 };
	static const char unknown[] = "unknown error code";
	for (int c = 0; c >= LAST; c--) {
		const char *s = pmmStrError(c);
		ck_assert_ptr_nonnull(s);
		ck_assert_msg(s[0] != 0 && strcmp(s, unknown) != 0,
			"code %d: \"%s\"", c, s);
		for (int d = 0; d > c; d--)
			ck_assert_msg(strcmp(s, pmmStrError(d)) != 0,
				"codes %d and %d share \"%s\"", c, d, s);
	}
	ck_assert_str_eq(pmmStrError(K_OK), "success");
	ck_assert_str_eq(pmmStrError(K_EBUSY), "bank in use");
	static const int bad[] = { 1, 2, 100, INT_MAX, LAST - 1, -100,
		INT_MIN + 1, INT_MIN };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_str_eq(pmmStrError(bad[i]), unknown);
}
END_TEST

/* ------------------------------------------------------------------ runner */

/* The suite. */
static Suite *
pmm_suite(void)
{
	Suite *s = suite_create("pmm");
	TCase *tc = test_case(s, "allocate", 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_new_block_rounded_zeroed);
	tcase_add_test(tc, test_reuse_is_zeroed);
	tcase_add_test(tc, test_same_address_size_ignored);
	tcase_add_test(tc, test_forked_process);
	tcase_add_test(tc, test_exec_process);
	tcase_add_test(tc, test_name_reusable);
	tcase_add_test(tc, test_media_distinct);
	tcase_add_test(tc, test_concurrent_creation);

	tc = test_case(s, "keys", 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_binary_keys);
	tcase_add_test(tc, test_free_all_exact);
	tcase_add_test(tc, test_free_all_errors);
	tcase_add_test(tc, test_allocate_key_errors);
	tcase_add_test(tc, test_group_key);

	tc = test_case(s, "errors", 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_null_args);
	tcase_add_test(tc, test_unterminated);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_size_zero);
	tcase_add_test(tc, test_too_big);
	tcase_add_test(tc, test_bank_full_and_merge);
	tcase_add_test(tc, test_max_blocks_default);
	tcase_add_test(tc, test_unknown_medium);
	tcase_add_test(tc, test_free_unknown);
	tcase_add_test(tc, test_too_many_media);
	tcase_add_test(tc, test_system_errors);

	tc = test_case(s, "files", 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_foreign);
	tcase_add_test(tc, test_version);
	tcase_add_test(tc, test_header_flip);
	tcase_add_test(tc, test_entry_flip);
	tcase_add_test(tc, test_index_scribble);
	tcase_add_test(tc, test_index_ones);
	tcase_add_test(tc, test_index_damaged_open);
	tcase_add_test(tc, test_grown);
	tcase_add_test(tc, test_mapped);

	tc = test_case(s, "config", 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_config_errors);
	tcase_add_test(tc, test_config_file_line);
	tcase_add_test(tc, test_config_accepted);
	tcase_add_test(tc, test_config_override);
	tcase_add_test(tc, test_config_static);
	tcase_add_test(tc, test_config_creation);
	tcase_add_test(tc, test_file_modes);
	tcase_add_test(tc, test_default_dir);

	tc = test_case(s, "threads", 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_threads);

	tc = test_case(s, "kernel", 30);
	tcase_add_test(tc, test_rgn_reserved);
	tcase_add_test(tc, test_rgn_writable);
	tcase_add_test(tc, test_rgn_errors);
	tcase_add_test(tc, test_rgn_fixed);
	tcase_add_test(tc, test_page_size);
	tcase_add_test(tc, test_strerror);
	return s;
}

/* Runs the suite, or the helper when exec'd with --helper. */
int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--helper") == 0)
		return helper_main(argc - 2, argv + 2);
	ssize_t n = readlink("/proc/self/exe", g_self, sizeof(g_self) - 1);
	if (n <= 0) {
		perror("/proc/self/exe");
		return EXIT_FAILURE;
	}
	g_self[n] = 0;
	snprintf(g_root, sizeof(g_root), "%s/pmm-test-api-XXXXXX", test_dir());
	if (mkdtemp(g_root) == NULL) {
		perror(g_root);
		return EXIT_FAILURE;
	}
	int rc = test_run(pmm_suite());
	rm_rf(g_root);
	return rc;
}
