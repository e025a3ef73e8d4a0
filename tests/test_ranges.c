/*
 * test_ranges.c -- the tracker of mappings behind pmem_is_pmem, deep
 * drain and fit mode: add, trim, split, walk, and concurrency.
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>

#include "common.h"
#include "libpmem.h"
#include "ranges.h"

#define B ((uintptr_t)0x100000000000ull)

/* Adds [base, end) of a type; asserts success. */
static void
add(uintptr_t base, uintptr_t end, enum pmem__range_type type)
{
	struct pmem__range r = { .base = base, .end = end, .type = type,
		.fd = -1 };
	ck_assert_int_eq(pmem__ranges_add(&r), 0);
}

/* Records every piece a walk reports. */
struct log {
	int n;
	uintptr_t addr[16];
	size_t len[16];
	int tracked[16];
};

/* Walk callback: appends the piece to the log. */
static int
record(const struct pmem__range *r, uintptr_t addr, size_t len, void *arg)
{
	struct log *l = arg;
	ck_assert_int_lt(l->n, 16);
	l->addr[l->n] = addr;
	l->len[l->n] = len;
	l->tracked[l->n] = r != NULL;
	l->n++;
	return 0;
}

/* Walks and returns the log. */
static struct log
walk(uintptr_t addr, size_t len)
{
	struct log l = { 0 };
	ck_assert_int_eq(pmem__ranges_walk(addr, len, record, &l), 0);
	return l;
}

/* A walk reports tracked pieces and gaps in address order. */
START_TEST(test_walk_gaps)
{
	add(B + 0x1000, B + 0x2000, PMEM_RANGE_MAP_SYNC);
	add(B + 0x3000, B + 0x4000, PMEM_RANGE_DEVDAX);
	ck_assert_uint_eq(pmem__ranges_count(), 2);

	struct log l = walk(B, 0x5000);
	ck_assert_int_eq(l.n, 5);
	uintptr_t a[] = { B, B + 0x1000, B + 0x2000, B + 0x3000, B + 0x4000 };
	int t[] = { 0, 1, 0, 1, 0 };
	for (int i = 0; i < 5; i++) {
		ck_assert_uint_eq(l.addr[i], a[i]);
		ck_assert_uint_eq(l.len[i], 0x1000);
		ck_assert_int_eq(l.tracked[i], t[i]);
	}
	/* a walk inside one range: one clipped piece */
	l = walk(B + 0x1100, 0x10);
	ck_assert_int_eq(l.n, 1);
	ck_assert_uint_eq(l.addr[0], B + 0x1100);
	ck_assert_uint_eq(l.len[0], 0x10);
	ck_assert_int_eq(l.tracked[0], 1);
}
END_TEST

/* Removing the middle splits, removing across ends trims. */
START_TEST(test_split_trim)
{
	add(B, B + 0x10000, PMEM_RANGE_MAP_SYNC);
	ck_assert_int_eq(pmem__ranges_remove(B + 0x4000, 0x1000), 0);
	ck_assert_uint_eq(pmem__ranges_count(), 2);
	struct log l = walk(B, 0x10000);
	ck_assert_int_eq(l.n, 3);
	ck_assert_uint_eq(l.len[0], 0x4000);
	ck_assert_int_eq(l.tracked[1], 0);
	ck_assert_uint_eq(l.addr[2], B + 0x5000);
	ck_assert_uint_eq(l.len[2], 0xb000);

	/* trim the low end of the upper piece and the high end of the lower */
	ck_assert_int_eq(pmem__ranges_remove(B + 0x3000, 0x3000), 0);
	l = walk(B, 0x10000);
	ck_assert_int_eq(l.n, 3);
	ck_assert_uint_eq(l.len[0], 0x3000);
	ck_assert_uint_eq(l.addr[2], B + 0x6000);

	/* remove everything */
	ck_assert_int_eq(pmem__ranges_remove(B, 0x10000), 0);
	ck_assert_uint_eq(pmem__ranges_count(), 0);
	l = walk(B, 0x10000);
	ck_assert_int_eq(l.n, 1);
	ck_assert_int_eq(l.tracked[0], 0);
}
END_TEST

/* A new record over an old one replaces the overlapped part. */
START_TEST(test_add_replaces)
{
	add(B, B + 0x4000, PMEM_RANGE_MAP_SYNC);
	add(B + 0x1000, B + 0x2000, PMEM_RANGE_FIT);
	ck_assert_uint_eq(pmem__ranges_count(), 3);
	struct log l = walk(B, 0x4000);
	ck_assert_int_eq(l.n, 3);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(l.tracked[i], 1);
}
END_TEST

/* Splitting a fit range keeps file offsets right and closes fds once. */
START_TEST(test_fit_offsets_and_close)
{
	char path[256];
	test_path(path, sizeof(path), "ranges");
	int fd = test_file(path, 4096, 0);
	unlink(path);
	struct pmem__range r = { .base = B, .end = B + 0x4000,
		.type = PMEM_RANGE_FIT, .fd = fd, .offset = 0x10000 };
	ck_assert_int_eq(pmem__ranges_add(&r), 0);
	ck_assert_int_eq(pmem__ranges_remove(B + 0x1000, 0x1000), 0);

	/* the upper piece starts 0x2000 into the file range */
	struct log l = walk(B + 0x2000, 0x10);
	ck_assert_int_eq(l.n, 1);
	ck_assert_int_eq(pmem__ranges_remove(B, 0x1000), 0);
	ck_assert_int_ne(fcntl(fd, F_GETFD), -1); /* still shared */
	ck_assert_int_eq(pmem__ranges_remove(B + 0x2000, 0x2000), 0);
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

/* Walk callback: checks the offset of the fit piece. */
static int
check_offset(const struct pmem__range *r, uintptr_t addr, size_t len,
	void *arg)
{
	(void)len;
	off_t want = *(off_t *)arg;
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->offset + (off_t)(addr - r->base), want);
	return 0;
}

/* The file offset of an address survives a split. */
START_TEST(test_fit_offset_after_split)
{
	struct pmem__range r = { .base = B, .end = B + 0x4000,
		.type = PMEM_RANGE_MAP_SYNC, .fd = -1, .offset = 0x10000 };
	ck_assert_int_eq(pmem__ranges_add(&r), 0);
	ck_assert_int_eq(pmem__ranges_remove(B + 0x1000, 0x1000), 0);
	off_t want = 0x10000 + 0x2800;
	ck_assert_int_eq(pmem__ranges_walk(B + 0x2800, 8, check_offset,
		&want), 0);
	want = 0x10000 + 0x800;
	ck_assert_int_eq(pmem__ranges_walk(B + 0x800, 8, check_offset,
		&want), 0);
}
END_TEST

/* pmem_is_pmem is 1 only over tracked MAP_SYNC/Device DAX pieces. */
START_TEST(test_is_pmem_ranges)
{
	unsetenv("PMEM_IS_PMEM_FORCE");
	ck_assert_int_eq(pmem_is_pmem((void *)B, 0x1000), 0);
	add(B, B + 0x2000, PMEM_RANGE_MAP_SYNC);
	add(B + 0x2000, B + 0x3000, PMEM_RANGE_DEVDAX);
	add(B + 0x4000, B + 0x5000, PMEM_RANGE_FIT);
	ck_assert_int_eq(pmem_is_pmem((void *)B, 0x3000), 1);
	ck_assert_int_eq(pmem_is_pmem((void *)(B + 0x1fff), 2), 1);
	ck_assert_int_eq(pmem_is_pmem((void *)B, 0x3001), 0);
	ck_assert_int_eq(pmem_is_pmem((void *)(B + 0x4000), 0x10), 0);
	ck_assert_int_eq(pmem_is_pmem((void *)(B - 1), 2), 0);
	ck_assert_int_eq(pmem_is_pmem((void *)B, 0), 0);
}
END_TEST

/* pmem__ranges_munmap unmaps and forgets; a failed munmap keeps it. */
START_TEST(test_munmap)
{
	size_t len = 4 * 4096;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	add((uintptr_t)p, (uintptr_t)p + len, PMEM_RANGE_MAP_SYNC);
	ck_assert_int_eq(pmem__ranges_munmap(p + 1, 4096), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(pmem__ranges_count(), 1);
	ck_assert_int_eq(pmem__ranges_munmap(p + 4096, 4096), 0);
	ck_assert_uint_eq(pmem__ranges_count(), 2);
	ck_assert_int_eq(pmem__ranges_munmap(p, len), 0);
	ck_assert_uint_eq(pmem__ranges_count(), 0);
}
END_TEST

/* Worker: adds and removes its own ranges while others walk. */
static void *
churn(void *arg)
{
	uintptr_t base = B + (uintptr_t)arg * 0x100000;
	for (int i = 0; i < 2000; i++) {
		struct pmem__range r = { .base = base, .end = base + 0x2000,
			.type = PMEM_RANGE_MAP_SYNC, .fd = -1 };
		if (pmem__ranges_add(&r) != 0)
			return (void *)1;
		if (pmem_is_pmem((void *)base, 0x2000) != 1)
			return (void *)2;
		if (pmem__ranges_remove(base + 0x800, 0x800) != 0)
			return (void *)3;
		if (pmem_is_pmem((void *)base, 0x2000) != 0)
			return (void *)4;
		if (pmem__ranges_remove(base, 0x2000) != 0)
			return (void *)5;
	}
	return NULL;
}

/* Threads changing disjoint ranges see only their own effects. */
START_TEST(test_threads)
{
	enum { N = 4 };
	pthread_t t[N];
	unsetenv("PMEM_IS_PMEM_FORCE");
	for (uintptr_t i = 0; i < N; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, churn,
			(void *)i), 0);
	for (int i = 0; i < N; i++) {
		void *ret;
		pthread_join(t[i], &ret);
		ck_assert_ptr_null(ret);
	}
	ck_assert_uint_eq(pmem__ranges_count(), 0);
}
END_TEST

/* Builds the suite. */
static Suite *
suite(void)
{
	Suite *s = suite_create("ranges");
	TCase *tc = test_case(s, "tracker", 10);
	tcase_add_test(tc, test_walk_gaps);
	tcase_add_test(tc, test_split_trim);
	tcase_add_test(tc, test_add_replaces);
	tcase_add_test(tc, test_fit_offsets_and_close);
	tcase_add_test(tc, test_fit_offset_after_split);
	tcase_add_test(tc, test_munmap);
	tc = test_case(s, "is_pmem", 10);
	tcase_add_test(tc, test_is_pmem_ranges);
	tc = test_case(s, "threads", 30);
	tcase_add_test(tc, test_threads);
	return s;
}

int
main(void)
{
	return test_run(suite());
}
