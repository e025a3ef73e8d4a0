/*
 * attrs.h -- the NVM.PM.FILE attributes of a mapping, computed against a
 * sysfs root and a procfs root so that tests can use fake trees.
 */
#ifndef PMEM_ATTRS_H
#define PMEM_ATTRS_H 1

#include "libpmem.h"
#include "maps.h"

#define PMEM_PROC_ROOT "/proc"

/*
 * Fills *a (its size field already checked and set) for [addr, addr +
 * len), which lies in mapping m.
 */
void pmem__attrs_fill(const char *sysroot, const char *procroot,
	const struct pmem__map *m, uintptr_t addr, size_t len,
	struct pmem_attrs *a);

#endif /* PMEM_ATTRS_H */
