/*
 * test_badblocks.c -- pmem_badblocks_get and pmem_badblocks_clear: the
 * sysfs lists (fake trees), their translation through a real file's
 * extents (FIEMAP on the build directory's file system) and through a
 * Device DAX's place in its region, clearing by punch and re-allocation,
 * every error path.
 */
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "fakesys.h"
#include "badblocks.h"
#include "libpmem.h"
#include "sysfs.h"

/* The list file: good, missing, malformed. */
START_TEST(test_read)
{
	char p[PATH_MAX + 16];
	struct pmem__bblist l = { 0 };
	fake_setup();
	fake_put("bb", "8 8\n100 1\n");
	snprintf(p, sizeof(p), "%s/bb", fake_root);
	ck_assert_int_eq(pmem__badblocks_read(p, &l), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_uint_eq(l.v[0].offset, 4096);
	ck_assert_uint_eq(l.v[0].length, 4096);
	ck_assert_uint_eq(l.v[1].offset, 51200);
	ck_assert_uint_eq(l.v[1].length, 512);
	pmem__bblist_free(&l);
	fake_put("bb", "");
	ck_assert_int_eq(pmem__badblocks_read(p, &l), 0);
	ck_assert_uint_eq(l.n, 0);
	snprintf(p, sizeof(p), "%s/none", fake_root);
	ck_assert_int_eq(pmem__badblocks_read(p, &l), 0);
	ck_assert_uint_eq(l.n, 0);
	static const char *const bad[] = { "8\n", "8 x\n", "8 0\n",
		"-1 1 2\n", "99999999999999999999 1\n" };
	snprintf(p, sizeof(p), "%s/bb", fake_root);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fake_put("bb", bad[i]);
		errno = 0;
		ck_assert_msg(pmem__badblocks_read(p, &l) == -1, "%s", bad[i]);
		ck_assert_int_eq(errno, EINVAL);
		pmem__bblist_free(&l);
	}
	fake_mkdirs("dir");
	snprintf(p, sizeof(p), "%s/dir", fake_root);
	ck_assert_int_eq(pmem__badblocks_read(p, &l), -1);
	ck_assert_int_eq(errno, EISDIR);
	fake_teardown();
}
END_TEST

/* Device ranges through extents: split, clipped, missed. */
START_TEST(test_map)
{
	struct pmem__extent ext[] = {
		{ 0, 1 << 20, 8192 },
		{ 8192, 4 << 20, 8192 },
	};
	struct pmem__bblist dev = { 0 }, out = { 0 };
	ck_assert_int_eq(pmem__bblist_add(&dev, (1 << 20) + 4096, 512), 0);
	ck_assert_int_eq(pmem__bblist_add(&dev, (4 << 20) - 512, 1024), 0);
	ck_assert_int_eq(pmem__bblist_add(&dev, 2 << 20, 512), 0);
	ck_assert_int_eq(pmem__badblocks_map(&dev, ext, 2, &out), 0);
	ck_assert_uint_eq(out.n, 2);
	ck_assert_uint_eq(out.v[0].offset, 4096);
	ck_assert_uint_eq(out.v[0].length, 512);
	ck_assert_uint_eq(out.v[1].offset, 8192);
	ck_assert_uint_eq(out.v[1].length, 512);
	pmem__bblist_free(&dev);
	pmem__bblist_free(&out);
}
END_TEST

/* Physical byte offset of file offset off on its device (FIEMAP). */
static int
physical_of(int fd, uint64_t off, uint64_t *phys)
{
	char buf[sizeof(struct fiemap) + sizeof(struct fiemap_extent)];
	struct fiemap *fm = (struct fiemap *)buf;
	memset(buf, 0, sizeof(buf));
	fm->fm_start = off;
	fm->fm_length = 1;
	fm->fm_flags = FIEMAP_FLAG_SYNC;
	fm->fm_extent_count = 1;
	if (ioctl(fd, FS_IOC_FIEMAP, fm) != 0 || fm->fm_mapped_extents != 1)
		return -1;
	*phys = fm->fm_extents[0].fe_physical +
		(off - fm->fm_extents[0].fe_logical);
	return 0;
}

/* A real file on this file system, its device given a fake badblocks
 * list: the bad sector comes back as the file offset, and clearing it
 * zeroes it and keeps the size. */
START_TEST(test_real_file)
{
	char path[PATH_MAX], text[128];
	struct stat st;
	struct pmem_badblock bb[4];
	uint64_t phys = 0;

	snprintf(path, sizeof(path), "pmem-test-bb-%d", (int)getpid());
	int fd = test_file(path, 1 << 20, 'f');
	ck_assert_int_eq(fsync(fd), 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	int have_fiemap = physical_of(fd, 65536, &phys) == 0;
	if (!have_fiemap)	/* the failure must be clean, and said */
		printf("note: no FIEMAP on the build directory's file system "
			"(%s); only the error path is checked\n",
			strerror(errno));
	close(fd);

	fake_setup();
	pmem__sysfs_root = fake_root;
	/* the file system's device as a partition starting at 1 MiB */
	fake_mkdirs("devices/disk/part");
	fake_mkdirs("dev/block");
	fake_put("devices/disk/part/partition", "1\n");
	fake_put("devices/disk/part/start", "2048\n");
	snprintf(text, sizeof(text), "dev/block/%u:%u", major(st.st_dev),
		minor(st.st_dev));
	fake_link("../../devices/disk/part", text);
	ck_assert_int_eq(pmem_badblocks_get(path, bb, 4), 0);	/* no list */

	uint64_t sector = (phys + (1 << 20)) / 512;
	snprintf(text, sizeof(text), "%llu 2\n1 1\n",
		(unsigned long long)sector);
	fake_put("devices/disk/badblocks", text);
	ssize_t n = pmem_badblocks_get(path, bb, 4);
	if (!have_fiemap) {
		ck_assert_int_eq(n, -1);
		ck_assert_ptr_nonnull(strstr(pmem_errormsg(), "FIEMAP"));
		fake_teardown();
		unlink(path);
		return;
	}
	ck_assert_int_eq(n, 1);
	ck_assert_uint_eq(bb[0].offset, 65536);
	ck_assert_uint_eq(bb[0].length, 1024);
	ck_assert_int_eq(pmem_badblocks_get(path, NULL, 0), 1);

	ck_assert_int_eq(pmem_badblocks_clear(path, NULL, 0), 0);
	fd = open(path, O_RDONLY);
	char buf[4096];
	ck_assert_int_eq(pread(fd, buf, sizeof(buf), 65536), 4096);
	for (size_t i = 0; i < sizeof(buf); i++)
		ck_assert_int_eq(buf[i], 0);
	ck_assert_int_eq(pread(fd, buf, 1, 65536 - 1), 1);
	ck_assert_int_eq(buf[0], 'f');
	ck_assert_int_eq(pread(fd, buf, 1, 65536 + 4096), 1);
	ck_assert_int_eq(buf[0], 'f');
	struct stat st2;
	ck_assert_int_eq(fstat(fd, &st2), 0);
	close(fd);
	ck_assert_int_eq(st2.st_size, 1 << 20);
	ck_assert_int_ge(st2.st_blocks, (1 << 20) / 512);	/* allocated */

	/* clearing given ranges; outside the file: EINVAL */
	struct pmem_badblock one = { 4096, 100 };
	ck_assert_int_eq(pmem_badblocks_clear(path, &one, 1), 0);
	one.offset = 1 << 20;
	errno = 0;
	ck_assert_int_eq(pmem_badblocks_clear(path, &one, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	one = (struct pmem_badblock){ 0, 0 };
	ck_assert_int_eq(pmem_badblocks_clear(path, &one, 1), -1);
	ck_assert_int_eq(errno, EINVAL);

	/* a malformed list: an error with a message */
	fake_put("devices/disk/badblocks", "junk\n");
	ck_assert_int_eq(pmem_badblocks_get(path, bb, 4), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_nonnull(strstr(pmem_errormsg(), "malformed"));
	ck_assert_int_eq(pmem_badblocks_clear(path, NULL, 0), -1);
	fake_teardown();
	unlink(path);
}
END_TEST

/* Device DAX 250:3, data at 16 MiB into region 4: the region's list
 * shifted to the device, clipped to its size. */
START_TEST(test_devdax)
{
	fake_setup();
	fake_mkdirs("devices/platform/ndbus0/region4/dax4.0/dax/dax4.0");
	fake_mkdirs("bus/dax");
	fake_mkdirs("dev/char");
	fake_link("../../../../../../../bus/dax",
		"devices/platform/ndbus0/region4/dax4.0/dax/dax4.0/subsystem");
	fake_put("devices/platform/ndbus0/region4/dax4.0/dax/dax4.0/size",
		"1073741824\n");
	fake_put("devices/platform/ndbus0/region4/resource", "0x100000000\n");
	fake_put("devices/platform/ndbus0/region4/dax4.0/resource",
		"0x101000000\n");
	fake_put("devices/platform/ndbus0/region4/badblocks",
		"8 8\n32776 8\n2129912 4096\n");
	fake_link("../../devices/platform/ndbus0/region4/dax4.0/dax/dax4.0",
		"dev/char/250:3");

	struct pmem__bblist l = { 0 };
	char dir[PATH_MAX];
	unsigned long long off;
	ck_assert_int_eq(pmem__sysfs_devdax_region(fake_root, makedev(250, 3),
		dir, sizeof(dir), &off), 0);
	ck_assert_uint_eq(off, 16 << 20);
	ck_assert_ptr_nonnull(strstr(dir, "/region4"));

	/* a character device we can open that the fake tree calls 250:3 */
	fake_mkdirs("devices/virtual/mem/null");
	fake_mkdirs("class/mem");
	char rel[64];
	struct stat st;
	ck_assert_int_eq(stat("/dev/null", &st), 0);
	snprintf(rel, sizeof(rel), "dev/char/%u:%u", major(st.st_rdev),
		minor(st.st_rdev));
	fake_link("../../devices/platform/ndbus0/region4/dax4.0/dax/dax4.0",
		rel);
	int fd = open("/dev/null", O_RDONLY);
	ck_assert_int_eq(pmem__badblocks_fd(fake_root, fd, &l), 0);
	close(fd);
	/* 8 8 is before the device; 32776 8 is 4096 bytes in; the last is
	 * clipped at the device's end */
	ck_assert_uint_eq(l.n, 2);
	ck_assert_uint_eq(l.v[0].offset, 4096);
	ck_assert_uint_eq(l.v[0].length, 4096);
	ck_assert_uint_eq(l.v[1].offset, 2129912ull * 512 - (16 << 20));
	ck_assert_uint_eq(l.v[1].offset + l.v[1].length, 1ull << 30);
	pmem__bblist_free(&l);

	/* no region resource: an error */
	fake_put("devices/platform/ndbus0/region4/resource", "zz\n");
	fd = open("/dev/null", O_RDONLY);
	ck_assert_int_eq(pmem__badblocks_fd(fake_root, fd, &l), -1);
	close(fd);
	fake_put("devices/platform/ndbus0/region4/resource", "0x100000000\n");
	/* clearing goes to the bus's clear-error command through libndctl:
	 * here no bus has region 4 (ENODEV), or libpmem has no libndctl
	 * (ENOTSUP); either way said, naming the region */
	pmem__sysfs_root = fake_root;
	errno = 0;
	ck_assert_int_eq(pmem_badblocks_clear("/dev/null", NULL, 0), -1);
	ck_assert_msg(errno == ENODEV || errno == ENOTSUP, "errno %d", errno);
	ck_assert_ptr_nonnull(strstr(pmem_errormsg(), "region 4"));
	struct pmem_badblock out = { 1ull << 30, 512 };
	ck_assert_int_eq(pmem_badblocks_clear("/dev/null", &out, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_nonnull(strstr(pmem_errormsg(), "outside the device"));
	fake_teardown();
}
END_TEST

/* Errors of the calls themselves. */
START_TEST(test_errors)
{
	struct pmem_badblock bb;
	errno = 0;
	ck_assert_int_eq(pmem_badblocks_get(NULL, &bb, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(pmem_badblocks_get("/", NULL, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(pmem_badblocks_get("/nonexistent/x", &bb, 1), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(pmem_badblocks_get("/", &bb, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_nonnull(strstr(pmem_errormsg(), "regular file"));
	ck_assert_int_eq(pmem_badblocks_clear(NULL, NULL, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(pmem_badblocks_clear("/x", NULL, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(pmem_badblocks_clear("/nonexistent/x", NULL, 0), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(pmem_badblocks_clear("/dev/null", NULL, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_nonnull(strstr(pmem_errormsg(), "Device DAX"));
	/* a FIFO: refused at once, never waited on */
	char fifo[PATH_MAX];
	test_path(fifo, sizeof(fifo), "fifo");
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	ck_assert_int_eq(pmem_badblocks_get(fifo, &bb, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(pmem_badblocks_clear(fifo, NULL, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	unlink(fifo);
	/* a file on a device with no list (this machine): none */
	char path[PATH_MAX];
	test_path(path, sizeof(path), "bb");
	close(test_file(path, 4096, 0));
	ck_assert_int_eq(pmem_badblocks_get(path, &bb, 1), 0);
	ck_assert_int_eq(pmem_badblocks_clear(path, NULL, 0), 0);
	unlink(path);
}
END_TEST

/* Builds the suite. */
static Suite *
suite(void)
{
	Suite *s = suite_create("badblocks");
	TCase *tc = test_case(s, "badblocks", 20);
	tcase_add_test(tc, test_read);
	tcase_add_test(tc, test_map);
	tcase_add_test(tc, test_real_file);
	tcase_add_test(tc, test_devdax);
	tcase_add_test(tc, test_errors);
	return s;
}

int
main(void)
{
	return test_run(suite());
}
