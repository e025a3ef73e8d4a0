/*
 * mmap.c -- aligned file mappings with MAP_SYNC, shared by pmem_map_file
 * and the 0.8 pmem_map.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "errormsg.h"
#include "log.h"
#include "mmap.h"
#include "ops.h"

#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define MIB ((size_t)1 << 20)
#define GIB ((size_t)1 << 30)

/* See mmap.h: 1 GiB pages for large files, 2 MiB otherwise. */
size_t
pmem__mmap_align_for(size_t len)
{
	return len >= 2 * GIB ? GIB : 2 * MIB;
}

/*
 * Maps the file at addr with the given placement flag (MAP_FIXED inside
 * our reservation, MAP_FIXED_NOREPLACE at a hint).
 */
static void *
map_at(void *addr, int fd, size_t len, int flags, int place, int *is_sync)
{
	void *p;
	*is_sync = 0;
	if (flags & PMEM_MAP_PRIVATE)
		return mmap(addr, len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | place, fd, 0);

	p = mmap(addr, len, PROT_READ | PROT_WRITE,
		MAP_SHARED_VALIDATE | MAP_SYNC | place, fd, 0);
	if (p != MAP_FAILED) {
		*is_sync = 1;
		return p;
	}
	if (errno != EINVAL && errno != EOPNOTSUPP)
		return MAP_FAILED;
	return mmap(addr, len, PROT_READ | PROT_WRITE, MAP_SHARED | place,
		fd, 0);
}

/* Skips the rest of a line of f longer than a buffer. */
static void
skip_line(FILE *f)
{
	int c;
	while ((c = getc(f)) != EOF && c != '\n')
		;
}

/*
 * The first address at or above from, a multiple of align, where len
 * bytes are unmapped in this process (per /proc/self/maps, sorted by
 * address), or 0.  This is what PMDK does with PMEM_MMAP_HINT: every
 * mapping goes to the first free range above the hint, not only the
 * first one.
 */
static uintptr_t
first_free_above(uintptr_t from, size_t len, size_t align)
{
	FILE *f = fopen("/proc/self/maps", "re");
	if (f == NULL)
		return 0;
	uintptr_t cand = (from + align - 1) & ~(uintptr_t)(align - 1);
	char line[256];
	if (cand < from)
		cand = 0;
	while (cand != 0 && fgets(line, sizeof(line), f) != NULL) {
		if (strchr(line, '\n') == NULL)
			skip_line(f);
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		if (hi <= cand)
			continue;
		if (lo >= cand && lo - cand >= len)
			break;			/* the gap before this one fits */
		uintptr_t next = ((uintptr_t)hi + align - 1) &
			~(uintptr_t)(align - 1);
		cand = next < hi ? 0 : next;
	}
	fclose(f);
	if (cand != 0 && cand + len < cand)
		cand = 0;
	return cand;
}

/*
 * Maps at the first free range above the PMEM_MMAP_HINT address (rounded
 * up to align); NULL (and a log line) when there is none or the kernel
 * refuses it, so that the caller lets the kernel choose.
 */
static void *
map_at_hint(int fd, size_t len, size_t align, int flags, int *is_sync)
{
	uintptr_t from = pmem__opts.mmap_hint;
	/* another thread may take the range between the look and the map */
	for (int tries = 0; tries < 8; tries++) {
		uintptr_t at = first_free_above(from, len, align);
		if (at == 0)
			break;
		void *p = map_at((void *)at, fd, len, flags,
			MAP_FIXED_NOREPLACE, is_sync);
		if (p != MAP_FAILED && (uintptr_t)p == at)
			return p;
		if (p != MAP_FAILED)	/* a kernel without NOREPLACE */
			munmap(p, len);
		else if (errno != EEXIST)
			break;
		from = at + align;
	}
	pmem__log(3, "PMEM_MMAP_HINT %p: no usable range above it, "
		"choosing another", (void *)pmem__opts.mmap_hint);
	return NULL;
}

/* See mmap.h. */
void *
pmem__mmap_aligned(int fd, size_t len, size_t align, int flags,
	int *is_sync)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t mlen = (len + page - 1) & ~(page - 1);

	if (align < page)
		align = page;
	if (pmem__opts.mmap_hint != 0) {
		void *p = map_at_hint(fd, mlen, align, flags, is_sync);
		if (p != NULL)
			return p;
	}
	if (mlen + align < mlen) {
		errno = ENOMEM;
		pmem__err("!mmap: length %zu too large", len);
		return NULL;
	}

	char *res = mmap(NULL, mlen + align, PROT_NONE,
		MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED) {
		pmem__err("!mmap: cannot reserve %zu bytes", mlen + align);
		return NULL;
	}
	char *base = (char *)(((uintptr_t)res + align - 1) & ~(align - 1));
	void *p = map_at(base, fd, mlen, flags, MAP_FIXED, is_sync);
	if (p == MAP_FAILED) {
		int oerrno = errno;
		munmap(res, mlen + align);
		errno = oerrno;
		pmem__err("!mmap");
		return NULL;
	}
	if (base > res)
		munmap(res, (size_t)(base - res));
	if (res + mlen + align > base + mlen)
		munmap(base + mlen, (size_t)(res + mlen + align - (base + mlen)));
	return base;
}
