/*
 * dax_ndctl.c -- Device DAX facts and deep flush through libndctl and
 * libdaxctl (built --with-ndctl), falling back to sysfs.
 */
#include <errno.h>
#include <sys/sysmacros.h>

#include <daxctl/libdaxctl.h>
#include <ndctl/libndctl.h>

#include "dax.h"
#include "errormsg.h"
#include "sysfs.h"

const char pmem__dax_backend[] = "libndctl";

/* See dax.h. */
int
pmem__dax_is_devdax(dev_t rdev)
{
	return pmem__sysfs_is_devdax(PMEM_SYSFS_ROOT, rdev);
}

/* Looks the device up on every bus and region; 0 when found. */
static int
ndctl_lookup(dev_t rdev, size_t *size, size_t *align, unsigned *region_id)
{
	struct ndctl_ctx *ctx;
	struct ndctl_bus *bus;
	struct ndctl_region *region;
	struct ndctl_dax *dax;
	int ret = -1;

	if (ndctl_new(&ctx) != 0)
		return -1;
	ndctl_bus_foreach(ctx, bus) ndctl_region_foreach(bus, region)
	ndctl_dax_foreach(region, dax) {
		struct daxctl_region *dr = ndctl_dax_get_daxctl_region(dax);
		struct daxctl_dev *dev;
		if (dr == NULL)
			continue;
		daxctl_dev_foreach(dr, dev) {
			if ((unsigned)daxctl_dev_get_major(dev) != major(rdev) ||
			    (unsigned)daxctl_dev_get_minor(dev) != minor(rdev))
				continue;
			*size = (size_t)daxctl_dev_get_size(dev);
			*align = daxctl_dev_get_align(dev);
			if (*align == 0)
				*align = daxctl_region_get_align(dr);
			*region_id = ndctl_region_get_id(region);
			ret = 0;
			goto out;
		}
	}
out:
	ndctl_unref(ctx);
	return ret;
}

/* See dax.h. */
int
pmem__dax_info(dev_t rdev, size_t *size, size_t *align, unsigned *region_id)
{
	if (ndctl_lookup(rdev, size, align, region_id) == 0 && *size != 0 &&
	    *align != 0)
		return 0;
	return pmem__sysfs_devdax_info(PMEM_SYSFS_ROOT, rdev, size, align,
		region_id);
}

/* See dax.h. */
int
pmem__dax_deep_flush(unsigned region_id)
{
	struct ndctl_ctx *ctx;
	struct ndctl_bus *bus;
	struct ndctl_region *region;

	if (ndctl_new(&ctx) != 0)
		return pmem__sysfs_deep_flush(PMEM_SYSFS_ROOT, region_id);
	int ret = 1;
	ndctl_bus_foreach(ctx, bus) ndctl_region_foreach(bus, region) {
		if (ndctl_region_get_id(region) != region_id)
			continue;
		ret = ndctl_region_deep_flush(region);
		goto out;
	}
out:
	ndctl_unref(ctx);
	if (ret == 1)
		return pmem__sysfs_deep_flush(PMEM_SYSFS_ROOT, region_id);
	if (ret < 0) {
		errno = -ret;
		pmem__err("!deep_flush of region %u", region_id);
		return -1;
	}
	return 0;
}
