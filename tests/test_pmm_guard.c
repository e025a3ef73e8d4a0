/*
 * test_pmm_guard.c -- libpmm against the files around its banks, as an
 * attacker or an accident would leave them (issue 9): modes and links,
 * copies taken while the lock was held, sparse copies on a full file
 * system, leftovers of killed creators, banks that would share an
 * address, a damaged key list under pmmFreeAll, a mutex of garbage, a
 * header placing the bank outside its range, and configuration files
 * that are not text files.  What needs two users is in pmm-users.sh.
 *
 * Each test runs in its own forked process with its own PMM_DIR; a test
 * that could hang on a broken build runs its risky part in a child with
 * an alarm.
 */
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include <pmm/chPmm.h>
#include "common.h"
#include "pmm.h"

static char g_root[256];	/* this run's directory */
static char g_dir[512];		/* this test's PMM_DIR */
static char g_bank[1024];	/* its RAM bank */

#define MIB ((size_t)1 << 20)

/* A PmmName of medium and name. */
static PmmName
pname(const char *medium, const char *name)
{
	PmmName n;
	memset(&n, 0, sizeof(n));
	snprintf(n.medium, sizeof(n.medium), "%s", medium);
	snprintf(n.name, sizeof(n.name), "%s", name);
	return n;
}

/* pmmAllocate(medium, name, size); *a gets the address. */
static int
alloc_rc(const char *medium, const char *name, size_t size, VmAddr *a)
{
	PmmName n = pname(medium, name);
	*a = 0;
	return pmmAllocate(a, &n, size, NULL, 0);
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
		"line %d: message \"%s\" lacks \"%s\"", line, m, needle);
}

/* Asserts that allocating RAM/name succeeds; the address. */
static char *
alloc_ok(const char *medium, const char *name, size_t size)
{
	VmAddr a;
	int rc = alloc_rc(medium, name, size, &a);
	ck_assert_msg(rc == K_OK, "pmmAllocate(%s, %s): %d %s", medium, name,
		rc, pmmErrorMsg());
	return (char *)a;
}

/* pmmFree's code for medium/name. */
static int
free_rc(const char *medium, const char *name)
{
	PmmName n = pname(medium, name);
	return pmmFree(&n);
}

/* Sets PMM_TUNABLES. */
static void
tunables_set(const char *items)
{
	setenv("PMM_TUNABLES", items, 1);
}

/* Runs fn(arg) in a child killed after secs seconds; its exit status,
 * or 128 + the signal that ended it. */
static int
in_child(int (*fn)(void *), void *arg, unsigned secs)
{
	fflush(NULL);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		alarm(secs);
		_exit(fn(arg));
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Removes one file or directory (for nftw). */
static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* Each test: its own bank directory, no configuration. */
static void
setup(void)
{
	snprintf(g_dir, sizeof(g_dir), "%s/t%d", g_root, (int)getpid());
	ck_assert_int_eq(mkdir(g_dir, 0700), 0);
	snprintf(g_bank, sizeof(g_bank), "%s/RAM.pmm", g_dir);
	setenv("PMM_DIR", g_dir, 1);
	setenv("PMM_CONF", "", 1);
	unsetenv("PMM_TUNABLES");
}

/* Removes the test's directory. */
static void
teardown(void)
{
	pmm__banks_reset();
	nftw(g_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The header of the bank file at path. */
static struct pmm__hdr
read_hdr(const char *path)
{
	struct pmm__hdr h;
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	close(fd);
	return h;
}

/* ------------------------------------------------------------ trust */

/* A bank directory writable by others is refused unless sticky. */
START_TEST(test_dir_writable_by_others)
{
	alloc_ok("RAM", "x", 1);
	pmm__banks_reset();
	ck_assert_int_eq(chmod(g_dir, 0777), 0);
	VmAddr a;
	expect_err(alloc_rc("RAM", "x", 0, &a), K_ESYS, "without the sticky bit");
	expect_err(alloc_rc("RAM", "x", 0, &a), K_ESYS, g_dir);
	ck_assert_int_eq(chmod(g_dir, 01777), 0);
	ck_assert_int_eq(alloc_rc("RAM", "x", 0, &a), K_OK);
	pmm__banks_reset();
	ck_assert_int_eq(chmod(g_dir, 0770), 0);
	expect_err(alloc_rc("RAM", "x", 0, &a), K_ESYS, "without the sticky bit");
	/* the directory of a pmm.medium.NAME path: the same rule */
	char sub[1100], conf[1200];
	ck_assert_int_eq(chmod(g_dir, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/open", g_dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	ck_assert_int_eq(chmod(sub, 0777), 0);
	snprintf(conf, sizeof(conf), "pmm.medium.M=%s/m.pmm", sub);
	tunables_set(conf);
	expect_err(alloc_rc("M", "x", 1, &a), K_ESYS, "without the sticky bit");
	expect_err(alloc_rc("M", "x", 1, &a), K_ESYS, sub);
	ck_assert_int_eq(chmod(sub, 01777), 0);
	ck_assert_int_eq(alloc_rc("M", "x", 1, &a), K_OK);
}
END_TEST

/* A bank directory of another user (not root) is refused, sticky or not:
 * its owner can rename or replace any file in it.  Root's is accepted. */
START_TEST(test_dir_of_another_user)
{
	if (geteuid() != 0) {
		/* tests/pmm-users.sh covers it with two real users */
		fprintf(stderr, "test_dir_of_another_user: not root, no chown: "
			"only this user's directory checked\n");
		return;
	}
	alloc_ok("RAM", "x", 1);
	pmm__banks_reset();
	VmAddr a;
	for (int m = 0; m < 2; m++) {
		ck_assert_int_eq(chmod(g_dir, m ? 01777 : 0700), 0);
		ck_assert_int_eq(chown(g_dir, 54321, (gid_t)-1), 0);
		expect_err(alloc_rc("RAM", "x", 0, &a), K_ESYS,
			"belongs to uid 54321");
		expect_err(alloc_rc("RAM", "y", 1, &a), K_ESYS,
			"neither this user");
		ck_assert_int_eq(chown(g_dir, 0, (gid_t)-1), 0);
		ck_assert_int_eq(alloc_rc("RAM", "x", 0, &a), K_OK);
		pmm__banks_reset();
	}
	ck_assert_int_eq(chmod(g_dir, 0700), 0);
}
END_TEST

/* A bank file writable by group or others is refused at every open. */
START_TEST(test_file_writable_by_others)
{
	VmAddr a;
	alloc_ok("RAM", "x", 1);
	pmm__banks_reset();
	ck_assert_int_eq(chmod(g_bank, 0620), 0);
	expect_err(alloc_rc("RAM", "x", 0, &a), K_ESYS,
		"writable by group or others (mode 0620)");
	ck_assert_int_eq(chmod(g_bank, 0602), 0);
	expect_err(alloc_rc("RAM", "x", 0, &a), K_ESYS, "writable by group");
	ck_assert_int_eq(chmod(g_bank, 0644), 0);
	ck_assert_int_eq(alloc_rc("RAM", "x", 0, &a), K_OK);
}
END_TEST

/* A bank that is a symbolic link is refused as such, dangling or not;
 * so is one that is not a regular file. */
START_TEST(test_links_and_specials)
{
	char real[1024];
	VmAddr a;
	snprintf(real, sizeof(real), "%s/real.pmm", g_dir);
	ck_assert_int_eq(symlink(real, g_bank), 0);
	expect_err(alloc_rc("RAM", "x", 1, &a), K_ESYS, "symbolic link");
	ck_assert_int_eq(access(real, F_OK), -1);	/* not created */
	ck_assert_int_eq(pmm__bank_create(real, "RAM", 0x10000, 4), K_OK);
	expect_err(alloc_rc("RAM", "x", 1, &a), K_ESYS, "symbolic link");
	expect_err(free_rc("RAM", "x"), K_ESYS, "symbolic link");
	ck_assert_int_eq(unlink(g_bank), 0);
	ck_assert_int_eq(mkfifo(g_bank, 0600), 0);
	expect_err(alloc_rc("RAM", "x", 1, &a), K_ESYS, "not a regular file");
}
END_TEST

/* ------------------------------------------------------------ copies */

struct holder {
	int ready[2];		/* the holder says "locked and copied" */
	int done[2];		/* the test says "you may go" */
	int die;		/* exit holding the lock instead of waiting */
	char copy[1100];
};

/* Child: open the bank, take its lock, copy the file, then hold on. */
static int
hold_and_copy(void *arg)
{
	struct holder *h = arg;
	struct pmm__bank *b;
	if (pmm__bank_open(g_bank, &b) != K_OK || pmm__lock(b) != K_OK)
		return 1;
	test_copy_file(g_bank, h->copy);
	if (write(h->ready[1], "r", 1) != 1)
		return 1;
	if (h->die)
		_exit(0);		/* dies holding the lock */
	char c;
	if (read(h->done[0], &c, 1) != 1)
		return 1;
	pmm__unlock(b);
	return 0;
}

/* Child: use the copy as a medium: must neither hang nor fail. */
static int
use_copy(void *arg)
{
	struct holder *h = arg;
	char conf[1200];
	snprintf(conf, sizeof(conf), "pmm.medium.COPY=%s", h->copy);
	setenv("PMM_TUNABLES", conf, 1);
	VmAddr a;
	PmmName n = pname("COPY", "data");
	int rc = pmmAllocate(&a, &n, 0, NULL, 0);
	if (rc != K_OK || strcmp((char *)a, "kept") != 0) {
		fprintf(stderr, "use_copy: %d %s\n", rc, pmmErrorMsg());
		return 1;
	}
	n = pname("COPY", "more");
	return pmmAllocate(&a, &n, 1, NULL, 0) == K_OK ? 0 : 1;
}

/* A copy taken while a process held the lock opens and works, whether
 * that process is still alive or died since. */
static void
copy_while_locked(int die)
{
	struct holder h;
	memset(&h, 0, sizeof(h));
	h.die = die;
	snprintf(h.copy, sizeof(h.copy), "%s/copy.pmm", g_dir);
	strcpy(alloc_ok("RAM", "data", 5), "kept");
	pmm__banks_reset();
	ck_assert_int_eq(pipe(h.ready), 0);
	ck_assert_int_eq(pipe(h.done), 0);
	fflush(NULL);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		alarm(20);
		_exit(hold_and_copy(&h));
	}
	char c;
	ck_assert_int_eq(read(h.ready[0], &c, 1), 1);
	if (die)
		ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	int rc = in_child(use_copy, &h, 10);
	ck_assert_int_eq(write(h.done[1], "d", 1), 1);
	if (!die)
		ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	ck_assert_msg(rc == 0, "the copy hung or failed (status %d)", rc);
}

START_TEST(test_copy_holder_alive)
{
	copy_while_locked(0);
}
END_TEST

START_TEST(test_copy_holder_dead)
{
	copy_while_locked(1);
}
END_TEST

/* Mutexes of garbage in a bank nobody has open are simply made anew:
 * their kind is never read from the file. */
START_TEST(test_lock_bytes_garbage)
{
	strcpy(alloc_ok("RAM", "x", 5), "kept");
	pmm__banks_reset();
	int fd = open(g_bank, O_RDWR);
	ck_assert_int_ge(fd, 0);
	unsigned char junk[sizeof(pthread_mutex_t)];
	memset(junk, 0x5a, sizeof(junk));
	for (unsigned ar = 0; ar < PMM__ARENAS; ar++)
		ck_assert_int_eq(pwrite(fd, junk, sizeof(junk),
				offsetof(struct pmm__hdr, arena[ar].lock)),
				(ssize_t)sizeof(junk));
	ck_assert_int_eq(pwrite(fd, junk, sizeof(junk),
			offsetof(struct pmm__hdr, keys.lock)), (ssize_t)sizeof(junk));
	close(fd);
	VmAddr a;
	ck_assert_int_eq(alloc_rc("RAM", "x", 0, &a), K_OK);
	ck_assert_str_eq((char *)a, "kept");
	alloc_ok("RAM", "y", 1);
}
END_TEST

/* ---------------------------------------------------------- full disk */

/* Child: a sparse copy of a bank on a full tmpfs of its own. */
static int
sparse_on_full_tmpfs(void *arg)
{
	(void)arg;
	char mnt[1024], bank[1100], fill[1100];
	if (unshare(CLONE_NEWNS) != 0 ||
			mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0)
		return 77;
	snprintf(mnt, sizeof(mnt), "%s/mnt", g_dir);
	if (mkdir(mnt, 0700) != 0 ||
			mount("tmpfs", mnt, "tmpfs", 0, "size=2m,mode=0700") != 0)
		return 77;
	snprintf(bank, sizeof(bank), "%s/RAM.pmm", mnt);
	setenv("PMM_DIR", mnt, 1);
	/* the bank's data pages are holes: a copy made with cp --sparse */
	test_copy_file(g_bank, bank);
	struct pmm__hdr h = read_hdr(bank);
	int fd = open(bank, O_RDWR);
	if (fd < 0 || fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				(off_t)h.data_off,
				(off_t)(h.file_size - h.data_off)) != 0)
		return 3;
	close(fd);
	snprintf(fill, sizeof(fill), "%s/fill", mnt);
	fd = open(fill, O_WRONLY | O_CREAT, 0600);
	char buf[4096] = { 1 };
	while (fd >= 0 && write(fd, buf, sizeof(buf)) == sizeof(buf))
		;
	close(fd);
	VmAddr a;
	int rc = alloc_rc("RAM", "big", 512 * 1024, &a);
	if (rc != K_ENOMEM || strstr(pmmErrorMsg(), "space") == NULL) {
		fprintf(stderr, "sparse bank: %d %s\n", rc, pmmErrorMsg());
		return 4;
	}
	/* room again: the bank opens and works */
	unlink(fill);
	rc = alloc_rc("RAM", "big", 512 * 1024, &a);
	if (rc != K_OK) {
		fprintf(stderr, "after room: %d %s\n", rc, pmmErrorMsg());
		return 5;
	}
	memset((void *)a, 7, 512 * 1024);
	return 0;
}

/* A sparse bank on a full file system: K_ENOMEM, never SIGBUS. */
START_TEST(test_sparse_full_disk)
{
	tunables_set("pmm.rambankSize=0x100000");
	alloc_ok("RAM", "x", 1);
	pmm__banks_reset();
	int rc = in_child(sparse_on_full_tmpfs, NULL, 20);
	if (rc == 77) {
		fprintf(stderr, "test_sparse_full_disk: SKIPPED: cannot mount a "
			"tmpfs here (needs root or user namespaces)\n");
		return;
	}
	ck_assert_msg(rc == 0, "status %d (128 + 7 is SIGBUS)", rc);
}
END_TEST

/* -------------------------------------------------------- leftovers */

/* The pid of a process that has exited (and been reaped). */
static pid_t
dead_pid(void)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	return pid;
}

/* A file of size bytes at dir/name. */
static void
make_file(const char *name, size_t size)
{
	char path[1100];
	snprintf(path, sizeof(path), "%s/%s", g_dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

/* Whether dir/name exists. */
static int
present(const char *name)
{
	char path[1100];
	snprintf(path, sizeof(path), "%s/%s", g_dir, name);
	return access(path, F_OK) == 0;
}

/* The next creator removes what killed creators left; a live one's
 * temporary stays. */
START_TEST(test_leftovers_removed)
{
	char dead1[64], dead2[64], live[64];
	snprintf(dead1, sizeof(dead1), "RAM.pmm.new.%d", (int)dead_pid());
	snprintf(dead2, sizeof(dead2), "RAM.pmm.pmmctl.%d", (int)dead_pid());
	snprintf(live, sizeof(live), "RAM.pmm.new.%d", (int)getppid());
	make_file(dead1, MIB);
	make_file(dead2, MIB);
	make_file(live, MIB);
	alloc_ok("RAM", "x", 1);
	ck_assert_msg(!present(dead1), "%s left", dead1);
	ck_assert_msg(!present(dead2), "%s left", dead2);
	ck_assert_msg(present(live), "%s of a live process removed", live);
	unlink(live);
}
END_TEST

/* Child: create the bank of a big medium, to be killed meanwhile. */
static int
create_big(void *arg)
{
	(void)arg;
	VmAddr a;
	return alloc_rc("RAM", "x", 1, &a) == K_OK ? 0 : 1;
}

/* Creators killed at random moments leave nothing but a bank. */
START_TEST(test_killed_creators)
{
	tunables_set("pmm.rambankSize=0x4000000");
	for (int i = 0; i < 6; i++) {
		fflush(NULL);
		pid_t pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0)
			_exit(create_big(NULL));
		usleep((useconds_t)(200 + 1500 * i));
		kill(pid, SIGKILL);
		ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
		DIR *d = opendir(g_dir);
		ck_assert_ptr_nonnull(d);
		struct dirent *e;
		while ((e = readdir(d)) != NULL)
			ck_assert_msg(e->d_name[0] == '.' ||
				strcmp(e->d_name, "RAM.pmm") == 0,
				"left behind: %s", e->d_name);
		closedir(d);
		unlink(g_bank);
	}
}
END_TEST

/* -------------------------------------------------------- addresses */

/* Child: create the bank of medium *arg alone. */
static int
create_medium(void *arg)
{
	VmAddr a;
	return alloc_rc(arg, "x", 1, &a) == K_OK ? 0 : 1;
}

/* Sets PMM_TUNABLES to n media M0.. in the test's directory. */
static void
media_conf(int n, const char *extra)
{
	char conf[8192];
	size_t k = 0;
	for (int i = 0; i < n; i++)
		k += (size_t)snprintf(conf + k, sizeof(conf) - k,
			"pmm.medium.M%d=%s/m%d.pmm;", i, g_dir, i);
	snprintf(conf + k, sizeof(conf) - k, "%s", extra);
	setenv("PMM_TUNABLES", conf, 1);
}

/* Banks created by separate processes never overlap: one process then
 * uses them all. */
START_TEST(test_distinct_addresses)
{
	media_conf(16, "");
	char m[16][8];
	for (int i = 0; i < 16; i++) {
		snprintf(m[i], sizeof(m[i]), "M%d", i);
		ck_assert_int_eq(in_child(create_medium, m[i], 20), 0);
	}
	ck_assert_int_eq(in_child(create_medium, "RAM", 20), 0);
	alloc_ok("RAM", "y", 1);
	for (int i = 0; i < 16; i++)
		alloc_ok(m[i], "y", 1);
	struct pmm__hdr h[17];
	h[16] = read_hdr(g_bank);
	for (int i = 0; i < 16; i++) {
		char path[1100];
		snprintf(path, sizeof(path), "%s/m%d.pmm", g_dir, i);
		h[i] = read_hdr(path);
	}
	for (int i = 0; i < 17; i++)
		for (int j = i + 1; j < 17; j++)
			ck_assert_msg(h[i].base + h[i].file_size <= h[j].base ||
				h[j].base + h[j].file_size <= h[i].base,
				"banks %d and %d overlap", i, j);
}
END_TEST

/* A copy collides with its original; moved, it keeps its data and
 * both open in one process. */
START_TEST(test_move_copy)
{
	char copy[1100], conf[1200];
	strcpy(alloc_ok("RAM", "data", 5), "kept");
	pmm__banks_reset();
	snprintf(copy, sizeof(copy), "%s/copy.pmm", g_dir);
	test_copy_file(g_bank, copy);
	snprintf(conf, sizeof(conf), "pmm.medium.COPY=%s", copy);
	setenv("PMM_TUNABLES", conf, 1);
	alloc_ok("RAM", "data", 0);
	VmAddr a;
	expect_err(alloc_rc("COPY", "data", 0, &a), K_EMAPPED, "move");
	pmm__banks_reset();
	uint64_t from, to;
	ck_assert_int_eq(pmm__bank_move(copy, &from, &to), K_OK);
	ck_assert_uint_eq(from, read_hdr(g_bank).base);
	ck_assert_uint_ne(to, from);
	ck_assert_uint_eq(read_hdr(copy).base, to);
	char *orig = alloc_ok("RAM", "data", 0);
	char *moved = alloc_ok("COPY", "data", 0);
	ck_assert_ptr_ne(orig, moved);
	ck_assert_str_eq(moved, "kept");
	/* a bank in use is not moved */
	expect_err(pmm__bank_move(copy, &from, &to), K_EBUSY, "in use");
}
END_TEST

/* A header may place the bank only within the documented range. */
START_TEST(test_header_range)
{
	alloc_ok("RAM", "x", 1);
	pmm__banks_reset();
	struct pmm__hdr h = read_hdr(g_bank);
	struct pmm__geom g;
	uint64_t bad[] = { 0x200000, 0x100000000000ULL,
		PMM__ADDR_MIN - (2u << 20), PMM__ADDR_END,
		0x7f0000000000ULL };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		h.base = bad[i];
		h.checksum = pmm__hdr_checksum(&h);
		expect_err(pmm__hdr_validate(&h, h.file_size, &g), K_ECORRUPT,
			"invalid");
	}
	h.base = PMM__ADDR_MIN;
	h.checksum = pmm__hdr_checksum(&h);
	ck_assert_int_eq(pmm__hdr_validate(&h, h.file_size, &g), K_OK);
}
END_TEST

/* ------------------------------------------------------- free all */

/* pmmFreeAll over a key list whose link is damaged frees every block
 * and leaves none findable by name. */
START_TEST(test_free_all_damaged_list)
{
	VmAddr a;
	PmmName n1 = pname("RAM", "one"), n2 = pname("RAM", "two");
	ck_assert_int_eq(pmmAllocate(&a, &n1, 1, "k", 2), K_OK);
	ck_assert_int_eq(pmmAllocate(&a, &n2, 1, "k", 2), K_OK);
	struct pmm__bank *b;
	ck_assert_int_eq(pmm__bank_get_existing("RAM", &b), K_OK);
	uint8_t key[32] = "k";
	uint32_t head;
	ck_assert_int_eq(pmm__key_find(b, key, 2, &head), K_OK);
	b->knext[head] = (uint32_t)b->g.max_blocks + 7;
	ck_assert_int_eq(pmm__free_all_in(b, "k", 2, 0), K_OK);
	char nm[64] = "one";
	uint32_t idx;
	ck_assert_int_eq(pmm__name_find(b, nm, &idx), K_EUNKNOWN);
	ck_assert_int_eq(alloc_rc("RAM", "one", 0, &a), K_ESIZE);
	ck_assert_int_eq(alloc_rc("RAM", "two", 0, &a), K_ESIZE);
	for (unsigned ar = 0; ar < b->g.narenas; ar++)
		ck_assert_uint_eq(b->hdr->arena[ar].used_blocks, 0);
	ck_assert_int_eq(pmm__check(b, NULL, 0), K_OK);
}
END_TEST

/* ---------------------------------------------------- configuration */

/* Sets PMM_CONF to a file of this test holding len bytes of text. */
static void
conf_file(const char *text, size_t len)
{
	char path[1100];
	snprintf(path, sizeof(path), "%s/pmm.conf", g_dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	setenv("PMM_CONF", path, 1);
}

/* Child: a configuration that names a FIFO must not block. */
static int
conf_fifo(void *arg)
{
	(void)arg;
	VmAddr a;
	int rc = alloc_rc("RAM", "x", 1, &a);
	return rc == K_ECONFIG && strstr(pmmErrorMsg(),
		"not a regular file") != NULL ? 0 : 1;
}

/* Bad configuration files: each error says what and where. */
START_TEST(test_config_files)
{
	VmAddr a;
	char path[1100], big[PATH_MAX + 64];
	conf_file("pmm.maxBlocks = 5\npmm.rambank\0Size = 1\n", 39);
	expect_err(alloc_rc("RAM", "x", 1, &a), K_ECONFIG, "pmm.conf:2: a NUL byte");
	snprintf(path, sizeof(path), "%s/fifo", g_dir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	setenv("PMM_CONF", path, 1);
	ck_assert_int_eq(in_child(conf_fifo, NULL, 5), 0);
	setenv("PMM_CONF", g_dir, 1);
	expect_err(alloc_rc("RAM", "x", 1, &a), K_ECONFIG, "not a regular file");
	setenv("PMM_CONF", "/dev/null", 1);
	expect_err(alloc_rc("RAM", "x", 1, &a), K_ECONFIG, "not a regular file");
	int n = snprintf(big, sizeof(big), "pmm.medium.LONG = /");
	memset(big + n, 'a', PATH_MAX);
	big[n + PATH_MAX] = 0;
	conf_file(big, strlen(big));
	expect_err(alloc_rc("LONG", "x", 1, &a), K_ECONFIG, "too long");
	snprintf(path, sizeof(path), "%s/huge.conf", g_dir);
	int fd = open(path, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 2 * (off_t)MIB), 0);
	close(fd);
	setenv("PMM_CONF", path, 1);
	expect_err(alloc_rc("RAM", "x", 1, &a), K_ECONFIG,
		"the limit is 1048576 bytes");
}
END_TEST

/* ------------------------------------------------------------ runner */

/* The suite. */
static Suite *
guard_suite(void)
{
	Suite *s = suite_create("pmm-guard");
	TCase *tc = test_case(s, "trust", 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_dir_writable_by_others);
	tcase_add_test(tc, test_dir_of_another_user);
	tcase_add_test(tc, test_file_writable_by_others);
	tcase_add_test(tc, test_links_and_specials);

	tc = test_case(s, "robust", 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_copy_holder_alive);
	tcase_add_test(tc, test_copy_holder_dead);
	tcase_add_test(tc, test_lock_bytes_garbage);
	tcase_add_test(tc, test_sparse_full_disk);
	tcase_add_test(tc, test_leftovers_removed);
	tcase_add_test(tc, test_killed_creators);
	tcase_add_test(tc, test_free_all_damaged_list);

	tc = test_case(s, "addresses", 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_distinct_addresses);
	tcase_add_test(tc, test_move_copy);
	tcase_add_test(tc, test_header_range);

	tc = test_case(s, "config", 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_config_files);
	return s;
}

/* Runs the suite. */
int
main(void)
{
	snprintf(g_root, sizeof(g_root), "%s/pmm-test-guard-XXXXXX",
		test_dir());
	if (mkdtemp(g_root) == NULL) {
		perror(g_root);
		return EXIT_FAILURE;
	}
	int rc = test_run(guard_suite());
	nftw(g_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
