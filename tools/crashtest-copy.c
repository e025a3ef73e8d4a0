/*
 * crashtest-copy.c -- keeps the two directories of a job slot holding the
 * image to check: the pristine copy, written only here (the evidence when
 * the check fails), and the work copy the check runs on and may change.
 *
 * Writing both copies in full for every image cost more than most checks
 * (two copies of the pool a time, then freeing them).  Instead the files
 * stay open and mapped from one image to the next and are patched: the
 * pristine copy is compared page by page with the durable image, then the
 * image's chosen lines are written over it; the work copy is compared with
 * the pristine one.  Only pages that differ are copied.  What is compared
 * is the files' content as it is now, never what was last written, so
 * whatever a check did (stores, writes, truncation, a file replaced,
 * renamed or chmod'ed, new files) is undone: a copy that is no longer the
 * file we made is removed and made again, and anything else in the
 * directory is removed.
 */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crashtest.h"

#define CHUNK 4096		/* compared at a time */

/* A store into a copy that something else truncated raises SIGBUS:
 * it is caught while a copy is being patched, and the copy made again. */
static sigjmp_buf bus_jmp;
static volatile sig_atomic_t bus_armed;

/* SIGBUS: back to the patch that touched a truncated copy. */
static void
on_bus(int sig)
{
	if (bus_armed) {
		bus_armed = 0;
		siglongjmp(bus_jmp, 1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Installs the SIGBUS handler once. */
static void
bus_catch(void)
{
	static int done;
	if (done)
		return;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_bus;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	done = 1;
}

/* Unmaps and closes a copy (its file stays). */
static void
copy_drop(struct ct_copy *c)
{
	if (c->map != NULL)
		munmap(c->map, (size_t)c->size);
	if (c->fd >= 0)
		close(c->fd);
	free(c->name);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* See crashtest.h. */
void
ct_dir_close(struct ct_dir *d)
{
	for (uint32_t i = 0; i < d->n; i++)
		copy_drop(&d->c[i]);
	free(d->c);
	d->c = NULL;
	d->n = 0;
}

/* Forgets copy i of d (closing it). */
static void
forget(struct ct_dir *d, uint32_t i)
{
	copy_drop(&d->c[i]);
	d->c[i] = d->c[--d->n];
}

/* nftw callback: removes everything. */
static int
rm_any(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

/* See crashtest.h. */
int
ct_rm_tree(const char *path)
{
	if (remove(path) == 0 || errno == ENOENT)
		return 0;
	return nftw(path, rm_any, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes dir/name into out (PATH_MAX bytes); 0, or -1 when too long. */
static int
join(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
	if (n < 0 || n >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* 1 when entry st (in d) is still copy c as we made it. */
static int
still_ours(const struct ct_copy *c, const struct stat *st)
{
	return S_ISREG(st->st_mode) && st->st_dev == c->dev &&
		st->st_ino == c->ino && st->st_nlink == 1 &&
		st->st_uid == geteuid() && (st->st_mode & 07777) == 0600 &&
		(uint64_t)st->st_size == c->size;
}

/* Leaves in d only the copies of the current trace's files that are still
 * as we made them; everything else there is removed; 0 or -1. */
static int
tidy(struct ct_state *s, struct ct_dir *d)
{
	for (uint32_t i = 0; i < d->n;) {
		const struct ct_copy *c = &d->c[i];
		if (c->file < s->file_base || c->file >= s->nfiles ||
				strcmp(c->name, s->files[c->file].name) != 0 ||
				c->size != s->files[c->file].size)
			forget(d, i);	/* its file goes below */
		else
			i++;
	}
	struct stat st;
	if (lstat(d->path, &st) != 0 || !S_ISDIR(st.st_mode) ||
			st.st_uid != geteuid() || (st.st_mode & 07777) != 0700) {
		ct_dir_close(d);
		if (ct_rm_tree(d->path) != 0 || mkdir(d->path, 0700) != 0)
			return -1;
	}
	int dfd = open(d->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		O_CLOEXEC);
	DIR *dh = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (dh == NULL) {
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	for (uint32_t i = 0; i < d->n; i++)
		d->c[i].seen = 0;
	int ret = 0;
	struct dirent *e;
	while (ret == 0 && (e = readdir(dh)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		uint32_t i;
		for (i = 0; i < d->n && strcmp(d->c[i].name, e->d_name); i++)
			;
		if (i < d->n && fstatat(dfd, e->d_name, &st,
				AT_SYMLINK_NOFOLLOW) == 0 &&
				still_ours(&d->c[i], &st)) {
			d->c[i].seen = 1;
			continue;
		}
		if (i < d->n)
			forget(d, i);
		if (unlinkat(dfd, e->d_name, 0) == 0 || errno == ENOENT)
			continue;
		char p[PATH_MAX];
		ret = join(p, d->path, e->d_name) == 0 ? ct_rm_tree(p) : -1;
	}
	closedir(dh);
	for (uint32_t i = 0; i < d->n;) {
		if (!d->c[i].seen)
			forget(d, i);	/* gone */
		else
			i++;
	}
	return ret;
}

/* Writes all of n bytes at offset off; 0 or -1. */
static int
pwrite_all(int fd, const unsigned char *p, size_t n, off_t off)
{
	while (n > 0) {
		ssize_t w = pwrite(fd, p, n, off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

/* Makes d's copy of file id, with content want (written, so a full disk
 * is an error here and never a SIGBUS later), and maps it; the copy or
 * NULL. */
static struct ct_copy *
make(struct ct_state *s, struct ct_dir *d, uint32_t id,
	const unsigned char *want)
{
	const struct ct_file *f = &s->files[id];
	char path[PATH_MAX];
	if (join(path, d->path, f->name) != 0) {
		ct_err("%s/%s: %s", d->path, f->name, strerror(errno));
		return NULL;
	}
	void *nc = realloc(d->c, (d->n + 1) * sizeof(*d->c));
	if (nc == NULL)
		return NULL;
	d->c = nc;
	struct ct_copy *c = &d->c[d->n];
	memset(c, 0, sizeof(*c));
	c->file = id;
	c->size = f->size;
	c->name = strdup(f->name);
	c->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		0600);
	struct stat st;
	int bad = c->name == NULL || c->fd < 0 || fchmod(c->fd, 0600) != 0 ||
		pwrite_all(c->fd, want, (size_t)f->size, 0) != 0 ||
		fstat(c->fd, &st) != 0;
	if (!bad && f->size) {
		c->map = mmap(NULL, (size_t)f->size, PROT_READ | PROT_WRITE,
			MAP_SHARED, c->fd, 0);
		if (c->map == MAP_FAILED) {
			c->map = NULL;
			bad = 1;
		}
	}
	if (bad) {
		ct_err("cannot write %s: %s", path, strerror(errno));
		copy_drop(c);
		return NULL;
	}
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	d->n++;
	return c;
}

/* Makes c's content want, then writes the lines of im that belong to it
 * (im may be NULL): only the pages that differ are copied; 0, or -1 when
 * the copy could not be touched (truncated under us). */
static int
patch(struct ct_copy *c, const unsigned char *want, const struct ct_image *im)
{
	if (sigsetjmp(bus_jmp, 1)) {
		bus_armed = 0;
		return -1;
	}
	bus_armed = 1;
	for (uint64_t off = 0; off < c->size; off += CHUNK) {
		size_t n = c->size - off < CHUNK ? (size_t)(c->size - off) :
			CHUNK;
		if (memcmp(c->map + off, want + off, n) != 0)
			memcpy(c->map + off, want + off, n);
	}
	for (uint32_t k = 0; im != NULL && k < im->nlines; k++) {
		const struct pmem__trace_line *l = &im->lines[k];
		if (l->file != c->file || l->off >= c->size)
			continue;
		size_t n = c->size - l->off < PMEM_CACHELINE ?
			(size_t)(c->size - l->off) : PMEM_CACHELINE;
		memcpy(c->map + l->off, l->data, n);
	}
	bus_armed = 0;
	return 0;
}

/* Makes d's copy of file id equal to want plus im's lines: patched when
 * it is still ours, else made again; 0 or -1 (message printed). */
static int
sync_file(struct ct_state *s, struct ct_dir *d, uint32_t id,
	const unsigned char *want, const struct ct_image *im)
{
	uint32_t i;
	for (i = 0; i < d->n && d->c[i].file != id; i++)
		;
	if (i < d->n && patch(&d->c[i], want, im) == 0)
		return 0;
	if (i < d->n) {
		/* a store hit a page that is gone: the file shrank since */
		char path[PATH_MAX];
		int bad = join(path, d->path, d->c[i].name);
		forget(d, i);
		if (bad || ct_rm_tree(path) != 0) {
			ct_err("cannot remove %s: %s", path, strerror(errno));
			return -1;
		}
	}
	struct ct_copy *c = make(s, d, id, want);
	if (c == NULL)
		return -1;
	if (patch(c, want, im) != 0) {
		ct_err("%s/%s: truncated while being written", d->path,
			c->name);
		return -1;
	}
	return 0;
}

/* See crashtest.h. */
int
ct_dir_image(struct ct_state *s, struct ct_dir *d, const struct ct_image *im)
{
	bus_catch();
	if (tidy(s, d) != 0) {
		ct_err("cannot clean %s: %s", d->path, strerror(errno));
		return -1;
	}
	for (uint32_t id = s->file_base; id < s->nfiles; id++)
		if (sync_file(s, d, id, s->files[id].img, im) != 0)
			return -1;
	return 0;
}

/* See crashtest.h. */
int
ct_dir_mirror(struct ct_state *s, struct ct_dir *d, const struct ct_dir *from)
{
	bus_catch();
	if (tidy(s, d) != 0) {
		ct_err("cannot clean %s: %s", d->path, strerror(errno));
		return -1;
	}
	for (uint32_t i = 0; i < from->n; i++)
		if (sync_file(s, d, from->c[i].file, from->c[i].map, NULL) != 0)
			return -1;
	return 0;
}
