/*
 * test_persist.c -- the flush, drain and sync calls and the copy routines
 * through the public API of the shared library: flushes never change
 * data, msync and deep drain reach the file and report holes, and every
 * flag combination of the mem* routines copies and fills exactly.
 */
#include <limits.h>
#include <stdint.h>
#include <sys/mman.h>

#include <libpmem.h>
#include "common.h"

#define NFLAGS 64u	/* every combination of the six valid flags */

/* A file mapped with pmem_map_file for one test. */
struct map {
	char path[PATH_MAX];
	char *addr;
	size_t len;
};

/* The system page size. */
static size_t
page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* Creates and maps a new file of len bytes in the test directory. */
static void
map_new(struct map *m, size_t len, const char *tag)
{
	test_path(m->path, sizeof(m->path), tag);
	m->addr = pmem_map_file(m->path, len,
		PMEM_FILE_CREATE | PMEM_FILE_EXCL, 0600, &m->len, NULL);
	ck_assert_msg(m->addr != NULL, "pmem_map_file: %s", pmem_errormsg());
	ck_assert_uint_eq(m->len, len);
}

/* Unmaps and removes the file of map_new. */
static void
map_free(struct map *m)
{
	ck_assert_int_eq(pmem_unmap(m->addr, m->len), 0);
	ck_assert_int_eq(unlink(m->path), 0);
}

/* Asserts that the file holds want at offset off (read with pread). */
static void
assert_file(const struct map *m, size_t off, const void *want, size_t len)
{
	int fd = open(m->path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	char *buf = malloc(len);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	ck_assert_mem_eq(buf, want, len);
	free(buf);
	close(fd);
}

/* Asserts that the thread's message is non-empty and mentions needle. */
static void
assert_msg(const char *needle)
{
	const char *msg = pmem_errormsg();
	ck_assert_ptr_nonnull(msg);
	ck_assert_msg(msg[0] != '\0', "pmem_errormsg() is empty");
	if (needle != NULL)
		ck_assert_msg(strstr(msg, needle) != NULL,
			"message \"%s\" does not mention \"%s\"", msg, needle);
}

/* Fills buf with a pattern that depends on seed and position. */
static void
pattern(unsigned char *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(i * 31 + seed * 7 + (i >> 8));
}

/* Maps three anonymous pages and unmaps the middle one; returns the hole. */
static char *
make_hole(char **base)
{
	size_t pg = page_size();
	char *p = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	ck_assert_int_eq(munmap(p + pg, pg), 0);
	*base = p;
	return p + pg;
}

/*
 * Unmaps the two pages left around the hole of make_hole (not the hole:
 * someone else, e.g. a sanitizer, may have mapped it since).
 */
static void
free_hole(char *base)
{
	ck_assert_int_eq(munmap(base, page_size()), 0);
	ck_assert_int_eq(munmap(base + 2 * page_size(), page_size()), 0);
}

/*
 * Calls fn on [hole + off, +len) of a hole made just before, so that
 * nothing else can map there in between; returns fn's result, *err its
 * errno.
 */
static int
call_on_hole(int (*fn)(const void *, size_t), long off, size_t len,
	int *err)
{
	char *base;
	char *hole = make_hole(&base);
	errno = 0;
	int r = fn(hole + off, len);
	*err = errno;
	free_hole(base);
	return r;
}

/* ---------------------------------------------------------------- flush */

/*
 * Runs flush, persist and deep flush on [start + off, +len) for every
 * len 0..256 and off 0..63, checking the bytes around each range.
 */
static void
sweep(char *start, const unsigned char *ref, const char *area)
{
	for (size_t off = 0; off < 64; off++) {
		for (size_t len = 0; len <= 256; len++) {
			char *a = start + off;
			pmem_flush(a, len);
			pmem_drain();
			pmem_persist(a, len);
			pmem_deep_flush(a, len);
			/* the range and a line on either side */
			ck_assert_msg(memcmp(a - 64, ref + (a - 64 - area),
				len + 128) == 0, "off %zu len %zu changed data",
				off, len);
		}
	}
}

/* Flushes of every length at every line offset leave the data intact. */
START_TEST(test_flush_sweep)
{
	struct map m;
	size_t pg = page_size();
	map_new(&m, 3 * pg, "sweep");
	unsigned char *ref = malloc(m.len);
	ck_assert_ptr_nonnull(ref);
	pattern(ref, m.len, 1);
	memcpy(m.addr, ref, m.len);

	sweep(m.addr + 64, ref, m.addr);		/* inside a page */
	sweep(m.addr + pg - 160, ref, m.addr);	/* across a boundary */
	sweep(m.addr + 2 * pg - 64, ref, m.addr);	/* from a boundary */
	ck_assert_mem_eq(m.addr, ref, m.len);

	free(ref);
	map_free(&m);
}
END_TEST

/* Flushes that span several whole pages leave the data intact. */
START_TEST(test_flush_pages)
{
	struct map m;
	size_t pg = page_size();
	map_new(&m, 8 * pg, "pages");
	unsigned char *ref = malloc(m.len);
	ck_assert_ptr_nonnull(ref);
	pattern(ref, m.len, 2);
	memcpy(m.addr, ref, m.len);

	pmem_flush(m.addr, m.len);
	pmem_drain();
	pmem_persist(m.addr + 1, m.len - 2);
	pmem_deep_flush(m.addr + pg - 1, 3 * pg + 2);
	ck_assert_int_eq(pmem_deep_persist(m.addr + 17, 5 * pg), 0);
	ck_assert_mem_eq(m.addr, ref, m.len);

	free(ref);
	map_free(&m);
}
END_TEST

/* Flushing read-only memory works: flushes do not store. */
START_TEST(test_flush_readonly)
{
	size_t pg = page_size();
	char *p = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	pattern((unsigned char *)p, 2 * pg, 3);
	ck_assert_int_eq(mprotect(p, 2 * pg, PROT_READ), 0);

	pmem_flush(p + 3, 2 * pg - 3);
	pmem_drain();
	pmem_persist(p, 2 * pg);
	pmem_deep_flush(p + pg - 5, 10);

	unsigned char *ref = malloc(2 * pg);
	ck_assert_ptr_nonnull(ref);
	pattern(ref, 2 * pg, 3);
	ck_assert_mem_eq(p, ref, 2 * pg);
	free(ref);
	ck_assert_int_eq(munmap(p, 2 * pg), 0);
}
END_TEST

/* Flushes work on ordinary heap memory too (they are only hints there). */
START_TEST(test_flush_heap)
{
	unsigned char *buf = malloc(1000);
	unsigned char ref[1000];
	ck_assert_ptr_nonnull(buf);
	pattern(buf, 1000, 4);
	pattern(ref, 1000, 4);
	pmem_flush(buf + 1, 998);
	pmem_persist(buf, 1000);
	pmem_deep_flush(buf + 500, 500);
	/* the 0.8 spelling with a flags argument is the same call */
	pmem_persist(buf, 1000, 0);
	ck_assert_mem_eq(buf, ref, 1000);
	free(buf);
}
END_TEST

/* There is no hardware drain instruction; pmem_drain works anyway. */
START_TEST(test_has_hw_drain)
{
	ck_assert_int_eq(pmem_has_hw_drain(), 0);
	pmem_drain();
	pmem_drain();
}
END_TEST

/* 1 when the machine has at least one NVDIMM region in sysfs. */
static int
has_nd_regions(void)
{
	char path[64];
	for (int i = 0; i < 64; i++) {
		snprintf(path, sizeof(path), "/sys/bus/nd/devices/region%d", i);
		if (access(path, F_OK) == 0)
			return 1;
	}
	return 0;
}

/* pmem_has_auto_flush gives 0 or 1, and 0 without NVDIMM regions. */
START_TEST(test_has_auto_flush)
{
	int r = pmem_has_auto_flush();
	ck_assert_msg(r == 0 || r == 1, "pmem_has_auto_flush() = %d", r);
	if (access("/sys/bus/nd/devices", F_OK) != 0 || !has_nd_regions())
		ck_assert_int_eq(r, 0);
	/* the answer is stable */
	ck_assert_int_eq(pmem_has_auto_flush(), r);
}
END_TEST

/* ---------------------------------------------------------------- msync */

/* An unaligned msync inside a mapping succeeds and the data reaches the file. */
START_TEST(test_msync_unaligned)
{
	struct map m;
	size_t pg = page_size();
	map_new(&m, 3 * pg, "msync");
	static const char msg[] = "msync from the middle of a page";
	memcpy(m.addr + pg + 13, msg, sizeof(msg));
	ck_assert_int_eq(pmem_msync(m.addr + pg + 13, sizeof(msg)), 0);
	assert_file(&m, pg + 13, msg, sizeof(msg));

	/* a range crossing a page boundary */
	memcpy(m.addr + 2 * pg - 7, msg, sizeof(msg));
	ck_assert_int_eq(pmem_msync(m.addr + 2 * pg - 7, sizeof(msg)), 0);
	assert_file(&m, 2 * pg - 7, msg, sizeof(msg));

	/* the last byte of the mapping */
	m.addr[3 * pg - 1] = 'L';
	ck_assert_int_eq(pmem_msync(m.addr + 3 * pg - 1, 1), 0);
	assert_file(&m, 3 * pg - 1, "L", 1);
	map_free(&m);
}
END_TEST

/* msync with len 0 succeeds, also at an unaligned address. */
START_TEST(test_msync_len0)
{
	struct map m;
	map_new(&m, page_size(), "msync0");
	ck_assert_int_eq(pmem_msync(m.addr, 0), 0);
	ck_assert_int_eq(pmem_msync(m.addr + 5, 0), 0);
	map_free(&m);
}
END_TEST

/* msync of an unmapped range fails with ENOMEM and a message. */
START_TEST(test_msync_unmapped)
{
	int err;
	/* valgrind reports msync of unaddressable memory as an error */
	if (test_under_valgrind())
		return;
	ck_assert_int_eq(call_on_hole(pmem_msync, 10, 100, &err), -1);
	ck_assert_int_eq(err, ENOMEM);
	assert_msg("msync");
	assert_msg(strerror(ENOMEM));
	/* a range that starts mapped and runs into the hole */
	ck_assert_int_eq(call_on_hole(pmem_msync, -100, 200, &err), -1);
	ck_assert_int_eq(err, ENOMEM);
	assert_msg("msync");
}
END_TEST

/* msync of an unmapped range fails also while the library tracks mappings. */
START_TEST(test_msync_unmapped_with_maps)
{
	struct map m;
	int err;
	map_new(&m, page_size(), "msynchole");
	if (!test_under_valgrind()) {
		ck_assert_int_eq(call_on_hole(pmem_msync, 0, page_size(),
			&err), -1);
		ck_assert_int_eq(err, ENOMEM);
		assert_msg("msync");
	}
	ck_assert_int_eq(pmem_msync(m.addr, m.len), 0);
	map_free(&m);
}
END_TEST

/* ----------------------------------------------------------------- deep */

/* deep drain and deep persist of a /dev/shm mapping succeed and reach the file. */
START_TEST(test_deep_shm)
{
	struct map m;
	size_t pg = page_size();
	map_new(&m, 2 * pg, "deep");
	static const char a[] = "deep drain";
	static const char b[] = "deep persist across a page";

	memcpy(m.addr + 3, a, sizeof(a));
	pmem_deep_flush(m.addr + 3, sizeof(a));
	ck_assert_int_eq(pmem_deep_drain(m.addr + 3, sizeof(a)), 0);
	assert_file(&m, 3, a, sizeof(a));

	memcpy(m.addr + pg - 5, b, sizeof(b));
	ck_assert_int_eq(pmem_deep_persist(m.addr + pg - 5, sizeof(b)), 0);
	assert_file(&m, pg - 5, b, sizeof(b));

	ck_assert_int_eq(pmem_deep_persist(m.addr, m.len), 0);
	ck_assert_int_eq(pmem_deep_drain(m.addr, m.len), 0);
	map_free(&m);
}
END_TEST

/* deep drain and deep persist with len 0 return 0 at once. */
START_TEST(test_deep_len0)
{
	struct map m;
	map_new(&m, page_size(), "deep0");
	ck_assert_int_eq(pmem_deep_drain(m.addr, 0), 0);
	ck_assert_int_eq(pmem_deep_persist(m.addr + 1, 0), 0);
	map_free(&m);
	/* nothing is touched, so even an unmapped address will do */
	char *base;
	char *hole = make_hole(&base);
	ck_assert_int_eq(pmem_deep_drain(hole, 0), 0);
	ck_assert_int_eq(pmem_deep_persist(hole, 0), 0);
	free_hole(base);
}
END_TEST

/*
 * deep drain of an unmapped range fails with ENOMEM.  (pmem_deep_persist
 * first flushes the range, which faults on unmapped memory in any
 * implementation, so it is not called here.)
 */
START_TEST(test_deep_unmapped)
{
	int err;
	if (test_under_valgrind())	/* it would flag the msync */
		return;
	ck_assert_int_eq(call_on_hole(pmem_deep_drain, 1, 64, &err), -1);
	ck_assert_int_eq(err, ENOMEM);
	assert_msg("msync");
}
END_TEST

/* --------------------------------------------------------------- memops */

enum op { OP_MOVE, OP_CPY, OP_SET, OP_NOPS };

/* Runs op with flags (form 0), or its _persist (1) or _nodrain (2) form. */
static void *
run_op(enum op op, int form, void *dst, const void *src, int c, size_t len,
	unsigned flags)
{
	switch (op) {
	case OP_MOVE:
		if (form == 1)
			return pmem_memmove_persist(dst, src, len);
		if (form == 2)
			return pmem_memmove_nodrain(dst, src, len);
		return pmem_memmove(dst, src, len, flags);
	case OP_CPY:
		if (form == 1)
			return pmem_memcpy_persist(dst, src, len);
		if (form == 2)
			return pmem_memcpy_nodrain(dst, src, len);
		return pmem_memcpy(dst, src, len, flags);
	default:
		if (form == 1)
			return pmem_memset_persist(dst, c, len);
		if (form == 2)
			return pmem_memset_nodrain(dst, c, len);
		return pmem_memset(dst, c, len, flags);
	}
}

/* Length of the run of byte c at the start of p (at most len). */
static size_t
count_byte(const char *p, size_t len, int c)
{
	size_t i = 0;
	while (i < len && (unsigned char)p[i] == (unsigned char)c)
		i++;
	return i;
}

#define GUARD 64
#define GUARD_BYTE 0xa5

/*
 * Copies or fills len bytes at dst (GUARD bytes of guard around it must
 * fit in the area) and checks the result, the return value and the guards.
 */
static void
check_op(enum op op, int form, char *dst, const unsigned char *src,
	size_t len, unsigned flags)
{
	memset(dst - GUARD, GUARD_BYTE, len + 2 * GUARD);
	void *r = run_op(op, form, dst, src, 0x3c, len, flags);
	if (form == 2)
		pmem_drain();
	ck_assert_ptr_eq(r, dst);
	ck_assert_msg(count_byte(dst - GUARD, GUARD, GUARD_BYTE) == GUARD,
		"op %d form %d flags %#x len %zu: guard below hit", op, form,
		flags, len);
	ck_assert_msg(count_byte(dst + len, GUARD, GUARD_BYTE) == GUARD,
		"op %d form %d flags %#x len %zu: guard above hit", op, form,
		flags, len);
	if (op == OP_SET)
		ck_assert_msg(count_byte(dst, len, 0x3c) == len,
			"op %d form %d flags %#x len %zu: wrong fill", op, form,
			flags, len);
	else
		ck_assert_msg(memcmp(dst, src, len) == 0,
			"op %d form %d flags %#x len %zu: wrong copy", op,
			form, flags, len);
}

static const size_t lens[] = { 1, 7, 8, 63, 64, 65, 255, 256, 257, 1000,
	4096 + 3 };
static const size_t offs[] = { 0, 1, 8, 63 };

#define NLENS (sizeof(lens) / sizeof(lens[0]))
#define NOFFS (sizeof(offs) / sizeof(offs[0]))

/* Every routine with each of the 64 flag combinations copies and fills right. */
START_TEST(test_mem_all_flags)
{
	struct map m;
	map_new(&m, 4 * page_size(), "memflags");
	unsigned char *src = malloc(8192);
	ck_assert_ptr_nonnull(src);
	pattern(src, 8192, 5);

	for (unsigned flags = 0; flags < NFLAGS; flags++)
		for (int op = 0; op < OP_NOPS; op++)
			for (size_t l = 0; l < NLENS; l++)
				for (size_t o = 0; o < NOFFS; o++)
					check_op((enum op)op, 0,
						m.addr + 128 + offs[o],
						src + (l + o) % 8, lens[l],
						flags);
	/* the flag bits really are the header's */
	ck_assert_uint_eq(PMEM_F_MEM_VALID_FLAGS, NFLAGS - 1);
	free(src);
	map_free(&m);
}
END_TEST

/* The _persist and _nodrain forms copy and fill right. */
START_TEST(test_mem_forms)
{
	struct map m;
	map_new(&m, 4 * page_size(), "memforms");
	unsigned char *src = malloc(8192);
	ck_assert_ptr_nonnull(src);
	pattern(src, 8192, 6);
	for (int form = 1; form <= 2; form++)
		for (int op = 0; op < OP_NOPS; op++)
			for (size_t l = 0; l < NLENS; l++)
				for (size_t o = 0; o < NOFFS; o++)
					check_op((enum op)op, form,
						m.addr + 256 + offs[o],
						src + o, lens[l], 0);
	free(src);
	map_free(&m);
}
END_TEST

/* Unknown flag bits still copy right and leave a message. */
START_TEST(test_mem_unknown_flags)
{
	static const unsigned bad[] = { 1U << 10, (1U << 10) |
		PMEM_F_MEM_NODRAIN, (1U << 6) | PMEM_F_MEM_NONTEMPORAL,
		1U << 31 };
	struct map m;
	map_new(&m, 2 * page_size(), "memunk");
	unsigned char src[600];
	pattern(src, sizeof(src), 7);

	ck_assert_str_eq(pmem_errormsg(), "");
	for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
		for (int op = 0; op < OP_NOPS; op++) {
			/* replace the message, so that a new one must come */
			ck_assert_ptr_nonnull(pmem_check_version(2, 0));
			ck_assert_ptr_null(strstr(pmem_errormsg(), "flag"));
			check_op((enum op)op, 0, m.addr + 100, src + 1, 513,
				bad[b]);
			assert_msg("flag");
		}
	}
	map_free(&m);
}
END_TEST

/* len 0 changes nothing and returns dest, whatever the routine or flags. */
START_TEST(test_mem_len0)
{
	char buf[16];
	char src[16];
	memset(buf, 'b', sizeof(buf));
	memset(src, 's', sizeof(src));
	for (unsigned flags = 0; flags < NFLAGS; flags++) {
		ck_assert_ptr_eq(pmem_memmove(buf + 1, src, 0, flags), buf + 1);
		ck_assert_ptr_eq(pmem_memcpy(buf + 2, src, 0, flags), buf + 2);
		ck_assert_ptr_eq(pmem_memset(buf + 3, 'x', 0, flags), buf + 3);
	}
	ck_assert_ptr_eq(pmem_memmove_persist(buf, src, 0), buf);
	ck_assert_ptr_eq(pmem_memcpy_persist(buf, src, 0), buf);
	ck_assert_ptr_eq(pmem_memset_persist(buf, 'x', 0), buf);
	ck_assert_ptr_eq(pmem_memmove_nodrain(buf, src, 0), buf);
	ck_assert_ptr_eq(pmem_memcpy_nodrain(buf, src, 0), buf);
	ck_assert_ptr_eq(pmem_memset_nodrain(buf, 'x', 0), buf);
	for (size_t i = 0; i < sizeof(buf); i++)
		ck_assert_int_eq(buf[i], 'b');
}
END_TEST

/* src == dest is a no-op that returns dest. */
START_TEST(test_mem_same)
{
	struct map m;
	map_new(&m, page_size(), "memsame");
	unsigned char ref[1024];
	pattern(ref, sizeof(ref), 8);
	memcpy(m.addr, ref, sizeof(ref));
	for (unsigned flags = 0; flags < NFLAGS; flags++) {
		ck_assert_ptr_eq(pmem_memmove(m.addr + 3, m.addr + 3, 1000,
			flags), m.addr + 3);
		ck_assert_ptr_eq(pmem_memcpy(m.addr, m.addr, 1024, flags),
			m.addr);
	}
	ck_assert_ptr_eq(pmem_memmove_persist(m.addr, m.addr, 1024), m.addr);
	ck_assert_ptr_eq(pmem_memcpy_nodrain(m.addr, m.addr, 1024), m.addr);
	ck_assert_mem_eq(m.addr, ref, sizeof(ref));
	map_free(&m);
}
END_TEST

/* Overlapping moves and copies, either direction, equal memmove's result. */
START_TEST(test_mem_overlap)
{
	static const long shifts[] = { 1, -1, 7, -7, 8, -8, 64, -64, 200,
		-200, 1000, -1000 };
	static const size_t olens[] = { 1, 2, 15, 64, 255, 256, 600, 2000 };
	static const unsigned oflags[] = { 0, PMEM_F_MEM_NONTEMPORAL,
		PMEM_F_MEM_TEMPORAL, PMEM_F_MEM_NOFLUSH, PMEM_F_MEM_WC |
		PMEM_F_MEM_NODRAIN, PMEM_F_MEM_WB };
	struct map m;
	size_t area = 8192;
	map_new(&m, area, "overlap");
	unsigned char *ref = malloc(area);
	ck_assert_ptr_nonnull(ref);

	for (size_t s = 0; s < sizeof(shifts) / sizeof(shifts[0]); s++)
	for (size_t l = 0; l < sizeof(olens) / sizeof(olens[0]); l++)
	for (size_t f = 0; f < sizeof(oflags) / sizeof(oflags[0]); f++)
	for (int cpy = 0; cpy <= 1; cpy++) {
		size_t from = 1100 + (l & 3);
		size_t to = (size_t)((long)from + shifts[s]);
		char *a = m.addr;
		pattern(ref, area, (unsigned)(s + l));
		memcpy(a, ref, area);
		memmove(ref + to, ref + from, olens[l]);
		void *r = cpy ? pmem_memcpy(a + to, a + from, olens[l],
				oflags[f]) :
			pmem_memmove(a + to, a + from, olens[l], oflags[f]);
		ck_assert_ptr_eq(r, a + to);
		ck_assert_msg(memcmp(a, ref, area) == 0, "%s shift %ld len "
			"%zu flags %#x differs from memmove",
			cpy ? "memcpy" : "memmove", shifts[s], olens[l],
			oflags[f]);
	}
	/* the _persist and _nodrain forms overlap safely too */
	pattern(ref, area, 99);
	memcpy(m.addr, ref, area);
	memmove(ref + 10, ref, 3000);
	pmem_memcpy_persist(m.addr + 10, m.addr, 3000);
	ck_assert_mem_eq(m.addr, ref, area);
	memmove(ref, ref + 33, 2000);
	pmem_memmove_nodrain(m.addr, m.addr + 33, 2000);
	pmem_drain();
	ck_assert_mem_eq(m.addr, ref, area);
	memmove(ref + 1, ref, 500);
	pmem_memcpy_nodrain(m.addr + 1, m.addr, 500);
	pmem_memmove_persist(m.addr + 2000, m.addr + 2001, 0);
	pmem_drain();
	ck_assert_mem_eq(m.addr, ref, area);

	free(ref);
	map_free(&m);
}
END_TEST

/* The copy of the _persist forms is in the file's pages (pread sees it). */
START_TEST(test_mem_persist_reaches_file)
{
	struct map m;
	size_t pg = page_size();
	map_new(&m, 4 * pg, "memfile");
	unsigned char src[3000], want[3000];
	pattern(src, sizeof(src), 9);

	ck_assert_ptr_eq(pmem_memcpy_persist(m.addr + 5, src, 3000),
		m.addr + 5);
	assert_file(&m, 5, src, 3000);

	ck_assert_ptr_eq(pmem_memmove_persist(m.addr + pg - 3, src + 1, 700),
		m.addr + pg - 3);
	assert_file(&m, pg - 3, src + 1, 700);

	ck_assert_ptr_eq(pmem_memset_persist(m.addr + 2 * pg + 1, 0x77, 999),
		m.addr + 2 * pg + 1);
	memset(want, 0x77, 999);
	assert_file(&m, 2 * pg + 1, want, 999);

	pmem_memcpy_nodrain(m.addr + 3 * pg, src, 100);
	pmem_memset_nodrain(m.addr + 3 * pg + 100, 0x11, 50);
	pmem_memmove_nodrain(m.addr + 3 * pg + 150, src + 7, 60);
	pmem_drain();
	memcpy(want, src, 100);
	memset(want + 100, 0x11, 50);
	memcpy(want + 150, src + 7, 60);
	assert_file(&m, 3 * pg, want, 210);

	pmem_memcpy(m.addr + 3 * pg + 300, src, 400, PMEM_F_MEM_NONTEMPORAL);
	pmem_memset(m.addr + 3 * pg + 700, 0x22, 20, PMEM_F_MEM_NOFLUSH);
	pmem_persist(m.addr + 3 * pg + 700, 20);
	memset(want, 0x22, 20);
	assert_file(&m, 3 * pg + 300, src, 400);
	assert_file(&m, 3 * pg + 700, want, 20);
	/* msync on top leaves the same content */
	ck_assert_int_eq(pmem_msync(m.addr, m.len), 0);
	assert_file(&m, 5, src, 3000);
	map_free(&m);
}
END_TEST

/* The suite: one test case per area. */
static Suite *
suite(void)
{
	Suite *s = suite_create("persist");
	TCase *tc;

	tc = test_case(s, "flush", 20);
	tcase_add_test(tc, test_flush_sweep);
	tcase_add_test(tc, test_flush_pages);
	tcase_add_test(tc, test_flush_readonly);
	tcase_add_test(tc, test_flush_heap);
	tcase_add_test(tc, test_has_hw_drain);
	tcase_add_test(tc, test_has_auto_flush);

	tc = test_case(s, "msync", 10);
	tcase_add_test(tc, test_msync_unaligned);
	tcase_add_test(tc, test_msync_len0);
	tcase_add_test(tc, test_msync_unmapped);
	tcase_add_test(tc, test_msync_unmapped_with_maps);

	tc = test_case(s, "deep", 10);
	tcase_add_test(tc, test_deep_shm);
	tcase_add_test(tc, test_deep_len0);
	tcase_add_test(tc, test_deep_unmapped);

	tc = test_case(s, "memops", 30);
	tcase_add_test(tc, test_mem_all_flags);
	tcase_add_test(tc, test_mem_forms);
	tcase_add_test(tc, test_mem_unknown_flags);
	tcase_add_test(tc, test_mem_len0);
	tcase_add_test(tc, test_mem_same);
	tcase_add_test(tc, test_mem_overlap);
	tcase_add_test(tc, test_mem_persist_reaches_file);

	return s;
}

/* Runs the suite in fork mode; the exit status says whether all passed. */
int
main(void)
{
	return test_run(suite());
}
