/*
 * addrmap.c -- the per-user address map: which address range each bank
 * of this user occupies, so that no two banks ever get overlapping fixed
 * addresses (a process using both would fail with K_EMAPPED forever).
 *
 * The map is a text file beside the per-user directory's banks,
 * /dev/shm/pmm-EUID/addrmap, one line per bank:
 *     ADDR SIZE DEV INO PID PATH
 * read and rewritten (a temporary made O_EXCL, then renamed) under an
 * exclusive flock of addrmap.lock.  A line is live while PATH is still
 * that inode, or while PID (its creator, before the file has a name) is
 * alive; dead lines are dropped whenever the map is rewritten.  The map
 * only steers the choice of addresses: a bank it does not know (a copy,
 * a bank from before the map) still opens, and is added when it fits.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pmm.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#define STEP (1ULL << 30)	/* banks start on 1 GiB boundaries */
#define MAX_LINES 4096

struct line {
	uint64_t addr, size, dev, ino;
	long pid;
	char *path;
};

struct map {
	int dfd, lockfd;
	size_t n;
	struct line *v;
};

/* Round x up to a multiple of STEP. */
static uint64_t
span(uint64_t x)
{
	return (x + STEP - 1) & ~(STEP - 1);
}

/* Open (creating if needed) the per-user directory, checked. */
static int
open_user_dir(int *dfd)
{
	char dir[64];
	int rc = pmm__default_dir(dir, sizeof(dir));
	if (rc != K_OK)
		return rc;
	/* no /dev/shm, or none for us: K_EUNKNOWN, creation goes on without
	 * the map; a directory there that is not ours stops it (below) */
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return pmm__fail_errno(errno == ENOENT || errno == EACCES ||
				errno == EROFS || errno == EPERM ?
				K_EUNKNOWN : K_ESYS,
				"cannot create %s for the address map", dir);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return pmm__fail_errno(K_ESYS,
				"%s is not a directory (a symbolic link?): refused",
				dir);
	if ((rc = pmm__trust_dir(fd, dir, 1)) != K_OK) {
		close(fd);
		return rc;
	}
	*dfd = fd;
	return K_OK;
}

/* Parse the map file's text into m->v, sized for its lines: a new
 * process's first call reads the map, and a table for MAX_LINES would be
 * 192 KiB mapped, faulted in and unmapped each time. */
static int
parse(struct map *m, char *text)
{
	size_t lines = 1;
	for (const char *q = text; (q = strchr(q, '\n')) != NULL; q++)
		lines++;
	if (lines > MAX_LINES)
		lines = MAX_LINES;
	if ((m->v = calloc(lines, sizeof(*m->v))) == NULL)
		return pmm__fail_errno(K_ESYS, "address map");
	for (char *ln = text, *next; ln != NULL && *ln != 0; ln = next) {
		next = strchr(ln, '\n');
		if (next != NULL)
			*next++ = 0;
		struct line l;
		unsigned long long a, s, d, i;
		int off = 0;
		if (sscanf(ln, "%llx %llx %llu %llu %ld %n", &a, &s, &d, &i,
					&l.pid, &off) != 5 || off == 0 ||
				ln[off] != '/' || m->n == lines)
			continue;		/* a damaged line steers nothing */
		l.addr = a;
		l.size = s;
		l.dev = d;
		l.ino = i;
		if ((l.path = strdup(ln + off)) == NULL)
			return pmm__fail_errno(K_ESYS, "address map");
		m->v[m->n++] = l;
	}
	return K_OK;
}

/* Read the map file (absent: empty). */
static int
load(struct map *m)
{
	m->n = 0;
	m->v = NULL;
	int fd = openat(m->dfd, "addrmap", O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
			O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? K_OK :
			pmm__fail_errno(K_ESYS, "cannot read the address map");
	struct stat st;
	int rc = pmm__trust_file(fd, "address map", &st);
	if (rc == K_OK && st.st_size > (off_t)MAX_LINES * (PATH_MAX + 96))
		rc = pmm__fail(K_ESYS, "address map too large");
	char *text = NULL;
	if (rc == K_OK && (text = malloc((size_t)st.st_size + 1)) == NULL)
		rc = pmm__fail_errno(K_ESYS, "address map");
	if (rc == K_OK) {
		ssize_t got = pread(fd, text, (size_t)st.st_size, 0);
		text[got > 0 ? got : 0] = 0;
		rc = parse(m, text);
	}
	free(text);
	close(fd);
	return rc;
}

/* Lock and read the map. */
static int
map_open(struct map *m)
{
	memset(m, 0, sizeof(*m));
	m->lockfd = m->dfd = -1;
	int rc = open_user_dir(&m->dfd);
	if (rc != K_OK)
		return rc;
	struct stat st;
	m->lockfd = openat(m->dfd, "addrmap.lock", O_RDWR | O_CREAT |
			O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
	if (m->lockfd < 0)
		rc = pmm__fail_errno(K_ESYS, "cannot open the address map lock");
	else if ((rc = pmm__trust_file(m->lockfd, "address map lock",
					&st)) == K_OK &&
			flock(m->lockfd, LOCK_EX) != 0)
		rc = pmm__fail_errno(K_ESYS, "cannot lock the address map");
	if (rc == K_OK)
		rc = load(m);
	return rc;
}

/* Unlock and forget the map. */
static void
map_close(struct map *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	if (m->lockfd >= 0)
		close(m->lockfd);
	if (m->dfd >= 0)
		close(m->dfd);
}

/* Whether line l still describes a bank (or a creation under way). */
static int
live(const struct line *l)
{
	struct stat st;
	if (lstat(l->path, &st) == 0 && (uint64_t)st.st_dev == l->dev &&
			(uint64_t)st.st_ino == l->ino)
		return 1;
	return l->pid > 0 && (kill((pid_t)l->pid, 0) == 0 || errno == EPERM);
}

/* Write the live lines (and extra, if not NULL) back, atomically. */
static int
store(struct map *m, const struct line *extra)
{
	char tmp[64];
	snprintf(tmp, sizeof(tmp), "addrmap.new.%d", (int)getpid());
	unlinkat(m->dfd, tmp, 0);	/* a leftover of our pid */
	int fd = openat(m->dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
			O_CLOEXEC, 0600);
	if (fd < 0)
		return pmm__fail_errno(K_ESYS, "cannot write the address map");
	FILE *f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		unlinkat(m->dfd, tmp, 0);
		return pmm__fail_errno(K_ESYS, "cannot write the address map");
	}
	for (size_t i = 0; i <= m->n; i++) {
		const struct line *l = i < m->n ? &m->v[i] : extra;
		if (l == NULL || l->path == NULL)
			continue;
		fprintf(f, "%llx %llx %llu %llu %ld %s\n",
				(unsigned long long)l->addr,
				(unsigned long long)l->size,
				(unsigned long long)l->dev,
				(unsigned long long)l->ino, l->pid, l->path);
	}
	int bad = ferror(f);
	bad |= fclose(f) != 0;
	if (bad || renameat(m->dfd, tmp, m->dfd, "addrmap") != 0) {
		int rc = pmm__fail_errno(K_ESYS, "cannot write the address map");
		unlinkat(m->dfd, tmp, 0);
		return rc;
	}
	return K_OK;
}

/* Drop dead lines and the lines of inode (dev, ino). */
static void
prune(struct map *m, uint64_t dev, uint64_t ino)
{
	size_t k = 0;
	for (size_t i = 0; i < m->n; i++) {
		struct line *l = &m->v[i];
		if ((l->dev == dev && l->ino == ino) || !live(l)) {
			free(l->path);
			continue;
		}
		m->v[k++] = *l;
	}
	m->n = k;
}

/* The first live line overlapping [a, a + size), or NULL. */
static const struct line *
overlap(const struct map *m, uint64_t a, uint64_t size)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct line *l = &m->v[i];
		if (a < l->addr + span(l->size) && l->addr < a + size)
			return l;
	}
	return NULL;
}

/* Whether [a, a + size) is free in this process. */
static int
free_here(uint64_t a, uint64_t size)
{
	void *p = mmap((void *)(uintptr_t)a, size, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
			MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	munmap(p, size);
	return (uint64_t)(uintptr_t)p == a;
}

/* The lowest address for size bytes that no live line overlaps and that
 * is free in this process, avoiding [avoid, avoid + avoid_size) too. */
static int
choose(const struct map *m, uint64_t size, uint64_t avoid,
		uint64_t avoid_size, uint64_t *addr)
{
	uint64_t need = span(size);
	for (uint64_t a = PMM__ADDR_MIN; a + need <= PMM__ADDR_END;) {
		const struct line *l = overlap(m, a, need);
		if (l != NULL) {
			a = span(l->addr + span(l->size));
			continue;
		}
		if (avoid_size != 0 && a < avoid + avoid_size &&
				avoid < a + need) {
			a = span(avoid + avoid_size);
			continue;
		}
		if (free_here(a, size)) {
			*addr = a;
			return K_OK;
		}
		a += STEP;
	}
	return pmm__fail(K_EMAPPED,
			"no free address range for a bank of %llu bytes between 0x%llx and 0x%llx",
			(unsigned long long)size,
			(unsigned long long)PMM__ADDR_MIN,
			(unsigned long long)PMM__ADDR_END);
}

/* Choose a free address for a new bank of size bytes whose file (open at
 * fd, not yet named) will be path, and record it. */
int
pmm__addr_reserve(int fd, const char *path, uint64_t size, uint64_t *addr)
{
	struct stat st;
	struct map m;
	if (strchr(path, '\n') != NULL)
		return pmm__fail(K_EINVAL, "bank path has a newline");
	if (fstat(fd, &st) != 0)
		return pmm__fail_errno(K_ESYS, "cannot examine %s", path);
	int rc = map_open(&m);
	if (rc == K_OK) {
		prune(&m, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
		rc = choose(&m, size, 0, 0, addr);
	}
	if (rc == K_OK) {
		struct line l = { *addr, size, (uint64_t)st.st_dev,
			(uint64_t)st.st_ino, (long)getpid(), (char *)path };
		rc = store(&m, &l);
	}
	map_close(&m);
	return rc;
}

/* Record an opened bank (file fd at path, range [addr, addr + size)) if
 * the map does not know it and it overlaps no other bank. */
int
pmm__addr_register(int fd, const char *path, uint64_t addr, uint64_t size)
{
	struct stat st;
	struct map m;
	if (strchr(path, '\n') != NULL || fstat(fd, &st) != 0)
		return K_OK;
	int rc = map_open(&m);
	for (size_t i = 0; rc == K_OK && i < m.n; i++) {
		const struct line *l = &m.v[i];
		if (l->dev == (uint64_t)st.st_dev &&
				l->ino == (uint64_t)st.st_ino &&
				l->addr == addr && l->size == size &&
				strcmp(l->path, path) == 0) {
			map_close(&m);
			return K_OK;		/* known: the usual case */
		}
	}
	if (rc == K_OK) {
		prune(&m, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
		if (overlap(&m, addr, size) == NULL) {
			struct line l = { addr, size, (uint64_t)st.st_dev,
				(uint64_t)st.st_ino, 0, (char *)path };
			rc = store(&m, &l);
		}
	}
	map_close(&m);
	return rc;
}

/* The path of another bank whose range overlaps [addr, addr + size), for
 * a message ("" if none is known). */
void
pmm__addr_collision(int fd, uint64_t addr, uint64_t size, char *out,
		size_t len)
{
	struct stat st;
	struct map m;
	out[0] = 0;
	if (fstat(fd, &st) != 0)
		return;
	if (map_open(&m) != K_OK) {
		map_close(&m);
		return;
	}
	prune(&m, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
	const struct line *l = overlap(&m, addr, size);
	if (l != NULL)
		snprintf(out, len, "%s", l->path);
	map_close(&m);
}

/* Give the bank file at fd (path, header h, not in use) a free address
 * that overlaps no other bank of this user; h->base is updated. */
int
pmm__addr_move(int fd, const char *path, struct pmm__hdr *h)
{
	struct stat st;
	struct map m;
	uint64_t addr;
	if (strchr(path, '\n') != NULL)
		return pmm__fail(K_EINVAL, "bank path has a newline");
	if (fstat(fd, &st) != 0)
		return pmm__fail_errno(K_ESYS, "cannot examine %s", path);
	int rc = map_open(&m);
	if (rc == K_OK) {
		prune(&m, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
		rc = choose(&m, h->file_size, h->base, span(h->file_size),
				&addr);
	}
	if (rc == K_OK) {
		h->base = addr;
		h->checksum = pmm__hdr_checksum(h);
		if (pwrite(fd, h, offsetof(struct pmm__hdr, boot_id), 0) !=
				(ssize_t)offsetof(struct pmm__hdr, boot_id) ||
				fsync(fd) != 0)
			rc = pmm__fail_errno(K_ESYS, "cannot rewrite %s", path);
	}
	if (rc == K_OK) {
		struct line l = { addr, h->file_size, (uint64_t)st.st_dev,
			(uint64_t)st.st_ino, 0, (char *)path };
		rc = store(&m, &l);
	}
	map_close(&m);
	return rc;
}
