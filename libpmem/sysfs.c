/*
 * sysfs.c -- reads and writes the sysfs attributes of nvdimm devices.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "errormsg.h"
#include "sysfs.h"

const char *pmem__sysfs_root = "/sys";

/* Reads a small attribute, without the trailing newline; length or -1. */
static ssize_t
read_attr(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	int oerrno = errno;
	close(fd);
	if (n < 0) {
		errno = oerrno;
		return -1;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return n;
}

/* See sysfs.h. */
int
pmem__sysfs_read_num(const char *path, unsigned long long *v)
{
	char buf[64], *end;
	if (read_attr(path, buf, sizeof(buf)) <= 0)
		return -1;
	errno = 0;
	*v = strtoull(buf, &end, 0);
	if (errno != 0 || *end != '\0') {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* root/dev/{char,block}/M:m followed by suffix. */
static void
dev_path(char *out, size_t size, const char *root, dev_t dev, int is_char,
	const char *suffix)
{
	snprintf(out, size, "%s/dev/%s/%u:%u%s", root,
		is_char ? "char" : "block", major(dev), minor(dev), suffix);
}

/* See sysfs.h. */
int
pmem__sysfs_is_devdax(const char *root, dev_t rdev)
{
	char path[PATH_MAX], real[PATH_MAX];
	dev_path(path, sizeof(path), root, rdev, 1, "/subsystem");
	if (realpath(path, real) == NULL)
		return 0;
	const char *base = strrchr(real, '/');
	return base != NULL && strcmp(base + 1, "dax") == 0;
}

/* See sysfs.h. */
int
pmem__sysfs_devdax_size(const char *root, dev_t rdev, size_t *size)
{
	char path[PATH_MAX];
	unsigned long long v;
	dev_path(path, sizeof(path), root, rdev, 1, "/size");
	if (pmem__sysfs_read_num(path, &v) != 0)
		return -1;
	*size = (size_t)v;
	return 0;
}

/* See sysfs.h.  Newer kernels have device/align, older dax_region/align. */
int
pmem__sysfs_devdax_align(const char *root, dev_t rdev, size_t *align)
{
	static const char *const where[] = { "/device/align",
		"/device/dax_region/align", "/align" };
	char path[PATH_MAX];
	unsigned long long v;

	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		dev_path(path, sizeof(path), root, rdev, 1, where[i]);
		if (pmem__sysfs_read_num(path, &v) == 0 && v != 0 &&
		    (v & (v - 1)) == 0) {
			*align = (size_t)v;
			return 0;
		}
	}
	errno = ENOENT;
	return -1;
}

/* See sysfs.h.  Finds the last "/regionN/" component of the real path. */
int
pmem__sysfs_region_id(const char *root, dev_t dev, int is_char,
	unsigned *id)
{
	char path[PATH_MAX], real[PATH_MAX];
	dev_path(path, sizeof(path), root, dev, is_char, "");
	if (realpath(path, real) == NULL)
		return -1;

	int found = 0;
	for (char *p = real; (p = strstr(p, "/region")) != NULL; p++) {
		char *end;
		unsigned long v = strtoul(p + 7, &end, 10);
		if (end != p + 7 && (*end == '/' || *end == '\0') &&
				v <= UINT_MAX) {
			*id = (unsigned)v;
			found = 1;
		}
	}
	if (!found) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

/* See sysfs.h. */
int
pmem__sysfs_devdax_info(const char *root, dev_t rdev, size_t *size,
	size_t *align, unsigned *region_id)
{
	if (pmem__sysfs_devdax_size(root, rdev, size) != 0 ||
	    pmem__sysfs_devdax_align(root, rdev, align) != 0 ||
	    pmem__sysfs_region_id(root, rdev, 1, region_id) != 0)
		return -1;
	return 0;
}

/* See sysfs.h. */
int
pmem__sysfs_deep_flush(const char *root, unsigned region_id)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/bus/nd/devices/region%u/deep_flush",
		root, region_id);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			errno = ENOTSUP;
		pmem__err("!deep_flush of region %u", region_id);
		return -1;
	}
	ssize_t n = write(fd, "1", 1);
	int oerrno = errno;
	close(fd);
	if (n != 1) {
		errno = n < 0 ? oerrno : EIO;
		pmem__err("!write to %s", path);
		return -1;
	}
	return 0;
}

/* 1 if the name is "regionN". */
static int
is_region(const char *name)
{
	if (strncmp(name, "region", 6) != 0 || name[6] == '\0')
		return 0;
	for (const char *p = name + 6; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return 1;
}

/* See sysfs.h. */
int
pmem__auto_flush_at(const char *root)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/bus/nd/devices", root);
	DIR *d = opendir(path);
	if (d == NULL)
		return 0;

	int regions = 0, cpu_cache = 0, ret = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!is_region(e->d_name))
			continue;
		char attr[PATH_MAX + 300], buf[64];
		snprintf(attr, sizeof(attr), "%s/%s/persistence_domain", path,
			e->d_name);
		regions++;
		if (read_attr(attr, buf, sizeof(buf)) < 0) {
			/* a region of a kernel without the attribute: ADR */
			if (errno == ENOENT)
				continue;
			pmem__err("!cannot read %s", attr);
			ret = -1;
			break;
		}
		if (strcmp(buf, "cpu_cache") == 0)
			cpu_cache++;
	}
	int oerrno = errno;
	closedir(d);
	if (ret < 0) {
		errno = oerrno;
		return -1;
	}
	return regions > 0 && cpu_cache == regions;
}

/* See sysfs.h. */
int
pmem__sysfs_has_deep_flush(const char *root, unsigned region_id)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/bus/nd/devices/region%u/deep_flush",
		root, region_id);
	return access(path, F_OK) == 0;
}

/* See sysfs.h.  A partition has a "partition" attribute and sits in the
 * directory of its disk. */
int
pmem__sysfs_block_disk(const char *root, dev_t dev, char *dir, size_t size,
	unsigned long long *start)
{
	char path[PATH_MAX + 32], real[PATH_MAX];
	dev_path(path, sizeof(path), root, dev, 0, "");
	if (realpath(path, real) == NULL)
		return -1;
	*start = 0;
	snprintf(path, sizeof(path), "%s/partition", real);
	if (access(path, F_OK) == 0) {
		snprintf(path, sizeof(path), "%s/start", real);
		if (pmem__sysfs_read_num(path, start) != 0)
			return -1;
		*start *= 512;
		char *slash = strrchr(real, '/');
		if (slash == NULL) {
			errno = ENOENT;
			return -1;
		}
		*slash = '\0';
	}
	if (snprintf(dir, size, "%s", real) >= (int)size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* See sysfs.h.  The device is regionN/<nd dax>/dax/daxX.Y; the nd dax
 * device's "resource" is where its data starts. */
int
pmem__sysfs_devdax_region(const char *root, dev_t rdev, char *dir,
	size_t size, unsigned long long *offset)
{
	char path[PATH_MAX + 32], real[PATH_MAX];
	unsigned long long dev_res, reg_res;
	unsigned id;

	dev_path(path, sizeof(path), root, rdev, 1, "");
	if (realpath(path, real) == NULL ||
	    pmem__sysfs_region_id(root, rdev, 1, &id) != 0)
		return -1;
	char *p = strstr(real, "/dax/");
	if (p == NULL) {
		errno = ENOENT;
		return -1;
	}
	*p = '\0';	/* real is now the nd dax device */
	snprintf(path, sizeof(path), "%s/resource", real);
	if (pmem__sysfs_read_num(path, &dev_res) != 0)
		return -1;
	char *slash = strrchr(real, '/');
	if (slash == NULL) {
		errno = ENOENT;
		return -1;
	}
	*slash = '\0';	/* the region */
	snprintf(path, sizeof(path), "%s/resource", real);
	if (pmem__sysfs_read_num(path, &reg_res) != 0)
		return -1;
	if (dev_res < reg_res) {
		errno = EINVAL;
		return -1;
	}
	*offset = dev_res - reg_res;
	if (snprintf(dir, size, "%s", real) >= (int)size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}
