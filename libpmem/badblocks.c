/*
 * badblocks.c -- the known bad ranges of a file or Device DAX, and their
 * clearing.
 *
 * The kernel lists the bad sectors it knows in sysfs: per namespace block
 * device (/sys/block/pmemN/badblocks, relative to the disk) and per region
 * (regionN/badblocks, relative to the region).  For a file on fs-dax the
 * sectors become file offsets through the file's extents (FIEMAP); for a
 * Device DAX through the device's place in its region.  A file's bad
 * blocks are cleared as PMDK's pmempool does: the blocks are given back to
 * the file system (hole punch) and allocated again, which writes them
 * (zeroed) and so clears the poison.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "badblocks.h"
#include "common.h"
#include "dax.h"
#include "errormsg.h"
#include "sysfs.h"

#define SECTOR 512ull
#define FIEMAP_BATCH 64
#define BADBLOCKS_MAX_BYTES (1u << 20)

/* See badblocks.h. */
int
pmem__bblist_add(struct pmem__bblist *l, uint64_t off, uint64_t len)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *v = realloc(l->v, cap * sizeof(*l->v));
		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].offset = off;
	l->v[l->n].length = len;
	l->n++;
	return 0;
}

/* See badblocks.h. */
void
pmem__bblist_free(struct pmem__bblist *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Reads all of a small file into a NUL-terminated malloc'ed buffer. */
static char *
slurp(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	ssize_t r = 0;
	while (buf != NULL && (r = read(fd, buf + n, cap - n - 1)) > 0) {
		n += (size_t)r;
		if (n + 1 == cap && cap < BADBLOCKS_MAX_BYTES) {
			char *b = realloc(buf, cap * 2);
			if (b == NULL) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = b;
			cap *= 2;
		} else if (n + 1 == cap) {
			r = -1;
			errno = EFBIG;
			break;
		}
	}
	int oerrno = errno;
	close(fd);
	if (buf == NULL || r < 0) {
		free(buf);
		errno = buf == NULL ? ENOMEM : oerrno;
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* See badblocks.h. */
int
pmem__badblocks_read(const char *path, struct pmem__bblist *out)
{
	char *buf = slurp(path);
	if (buf == NULL) {
		if (errno == ENOENT)
			return 0;
		pmem__err("!cannot read %s", path);
		return -1;
	}
	int ret = 0;
	for (char *line = buf, *next; *line != '\0'; line = next) {
		next = strchr(line, '\n');
		next = next ? next + 1 : line + strlen(line);
		char *end;
		errno = 0;
		unsigned long long s = strtoull(line, &end, 10);
		unsigned long long c = strtoull(end, &end, 10);
		while (*end == ' ' || *end == '\t')
			end++;
		if (errno != 0 || (*end != '\n' && *end != '\0') || c == 0 ||
		    s > UINT64_MAX / SECTOR / 2 || c > UINT64_MAX / SECTOR / 2) {
			errno = EINVAL;
			pmem__err("malformed line in %s", path);
			ret = -1;
			break;
		}
		if (pmem__bblist_add(out, s * SECTOR, c * SECTOR) != 0) {
			pmem__err("!cannot list bad blocks");
			ret = -1;
			break;
		}
	}
	free(buf);
	return ret;
}

/* See badblocks.h. */
int
pmem__badblocks_map(const struct pmem__bblist *dev,
	const struct pmem__extent *ext, size_t next, struct pmem__bblist *out)
{
	for (size_t i = 0; i < dev->n; i++) {
		uint64_t lo = dev->v[i].offset, hi = lo + dev->v[i].length;
		for (size_t e = 0; e < next; e++) {
			uint64_t plo = ext[e].physical;
			uint64_t phi = plo + ext[e].length;
			uint64_t a = lo > plo ? lo : plo;
			uint64_t b = hi < phi ? hi : phi;
			if (a >= b)
				continue;
			if (pmem__bblist_add(out, ext[e].logical + (a - plo),
					b - a) != 0)
				return -1;
		}
	}
	return 0;
}

/* The extents of fd with a known place on the device; 0 or -1/errno. */
static int
file_extents(int fd, struct pmem__extent **ext, size_t *n)
{
	size_t sz = sizeof(struct fiemap) +
		FIEMAP_BATCH * sizeof(struct fiemap_extent);
	struct fiemap *fm = malloc(sz);
	size_t cap = 0;
	uint64_t start = 0;
	int last = 0;

	*ext = NULL;
	*n = 0;
	while (fm != NULL && !last) {
		memset(fm, 0, sz);
		fm->fm_start = start;
		fm->fm_length = FIEMAP_MAX_OFFSET - start;
		fm->fm_flags = FIEMAP_FLAG_SYNC;
		fm->fm_extent_count = FIEMAP_BATCH;
		if (ioctl(fd, FS_IOC_FIEMAP, fm) != 0)
			goto fail;
		if (fm->fm_mapped_extents == 0)
			break;
		for (unsigned i = 0; i < fm->fm_mapped_extents; i++) {
			const struct fiemap_extent *fe = &fm->fm_extents[i];
			last = (fe->fe_flags & FIEMAP_EXTENT_LAST) != 0;
			start = fe->fe_logical + fe->fe_length;
			if (fe->fe_flags & (FIEMAP_EXTENT_UNKNOWN |
					FIEMAP_EXTENT_DELALLOC |
					FIEMAP_EXTENT_DATA_INLINE))
				continue;
			if (*n == cap) {
				cap = cap ? cap * 2 : 16;
				void *v = realloc(*ext, cap * sizeof(**ext));
				if (v == NULL)
					goto fail;
				*ext = v;
			}
			(*ext)[*n].logical = fe->fe_logical;
			(*ext)[*n].physical = fe->fe_physical;
			(*ext)[*n].length = fe->fe_length;
			(*n)++;
		}
	}
	if (fm == NULL)
		goto fail;
	free(fm);
	return 0;
fail:;
	int oerrno = fm == NULL ? ENOMEM : errno;
	free(fm);
	free(*ext);
	*ext = NULL;
	errno = oerrno;
	return -1;
}

/* Bad ranges of a regular file on the block device st->st_dev. */
static int
file_badblocks(const char *root, int fd, const struct stat *st,
	struct pmem__bblist *out)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	unsigned long long start;
	struct pmem__bblist dev = { 0 };
	struct pmem__extent *ext;
	size_t next;

	if (pmem__sysfs_block_disk(root, st->st_dev, dir, sizeof(dir),
			&start) != 0)
		return 0;	/* not on a block device: nothing known */
	snprintf(path, sizeof(path), "%s/badblocks", dir);
	if (pmem__badblocks_read(path, &dev) != 0)
		return -1;
	/* relative to the partition the file system is on */
	for (size_t i = 0; i < dev.n; i++) {
		uint64_t lo = dev.v[i].offset, hi = lo + dev.v[i].length;
		lo = lo > start ? lo - start : 0;
		hi = hi > start ? hi - start : 0;
		dev.v[i].offset = lo;
		dev.v[i].length = hi - lo;
	}
	if (dev.n == 0)
		return 0;
	if (file_extents(fd, &ext, &next) != 0) {
		pmem__err("!cannot read the extents of the file (FIEMAP)");
		pmem__bblist_free(&dev);
		return -1;
	}
	int ret = pmem__badblocks_map(&dev, ext, next, out);
	if (ret != 0)
		pmem__err("!cannot list bad blocks");
	free(ext);
	pmem__bblist_free(&dev);
	return ret;
}

/* Bad ranges of Device DAX rdev (size bytes), from its region's list. */
static int
devdax_badblocks(const char *root, dev_t rdev, struct pmem__bblist *out)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	unsigned long long off;
	size_t size;
	struct pmem__bblist reg = { 0 };

	if (pmem__sysfs_devdax_size(root, rdev, &size) != 0 ||
	    pmem__sysfs_devdax_region(root, rdev, dir, sizeof(dir),
			&off) != 0) {
		pmem__err("!cannot find the region of Device DAX %u:%u",
			major(rdev), minor(rdev));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/badblocks", dir);
	if (pmem__badblocks_read(path, &reg) != 0)
		return -1;
	int ret = 0;
	for (size_t i = 0; i < reg.n && ret == 0; i++) {
		uint64_t lo = reg.v[i].offset, hi = lo + reg.v[i].length;
		lo = lo > off ? lo - off : 0;
		hi = hi > off ? hi - off : 0;
		if (hi > size)
			hi = size;
		if (lo < hi && pmem__bblist_add(out, lo, hi - lo) != 0) {
			pmem__err("!cannot list bad blocks");
			ret = -1;
		}
	}
	pmem__bblist_free(&reg);
	return ret;
}

/* See badblocks.h. */
int
pmem__badblocks_fd(const char *root, int fd, struct pmem__bblist *out)
{
	struct stat st;
	if (fstat(fd, &st) != 0) {
		pmem__err("!fstat");
		return -1;
	}
	if (S_ISREG(st.st_mode))
		return file_badblocks(root, fd, &st, out);
	if (S_ISCHR(st.st_mode) && pmem__sysfs_is_devdax(root, st.st_rdev))
		return devdax_badblocks(root, st.st_rdev, out);
	errno = EINVAL;
	pmem__err("not a regular file or a Device DAX");
	return -1;
}

/* Lists the known bad ranges of path; see pmem_badblocks_get(3). */
PMEM_EXPORT ssize_t
pmem_badblocks_get(const char *path, struct pmem_badblock *bbs, size_t nbbs)
{
	struct pmem__bblist l = { 0 };

	if (path == NULL || (bbs == NULL && nbbs != 0)) {
		errno = EINVAL;
		pmem__err("path is NULL, or bbs is NULL with nbbs %zu", nbbs);
		return -1;
	}
	/* O_NONBLOCK: a FIFO someone put there must not hang the call */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		pmem__err("!open %s", path);
		return -1;
	}
	int ret = pmem__badblocks_fd(PMEM_SYSFS_ROOT, fd, &l);
	close(fd);
	if (ret != 0)
		return -1;
	for (size_t i = 0; i < l.n && i < nbbs; i++)
		bbs[i] = l.v[i];
	ssize_t n = (ssize_t)l.n;
	pmem__bblist_free(&l);
	return n;
}

/* Gives the blocks of [off, off + len) back and allocates them again. */
static int
reallocate(int fd, uint64_t off, uint64_t len, const struct stat *st)
{
	uint64_t bs = st->st_blksize > 0 ? (uint64_t)st->st_blksize : 4096;
	uint64_t lo = off / bs * bs;
	uint64_t hi = (off + len + bs - 1) / bs * bs;
	if (hi > (uint64_t)st->st_size)
		hi = (uint64_t)st->st_size;
	if (lo >= hi)
		return 0;
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			(off_t)lo, (off_t)(hi - lo)) != 0) {
		pmem__err("!cannot punch [%llu, %llu)",
			(unsigned long long)lo, (unsigned long long)hi);
		return -1;
	}
	if (fallocate(fd, 0, (off_t)lo, (off_t)(hi - lo)) != 0) {
		pmem__err("!cannot allocate [%llu, %llu) again",
			(unsigned long long)lo, (unsigned long long)hi);
		return -1;
	}
	return 0;
}

/* Clears the given ranges of the file open as fd. */
static int
clear_file(int fd, const struct pmem_badblock *bbs, size_t n)
{
	struct stat st;
	if (fstat(fd, &st) != 0) {
		pmem__err("!fstat");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (bbs[i].length == 0 || bbs[i].offset >= (uint64_t)st.st_size ||
		    bbs[i].length > (uint64_t)st.st_size - bbs[i].offset) {
			errno = EINVAL;
			pmem__err("bad block %zu [%llu, +%llu) is outside the "
				"file", i, (unsigned long long)bbs[i].offset,
				(unsigned long long)bbs[i].length);
			return -1;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (reallocate(fd, bbs[i].offset, bbs[i].length, &st) != 0)
			return -1;
	if (fsync(fd) != 0) {
		pmem__err("!fsync");
		return -1;
	}
	return 0;
}

/* Clears the given ranges of Device DAX rdev with its bus's clear-error
 * command (libndctl). */
static int
clear_devdax(dev_t rdev, const struct pmem_badblock *bbs, size_t n)
{
	char dir[PATH_MAX];
	unsigned long long off;
	size_t size;
	unsigned id;

	if (pmem__sysfs_devdax_size(PMEM_SYSFS_ROOT, rdev, &size) != 0 ||
	    pmem__sysfs_region_id(PMEM_SYSFS_ROOT, rdev, 1, &id) != 0 ||
	    pmem__sysfs_devdax_region(PMEM_SYSFS_ROOT, rdev, dir, sizeof(dir),
			&off) != 0) {
		pmem__err("!cannot find the region of Device DAX %u:%u",
			major(rdev), minor(rdev));
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (bbs[i].length == 0 || bbs[i].offset >= size ||
		    bbs[i].length > size - bbs[i].offset) {
			errno = EINVAL;
			pmem__err("bad block %zu [%llu, +%llu) is outside the "
				"device", i, (unsigned long long)bbs[i].offset,
				(unsigned long long)bbs[i].length);
			return -1;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (pmem__dax_clear_errors(id, off + bbs[i].offset,
				bbs[i].length) != 0)
			return -1;
	return 0;
}

/* Clears bad ranges of path (NULL: all known); see pmem_badblocks_get(3). */
PMEM_EXPORT int
pmem_badblocks_clear(const char *path, const struct pmem_badblock *bbs,
	size_t nbbs)
{
	struct pmem__bblist l = { 0 };
	struct stat st;
	int ret = -1;

	if (path == NULL || (bbs == NULL && nbbs != 0)) {
		errno = EINVAL;
		pmem__err("path is NULL, or bbs is NULL with nbbs %zu", nbbs);
		return -1;
	}
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		pmem__err("!open %s", path);
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		pmem__err("!fstat %s", path);
		goto out;
	}
	int devdax = S_ISCHR(st.st_mode) &&
		pmem__sysfs_is_devdax(PMEM_SYSFS_ROOT, st.st_rdev);
	if (!S_ISREG(st.st_mode) && !devdax) {
		errno = EINVAL;
		pmem__err("%s: not a regular file or a Device DAX", path);
		goto out;
	}
	if (bbs == NULL) {
		if (pmem__badblocks_fd(PMEM_SYSFS_ROOT, fd, &l) != 0)
			goto out;
		bbs = l.v;
		nbbs = l.n;
	}
	ret = devdax ? clear_devdax(st.st_rdev, bbs, nbbs) :
		clear_file(fd, bbs, nbbs);
out:;
	int oerrno = errno;
	close(fd);
	pmem__bblist_free(&l);
	errno = oerrno;
	return ret;
}
