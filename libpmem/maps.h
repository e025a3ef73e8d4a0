/*
 * maps.h -- the files behind pmem_map_file's mappings (every kind, private
 * ones too): what the SNIA calls need to answer for an address, read
 * without a lock by the SIGBUS handler.
 */
#ifndef PMEM_MAPS_H
#define PMEM_MAPS_H 1

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum pmem__map_kind {
	PMEM_MAP_PAGECACHE,	/* MAP_SHARED through the page cache */
	PMEM_MAP_SYNC,		/* MAP_SYNC on a DAX file system */
	PMEM_MAP_DEVDAX,	/* Device DAX */
};

struct pmem__map {
	uintptr_t base;
	uintptr_t end;		/* one past the last byte */
	enum pmem__map_kind kind;
	int priv;		/* PMEM_FILE_PRIVATE: copy-on-write */
	off_t offset;		/* file offset of base */
	dev_t dev;		/* st_dev and st_ino of the file */
	ino_t ino;
	dev_t rdev;		/* Device DAX: the device */
	size_t dax_align;	/* Device DAX: its mapping unit */
	unsigned region_id;	/* Device DAX: its region */
	char path[PATH_MAX];	/* as given to pmem_map_file */
};

/* Records a mapping; 0, or -1 with errno (ENOMEM). */
int pmem__maps_add(const struct pmem__map *m);

/* Forgets [addr, addr + len), trimming or splitting what crosses it. */
void pmem__maps_remove(uintptr_t addr, size_t len);

/*
 * Copies the mapping that holds all of [addr, addr + len) into *out;
 * 0, or -1 when none does.  Takes the registry's mutex.
 */
int pmem__maps_find(uintptr_t addr, size_t len, struct pmem__map *out);

/*
 * Async-signal-safe: copies the mapping holding addr into *out; 0 or -1.
 * Takes no lock (a sequence count per slot).
 */
int pmem__maps_find_sigsafe(uintptr_t addr, struct pmem__map *out);

#endif /* PMEM_MAPS_H */
