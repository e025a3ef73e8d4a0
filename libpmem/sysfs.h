/*
 * sysfs.h -- what libpmem reads from (and writes to) sysfs: Device DAX
 * devices, nvdimm regions, persistence domains, deep flush.  Every call
 * takes the sysfs root ("/sys" in production) so tests use a fake tree.
 */
#ifndef PMEM_SYSFS_H
#define PMEM_SYSFS_H 1

#include <stddef.h>
#include <sys/types.h>

#define PMEM_SYSFS_ROOT "/sys"

/* 1 if rdev is a Device DAX character device, else 0. */
int pmem__sysfs_is_devdax(const char *root, dev_t rdev);

/* Size and mapping alignment of a Device DAX device; 0 or -1 with errno. */
int pmem__sysfs_devdax_size(const char *root, dev_t rdev, size_t *size);
int pmem__sysfs_devdax_align(const char *root, dev_t rdev, size_t *align);

/* Size, alignment and region of a Device DAX device; 0 or -1 with errno. */
int pmem__sysfs_devdax_info(const char *root, dev_t rdev, size_t *size,
	size_t *align, unsigned *region_id);

/*
 * The nvdimm region id ("regionN" in the device's sysfs path) of a
 * character (is_char) or block device; 0 or -1 with errno (ENOENT when
 * the device is not on an nvdimm region).
 */
int pmem__sysfs_region_id(const char *root, dev_t dev, int is_char,
	unsigned *id);

/* Writes "1" to root/bus/nd/devices/regionN/deep_flush; 0 or -1/errno. */
int pmem__sysfs_deep_flush(const char *root, unsigned region_id);

/*
 * 1 when every region's persistence_domain is "cpu_cache" (eADR), 0 when
 * there is no region or one is not, -1 with errno on a read error.
 */
int pmem__auto_flush_at(const char *root);

#endif /* PMEM_SYSFS_H */
