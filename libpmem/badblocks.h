/*
 * badblocks.h -- the pieces of bad-block listing, for tests: the sysfs
 * list, and its translation through a file's extents.
 */
#ifndef PMEM_BADBLOCKS_H
#define PMEM_BADBLOCKS_H 1

#include <stddef.h>
#include <stdint.h>

#include "libpmem.h"

/* A growable list of byte ranges. */
struct pmem__bblist {
	struct pmem_badblock *v;
	size_t n, cap;
};

/* Appends [off, off + len); 0 or -1 with errno (ENOMEM). */
int pmem__bblist_add(struct pmem__bblist *l, uint64_t off, uint64_t len);

/* Frees the list. */
void pmem__bblist_free(struct pmem__bblist *l);

/*
 * Reads a sysfs "badblocks" file ("first-sector count" lines, 512-byte
 * sectors) into byte ranges.  A missing file is an empty list.  0, or -1
 * with errno and a message.
 */
int pmem__badblocks_read(const char *path, struct pmem__bblist *out);

/* One extent of a file: where its bytes are on the block device. */
struct pmem__extent {
	uint64_t logical, physical, length;
};

/*
 * Appends to out the file ranges that the device ranges in dev (bytes
 * from the start of the file system's device) fall on, through the
 * file's extents.  0 or -1 with errno.
 */
int pmem__badblocks_map(const struct pmem__bblist *dev,
	const struct pmem__extent *ext, size_t next, struct pmem__bblist *out);

/* Lists the bad ranges of the open file or Device DAX fd (sysfs root). */
int pmem__badblocks_fd(const char *root, int fd, struct pmem__bblist *out);

#endif /* PMEM_BADBLOCKS_H */
