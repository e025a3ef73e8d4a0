/*
 * test_deep.c -- a deep flush that cannot reach the device
 * (NVM.PM.FILE.DEEP_FLUSH) reports it: -1, errno and a message, on a
 * Device DAX range whose region's deep_flush (a fake sysfs tree) cannot
 * be written; and succeeds when it can.
 */
#include <sys/mman.h>

#include "fakesys.h"
#include "libpmem.h"
#include "ranges.h"
#include "sysfs.h"

static char *mem;

/* An anonymous range the tracker takes for Device DAX on region 5. */
static void
setup(void)
{
	fake_setup();
	pmem__sysfs_root = fake_root;
	mem = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(mem, MAP_FAILED);
	struct pmem__range r = { .base = (uintptr_t)mem,
		.end = (uintptr_t)mem + 8192, .type = PMEM_RANGE_DEVDAX,
		.has_region = 1, .region_id = 5, .fd = -1 };
	ck_assert_int_eq(pmem__ranges_add(&r), 0);
	fake_mkdirs("bus/nd/devices/region5");
}

/* Forgets the range and the tree. */
static void
teardown(void)
{
	pmem__ranges_munmap(mem, 8192);
	fake_teardown();
}

/* deep_flush written: 0. */
START_TEST(test_ok)
{
	char p[PATH_MAX + 64], buf[4] = "";
	fake_put("bus/nd/devices/region5/deep_flush", "");
	ck_assert_int_eq(pmem_deep_persist(mem, 100), 0);
	snprintf(p, sizeof(p), "%s/bus/nd/devices/region5/deep_flush",
		fake_root);
	FILE *f = fopen(p, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	ck_assert_str_eq(buf, "1");
}
END_TEST

/* No deep_flush attribute: ENOTSUP with a message. */
START_TEST(test_missing)
{
	errno = 0;
	ck_assert_int_eq(pmem_deep_drain(mem, 100), -1);
	ck_assert_int_eq(errno, ENOTSUP);
	ck_assert_ptr_nonnull(strstr(pmem_errormsg(), "region 5"));
	ck_assert_int_eq(pmem_deep_persist(mem, 100), -1);
}
END_TEST

/* The write fails (a full device, a directory): that errno. */
START_TEST(test_write_fails)
{
	fake_link("/dev/full", "bus/nd/devices/region5/deep_flush");
	errno = 0;
	ck_assert_int_eq(pmem_deep_persist(mem, 100), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_ptr_nonnull(strstr(pmem_errormsg(), "deep_flush"));
	ck_assert_int_eq(unlink(strcat(strcpy((char[PATH_MAX + 64]){ 0 },
		fake_root), "/bus/nd/devices/region5/deep_flush")), 0);
	fake_mkdirs("bus/nd/devices/region5/deep_flush");
	ck_assert_int_eq(pmem_deep_drain(mem, 100), -1);
	ck_assert_int_eq(errno, EISDIR);
}
END_TEST

/* A Device DAX range whose region is unknown: ENOTSUP, said. */
START_TEST(test_no_region)
{
	char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct pmem__range r = { .base = (uintptr_t)m,
		.end = (uintptr_t)m + 4096, .type = PMEM_RANGE_DEVDAX,
		.fd = -1 };
	ck_assert_int_eq(pmem__ranges_add(&r), 0);
	ck_assert_int_eq(pmem_deep_drain(m, 10), -1);
	ck_assert_int_eq(errno, ENOTSUP);
	ck_assert_ptr_nonnull(strstr(pmem_errormsg(), "unknown"));
	pmem__ranges_munmap(m, 4096);
}
END_TEST

/* Builds the suite. */
static Suite *
suite(void)
{
	Suite *s = suite_create("deep");
	TCase *tc = test_case(s, "deep", 10);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ok);
	tcase_add_test(tc, test_missing);
	tcase_add_test(tc, test_write_fails);
	tcase_add_test(tc, test_no_region);
	return s;
}

int
main(void)
{
	return test_run(suite());
}
