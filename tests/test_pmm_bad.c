/*
 * test_pmm_bad.c -- libpmm and bad ranges of the medium: retrieving a
 * block that lies on one is refused with K_EMEDIA and a message (instead
 * of the process dying on its first read); other blocks are unaffected;
 * the bank check names the block; freeing it makes the bank sound.
 *
 * Run by tests/pmm-badblocks.sh, which sets PMM_DIR (a directory on a
 * file system with FIEMAP) and PMEM_SYSFS_ROOT (a fake sysfs tree in which
 * the device of that file system has a "badblocks" list this test fills).
 */
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>

#include "common.h"
#include "pmm.h"

#define PAGE 4096

static PmmName victim = { .medium = "RAM", .name = "victim" };
static PmmName healthy = { .medium = "RAM", .name = "healthy" };

/* The disk-relative sector of file offset off of path (FIEMAP), or -1
 * with a message on stderr. */
static long long
sector_of(const char *path, uint64_t off)
{
	char buf[sizeof(struct fiemap) + sizeof(struct fiemap_extent)];
	struct fiemap *fm = (struct fiemap *)buf;
	int fd = open(path, O_RDONLY);
	memset(buf, 0, sizeof(buf));
	fm->fm_start = off;
	fm->fm_length = 1;
	fm->fm_flags = FIEMAP_FLAG_SYNC;
	fm->fm_extent_count = 1;
	if (fd < 0 || ioctl(fd, FS_IOC_FIEMAP, fm) != 0 ||
	    fm->fm_mapped_extents != 1) {
		fprintf(stderr, "FIEMAP of %s at %llu: %s (%u extents)\n",
			path, (unsigned long long)off, strerror(errno),
			fm->fm_mapped_extents);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return (long long)((fm->fm_extents[0].fe_physical + (off -
		fm->fm_extents[0].fe_logical)) / 512);
}

/* Writes the fake device's list: one bad page inside block name. */
static void
poison_block(const PmmName *name, size_t page_in_block)
{
	struct pmm__bank *b;
	uint32_t idx;
	char nm[64] = { 0 }, path[PATH_MAX + 32];
	snprintf(nm, sizeof(nm), "%s", name->name);
	ck_assert_int_eq(pmm__bank_get("RAM", &b), K_OK);
	ck_assert_int_eq(pmm__name_find(b, nm, &idx), K_OK);
	uint64_t off = (uint64_t)(b->data - b->base) +
		((uint64_t)b->table[idx].page << b->page_shift) +
		page_in_block * PAGE;
	snprintf(path, sizeof(path), "%s/devices/disk/badblocks",
		getenv("PMEM_SYSFS_ROOT"));
	long long sector = sector_of(b->path, off);
	ck_assert_int_ge(sector, 0);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "%lld 8\n", sector);
	fclose(f);
}

/* The whole story in one process (the list is read once per bank). */
START_TEST(test_retrieve)
{
	VmAddr a = 0, h = 0;
	ck_assert_msg(pmmAllocate(&a, &victim, 4 * PAGE, NULL, 0) == K_OK,
		"%s", pmmErrorMsg());
	ck_assert_int_eq(pmmAllocate(&h, &healthy, PAGE, NULL, 0), K_OK);
	memset((void *)a, 'v', 4 * PAGE);
	poison_block(&victim, 2);

	VmAddr r = 0x1234;
	ck_assert_int_eq(pmmAllocate(&r, &victim, 0, NULL, 0), K_EMEDIA);
	ck_assert_uint_eq(r, 0x1234);	/* untouched */
	ck_assert_ptr_nonnull(strstr(pmmErrorMsg(), "victim"));
	ck_assert_ptr_nonnull(strstr(pmmErrorMsg(), "bad range"));
	ck_assert_str_eq(pmmStrError(K_EMEDIA),
		"block on a bad range of the medium");
	/* with a size too: retrieval, same answer */
	ck_assert_int_eq(pmmAllocate(&r, &victim, PAGE, NULL, 0), K_EMEDIA);
	ck_assert_int_eq(pmmAllocate(&r, &healthy, 0, NULL, 0), K_OK);
	ck_assert_uint_eq(r, h);

	/* the check names it; once freed the bank is sound again */
	struct pmm__bank *b;
	char report[256];
	ck_assert_int_eq(pmm__bank_get("RAM", &b), K_OK);
	ck_assert_int_eq(pmm__lock(b), K_OK);
	ck_assert_int_eq(pmm__check(b, report, sizeof(report)), K_EMEDIA);
	pmm__unlock(b);
	ck_assert_ptr_nonnull(strstr(report, "\"victim\""));
	ck_assert_ptr_null(strstr(report, "healthy"));
	ck_assert_int_eq(pmmFree(&victim), K_OK);
	ck_assert_int_eq(pmm__lock(b), K_OK);
	ck_assert_int_eq(pmm__check(b, report, sizeof(report)), K_OK);
	pmm__unlock(b);
	ck_assert_int_eq(pmmFree(&healthy), K_OK);
}
END_TEST

/* Builds the suite. */
static Suite *
suite(void)
{
	Suite *s = suite_create("pmm_bad");
	TCase *tc = test_case(s, "retrieve", 20);
	tcase_add_test(tc, test_retrieve);
	return s;
}

/* --place NAME: allocates block NAME and prints the sector of its first
 * page (for the pmmctl check part of tests/pmm-badblocks.sh). */
static int
place(const char *name)
{
	PmmName n = { .medium = "RAM" };
	struct pmm__bank *b;
	uint32_t idx;
	VmAddr a;
	snprintf(n.name, sizeof(n.name), "%s", name);
	if (pmmAllocate(&a, &n, PAGE, NULL, 0) != K_OK ||
	    pmm__bank_get("RAM", &b) != K_OK ||
	    pmm__name_find(b, n.name, &idx) != K_OK) {
		fprintf(stderr, "%s\n", pmmErrorMsg());
		return 1;
	}
	uint64_t off = (uint64_t)(b->data - b->base) +
		((uint64_t)b->table[idx].page << b->page_shift);
	long long sector = sector_of(b->path, off);
	if (sector < 0)
		return 1;
	printf("%lld\n", sector);
	return 0;
}

/* --probe: exits 77 with the reason when PMM_DIR's file system cannot
 * say where a file's blocks are (FIEMAP), else 0. */
static int
probe(void)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/probe", getenv("PMM_DIR"));
	char page[PAGE];
	memset(page, 'p', sizeof(page));
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	int ok = fd >= 0 && write(fd, page, sizeof(page)) == PAGE;
	if (fd >= 0)
		close(fd);
	long long sector = ok ? sector_of(path, 0) : -1;
	unlink(path);
	if (sector < 0) {
		printf("SKIP: no FIEMAP on the file system of %s\n",
			getenv("PMM_DIR"));
		return 77;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	if (getenv("PMEM_SYSFS_ROOT") == NULL || getenv("PMM_DIR") == NULL) {
		fprintf(stderr, "run by tests/pmm-badblocks.sh\n");
		return 2;
	}
	if (argc == 3 && strcmp(argv[1], "--place") == 0)
		return place(argv[2]);
	if (argc == 2 && strcmp(argv[1], "--probe") == 0)
		return probe();
	return test_run(suite());
}
