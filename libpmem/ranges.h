/*
 * ranges.h -- the tracker of mappings this library made: what kind of
 * memory each is (MAP_SYNC, Device DAX, fit-mode private copy).
 */
#ifndef PMEM_RANGES_H
#define PMEM_RANGES_H 1

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum pmem__range_type {
	PMEM_RANGE_MAP_SYNC,	/* file on a DAX file system, MAP_SYNC */
	PMEM_RANGE_DEVDAX,	/* Device DAX character device */
	PMEM_RANGE_FIT,		/* 0.8 fit mode: MAP_PRIVATE + pwrite */
};

struct pmem__range {
	uintptr_t base;
	uintptr_t end;		/* one past the last byte */
	enum pmem__range_type type;
	int has_region;		/* region_id is known (Device DAX) */
	unsigned region_id;
	int fd;			/* fit mode: the file, else -1 */
	off_t offset;		/* fit mode: file offset of base */
};

/* Records a mapping; 0, or -1 with errno (ENOMEM). */
int pmem__ranges_add(const struct pmem__range *r);

/*
 * Forgets [addr, addr + len): ranges inside are dropped, ranges across
 * the ends are trimmed or split.  Fit-mode files are closed with the last
 * piece that refers to them.  Returns 0, or -1 with errno (ENOMEM).
 */
int pmem__ranges_remove(uintptr_t addr, size_t len);

/* munmap, then forget the range; 0 or -1 with errno. */
int pmem__ranges_munmap(void *addr, size_t len);

/*
 * Calls fn for each piece of [addr, addr + len) in address order: with the
 * tracked range that covers the piece, or NULL for an untracked gap.  Stops
 * at the first non-zero return and returns it.  fn runs under a read lock:
 * it must not add or remove ranges.
 */
typedef int (*pmem__range_fn)(const struct pmem__range *r, uintptr_t addr,
	size_t len, void *arg);
int pmem__ranges_walk(uintptr_t addr, size_t len, pmem__range_fn fn,
	void *arg);

/*
 * Writes the cache lines covering [addr, addr + len) of a fit-mode range
 * into its file, one pwrite per line in address order, the last line cut
 * at the range's end (legacy.c); 0, or -1 with errno and a message, the
 * lines before the failing one written.
 */
int pmem__fit_write(const struct pmem__range *r, uintptr_t addr, size_t len);

/* Number of tracked ranges (cheap, for fast paths). */
size_t pmem__ranges_count(void);

/* Frees the tracker (library unload). */
void pmem__ranges_fini(void);

#endif /* PMEM_RANGES_H */
