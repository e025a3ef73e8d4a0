/*
 * dax.h -- Device DAX facts and region deep flush, answered by libndctl
 * when the library was built with it (dax_ndctl.c), else by sysfs
 * (dax_sysfs.c).  Either way a failed libndctl lookup falls back to sysfs.
 */
#ifndef PMEM_DAX_H
#define PMEM_DAX_H 1

#include <stddef.h>
#include <sys/types.h>

/* 1 if rdev is a Device DAX character device, else 0. */
int pmem__dax_is_devdax(dev_t rdev);

/* Size, alignment and nvdimm region of a Device DAX device; 0 or -1/errno. */
int pmem__dax_info(dev_t rdev, size_t *size, size_t *align,
	unsigned *region_id);

/* Flushes the region's memory-controller buffers; 0 or -1 with errno. */
int pmem__dax_deep_flush(unsigned region_id);

/*
 * Clears the media errors of [offset, offset + len) of the region (bytes
 * from its start) with the bus's clear-error command, through libndctl;
 * 0, or -1 with errno and a message (ENOTSUP without libndctl, ENODEV
 * when no bus has the region, EIO when less was cleared).
 */
int pmem__dax_clear_errors(unsigned region_id, unsigned long long offset,
	unsigned long long len);

/* "libndctl" or "sysfs", for logs and pmem-info. */
extern const char pmem__dax_backend[];

#endif /* PMEM_DAX_H */
