/*
 * test_sysfs.c -- eADR detection, Device DAX facts, region lookup and
 * deep flush, on a fake sysfs tree.
 */
#include <limits.h>
#include <stdarg.h>
#include <sys/sysmacros.h>

#include "common.h"
#include "sysfs.h"

static char root[PATH_MAX];

/* Creates the fake root. */
static void
setup(void)
{
	snprintf(root, sizeof(root), "%s/pmem-sysfs-XXXXXX", test_dir());
	ck_assert_ptr_nonnull(mkdtemp(root));
}

/* Removes the fake root. */
static void
teardown(void)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
}

/* mkdir -p of root/rel. */
static void
mkdirs(const char *fmt, ...)
{
	char rel[PATH_MAX], cmd[2 * PATH_MAX + 16];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s'", root, rel);
	ck_assert_int_eq(system(cmd), 0);
}

/* Writes text into root/rel. */
static void
put(const char *rel, const char *text)
{
	char path[2 * PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/* Reads root/rel into buf. */
static void
get(const char *rel, char *buf, size_t size)
{
	char path[2 * PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* ln -s target root/rel (target relative to the link's directory). */
static void
link_to(const char *target, const char *rel)
{
	char path[2 * PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	ck_assert_int_eq(symlink(target, path), 0);
}

/* Adds regionN with a persistence domain (NULL: no attribute). */
static void
region(int n, const char *domain)
{
	char rel[64];
	mkdirs("bus/nd/devices/region%d", n);
	if (domain != NULL) {
		snprintf(rel, sizeof(rel),
			"bus/nd/devices/region%d/persistence_domain", n);
		put(rel, domain);
	}
}

/* No nvdimm bus, or no region on it: not eADR. */
START_TEST(test_auto_flush_none)
{
	ck_assert_int_eq(pmem__auto_flush_at(root), 0);
	mkdirs("bus/nd/devices/ndbus0");
	ck_assert_int_eq(pmem__auto_flush_at(root), 0);
}
END_TEST

/* Every region cpu_cache: eADR. */
START_TEST(test_auto_flush_all)
{
	region(0, "cpu_cache\n");
	region(1, "cpu_cache\n");
	mkdirs("bus/nd/devices/namespace0.0");
	ck_assert_int_eq(pmem__auto_flush_at(root), 1);
}
END_TEST

/* One region that is not cpu_cache, or has no attribute: not eADR. */
START_TEST(test_auto_flush_mixed)
{
	region(0, "cpu_cache\n");
	region(1, "memory_controller\n");
	ck_assert_int_eq(pmem__auto_flush_at(root), 0);
	teardown();
	setup();
	region(0, "cpu_cache\n");
	region(2, NULL);
	ck_assert_int_eq(pmem__auto_flush_at(root), 0);
}
END_TEST

/* An attribute that cannot be read: -1 with errno. */
START_TEST(test_auto_flush_error)
{
	region(0, "cpu_cache\n");
	mkdirs("bus/nd/devices/region1/persistence_domain");
	errno = 0;
	ck_assert_int_eq(pmem__auto_flush_at(root), -1);
	ck_assert_int_eq(errno, EISDIR);
}
END_TEST

/* Builds a Device DAX device 250:3 on region 4, as the kernel lays it out. */
static dev_t
fake_devdax(const char *align_where)
{
	mkdirs("devices/platform/ndbus0/region4/dax4.0/dax/dax4.0");
	mkdirs("bus/dax");
	mkdirs("dev/char");
	link_to("../../../../../../../bus/dax",
		"devices/platform/ndbus0/region4/dax4.0/dax/dax4.0/subsystem");
	put("devices/platform/ndbus0/region4/dax4.0/dax/dax4.0/size",
		"1073741824\n");
	link_to("../..", "devices/platform/ndbus0/region4/dax4.0/dax/dax4.0/"
		"device");
	if (align_where != NULL)
		put(align_where, "2097152\n");
	link_to("../../devices/platform/ndbus0/region4/dax4.0/dax/dax4.0",
		"dev/char/250:3");
	return makedev(250, 3);
}

/* Device DAX: detected, size, alignment, region id. */
START_TEST(test_devdax_facts)
{
	dev_t d = fake_devdax("devices/platform/ndbus0/region4/dax4.0/align");
	size_t size = 0, align = 0;
	unsigned id = 99;

	ck_assert_int_eq(pmem__sysfs_is_devdax(root, d), 1);
	ck_assert_int_eq(pmem__sysfs_devdax_size(root, d, &size), 0);
	ck_assert_uint_eq(size, 1ull << 30);
	ck_assert_int_eq(pmem__sysfs_devdax_align(root, d, &align), 0);
	ck_assert_uint_eq(align, 2u << 20);
	ck_assert_int_eq(pmem__sysfs_region_id(root, d, 1, &id), 0);
	ck_assert_uint_eq(id, 4);
	size = align = 0;
	id = 99;
	ck_assert_int_eq(pmem__sysfs_devdax_info(root, d, &size, &align, &id),
		0);
	ck_assert_uint_eq(size, 1ull << 30);
	ck_assert_uint_eq(align, 2u << 20);
	ck_assert_uint_eq(id, 4);
}
END_TEST

/* Older kernels keep the alignment in dax_region/align. */
START_TEST(test_devdax_old_align)
{
	mkdirs("devices/platform/ndbus0/region4/dax4.0/dax_region");
	dev_t d = fake_devdax("devices/platform/ndbus0/region4/dax4.0/"
		"dax_region/align");
	size_t align = 0;
	ck_assert_int_eq(pmem__sysfs_devdax_align(root, d, &align), 0);
	ck_assert_uint_eq(align, 2u << 20);
}
END_TEST

/* No alignment attribute, or a bad one: an error. */
START_TEST(test_devdax_no_align)
{
	dev_t d = fake_devdax(NULL);
	size_t align = 0;
	ck_assert_int_eq(pmem__sysfs_devdax_align(root, d, &align), -1);
	ck_assert_int_eq(errno, ENOENT);
	size_t size;
	unsigned id;
	ck_assert_int_eq(pmem__sysfs_devdax_info(root, d, &size, &align, &id),
		-1);
	put("devices/platform/ndbus0/region4/dax4.0/align", "3000\n");
	ck_assert_int_eq(pmem__sysfs_devdax_align(root, d, &align), -1);
}
END_TEST

/* Other character devices and unknown devices are not Device DAX. */
START_TEST(test_not_devdax)
{
	size_t size;
	unsigned id;
	mkdirs("class/mem");
	mkdirs("devices/virtual/mem/null");
	link_to("../../../../class/mem", "devices/virtual/mem/null/subsystem");
	mkdirs("dev/char");
	link_to("../../devices/virtual/mem/null", "dev/char/1:3");
	ck_assert_int_eq(pmem__sysfs_is_devdax(root, makedev(1, 3)), 0);
	ck_assert_int_eq(pmem__sysfs_is_devdax(root, makedev(9, 9)), 0);
	ck_assert_int_eq(pmem__sysfs_devdax_size(root, makedev(9, 9), &size),
		-1);
	ck_assert_int_eq(pmem__sysfs_region_id(root, makedev(1, 3), 1, &id),
		-1);
	ck_assert_int_eq(errno, ENOENT);
	put("devices/virtual/mem/null/size", "abc\n");
	ck_assert_int_eq(pmem__sysfs_devdax_size(root, makedev(1, 3), &size),
		-1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* A pmem block device's region is found through its block path. */
START_TEST(test_block_region)
{
	unsigned id = 0;
	mkdirs("devices/platform/e820_pmem/ndbus0/region12/namespace12.0/"
		"block/pmem12");
	mkdirs("dev/block");
	link_to("../../devices/platform/e820_pmem/ndbus0/region12/"
		"namespace12.0/block/pmem12", "dev/block/259:0");
	ck_assert_int_eq(pmem__sysfs_region_id(root, makedev(259, 0), 0, &id),
		0);
	ck_assert_uint_eq(id, 12);
}
END_TEST

/* deep_flush writes "1"; a region without the attribute: ENOTSUP. */
START_TEST(test_deep_flush)
{
	char buf[16];
	region(3, "memory_controller\n");
	put("bus/nd/devices/region3/deep_flush", "");
	ck_assert_int_eq(pmem__sysfs_deep_flush(root, 3), 0);
	get("bus/nd/devices/region3/deep_flush", buf, sizeof(buf));
	ck_assert_str_eq(buf, "1");

	errno = 0;
	ck_assert_int_eq(pmem__sysfs_deep_flush(root, 7), -1);
	ck_assert_int_eq(errno, ENOTSUP);
}
END_TEST

/* Builds the suite. */
static Suite *
suite(void)
{
	Suite *s = suite_create("sysfs");
	TCase *tc = test_case(s, "auto_flush", 10);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_auto_flush_none);
	tcase_add_test(tc, test_auto_flush_all);
	tcase_add_test(tc, test_auto_flush_mixed);
	tcase_add_test(tc, test_auto_flush_error);
	tc = test_case(s, "devdax", 10);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_devdax_facts);
	tcase_add_test(tc, test_devdax_old_align);
	tcase_add_test(tc, test_devdax_no_align);
	tcase_add_test(tc, test_not_devdax);
	tcase_add_test(tc, test_block_region);
	tc = test_case(s, "deep_flush", 10);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_deep_flush);
	return s;
}

int
main(void)
{
	return test_run(suite());
}
