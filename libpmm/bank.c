/*
 * bank.c -- bank files: creation, validation, mapping at their fixed
 * address, and the process's table of open banks.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#ifndef MAP_SYNC
#include <linux/mman.h>
#endif
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "pmm.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#define TMPFS_MAGIC_ 0x01021994

/* Banks live in 32 slots of 1 TiB from 18 TiB: above ASan's shadow,
 * below PIE executables and the mmap area. */
#define SLOT_BASE 0x120000000000ULL
#define SLOT_SIZE (1ULL << 40)
#define NSLOTS 32

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
	b->name_slot = (uint32_t *)(ix + g->ix_name);
	b->key_slot = (uint32_t *)(ix + g->ix_key);
	b->knext = (uint32_t *)(ix + g->ix_knext);
	b->kprev = (uint32_t *)(ix + g->ix_kprev);
	b->fstack = (uint32_t *)(ix + g->ix_fstack);
	b->tag = (uint32_t *)(ix + g->ix_tag);
	b->fnext = (uint32_t *)(ix + g->ix_fnext);
	b->fprev = (uint32_t *)(ix + g->ix_fprev);
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

static int
on_tmpfs(int fd)
{
	struct statfs s;
	return fstatfs(fd, &s) == 0 && (unsigned long)s.f_type == TMPFS_MAGIC_;
}

/* Map fd at exactly addr, never over anything already there. */
static int
map_fixed(int fd, uint64_t addr, uint64_t size, int populate, void **out)
{
	int flags = MAP_FIXED_NOREPLACE | (populate ? MAP_POPULATE : 0);
	/* MAP_SYNC on a DAX file system: a page's first write needs no
	 * journal commit to be durable, so a flushed entry is persistent */
	void *p = mmap((void *)(uintptr_t)addr, size, PROT_READ | PROT_WRITE,
			flags | MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0);
	/* refused (EOPNOTSUPP off DAX; under valgrind, EEXIST or EPERM
	 * from its retries): plain MAP_SHARED decides, and its errno */
	if (p == MAP_FAILED)
		p = mmap((void *)(uintptr_t)addr, size, PROT_READ | PROT_WRITE,
				flags | MAP_SHARED, fd, 0);
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

/* A free address for a new bank, probing from the path's own slot. */
static int
choose_address(const char *path, uint64_t size, uint64_t *addr)
{
	char pad[PATH_MAX] = { 0 };
	strncpy(pad, path, sizeof(pad) - 1);
	uint64_t h = pmm__hash_words(pad, (strlen(pad) + 7) / 8, 0x61646472);
	for (unsigned k = 0; k < NSLOTS; k++) {
		uint64_t a = SLOT_BASE + ((h + k) % NSLOTS) * SLOT_SIZE;
		void *p = mmap((void *)(uintptr_t)a, size, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
				MAP_FIXED_NOREPLACE, -1, 0);
		if (p == MAP_FAILED)
			continue;
		munmap(p, size);
		if ((uint64_t)(uintptr_t)p == a) {
			*addr = a;
			return K_OK;
		}
	}
	return pmm__fail(K_EMAPPED, "no free address range for a bank of %llu bytes",
			(unsigned long long)size);
}

/* Create a bank file at path; K_EBUSY if one appeared there meanwhile. */
int
pmm__bank_create(const char *path, const char *medium, uint64_t bank_size,
		uint64_t max_blocks)
{
	struct pmm__geom g;
	long ps = sysconf(_SC_PAGESIZE);
	int rc = pmm__geom_compute(bank_size, max_blocks, (uint64_t)ps, &g);
	if (rc != K_OK)
		return rc;
	if (strlen(medium) >= PMM_MEDIUM_MAX)
		return pmm__fail(K_EINVAL, "medium name too long");
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.new.%d", path, (int)getpid()) >=
			(int)sizeof(tmp))
		return pmm__fail(K_EINVAL, "bank path too long");
	int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return pmm__fail_errno(K_ESYS, "cannot create %s", tmp);
	void *m = NULL;
	uint64_t addr = 0;
	int e = posix_fallocate(fd, 0, (off_t)g.file_size);
	if (e == EOPNOTSUPP || e == EINVAL)
		e = ftruncate(fd, (off_t)g.file_size) == 0 ? 0 : errno;
	if (e != 0) {
		errno = e;
		rc = pmm__fail_errno(e == ENOSPC ? K_ENOMEM : K_ESYS,
				"cannot size bank %s to %llu bytes", path,
				(unsigned long long)g.file_size);
		goto fail;
	}
	if ((rc = choose_address(path, g.file_size, &addr)) != K_OK ||
			(rc = map_fixed(fd, addr, g.file_size, 0, &m)) != K_OK)
		goto fail;
	struct pmm__bank b;
	memset(&b, 0, sizeof(b));
	pmm__bank_bind(&b, m, &g);
	struct pmm__hdr *h = b.hdr;
	memcpy(h->magic, PMM__MAGIC, 8);
	h->layout = PMM__LAYOUT;
	h->hdr_size = sizeof(*h);
	h->file_size = g.file_size;
	h->page_size = g.page_size;
	h->base = addr;
	h->bank_size = g.bank_size;
	h->max_blocks = g.max_blocks;
	h->table_off = g.table_off;
	h->index_off = g.index_off;
	h->data_off = g.data_off;
	h->npages = g.npages;
	h->name_slots = g.name_slots;
	h->key_slots = g.key_slots;
	h->created = (uint64_t)time(NULL);
	strncpy(h->medium, medium, sizeof(h->medium) - 1);
	h->checksum = pmm__hdr_checksum(h);
	pmm__boot_id(h->boot_id);
	pmm__lock_init(&b);
	if ((rc = pmm__recover(&b)) != K_OK)
		goto fail;
	pmm__persist(m, g.index_off);
	if (fsync(fd) != 0) {
		rc = pmm__fail_errno(K_ESYS, "cannot sync %s", tmp);
		goto fail;
	}
	munmap(m, g.file_size);
	m = NULL;
	if (link(tmp, path) != 0) {
		rc = errno == EEXIST ?
			pmm__fail(K_EBUSY, "bank %s appeared meanwhile", path) :
			pmm__fail_errno(K_ESYS, "cannot create %s", path);
		goto fail;
	}
	unlink(tmp);
	close(fd);
	return K_OK;
fail:
	if (m != NULL)
		munmap(m, g.file_size);
	unlink(tmp);
	close(fd);
	return rc;
}

/* Under the robust lock: full check; a damaged index is rebuilt. */
static int
validate_contents(struct pmm__bank *b)
{
	int rc = pmm__lock(b);
	if (rc != K_OK)
		return rc;
	rc = pmm__check(b, NULL, 0);
	if (rc == K_ECORRUPT)
		rc = pmm__recover(b);
	pmm__unlock(b);
	return rc;
}

/* Open, validate and map the bank file at path. */
int
pmm__bank_open(const char *path, struct pmm__bank **bp)
{
	struct pmm__bank *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return pmm__fail_errno(K_ESYS, "cannot open bank");
	int rc;
	void *m = NULL;
	struct stat st;
	struct pmm__hdr h;
	snprintf(b->path, sizeof(b->path), "%s", path);
	b->fd = open(path, O_RDWR | O_CLOEXEC);
	if (b->fd < 0) {
		rc = pmm__fail_errno(errno == ENOENT ? K_EUNKNOWN : K_ESYS,
				"cannot open bank %s", path);
		free(b);
		return rc;
	}
	if (flock(b->fd, LOCK_EX) != 0 || fstat(b->fd, &st) != 0) {
		rc = pmm__fail_errno(K_ESYS, "cannot open bank %s", path);
		goto fail;
	}
	memset(&h, 0, sizeof(h));
	ssize_t n = pread(b->fd, &h, sizeof(h), 0);
	if (n < 0) {
		rc = pmm__fail_errno(K_ESYS, "cannot read bank %s", path);
		goto fail;
	}
	struct pmm__geom g;
	if ((rc = pmm__hdr_validate(&h, (uint64_t)st.st_size, &g)) != K_OK) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", pmmErrorMsg());
		pmm__fail(rc, "%s: %s", path, msg);
		goto fail;
	}
	if ((rc = map_fixed(b->fd, h.base, g.file_size, on_tmpfs(b->fd),
					&m)) != K_OK)
		goto fail;
	pmm__bank_bind(b, m, &g);
	snprintf(b->medium, sizeof(b->medium), "%s", h.medium);
	char id[PMM__BOOT_ID];
	pmm__boot_id(id);
	if (memcmp(id, b->hdr->boot_id, sizeof(id)) != 0) {
		/* rebooted since last use: the old lock state is garbage */
		pmm__lock_init(b);
		if ((rc = pmm__recover(b)) != K_OK)
			goto fail;
		memcpy(b->hdr->boot_id, id, sizeof(id));
		pmm__persist(b->hdr->boot_id, sizeof(id));
	}
	if (!pmm__lock_valid(b)) {
		rc = pmm__fail(K_ECORRUPT, "%s: the bank's lock is not a robust shared mutex",
				path);
		goto fail;
	}
	if ((rc = validate_contents(b)) != K_OK) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", pmmErrorMsg());
		pmm__fail(rc, "%s: %s", path, msg);
		goto fail;
	}
	flock(b->fd, LOCK_UN);
	*bp = b;
	return K_OK;
fail:
	if (m != NULL)
		munmap(m, g.file_size);
	close(b->fd);
	free(b);
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
static struct pmm__bank *_Atomic banks[PMM__MAX_MEDIA];
static pthread_mutex_t banks_lock = PTHREAD_MUTEX_INITIALIZER;

/* Create the directory of a bank file; the default one must be private. */
int
pmm__ensure_dir(const char *path, int is_default)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return K_OK;
	*slash = 0;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return pmm__fail_errno(K_ESYS, "cannot create bank directory %s",
				dir);
	if (!is_default)
		return K_OK;
	/* our own directory in a world-writable place: refuse a trap */
	struct stat st;
	if (lstat(dir, &st) != 0)
		return pmm__fail_errno(K_ESYS, "%s", dir);
	if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
			(st.st_mode & 077) != 0)
		return pmm__fail(K_ESYS,
				"%s is not a private directory of this user (want mode 0700)",
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
	for (i = 0; i < PMM__MAX_MEDIA; i++) {
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
	for (i = 0; i < PMM__MAX_MEDIA; i++) {
		struct pmm__bank *b = atomic_load_explicit(&banks[i],
				memory_order_relaxed);
		if (b == NULL)
			break;
		if (strcmp(b->medium, medium) == 0) {
			*bp = b;
			goto out;
		}
	}
	if (i == PMM__MAX_MEDIA) {
		rc = pmm__fail(K_ENOMEDIUM, "more than %d media in one process",
				PMM__MAX_MEDIA);
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
	for (unsigned i = 0; i < PMM__MAX_MEDIA; i++) {
		struct pmm__bank *b = atomic_exchange(&banks[i], NULL);
		pmm__bank_close(b);
	}
	pthread_mutex_unlock(&banks_lock);
}
