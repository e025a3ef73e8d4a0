/*
 * dax_ndctl.c -- Device DAX facts and deep flush through libndctl and
 * libdaxctl (built --with-ndctl), falling back to sysfs.
 *
 * The two libraries are loaded with dlopen on first use, never at load
 * time: they bring libkmod, libudev and libcrypto with them, which cost
 * every process that links libpmem some milliseconds of startup here,
 * and most never touch a Device DAX.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sys/sysmacros.h>

#include <daxctl/libdaxctl.h>
#include <ndctl/libndctl.h>

#include "dax.h"
#include "errormsg.h"
#include "sysfs.h"

#define ND_FUNCS(X) \
	X(ndctl_new) X(ndctl_unref) X(ndctl_bus_get_first) \
	X(ndctl_bus_get_next) X(ndctl_region_get_first) \
	X(ndctl_region_get_next) X(ndctl_dax_get_first) \
	X(ndctl_dax_get_next) X(ndctl_dax_get_daxctl_region) \
	X(ndctl_region_get_id) X(ndctl_region_deep_flush) \
	X(ndctl_region_get_resource) X(ndctl_region_get_bus) \
	X(ndctl_bus_cmd_new_ars_cap) X(ndctl_bus_cmd_new_clear_error) \
	X(ndctl_cmd_submit) X(ndctl_cmd_unref) \
	X(ndctl_cmd_clear_error_get_cleared)
#define DAX_FUNCS(X) \
	X(daxctl_dev_get_first) X(daxctl_dev_get_next) \
	X(daxctl_dev_get_major) X(daxctl_dev_get_minor) \
	X(daxctl_dev_get_size) X(daxctl_dev_get_align) \
	X(daxctl_region_get_align)

#define DECLARE(f) __typeof__(f) *f;
static struct {
	int ok;
	ND_FUNCS(DECLARE)
	DAX_FUNCS(DECLARE)
} lib;
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

/* Load both libraries and every function this file calls, or none. */
static void
lib_load(void)
{
	void *nd = dlopen("libndctl.so.6", RTLD_NOW | RTLD_LOCAL);
	void *dx = dlopen("libdaxctl.so.1", RTLD_NOW | RTLD_LOCAL);
	int ok = nd != NULL && dx != NULL;
#define LOAD_ND(f) ok = ok && (*(void **)&lib.f = dlsym(nd, #f)) != NULL;
#define LOAD_DAX(f) ok = ok && (*(void **)&lib.f = dlsym(dx, #f)) != NULL;
	ND_FUNCS(LOAD_ND)
	DAX_FUNCS(LOAD_DAX)
	lib.ok = ok;
}

/* 1 if libndctl and libdaxctl could be loaded (the first call loads them). */
static int
lib_ready(void)
{
	pthread_once(&lib_once, lib_load);
	return lib.ok;
}

/* From here on the library's names (and its foreach macros) call
 * through the loaded pointers. */
#define ROUTE(f) (*lib.f)
#define ndctl_new ROUTE(ndctl_new)
#define ndctl_unref ROUTE(ndctl_unref)
#define ndctl_bus_get_first ROUTE(ndctl_bus_get_first)
#define ndctl_bus_get_next ROUTE(ndctl_bus_get_next)
#define ndctl_region_get_first ROUTE(ndctl_region_get_first)
#define ndctl_region_get_next ROUTE(ndctl_region_get_next)
#define ndctl_dax_get_first ROUTE(ndctl_dax_get_first)
#define ndctl_dax_get_next ROUTE(ndctl_dax_get_next)
#define ndctl_dax_get_daxctl_region ROUTE(ndctl_dax_get_daxctl_region)
#define ndctl_region_get_id ROUTE(ndctl_region_get_id)
#define ndctl_region_deep_flush ROUTE(ndctl_region_deep_flush)
#define ndctl_region_get_resource ROUTE(ndctl_region_get_resource)
#define ndctl_region_get_bus ROUTE(ndctl_region_get_bus)
#define ndctl_bus_cmd_new_ars_cap ROUTE(ndctl_bus_cmd_new_ars_cap)
#define ndctl_bus_cmd_new_clear_error ROUTE(ndctl_bus_cmd_new_clear_error)
#define ndctl_cmd_submit ROUTE(ndctl_cmd_submit)
#define ndctl_cmd_unref ROUTE(ndctl_cmd_unref)
#define ndctl_cmd_clear_error_get_cleared \
	ROUTE(ndctl_cmd_clear_error_get_cleared)
#define daxctl_dev_get_first ROUTE(daxctl_dev_get_first)
#define daxctl_dev_get_next ROUTE(daxctl_dev_get_next)
#define daxctl_dev_get_major ROUTE(daxctl_dev_get_major)
#define daxctl_dev_get_minor ROUTE(daxctl_dev_get_minor)
#define daxctl_dev_get_size ROUTE(daxctl_dev_get_size)
#define daxctl_dev_get_align ROUTE(daxctl_dev_get_align)
#define daxctl_region_get_align ROUTE(daxctl_region_get_align)

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

	if (!lib_ready() || ndctl_new(&ctx) != 0)
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

	if (!lib_ready() || ndctl_new(&ctx) != 0)
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

/* Asks the bus for its ARS capabilities at addr, then to clear len bytes
 * there; the bytes cleared, or -1 with errno. */
static long long
bus_clear(struct ndctl_bus *bus, unsigned long long addr,
	unsigned long long len)
{
	long long cleared = -1;
	struct ndctl_cmd *clr = NULL;
	struct ndctl_cmd *cap = ndctl_bus_cmd_new_ars_cap(bus, addr, len);
	int rc;

	if (cap == NULL) {
		errno = ENOTSUP;
		return -1;
	}
	if ((rc = ndctl_cmd_submit(cap)) < 0) {
		errno = -rc;
		goto out;
	}
	clr = ndctl_bus_cmd_new_clear_error(addr, len, cap);
	if (clr == NULL) {
		errno = ENOTSUP;
		goto out;
	}
	if ((rc = ndctl_cmd_submit(clr)) < 0) {
		errno = -rc;
		goto out;
	}
	cleared = (long long)ndctl_cmd_clear_error_get_cleared(clr);
out:
	if (clr != NULL)
		ndctl_cmd_unref(clr);
	ndctl_cmd_unref(cap);
	return cleared;
}

/* See dax.h. */
int
pmem__dax_clear_errors(unsigned region_id, unsigned long long offset,
	unsigned long long len)
{
	struct ndctl_ctx *ctx;
	struct ndctl_bus *bus;
	struct ndctl_region *region;
	long long cleared = -2;

	if (!lib_ready() || ndctl_new(&ctx) != 0) {
		errno = ENOTSUP;
		pmem__err("clearing errors of region %u needs libndctl, which "
			"cannot be loaded", region_id);
		return -1;
	}
	ndctl_bus_foreach(ctx, bus) ndctl_region_foreach(bus, region) {
		if (ndctl_region_get_id(region) != region_id)
			continue;
		cleared = bus_clear(ndctl_region_get_bus(region),
			ndctl_region_get_resource(region) + offset, len);
		goto out;
	}
out:;
	int oerrno = errno;
	ndctl_unref(ctx);
	if (cleared == -2) {
		errno = ENODEV;
		pmem__err("no nvdimm bus has region %u (libndctl)", region_id);
		return -1;
	}
	if (cleared < 0) {
		errno = oerrno;
		pmem__err("!clear-error of %llu bytes at %llu in region %u",
			len, offset, region_id);
		return -1;
	}
	if ((unsigned long long)cleared < len) {
		errno = EIO;
		pmem__err("clear-error cleared %lld of %llu bytes at %llu in "
			"region %u", cleared, len, offset, region_id);
		return -1;
	}
	return 0;
}
