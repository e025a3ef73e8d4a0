/*
 * create.c -- making a bank file: an address of its own, a temporary
 * beside the bank, sized with posix_fallocate, initialised (and filled,
 * for pmmctl upgrade) through its mapping at that address, then named:
 * linked as a new bank, or renamed over the one it replaces.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pmm.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* Without the per-user address map (no /dev/shm): 32 slots of 1 TiB. */
#define SLOT_BASE PMM__ADDR_MIN
#define SLOT_SIZE (1ULL << 40)
#define NSLOTS 32

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

/* Whether name is "<base><tag><pid>" and that process no longer exists. */
static int
leftover_of_dead(const char *name, const char *base, const char *tag)
{
	size_t bl = strlen(base), tl = strlen(tag);
	if (strncmp(name, base, bl) != 0 || strncmp(name + bl, tag, tl) != 0)
		return 0;
	const char *d = name + bl + tl;
	char *end;
	long pid = strtol(d, &end, 10);
	if (*d == 0 || *end != 0 || pid <= 0 || pid == (long)getpid())
		return 0;
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* Remove the temporaries a killed creator left beside base in dfd: only
 * files of this user that no live process holds locked. */
static void
remove_leftovers(int dfd, const char *base)
{
	int d2 = dup(dfd);
	DIR *d = d2 < 0 ? NULL : fdopendir(d2);
	if (d == NULL) {
		if (d2 >= 0)
			close(d2);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!leftover_of_dead(e->d_name, base, ".new.") &&
				!leftover_of_dead(e->d_name, base, ".pmmctl."))
			continue;
		struct stat st;
		int fd = openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW |
				O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
				st.st_uid == geteuid() &&
				flock(fd, LOCK_EX | LOCK_NB) == 0)
			unlinkat(dfd, e->d_name, 0);
		close(fd);
	}
	closedir(d);
}

/* A new, nameless (O_TMPFILE) or O_EXCL-named, locked file in dfd. */
static int
make_temp(int dfd, const char *base, char tmp[NAME_MAX + 1], int *fd)
{
	tmp[0] = 0;
	*fd = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (*fd >= 0)
		return K_OK;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return pmm__fail_errno(K_ESYS, "cannot create a bank beside %s",
				base);
	if (snprintf(tmp, NAME_MAX + 1, "%s.new.%d", base, (int)getpid()) >
			NAME_MAX)
		return pmm__fail(K_EINVAL, "bank file name %s too long", base);
	*fd = openat(dfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
			O_CLOEXEC, 0600);
	if (*fd < 0 || flock(*fd, LOCK_EX) != 0) {
		int rc = pmm__fail_errno(K_ESYS, "cannot create %s", tmp);
		if (*fd >= 0) {
			close(*fd);
			unlinkat(dfd, tmp, 0);
		}
		tmp[0] = 0;
		return rc;
	}
	return K_OK;
}

/* Give the open file fd the name dst in dfd (never over another file). */
static int
link_fd(int dfd, int fd, const char *dst)
{
	/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc does not */
	int r = linkat(fd, "", dfd, dst, AT_EMPTY_PATH);
	if (r != 0 && errno != EEXIST) {
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		r = linkat(AT_FDCWD, proc, dfd, dst, AT_SYMLINK_FOLLOW);
	}
	return r;
}

/* Give the finished temporary its name; K_EBUSY if taken meanwhile. */
static int
name_temp(int dfd, int fd, const char *tmp, const char *base,
		const char *path)
{
	int r = tmp[0] != 0 ? linkat(dfd, tmp, dfd, base, 0) :
		link_fd(dfd, fd, base);
	if (r == 0)
		return K_OK;
	return errno == EEXIST ?
		pmm__fail(K_EBUSY, "bank %s appeared meanwhile", path) :
		pmm__fail_errno(K_ESYS, "cannot create %s", path);
}

/* Put the finished temporary in place of the file base, atomically and
 * durably (upgrade): a nameless one gets tmp's name first. */
static int
replace_with_temp(int dfd, int fd, char tmp[NAME_MAX + 1], const char *base,
		const char *path)
{
	if (tmp[0] == 0) {
		if (snprintf(tmp, NAME_MAX + 1, "%s.new.%d", base,
					(int)getpid()) > NAME_MAX) {
			tmp[0] = 0;
			return pmm__fail(K_EINVAL, "bank file name %s too long",
					base);
		}
		unlinkat(dfd, tmp, 0);
		if (link_fd(dfd, fd, tmp) != 0) {
			tmp[0] = 0;
			return pmm__fail_errno(K_ESYS, "cannot name a new bank beside %s",
					path);
		}
	}
	if (renameat(dfd, tmp, dfd, base) != 0)
		return pmm__fail_errno(K_ESYS, "cannot put the new bank in place of %s",
				path);
	tmp[0] = 0;
	if (fsync(dfd) != 0)
		return pmm__fail_errno(K_ESYS,
				"%s replaced, but its directory cannot be synced",
				path);
	return K_OK;
}

/* Write a fresh header and an empty, recovered index at m. */
static int
init_bank(void *m, const struct pmm__geom *g, uint64_t addr,
		const char *medium, int cached)
{
	struct pmm__bank b;
	memset(&b, 0, sizeof(b));
	pmm__bank_bind(&b, m, g);
	b.cached = cached;
	struct pmm__hdr *h = b.hdr;
	memcpy(h->magic, PMM__MAGIC, 8);
	h->layout = PMM__LAYOUT;
	h->hdr_size = sizeof(*h);
	h->file_size = g->file_size;
	h->page_size = g->page_size;
	h->base = addr;
	h->bank_size = g->bank_size;
	h->max_blocks = g->max_blocks;
	h->table_off = g->table_off;
	h->index_off = g->index_off;
	h->data_off = g->data_off;
	h->npages = g->npages;
	h->name_buckets = g->name_buckets;
	h->key_slots = g->key_slots;
	h->created = (uint64_t)time(NULL);
	strncpy(h->medium, medium, sizeof(h->medium) - 1);
	h->checksum = pmm__hdr_checksum(h);
	pmm__boot_id(h->boot_id);
	pmm__lock_init(&b);
	int rc = pmm__recover(&b);
	if (rc == K_OK)
		pmm__persist(&b, m, g->index_off);
	return rc;
}

/* An address for a new bank: from the per-user map, or (no /dev/shm)
 * the first slot free in this process. */
static int
new_address(int fd, const char *path, uint64_t size, uint64_t *addr)
{
	int rc = pmm__addr_reserve(fd, path, size, addr);
	if (rc == K_EUNKNOWN)
		rc = choose_address(path, size, addr);
	return rc;
}

/* Write a bank of geometry g beside path: at a new address (addr 0),
 * named path; or at addr, its blocks put in by fill, renamed over path. */
static int
build(const char *path, const char *medium, const struct pmm__geom *g,
		uint64_t addr, pmm__fill_fn fill, void *arg)
{
	char base[NAME_MAX + 1], tmp[NAME_MAX + 1];
	int dfd, fd, rc;
	if (strlen(medium) >= PMM_MEDIUM_MAX)
		return pmm__fail(K_EINVAL, "medium name too long");
	if (strlen(path) >= PATH_MAX)
		return pmm__fail(K_EINVAL, "bank path too long");
	if ((rc = pmm__open_bank_dir(path, &dfd, base)) != K_OK)
		return rc;
	remove_leftovers(dfd, base);
	if ((rc = make_temp(dfd, base, tmp, &fd)) != K_OK) {
		close(dfd);
		return rc;
	}
	void *m = NULL;
	int cached = pmm__medium_cached(pmm__on_tmpfs(fd));
	int e = posix_fallocate(fd, 0, (off_t)g->file_size);
	if (e == EOPNOTSUPP || e == EINVAL)
		e = ftruncate(fd, (off_t)g->file_size) == 0 ? 0 : errno;
	if (e != 0) {
		errno = e;
		rc = pmm__fail_errno(e == ENOSPC ? K_ENOMEM : K_ESYS,
				"cannot size bank %s to %llu bytes", path,
				(unsigned long long)g->file_size);
		goto out;
	}
	if ((addr == 0 &&
			(rc = new_address(fd, path, g->file_size, &addr)) != K_OK) ||
			(rc = pmm__map_fixed(fd, addr, g->file_size, 0, &m)) != K_OK ||
			(rc = init_bank(m, g, addr, medium, cached)) != K_OK)
		goto out;
	struct stat st;
	if (fstat(fd, &st) == 0)	/* else 0: the first open rebuilds */
		pmm__hdr_set_file((struct pmm__hdr *)m, &st);
	if (fill != NULL) {
		struct pmm__bank b;
		memset(&b, 0, sizeof(b));
		pmm__bank_bind(&b, m, g);
		b.cached = cached;
		if ((rc = fill(&b, arg)) != K_OK ||
				(rc = pmm__recover(&b)) != K_OK)
			goto out;
		pmm__persist(&b, m, g->index_off);
	}
	if (fsync(fd) != 0) {
		rc = pmm__fail_errno(K_ESYS, "cannot sync the new bank %s",
				path);
		goto out;
	}
	rc = fill == NULL ? name_temp(dfd, fd, tmp, base, path) :
		replace_with_temp(dfd, fd, tmp, base, path);
	if (rc == K_OK && fill != NULL)
		pmm__addr_register(fd, path, addr, g->file_size);
out:
	if (m != NULL)
		munmap(m, g->file_size);
	if (tmp[0] != 0)
		unlinkat(dfd, tmp, 0);
	close(fd);
	close(dfd);
	return rc;
}

/* Create a bank file at path; K_EBUSY if one appeared there meanwhile. */
int
pmm__bank_create(const char *path, const char *medium, uint64_t bank_size,
		uint64_t max_blocks)
{
	struct pmm__geom g;
	long ps = sysconf(_SC_PAGESIZE);
	int rc = pmm__geom_compute(bank_size, max_blocks, (uint64_t)ps, &g);
	return rc != K_OK ? rc : build(path, medium, &g, 0, NULL, NULL);
}

/* Replace the bank file at path by a new bank of geometry g at addr, its
 * table and blocks written by fill (upgrade.c; the caller holds path's
 * lock): the old file stays whole until the rename. */
int
pmm__bank_replace(const char *path, const char *medium,
		const struct pmm__geom *g, uint64_t addr, pmm__fill_fn fill,
		void *arg)
{
	return build(path, medium, g, addr, fill, arg);
}
