/*
 * dax_sysfs.c -- Device DAX facts from sysfs alone (built --without-ndctl).
 */
#include <errno.h>

#include "dax.h"
#include "errormsg.h"
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
	return pmem__sysfs_devdax_info(PMEM_SYSFS_ROOT, rdev, size, align,
		region_id);
}

/* See dax.h. */
int
pmem__dax_deep_flush(unsigned region_id)
{
	return pmem__sysfs_deep_flush(PMEM_SYSFS_ROOT, region_id);
}

/* See dax.h: sysfs has no clear-error command. */
int
pmem__dax_clear_errors(unsigned region_id, unsigned long long offset,
	unsigned long long len)
{
	(void)offset;
	(void)len;
	errno = ENOTSUP;
	pmem__err("clearing errors of region %u needs the bus's clear-error "
		"command, through libndctl (this libpmem was built without "
		"it): use ndctl clear-errors", region_id);
	return -1;
}
