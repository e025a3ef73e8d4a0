/*
 * dax_sysfs.c -- Device DAX facts from sysfs alone (built --without-ndctl).
 */
#include "dax.h"
#include "sysfs.h"

const char pmem__dax_backend[] = "sysfs";

/* See dax.h. */
int
pmem__dax_is_devdax(dev_t rdev)
{
	return pmem__sysfs_is_devdax(PMEM_SYSFS_ROOT, rdev);
}

/* See dax.h. */
int
pmem__dax_info(dev_t rdev, size_t *size, size_t *align, unsigned *region_id)
{
	if (pmem__sysfs_devdax_size(PMEM_SYSFS_ROOT, rdev, size) != 0 ||
	    pmem__sysfs_devdax_align(PMEM_SYSFS_ROOT, rdev, align) != 0 ||
	    pmem__sysfs_region_id(PMEM_SYSFS_ROOT, rdev, 1, region_id) != 0)
		return -1;
	return 0;
}

/* See dax.h. */
int
pmem__dax_deep_flush(unsigned region_id)
{
	return pmem__sysfs_deep_flush(PMEM_SYSFS_ROOT, region_id);
}
