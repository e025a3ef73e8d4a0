/*
 * sysfs.h -- what libpmem reads from (and writes to) sysfs: Device DAX
 * devices, nvdimm regions, persistence domains, deep flush.  Every call
 * takes the sysfs root ("/sys" in production) so tests use a fake tree.
 */
#ifndef PMEM_SYSFS_H
#define PMEM_SYSFS_H 1

#include <stddef.h>
#include <sys/types.h>

/*
 * The sysfs root the library reads: "/sys", or a fake tree a test installs
 * (tests only; set before any other call, never while calls run).
 */
extern const char *pmem__sysfs_root;
#define PMEM_SYSFS_ROOT pmem__sysfs_root

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

/* 1 if root/bus/nd/devices/regionN/deep_flush exists, else 0. */
int pmem__sysfs_has_deep_flush(const char *root, unsigned region_id);

/*
 * The sysfs directory of the whole disk behind block device dev, with the
 * start (bytes) of dev on it when dev is a partition, else 0; written into
 * dir (size bytes).  0 or -1 with errno.
 */
int pmem__sysfs_block_disk(const char *root, dev_t dev, char *dir,
	size_t size, unsigned long long *start);

/*
 * The sysfs directory of Device DAX rdev's region, and the byte offset of
 * the device's data on it (the device's "resource" minus the region's).
 * 0 or -1 with errno.
 */
int pmem__sysfs_devdax_region(const char *root, dev_t rdev, char *dir,
	size_t size, unsigned long long *offset);

/* Reads a number attribute (decimal or 0x hex) at path; 0 or -1/errno. */
int pmem__sysfs_read_num(const char *path, unsigned long long *v);

#endif /* PMEM_SYSFS_H */
