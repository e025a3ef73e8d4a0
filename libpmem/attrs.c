/*
 * attrs.c -- pmem_get_attrs: the attributes SNIA NVM.PM.FILE defines for a
 * mapped range, answered from what the mapping is and what sysfs says.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "libpmem.h"
#include "attrs.h"
#include "common.h"
#include "errormsg.h"
#include "sysfs.h"

/* x86-64: an aligned 8-byte store is never seen torn, even by a crash. */
#define STORE_ATOMICITY 8

/* The unit a media error takes out of a mapping of kind m. */
static size_t
error_range(const char *sysroot, const struct pmem__map *m)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	char dir[PATH_MAX], path[PATH_MAX + 32];
	unsigned long long start, v;

	/* Device DAX loses its whole mapping unit (a PMD for 2 MiB) */
	if (m->kind == PMEM_MAP_DEVDAX)
		return m->dax_align > page ? m->dax_align : page;
	if (m->kind == PMEM_MAP_SYNC &&
	    pmem__sysfs_block_disk(sysroot, m->dev, dir, sizeof(dir),
			&start) == 0) {
		snprintf(path, sizeof(path), "%s/queue/physical_block_size",
			dir);
		if (pmem__sysfs_read_num(path, &v) == 0 && v > page &&
		    (v & (v - 1)) == 0)
			return (size_t)v;
	}
	return page;
}

/* 1 when the kernel turns machine checks into SIGBUS (MEMORY_FAILURE). */
static int
events_possible(const char *procroot)
{
	char path[PATH_MAX];
	unsigned long long v;
	snprintf(path, sizeof(path), "%s/sys/vm/memory_failure_recovery",
		procroot);
	return pmem__sysfs_read_num(path, &v) == 0 && v != 0;
}

/* Whether a deep flush of the mapping reaches the device. */
static int
deep_capable(const char *sysroot, const struct pmem__map *m)
{
	if (m->priv)
		return 0;
	if (m->kind == PMEM_MAP_DEVDAX)
		return pmem__sysfs_has_deep_flush(sysroot, m->region_id);
	return 1;	/* msync: the file system's flush to its device */
}

/* See attrs.h. */
void
pmem__attrs_fill(const char *sysroot, const char *procroot,
	const struct pmem__map *m, uintptr_t addr, size_t len,
	struct pmem_attrs *a)
{
	int pmem = !m->priv && pmem_is_pmem((const void *)addr, len);

	a->interrupted_store_atomicity = STORE_ATOMICITY;
	if (!pmem)
		a->persistence_domain = PMEM_DOMAIN_NONE;
	else if (pmem__auto_flush_at(sysroot) == 1)
		a->persistence_domain = PMEM_DOMAIN_CPU_CACHE;
	else
		a->persistence_domain = PMEM_DOMAIN_MEMORY_CONTROLLER;
	a->optimized_flush_capable = pmem;
	a->optimized_flush_and_verify_capable = pmem;
	a->deep_flush_capable = deep_capable(sysroot, m);
	a->map_copy_on_write_capable = m->kind != PMEM_MAP_DEVDAX;
	a->copy_on_write = m->priv;
	a->error_event_capable = events_possible(procroot);
	size_t r = error_range(sysroot, m);
	a->fundamental_error_range = r;
	a->fundamental_error_range_offset = (r - addr % r) % r;
}

/* The attributes of a range inside one mapping of pmem_map_file. */
PMEM_EXPORT int
pmem_get_attrs(const void *addr, size_t len, struct pmem_attrs *attrs)
{
	struct pmem__map m;

	if (attrs == NULL || attrs->size < sizeof(*attrs)) {
		errno = EINVAL;
		pmem__err("attrs is NULL or its size field is below %zu",
			sizeof(*attrs));
		return -1;
	}
	if (len == 0 ||
	    pmem__maps_find((uintptr_t)addr, len, &m) != 0) {
		errno = EINVAL;
		pmem__err("%p, %zu bytes, is not inside one mapping made by "
			"pmem_map_file", addr, len);
		return -1;
	}
	size_t size = attrs->size;
	memset(attrs, 0, size);
	attrs->size = sizeof(*attrs);
	pmem__attrs_fill(PMEM_SYSFS_ROOT, PMEM_PROC_ROOT, &m,
		(uintptr_t)addr, len, attrs);
	return 0;
}
