/*
 * bank.c -- bank files: opening, validation, mapping at their fixed
 * address, and the process's table of open banks (creation: create.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#ifndef MAP_SYNC
#include <linux/mman.h>
#endif
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pmm.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
/* Banks up to this size are populated when mapped (MAP_POPULATE). */
#define POPULATE_MAX (32ULL << 20)


/* Point b's pointers into a mapping of geometry g at base. */
void
pmm__bank_bind(struct pmm__bank *b, void *base, const struct pmm__geom *g)
{
	unsigned char *m = base;
	unsigned char *ix = m + g->index_off;
	b->g = *g;
	b->base = m;
	b->hdr = base;
	b->table = (struct pmm__entry *)(m + g->table_off);
	b->ix = (struct pmm__ixhdr *)ix;
	b->nb = (struct pmm__nbucket *)(ix + g->ix_name);
	b->key_slot = (uint32_t *)(ix + g->ix_key);
	b->knext = (uint32_t *)(ix + g->ix_knext);
	b->kprev = (uint32_t *)(ix + g->ix_kprev);
	b->pg = (struct pmm__pgrec *)(ix + g->ix_pg);
	b->data = m + g->data_off;
	b->page_shift = __builtin_ctzll(g->page_size);
}

/* This boot's id (empty if unknown): a bank's lock is garbage after a reboot. */
void
pmm__boot_id(char out[PMM__BOOT_ID])
{
	memset(out, 0, PMM__BOOT_ID);
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, out, PMM__BOOT_ID - 1);
	close(fd);
	if (n > 0 && out[n - 1] == '\n')
		out[n - 1] = 0;
}

/* See pmm.h. */
void
pmm__hdr_set_file(struct pmm__hdr *h, const struct stat *st)
{
	h->file_dev = (uint64_t)st->st_dev;
	h->file_ino = (uint64_t)st->st_ino;
}

/* Whether h was last indexed in the file st describes. */
static int
same_file(const struct pmm__hdr *h, const struct stat *st)
{
	return h->file_dev == (uint64_t)st->st_dev &&
		h->file_ino == (uint64_t)st->st_ino;
}

/* Map fd at exactly addr, never over anything already there. */
int
pmm__map_fixed(int fd, uint64_t addr, uint64_t size, int populate, void **out)
{
	int flags = MAP_FIXED_NOREPLACE | (populate ? MAP_POPULATE : 0);
	void *p = MAP_FAILED;
	if (populate < 0) {
		/* read-only: a private copy the checks may repair in memory */
		flags = MAP_FIXED_NOREPLACE | MAP_PRIVATE;
		goto plain;
	}
	/* MAP_SYNC on a DAX file system: a page's first write needs no
	 * journal commit to be durable, so a flushed entry is persistent */
	p = mmap((void *)(uintptr_t)addr, size, PROT_READ | PROT_WRITE,
			flags | MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0);
	flags |= MAP_SHARED;
plain:
	/* refused (EOPNOTSUPP off DAX; under valgrind, EEXIST or EPERM
	 * from its retries): plain MAP_SHARED decides, and its errno */
	if (p == MAP_FAILED)
		p = mmap((void *)(uintptr_t)addr, size, PROT_READ | PROT_WRITE,
				flags, fd, 0);
	if (p == MAP_FAILED) {
		if (errno == EEXIST)
			return pmm__fail(K_EMAPPED,
					"bank address 0x%llx..0x%llx is occupied in this process",
					(unsigned long long)addr,
					(unsigned long long)(addr + size));
		return pmm__fail_errno(K_ESYS, "cannot map bank");
	}
	if ((uint64_t)(uintptr_t)p != addr) {
		/* a kernel (or valgrind) that took the address as a hint */
		munmap(p, size);
		return pmm__fail(K_EMAPPED,
				"bank address 0x%llx is occupied in this process",
				(unsigned long long)addr);
	}
	*out = p;
	return K_OK;
}

/* Holding every lock: a read-only copy, or any bank when full (the
 * tools), is checked whole and its index rebuilt if damaged; a bank
 * nobody else has open is rebuilt when its last writer died mid-change.
 * Otherwise nothing, and no lock taken: its users keep the index
 * consistent, every index access is bounds-checked, and a dead holder is
 * met by the next call that takes its lock. */
static int
validate_contents(struct pmm__bank *b, int alone, int full)
{
	/* read before pmm__lock marks the index dirty itself */
	int torn = pmm__lock_dirty(b) || (b->ix->gen & 1);
	if (!b->readonly && !full && !(alone && torn))
		return K_OK;	/* nothing to do: no lock to wait for either */
	int rc = pmm__lock(b);
	if (rc != K_OK)
		return rc;
	if (b->readonly || full) {
		rc = pmm__check(b, NULL, 0);
		if (rc == K_ECORRUPT)
			rc = pmm__recover(b);
	} else if (alone && torn) {
		rc = pmm__recover(b);
	}
	pmm__unlock(b);
	return rc;
}

/* Open path's bank file: read-write, or (ro_ok, and the file is not
 * writable by its owner or cannot be opened for writing) read-only. */
static int
open_file(const char *path, int ro_ok, int *fd, int *ro, struct stat *st)
{
	char base[NAME_MAX + 1];
	int dfd, rc = pmm__open_bank_dir(path, &dfd, base);
	if (rc != K_OK)
		return rc;
	*ro = 0;
	rc = pmm__open_bank_file(dfd, base, path, O_RDWR, fd, st);
	if (rc == K_OK && ro_ok && !(st->st_mode & S_IWUSR)) {
		close(*fd);
		rc = K_ESYS;
	}
	if (rc == K_ESYS && ro_ok) {
		*ro = 1;
		rc = pmm__open_bank_file(dfd, base, path, O_RDONLY, fd, st);
	}
	close(dfd);
	return rc;
}

/* Make sure every block of the file has space on its medium: a sparse
 * bank (a copy, a restore) on a full file system would otherwise kill us
 * with SIGBUS at the first store to a hole. */
static int
reserve_space(int fd, const char *path, const struct stat *st,
		uint64_t size)
{
	if ((uint64_t)st->st_blocks * 512 >= size)
		return K_OK;
	int e = posix_fallocate(fd, 0, (off_t)size);
	if (e == 0 || e == EOPNOTSUPP || e == EINVAL)
		return K_OK;
	errno = e;
	return pmm__fail_errno(e == ENOSPC ? K_ENOMEM : K_ESYS,
			"bank %s: only %llu of its %llu bytes have space on their file system, and no more can be reserved",
			path, (unsigned long long)st->st_blocks * 512,
			(unsigned long long)size);
}

/* Take the file's liveness lock: every process with the bank open holds
 * a shared flock for as long as it does; *alone when nobody else does
 * (then the robust mutex's state is anyone's garbage: a dead holder's,
 * or the original's when this file is a copy). */
static int
join(struct pmm__bank *b, int *alone)
{
	*alone = flock(b->fd, LOCK_EX | LOCK_NB) == 0;
	if (*alone)
		return K_OK;
	if (errno != EWOULDBLOCK || flock(b->fd, LOCK_SH) != 0)
		return pmm__fail_errno(K_ESYS, "cannot lock bank %s", b->path);
	return K_OK;
}

/* The message of a fixed address already taken in this process. */
static void
explain_mapped(struct pmm__bank *b, const struct pmm__hdr *h)
{
	char other[PATH_MAX], msg[512];
	snprintf(msg, sizeof(msg), "%s", pmmErrorMsg());
	pmm__addr_collision(b->fd, h->base, h->file_size, other,
			sizeof(other));
	pmm__fail(K_EMAPPED, "%s: %s%s%s (pmmctl -f %s move gives it a free address)",
			b->path, msg, other[0] ? "; it overlaps bank " : "",
			other, b->path);
}

/* Read and validate the header, and map the bank at its address. */
static int
map_bank(struct pmm__bank *b, const struct stat *st, int ro)
{
	struct pmm__hdr h;
	struct pmm__geom g;
	memset(&h, 0, sizeof(h));
	if (pread(b->fd, &h, sizeof(h), 0) < 0)
		return pmm__fail_errno(K_ESYS, "cannot read bank %s", b->path);
	int rc = pmm__hdr_validate(&h, (uint64_t)st->st_size, &g);
	if (rc == K_OK && !ro)
		rc = reserve_space(b->fd, b->path, st, g.file_size);
	if (rc != K_OK) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", pmmErrorMsg());
		return pmm__fail(rc, "%s: %s", b->path, msg);
	}
	void *m;
	int tmpfs = pmm__on_tmpfs(b->fd);
	/* on tmpfs a small bank is mapped in at once (a page's first touch
	 * in a process costs a fault); a large one page by page on demand,
	 * so that the first call does nothing proportional to the bank */
	rc = pmm__map_fixed(b->fd, h.base, g.file_size, ro ? -1 :
			g.file_size <= POPULATE_MAX && tmpfs, &m);
	if (rc == K_EMAPPED)
		explain_mapped(b, &h);
	if (rc != K_OK)
		return rc;
	pmm__bank_bind(b, m, &g);
	b->cached = pmm__medium_cached(tmpfs);
	snprintf(b->medium, sizeof(b->medium), "%s", h.medium);
	return K_OK;
}

/* Open, validate and map the bank file at path (full: check it whole). */
static int
open_bank(const char *path, int ro_ok, int full, struct pmm__bank **bp)
{
	struct pmm__bank *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return pmm__fail_errno(K_ESYS, "cannot open bank");
	struct stat st;
	int ro, alone = 1;
	snprintf(b->path, sizeof(b->path), "%s", path);
	int rc = open_file(path, ro_ok, &b->fd, &ro, &st);
	if (rc != K_OK) {
		free(b);
		return rc;
	}
	b->readonly = ro;
	if ((!ro && (rc = join(b, &alone)) != K_OK) ||
			(rc = map_bank(b, &st, ro)) != K_OK)
		goto fail;
	char id[PMM__BOOT_ID];
	pmm__boot_id(id);
	if (alone) {
		/* nobody else has it open: whatever the mutex says is stale */
		pmm__lock_init(b);
	}
	/* Rebooted since last use (so nobody else has it open): the index
	 * was never flushed.  Or a copy (cp, a backup put back) that nobody
	 * else has open: its index may have been copied at another moment
	 * than its table.  Either way rebuild the index from the table. */
	if (memcmp(id, b->hdr->boot_id, sizeof(id)) != 0 ||
			(alone && !same_file(b->hdr, &st))) {
		pmm__lock_init(b);
		if ((rc = pmm__recover(b)) != K_OK) {
			munmap(b->base, b->g.file_size);
			goto fail;
		}
		memcpy(b->hdr->boot_id, id, sizeof(id));
		pmm__hdr_set_file(b->hdr, &st);
		if (!ro)
			pmm__persist(b, b->hdr->boot_id, sizeof(id) +
					2 * sizeof(uint64_t));
	}
	if ((rc = validate_contents(b, alone, full)) != K_OK) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", pmmErrorMsg());
		pmm__fail(rc, "%s: %s", path, msg);
		munmap(b->base, b->g.file_size);
		goto fail;
	}
	if (!ro && alone && flock(b->fd, LOCK_SH) != 0) {
		rc = pmm__fail_errno(K_ESYS, "cannot lock bank %s", path);
		munmap(b->base, b->g.file_size);
		goto fail;
	}
	if (!ro)
		pmm__addr_register(b->fd, path, b->hdr->base, b->g.file_size);
	pmm__fail(K_OK, "%s", "");
	*bp = b;
	return K_OK;
fail:
	close(b->fd);
	free(b);
	return rc;
}

/* Open, validate and map the bank file at path, for reading and writing. */
int
pmm__bank_open(const char *path, struct pmm__bank **bp)
{
	return open_bank(path, 0, 0, bp);
}

/* The same, checking the whole bank first (its index rebuilt when
 * damaged): pmmctl, the crash campaign and the fuzz target. */
int
pmm__bank_open_checked(const char *path, struct pmm__bank **bp)
{
	return open_bank(path, 0, 1, bp);
}

/* The same, but read-only (a private copy in memory) when the file is
 * not writable by its owner or cannot be opened for writing. */
int
pmm__bank_open_ro(const char *path, struct pmm__bank **bp)
{
	return open_bank(path, 1, 1, bp);
}

/* Move the bank at path (used by no process) to a free address. */
int
pmm__bank_move(const char *path, uint64_t *from, uint64_t *to)
{
	struct stat st;
	struct pmm__hdr h;
	struct pmm__geom g;
	int fd, ro, rc = open_file(path, 0, &fd, &ro, &st);
	if (rc != K_OK)
		return rc;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		rc = pmm__fail(K_EBUSY, "bank %s is in use by a running process",
				path);
		goto out;
	}
	memset(&h, 0, sizeof(h));
	if (pread(fd, &h, sizeof(h), 0) < 0) {
		rc = pmm__fail_errno(K_ESYS, "cannot read bank %s", path);
		goto out;
	}
	if ((rc = pmm__hdr_validate(&h, (uint64_t)st.st_size, &g)) != K_OK) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", pmmErrorMsg());
		rc = pmm__fail(rc, "%s: %s", path, msg);
		goto out;
	}
	*from = h.base;
	rc = pmm__addr_move(fd, path, &h);
	*to = h.base;
out:
	close(fd);
	return rc;
}

/* Unmap and forget a bank. */
void
pmm__bank_close(struct pmm__bank *b)
{
	if (b == NULL)
		return;
	munmap(b->base, b->g.file_size);
	close(b->fd);
	free(b);
}

/* ---------------------------------------------- the process's banks */
/* RAM and every configured medium */
#define MAX_BANKS (PMM__MAX_MEDIA + 1)
static struct pmm__bank *_Atomic banks[MAX_BANKS];
static pthread_mutex_t banks_lock = PTHREAD_MUTEX_INITIALIZER;

/* Create the directory of a bank file (mode 0700) if it is missing; its
 * owner and mode are checked by every open (trust.c). */
int
pmm__ensure_dir(const char *path, int is_default)
{
	char dir[PATH_MAX], base[NAME_MAX + 1];
	(void)is_default;
	int rc = pmm__split_path(path, dir, base);
	if (rc != K_OK)
		return rc;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return pmm__fail_errno(K_ESYS, "cannot create bank directory %s",
				dir);
	return K_OK;
}

static void
warn_tunables(const struct pmm__config *c, const struct pmm__bank *b)
{
	if ((c->set & PMM__SET_RAMBANK) &&
			(c->rambank_size + b->g.page_size - 1) / b->g.page_size !=
			b->g.npages)
		fprintf(stderr,
				"libpmm: bank %s keeps pmm.rambankSize = 0x%llx; the configured 0x%llx applies when it is recreated (pmmctl create --force)\n",
				b->path, (unsigned long long)b->g.bank_size,
				(unsigned long long)c->rambank_size);
	if ((c->set & PMM__SET_MAXBLOCKS) && c->max_blocks != b->g.max_blocks)
		fprintf(stderr,
				"libpmm: bank %s keeps pmm.maxBlocks = %llu; the configured %llu applies when it is recreated (pmmctl create --force)\n",
				b->path, (unsigned long long)b->g.max_blocks,
				(unsigned long long)c->max_blocks);
}

static int
open_medium(const char *medium, int create, struct pmm__bank **bp)
{
	struct pmm__config c;
	char path[PATH_MAX];
	int dflt, rc;
	if ((rc = pmm__config_load(&c)) != K_OK ||
			(rc = pmm__medium_path(&c, medium, path, sizeof(path),
					&dflt)) != K_OK)
		return rc;
	for (int tries = 0; tries < 3; tries++) {
		rc = pmm__bank_open(path, bp);
		if (rc != K_EUNKNOWN || !create)
			break;
		if ((rc = pmm__ensure_dir(path, dflt)) != K_OK)
			return rc;
		rc = pmm__bank_create(path, medium, c.rambank_size,
				c.max_blocks);
		if (rc != K_OK && rc != K_EBUSY)
			return rc;
	}
	if (rc == K_OK)
		warn_tunables(&c, *bp);
	return rc;
}

static int
get(const char *medium, int create, struct pmm__bank **bp)
{
	unsigned i;
	for (i = 0; i < MAX_BANKS; i++) {
		struct pmm__bank *b = atomic_load_explicit(&banks[i],
				memory_order_acquire);
		if (b == NULL)
			break;
		if (strcmp(b->medium, medium) == 0) {
			*bp = b;
			return K_OK;
		}
	}
	pthread_mutex_lock(&banks_lock);
	int rc = K_OK;
	for (i = 0; i < MAX_BANKS; i++) {
		struct pmm__bank *b = atomic_load_explicit(&banks[i],
				memory_order_relaxed);
		if (b == NULL)
			break;
		if (strcmp(b->medium, medium) == 0) {
			*bp = b;
			goto out;
		}
	}
	if (i == MAX_BANKS) {
		rc = pmm__fail(K_ENOMEDIUM, "more than %d media in one process",
				MAX_BANKS);
		goto out;
	}
	struct pmm__bank *b;
	if ((rc = open_medium(medium, create, &b)) != K_OK)
		goto out;
	/* a bank file is known by the medium it was asked for */
	snprintf(b->medium, sizeof(b->medium), "%s", medium);
	atomic_store_explicit(&banks[i], b, memory_order_release);
	*bp = b;
out:
	pthread_mutex_unlock(&banks_lock);
	return rc;
}

/* The bank of medium in this process, opened (or created) on first use. */
int
pmm__bank_get(const char *medium, struct pmm__bank **bp)
{
	return get(medium, 1, bp);
}

/* The bank of medium if its file exists. */
int
pmm__bank_get_existing(const char *medium, struct pmm__bank **bp)
{
	return get(medium, 0, bp);
}

/* Close every bank this process opened (tests only). */
void
pmm__banks_reset(void)
{
	pthread_mutex_lock(&banks_lock);
	for (unsigned i = 0; i < MAX_BANKS; i++) {
		struct pmm__bank *b = atomic_exchange(&banks[i], NULL);
		pmm__bank_close(b);
	}
	pthread_mutex_unlock(&banks_lock);
}
