/*
 * map.c -- pmem_map_file and pmem_unmap.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libpmem.h"
#include "common.h"
#include "dax.h"
#include "errormsg.h"
#include "log.h"
#include "maps.h"
#include "mmap.h"
#include "pmemcheck.h"
#include "ranges.h"
#include "track.h"

#define FILE_ALL_FLAGS (PMEM_FILE_CREATE | PMEM_FILE_EXCL | \
	PMEM_FILE_SPARSE | PMEM_FILE_TMPFILE | PMEM_FILE_PRIVATE)
#define DEVDAX_FLAGS (PMEM_FILE_CREATE | PMEM_FILE_SPARSE)

/* What path names, as far as mapping it is concerned. */
struct target {
	int devdax;
	dev_t rdev;
	size_t dax_size, dax_align;
	unsigned region_id;
};

/* Classifies path; a missing file is an ordinary one.  0 or -1/errno. */
static int
classify(const char *path, struct target *t)
{
	struct stat st;

	memset(t, 0, sizeof(*t));
	if (stat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		pmem__err("!stat %s", path);
		return -1;
	}
	if (!S_ISCHR(st.st_mode) || !pmem__dax_is_devdax(st.st_rdev))
		return 0;
	t->devdax = 1;
	t->rdev = st.st_rdev;
	if (pmem__dax_info(st.st_rdev, &t->dax_size, &t->dax_align,
			&t->region_id) != 0) {
		pmem__err("!cannot read the size of Device DAX %s", path);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* Checks flags and len against the rules of pmem_map_file(3). */
static int
check_args(const struct target *t, size_t *len, int *flags)
{
	if (*flags & ~FILE_ALL_FLAGS) {
		pmem__err("invalid flag specified %x", *flags);
		goto inval;
	}
	if (t->devdax) {
		if (*flags & ~DEVDAX_FLAGS) {
			pmem__err("flag unsupported for Device DAX %x",
				*flags);
			goto inval;
		}
		if (*len != 0 && *len != t->dax_size) {
			pmem__err("Device DAX length must be either 0 or "
				"the exact size of the device: %zu",
				t->dax_size);
			goto inval;
		}
		*flags = 0;
		*len = 0;
	}
	if ((*flags & PMEM_FILE_CREATE) && (off_t)*len < 0) {
		pmem__err("invalid file length %zu", *len);
		goto inval;
	}
	if (*len != 0 && !(*flags & PMEM_FILE_CREATE)) {
		pmem__err("non-zero 'len' not allowed without "
			"PMEM_FILE_CREATE");
		goto inval;
	}
	if (*len == 0 && (*flags & PMEM_FILE_CREATE)) {
		pmem__err("zero 'len' not allowed with PMEM_FILE_CREATE");
		goto inval;
	}
	if ((*flags & PMEM_FILE_TMPFILE) && !(*flags & PMEM_FILE_CREATE)) {
		pmem__err("PMEM_FILE_TMPFILE not allowed without "
			"PMEM_FILE_CREATE");
		goto inval;
	}
	return 0;
inval:
	errno = EINVAL;
	return -1;
}

/* An unnamed file in directory dir: O_TMPFILE, else mkstemp + unlink. */
static int
open_tmpfile(const char *dir, int excl)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC | (excl ? O_EXCL : 0),
		S_IRUSR | S_IWUSR);
	if (fd >= 0)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR) {
		pmem__err("!cannot create temporary file in %s", dir);
		return -1;
	}

	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/pmem.XXXXXX", dir) >=
			(int)sizeof(path)) {
		errno = ENAMETOOLONG;
		pmem__err("!cannot create temporary file in %s", dir);
		return -1;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		pmem__err("!mkstemp %s", path);
		return -1;
	}
	(void)unlink(path);
	return fd;
}

/* Sets the file's length (and allocates its blocks unless sparse). */
static int
size_file(int fd, size_t len, int flags)
{
	if (ftruncate(fd, (off_t)len) != 0) {
		pmem__err("!ftruncate");
		return -1;
	}
	if (!(flags & PMEM_FILE_SPARSE)) {
		int e = posix_fallocate(fd, 0, (off_t)len);
		if (e != 0) {
			errno = e;
			pmem__err("!posix_fallocate");
			return -1;
		}
	}
	return 0;
}

/* Length of an existing file; -1 with errno when unusable. */
static ssize_t
file_size(int fd, const char *path)
{
	struct stat st;
	if (fstat(fd, &st) != 0) {
		pmem__err("!fstat %s", path);
		return -1;
	}
	if (st.st_size < 0) {
		pmem__err("stat %s: negative size", path);
		errno = EINVAL;
		return -1;
	}
	return (ssize_t)st.st_size;
}

/* Records the mapping for the SNIA calls (attributes, error events). */
static void
register_map(int fd, void *addr, size_t len, const struct target *t,
	const char *path, int flags, int is_sync)
{
	struct pmem__map m = {
		.base = (uintptr_t)addr,
		.end = (uintptr_t)addr + len,
		.kind = t->devdax ? PMEM_MAP_DEVDAX :
			is_sync ? PMEM_MAP_SYNC : PMEM_MAP_PAGECACHE,
		.priv = (flags & PMEM_FILE_PRIVATE) != 0,
		.rdev = t->rdev,
		.dax_align = t->dax_align,
		.region_id = t->region_id,
	};
	struct stat st;
	if (fstat(fd, &st) == 0) {
		m.dev = st.st_dev;
		m.ino = st.st_ino;
	}
	snprintf(m.path, sizeof(m.path), "%s", path);
	/* without a slot the mapping still works; only the SNIA calls
	 * will not know it */
	if (pmem__maps_add(&m) != 0)
		pmem__log(1, "cannot register mapping of %s: %s", path,
			strerror(errno));
}

/* Maps fd and records it when it is persistent memory; NULL on error. */
static void *
map_and_track(int fd, size_t len, const struct target *t, const char *path,
	int flags)
{
	int is_sync;
	int priv = (flags & PMEM_FILE_PRIVATE) != 0;
	size_t align = t->devdax ? t->dax_align : pmem__mmap_align_for(len);
	void *addr = pmem__mmap_aligned(fd, len, align,
		priv ? PMEM_MAP_PRIVATE : 0, &is_sync);
	if (addr == NULL)
		return NULL;
	if (priv)
		is_sync = 0;

	if (t->devdax || is_sync) {
		struct pmem__range r = {
			.base = (uintptr_t)addr,
			.end = (uintptr_t)addr + len,
			.type = t->devdax ? PMEM_RANGE_DEVDAX :
				PMEM_RANGE_MAP_SYNC,
			.has_region = t->devdax,
			.region_id = t->region_id,
			.fd = -1,
		};
		if (pmem__ranges_add(&r) != 0) {
			pmem__err("!cannot track mapping of %s", path);
			munmap(addr, len);
			return NULL;
		}
	}
	register_map(fd, addr, len, t, path, flags, is_sync);
	pmem__log(3, "mapped %s at %p, %zu bytes, %s", path, addr, len,
		t->devdax ? "Device DAX" : is_sync ? "MAP_SYNC" :
		priv ? "MAP_PRIVATE" : "MAP_SHARED");
	return addr;
}

/* Opens (or creates) the file, sizes it and maps it; see pmem_map_file(3). */
PMEM_EXPORT void *
pmem_map_file(const char *path, size_t len, int flags, mode_t mode,
	size_t *mapped_lenp, int *is_pmemp)
{
	struct target t;
	int fd, oerrno, delete_on_err = 0;
	int oflags = O_RDWR | O_CLOEXEC;

	if (path == NULL) {
		pmem__err("path is NULL");
		errno = EINVAL;
		return NULL;
	}
	if (classify(path, &t) != 0 || check_args(&t, &len, &flags) != 0)
		return NULL;

	if (flags & PMEM_FILE_CREATE)
		oflags |= O_CREAT;
	else if (flags & PMEM_FILE_PRIVATE)
		oflags = O_RDONLY | O_CLOEXEC;	/* stores never reach it */
	if (flags & PMEM_FILE_EXCL)
		oflags |= O_EXCL;

	if (flags & PMEM_FILE_TMPFILE) {
		fd = open_tmpfile(path, flags & PMEM_FILE_EXCL);
		if (fd < 0)
			return NULL;
	} else {
		fd = open(path, oflags, mode);
		if (fd < 0) {
			pmem__err("!open %s", path);
			return NULL;
		}
		delete_on_err = (flags & PMEM_FILE_CREATE) &&
			(flags & PMEM_FILE_EXCL);
	}

	if (flags & PMEM_FILE_CREATE) {
		if (size_file(fd, len, flags) != 0)
			goto err;
	} else if (t.devdax) {
		len = t.dax_size;
	} else {
		ssize_t n = file_size(fd, path);
		if (n < 0)
			goto err;
		len = (size_t)n;
	}

	void *addr = map_and_track(fd, len, &t, path, flags);
	if (addr == NULL)
		goto err;
	if (pmem__unlikely(pmem__tracking))
		pmem__track_mapped(addr, len);
	if (mapped_lenp != NULL)
		*mapped_lenp = len;
	if (is_pmemp != NULL)
		*is_pmemp = pmem_is_pmem(addr, len);
	PMEM__PMC_REGISTER(fd, addr, len);
	close(fd);
	return addr;
err:
	oerrno = errno;
	close(fd);
	if (delete_on_err)
		(void)unlink(path);
	errno = oerrno;
	return NULL;
}

/* Unmaps a range (whole or part of a mapping) and forgets it. */
PMEM_EXPORT int
pmem_unmap(void *addr, size_t len)
{
	int ret = pmem__ranges_munmap(addr, len);
	int oerrno = errno;
	PMEM__PMC_REMOVE(addr, len);
	if (ret != 0) {
		errno = oerrno;
		pmem__err("!munmap");
		return -1;
	}
	pmem__maps_remove((uintptr_t)addr, len);
	return 0;
}
