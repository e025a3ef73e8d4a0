/*
 * mmap.h -- maps a file at an aligned address, MAP_SYNC when possible.
 */
#ifndef PMEM_MMAP_H
#define PMEM_MMAP_H 1

#include <stddef.h>

#define PMEM_MAP_PRIVATE 1	/* copy-on-write mapping (fit mode) */

/*
 * Maps len bytes of fd from offset 0, read/write, at an address aligned to
 * align (a power of two): at PMEM_MMAP_HINT if set and free, otherwise
 * inside a reservation of len + align bytes, so the chosen range cannot be
 * taken by another thread before the file is mapped there.  Shared
 * mappings try MAP_SHARED_VALIDATE|MAP_SYNC first; *is_sync says whether
 * that worked.  Returns the address, or NULL with errno and a message.
 */
void *pmem__mmap_aligned(int fd, size_t len, size_t align, int flags,
	int *is_sync);

/* The alignment pmem_map_file uses for an ordinary file of len bytes. */
size_t pmem__mmap_align_for(size_t len);

#endif /* PMEM_MMAP_H */
