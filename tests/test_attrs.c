/*
 * test_attrs.c -- pmem_get_attrs (NVM.PM.FILE attributes) and
 * PMEM_FILE_PRIVATE (NVM.PM.FILE.MAP copy-on-write), on real files and on
 * fake sysfs/procfs trees.
 */
#include <sys/mman.h>
#include <sys/sysmacros.h>

#include "fakesys.h"
#include "attrs.h"
#include "libpmem.h"
#include "maps.h"
#include "sysfs.h"

/* Maps a fresh file of len bytes filled with c, with extra flags. */
static void *
map_new(char *path, size_t size, size_t len, int c, int flags)
{
	test_path(path, size, "attrs");
	close(test_file(path, len, c));
	size_t mlen = 0;
	void *p = pmem_map_file(path, 0, flags, 0, &mlen, NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(mlen, len);
	return p;
}

/* A page-cache mapping: no optimized flush, page error range, CoW capable. */
START_TEST(test_pagecache)
{
	char path[PATH_MAX];
	char *p = map_new(path, sizeof(path), 1 << 20, 'a', 0);
	struct pmem_attrs a = { .size = sizeof(a) };
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	ck_assert_int_eq(pmem_get_attrs(p + 100, 1000, &a), 0);
	ck_assert_uint_eq(a.size, sizeof(a));
	ck_assert_uint_eq(a.interrupted_store_atomicity, 8);
	ck_assert_int_eq(a.persistence_domain, PMEM_DOMAIN_NONE);
	ck_assert_int_eq(a.optimized_flush_capable, 0);
	ck_assert_int_eq(a.optimized_flush_and_verify_capable, 0);
	ck_assert_int_eq(a.deep_flush_capable, 1);
	ck_assert_int_eq(a.map_copy_on_write_capable, 1);
	ck_assert_int_eq(a.copy_on_write, 0);
	ck_assert_uint_eq(a.fundamental_error_range, page);
	ck_assert_uint_eq(a.fundamental_error_range_offset, page - 100);
	ck_assert_int_eq(pmem_get_attrs(p, 1 << 20, &a), 0);
	ck_assert_uint_eq(a.fundamental_error_range_offset, 0);
	/* this kernel's answer, whatever it is, agrees with /proc */
	ck_assert_int_eq(a.error_event_capable,
		access("/proc/sys/vm/memory_failure_recovery", F_OK) == 0);
	ck_assert_int_eq(pmem_unmap(p, 1 << 20), 0);
	unlink(path);
}
END_TEST

/* PMEM_IS_PMEM_FORCE=1 makes the range pmem: flush and verify apply. */
START_TEST(test_forced_pmem)
{
	char path[PATH_MAX];
	setenv("PMEM_IS_PMEM_FORCE", "1", 1);
	char *p = map_new(path, sizeof(path), 1 << 16, 'a', 0);
	struct pmem_attrs a = { .size = sizeof(a) };
	ck_assert_int_eq(pmem_get_attrs(p, 64, &a), 0);
	ck_assert_int_ne(a.persistence_domain, PMEM_DOMAIN_NONE);
	ck_assert_int_eq(a.optimized_flush_capable, 1);
	ck_assert_int_eq(a.optimized_flush_and_verify_capable, 1);
	pmem_unmap(p, 1 << 16);
	unlink(path);
}
END_TEST

/* PMEM_FILE_PRIVATE: stores stay in the process; the attribute says so. */
START_TEST(test_private)
{
	char path[PATH_MAX];
	setenv("PMEM_IS_PMEM_FORCE", "1", 1);	/* private wins even so */
	char *p = map_new(path, sizeof(path), 8192, 'a', PMEM_FILE_PRIVATE);
	struct pmem_attrs a = { .size = sizeof(a) };
	ck_assert_int_eq(pmem_get_attrs(p, 8192, &a), 0);
	ck_assert_int_eq(a.copy_on_write, 1);
	ck_assert_int_eq(a.map_copy_on_write_capable, 1);
	ck_assert_int_eq(a.persistence_domain, PMEM_DOMAIN_NONE);
	ck_assert_int_eq(a.optimized_flush_capable, 0);
	ck_assert_int_eq(a.deep_flush_capable, 0);

	memset(p, 'b', 8192);
	pmem_persist(p, 8192);
	ck_assert_int_eq(pmem_msync(p, 8192), 0);
	ck_assert_int_eq(pmem_deep_persist(p, 8192), 0);
	char buf[8192];
	int fd = open(path, O_RDONLY);
	ck_assert_int_eq(pread(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	close(fd);
	for (size_t i = 0; i < sizeof(buf); i++)
		ck_assert_int_eq(buf[i], 'a');
	ck_assert_int_eq(p[0], 'b');
	ck_assert_int_eq(pmem_unmap(p, 8192), 0);

	/* a read-only file maps privately (and only privately) */
	ck_assert_int_eq(chmod(path, 0400), 0);
	if (geteuid() != 0) {
		ck_assert_ptr_null(pmem_map_file(path, 0, 0, 0, NULL, NULL));
	}
	size_t mlen;
	p = pmem_map_file(path, 0, PMEM_FILE_PRIVATE, 0, &mlen, NULL);
	ck_assert_ptr_nonnull(p);
	p[0] = 'c';
	ck_assert_int_eq(pmem_unmap(p, mlen), 0);

	/* with CREATE: a new file, private mapping of it */
	unlink(path);
	p = pmem_map_file(path, 4096, PMEM_FILE_CREATE | PMEM_FILE_PRIVATE,
		0600, &mlen, NULL);
	ck_assert_ptr_nonnull(p);
	p[0] = 'x';
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 4096);
	fd = open(path, O_RDONLY);
	ck_assert_int_eq(pread(fd, buf, 1, 0), 1);
	close(fd);
	ck_assert_int_eq(buf[0], 0);
	pmem_unmap(p, mlen);
	unlink(path);
}
END_TEST

/* Every error: NULL, short size, empty, outside or across mappings. */
START_TEST(test_errors)
{
	char path[PATH_MAX];
	char *p = map_new(path, sizeof(path), 8192, 'a', 0);
	struct pmem_attrs a = { .size = sizeof(a) };

	errno = 0;
	ck_assert_int_eq(pmem_get_attrs(p, 1, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_nonnull(strstr(pmem_errormsg(), "size"));
	a.size = sizeof(a) - 1;
	ck_assert_int_eq(pmem_get_attrs(p, 1, &a), -1);
	ck_assert_int_eq(errno, EINVAL);
	a.size = sizeof(a);
	ck_assert_int_eq(pmem_get_attrs(p, 0, &a), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(pmem_get_attrs(p + 4096, 8192, &a), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_nonnull(strstr(pmem_errormsg(), "pmem_map_file"));
	ck_assert_int_eq(pmem_get_attrs(&a, sizeof(a), &a), -1);
	ck_assert_int_eq(pmem_get_attrs((void *)-4096, 4096, &a), -1);

	/* gone once unmapped; a part unmapped leaves the rest known */
	ck_assert_int_eq(pmem_unmap(p + 4096, 4096), 0);
	ck_assert_int_eq(pmem_get_attrs(p, 4096, &a), 0);
	ck_assert_int_eq(pmem_get_attrs(p, 4097, &a), -1);
	ck_assert_int_eq(pmem_unmap(p, 4096), 0);
	ck_assert_int_eq(pmem_get_attrs(p, 1, &a), -1);

	/* Device DAX cannot be private: a flag outside the set is EINVAL */
	ck_assert_ptr_null(pmem_map_file(path, 0, 1 << 20, 0, NULL, NULL));
	ck_assert_int_eq(errno, EINVAL);
	unlink(path);
}
END_TEST

/* A caller with a bigger (future) struct gets the rest zeroed. */
START_TEST(test_bigger_struct)
{
	char path[PATH_MAX];
	char *p = map_new(path, sizeof(path), 4096, 'a', 0);
	struct {
		struct pmem_attrs a;
		char future[32];
	} big;
	memset(&big, 0xff, sizeof(big));
	big.a.size = sizeof(big);
	ck_assert_int_eq(pmem_get_attrs(p, 4096, &big.a), 0);
	ck_assert_uint_eq(big.a.size, sizeof(struct pmem_attrs));
	for (size_t i = 0; i < sizeof(big.future); i++)
		ck_assert_int_eq(big.future[i], 0);
	pmem_unmap(p, 4096);
	unlink(path);
}
END_TEST

/* A partition pmem0p1 (259:1) of pmem0 on region 2 with its queue. */
static void
fake_fsdax(const char *pbs)
{
	fake_mkdirs("devices/platform/ndbus0/region2/namespace2.0/block/"
		"pmem0/pmem0p1");
	fake_mkdirs("devices/platform/ndbus0/region2/namespace2.0/block/"
		"pmem0/queue");
	fake_mkdirs("dev/block");
	fake_put("devices/platform/ndbus0/region2/namespace2.0/block/pmem0/"
		"pmem0p1/partition", "1\n");
	fake_put("devices/platform/ndbus0/region2/namespace2.0/block/pmem0/"
		"pmem0p1/start", "2048\n");
	if (pbs != NULL)
		fake_put("devices/platform/ndbus0/region2/namespace2.0/block/"
			"pmem0/queue/physical_block_size", pbs);
	fake_link("../../devices/platform/ndbus0/region2/namespace2.0/"
		"block/pmem0/pmem0p1", "dev/block/259:1");
}

/* fs-dax: the domain from sysfs, the error range from the disk's queue. */
START_TEST(test_fake_fsdax)
{
	struct pmem__map m = { .kind = PMEM_MAP_SYNC, .dev = makedev(259, 1),
		.base = 0x200000, .end = 0x400000 };
	struct pmem_attrs a;
	char proc[PATH_MAX + 8];

	setenv("PMEM_IS_PMEM_FORCE", "1", 1);
	fake_setup();
	fake_fsdax("8192\n");
	fake_mkdirs("bus/nd/devices/region2");
	fake_put("bus/nd/devices/region2/persistence_domain",
		"memory_controller\n");
	fake_mkdirs("proc/sys/vm");
	snprintf(proc, sizeof(proc), "%s/proc", fake_root);

	memset(&a, 0, sizeof(a));
	pmem__attrs_fill(fake_root, proc, &m, 0x200000 + 4096, 64, &a);
	ck_assert_int_eq(a.persistence_domain, PMEM_DOMAIN_MEMORY_CONTROLLER);
	ck_assert_uint_eq(a.fundamental_error_range, 8192);
	ck_assert_uint_eq(a.fundamental_error_range_offset, 4096);
	ck_assert_int_eq(a.error_event_capable, 0);
	ck_assert_int_eq(a.deep_flush_capable, 1);

	fake_put("bus/nd/devices/region2/persistence_domain", "cpu_cache\n");
	fake_put("proc/sys/vm/memory_failure_recovery", "1\n");
	pmem__attrs_fill(fake_root, proc, &m, 0x200000, 64, &a);
	ck_assert_int_eq(a.persistence_domain, PMEM_DOMAIN_CPU_CACHE);
	ck_assert_int_eq(a.error_event_capable, 1);
	fake_put("proc/sys/vm/memory_failure_recovery", "0\n");
	pmem__attrs_fill(fake_root, proc, &m, 0x200000, 64, &a);
	ck_assert_int_eq(a.error_event_capable, 0);
	fake_teardown();

	/* no queue attribute: the page */
	fake_setup();
	fake_fsdax(NULL);
	pmem__attrs_fill(fake_root, proc, &m, 0x200000, 64, &a);
	ck_assert_uint_eq(a.fundamental_error_range,
		(size_t)sysconf(_SC_PAGESIZE));
	fake_teardown();
}
END_TEST

/* Device DAX: the alignment is the error range; deep flush by region. */
START_TEST(test_fake_devdax)
{
	struct pmem__map m = { .kind = PMEM_MAP_DEVDAX, .region_id = 4,
		.dax_align = 2 << 20, .base = 0x40000000,
		.end = 0x80000000 };
	struct pmem_attrs a;
	char proc[PATH_MAX + 8];

	setenv("PMEM_IS_PMEM_FORCE", "1", 1);
	fake_setup();
	snprintf(proc, sizeof(proc), "%s/proc", fake_root);
	fake_mkdirs("bus/nd/devices/region4");
	pmem__attrs_fill(fake_root, proc, &m, 0x40000000 + 4096, 64, &a);
	ck_assert_uint_eq(a.fundamental_error_range, 2 << 20);
	ck_assert_uint_eq(a.fundamental_error_range_offset, (2 << 20) - 4096);
	ck_assert_int_eq(a.deep_flush_capable, 0);
	ck_assert_int_eq(a.map_copy_on_write_capable, 0);
	/* no persistence_domain attribute: ADR */
	ck_assert_int_eq(a.persistence_domain, PMEM_DOMAIN_MEMORY_CONTROLLER);
	fake_put("bus/nd/devices/region4/deep_flush", "");
	pmem__attrs_fill(fake_root, proc, &m, 0x40000000, 64, &a);
	ck_assert_int_eq(a.deep_flush_capable, 1);
	fake_teardown();
}
END_TEST

/* Builds the suite. */
static Suite *
suite(void)
{
	Suite *s = suite_create("attrs");
	TCase *tc = test_case(s, "mapping", 10);
	tcase_add_test(tc, test_pagecache);
	tcase_add_test(tc, test_forced_pmem);
	tcase_add_test(tc, test_private);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_bigger_struct);
	tc = test_case(s, "fake_sysfs", 10);
	tcase_add_test(tc, test_fake_fsdax);
	tcase_add_test(tc, test_fake_devdax);
	return s;
}

int
main(void)
{
	return test_run(suite());
}
