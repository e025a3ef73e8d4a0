/*
 * test_kernel.c -- the SIMD kernel template (kernel.h) instantiated with
 * a line "flush" that records which lines it was given: every line a
 * temporal copy or fill writes must be flushed, exactly once, and a
 * streaming one must flush the lines of its unaligned head and tail.
 *
 * Built three times, once per ISA (KT_ISA: sse2, avx2, avx512f), each
 * with the library's kernel file of that ISA at its own width
 * (tests/kernel_rec_<isa>.c, compiled with its -m flags); this file is
 * not, and runs the kernels only where the CPU and the OS support the
 * ISA, else exits 77 saying why.
 */
#include <stdint.h>

#include "common.h"
#include "cpu.h"
#include "kernel_rec.h"
#include "libpmem.h"
#include "ops.h"

#define KT_CAT_(a, b) a##b
#define KT_CAT(a, b) KT_CAT_(a, b)
#define KT_STR_(a) #a
#define KT_STR(a) KT_STR_(a)
#define KT_KERNELS KT_CAT(kt_, KT_ISA)

#define AREA (16384 + 512)
static char area[AREA] __attribute__((aligned(64)));
static char other[AREA] __attribute__((aligned(64)));
static unsigned char flushed[AREA / 64];

/* See kernel_rec.h: counts the flushes of each line. */
void
kt_record(const void *p)
{
	uintptr_t off = (uintptr_t)p - (uintptr_t)area;
	if (off < sizeof(area))
		flushed[off / 64]++;
}

/* The kernels under test. */
static void
memmove_test_rec(void *dst, const void *src, size_t len, unsigned flags)
{
	KT_KERNELS.memmove(dst, src, len, flags);
}

/* The kernels under test. */
static void
memset_test_rec(void *dst, int c, size_t len, unsigned flags)
{
	KT_KERNELS.memset(dst, c, len, flags);
}

/* Checks the lines flushed for a write of [off, off + len). */
static void
check_lines(size_t off, size_t len, int nt, const char *what)
{
	size_t first = off / 64, last = (off + len - 1) / 64;
	for (size_t l = first; l <= last; l++) {
		int need = !nt;
		if (nt && l == first && (off & 63))
			need = 1;
		if (nt && l == last && ((off + len) & 63))
			need = 1;
		if (need && !flushed[l])
			ck_abort_msg("%s off %zu len %zu nt %d: line %zu not "
				"flushed", what, off, len, nt, l - first);
	}
	for (size_t l = 0; l < sizeof(flushed); l++) {
		if (flushed[l] && (l < first || l > last))
			ck_abort_msg("%s off %zu len %zu: flushed a line "
				"outside the range", what, off, len);
		/* a second flush of a line waits for the first write-back */
		if (flushed[l] > 1)
			ck_abort_msg("%s off %zu len %zu nt %d: line %zu "
				"flushed %d times", what, off, len, nt,
				l - first, flushed[l]);
	}
}

/* Every length to 1100 and a large one, at every offset 0..63, each
 * routing, forward, backward and fill. */
START_TEST(test_lines_flushed)
{
	static const unsigned flags[] = { PMEM_F_MEM_TEMPORAL,
		PMEM_F_MEM_NONTEMPORAL };
	size_t step = test_under_valgrind() ? 37 : 1;
	for (size_t f = 0; f < 2; f++)
	for (size_t len = 1; len <= 1100 || len == 1101; len += step) {
		size_t n = len > 1100 ? 16000 : len;
		for (size_t off = 0; off < 64; off += step > 1 ? 7 : 1) {
			int nt = flags[f] == PMEM_F_MEM_NONTEMPORAL;
			memset(flushed, 0, sizeof(flushed));
			memmove_test_rec(area + off, other, n, flags[f]);
			check_lines(off, n, nt, "copy forward");
			memset(flushed, 0, sizeof(flushed));
			memmove_test_rec(area + off + 32, area + off, n,
				flags[f]);
			check_lines(off + 32, n, nt, "copy backward");
			memset(flushed, 0, sizeof(flushed));
			memset_test_rec(area + off, 7, n, flags[f]);
			check_lines(off, n, nt, "fill");
		}
		if (len > 1100)
			break;
	}
}
END_TEST

/* Checks area[off, off + len) against want, and the bytes just before
 * and after it against before and after (what). */
static void
check_bytes(size_t off, size_t len, const char *want, char before,
	char after, const char *what)
{
	if (memcmp(area + off, want, len) != 0)
		ck_abort_msg("%s off %zu len %zu: wrong bytes", what, off, len);
	if ((off > 0 && area[off - 1] != before) ||
			(off + len < sizeof(area) && area[off + len] != after))
		ck_abort_msg("%s off %zu len %zu: wrote outside the range",
			what, off, len);
}

/* NOFLUSH flushes nothing and writes exactly its range: every length to
 * 300 (libc's below K_NOFLUSH_LIBC, the kernel's above) at several
 * offsets, forward, backward (overlapping) and fill, and a large one. */
START_TEST(test_noflush)
{
	static char want[AREA];
	size_t step = test_under_valgrind() ? 13 : 1;
	for (size_t k = 0; k < sizeof(other); k++)
		other[k] = (char)(k * 7 + 1);
	memset(flushed, 0, sizeof(flushed));
	for (size_t len = 1; len <= 300 || len == 301; len += step) {
		size_t n = len > 300 ? 5000 : len;
		for (size_t off = 1; off < 64; off += 9) {
			memset(area, 'g', sizeof(area));
			memmove_test_rec(area + off, other, n,
				PMEM_F_MEM_NOFLUSH);
			check_bytes(off, n, other, 'g', 'g', "copy");
			memcpy(want, area + off, n);
			/* 40 bytes up, then back: overlapping from n = 41 */
			memmove_test_rec(area + off + 40, area + off, n,
				PMEM_F_MEM_NOFLUSH);
			check_bytes(off + 40, n, want, n < 40 ? 'g' : want[39],
				'g', "copy backward");
			memmove_test_rec(area + off, area + off + 40, n,
				PMEM_F_MEM_NOFLUSH);
			check_bytes(off, n, want, 'g', n < 40 ? 'g' :
				want[n - 40], "copy forward");
			memset(area, 'g', sizeof(area));
			memset_test_rec(area + off, 1, n, PMEM_F_MEM_NOFLUSH);
			memset(want, 1, n);
			check_bytes(off, n, want, 'g', 'g', "fill");
		}
	}
	for (size_t l = 0; l < sizeof(flushed); l++)
		ck_assert_int_eq(flushed[l], 0);
}
END_TEST

/* Builds the suite. */
static Suite *
suite(void)
{
	Suite *s = suite_create("kernel " KT_STR(KT_ISA));
	TCase *tc = test_case(s, "lines", 60);
	tcase_add_test(tc, test_lines_flushed);
	tcase_add_test(tc, test_noflush);
	return s;
}

/* NULL if this CPU and OS can run the ISA's kernels, else why not. */
static const char *
missing(void)
{
	struct pmem__cpu c;
	pmem__cpu_detect(&c);
	const char *isa = KT_STR(KT_ISA);
	if (strcmp(isa, "sse2") == 0)
		return c.sse2 ? NULL : "the CPU has no SSE2";
	if (strcmp(isa, "avx2") == 0)
		return c.avx2 ? NULL : !c.os_avx ? "the OS does not enable "
			"AVX state (XCR0)" : "the CPU has no AVX2";
	if (strcmp(isa, "avx512f") == 0)
		return c.avx512f ? NULL : !c.os_avx512 ? "the CPU has no "
			"AVX-512F, or the OS does not enable its state (XCR0)" :
			"the CPU has no AVX-512F";
	return "unknown ISA";
}

int
main(void)
{
	const char *why = missing();
	if (why != NULL) {
		printf("SKIP: %s kernels not run: %s\n", KT_STR(KT_ISA), why);
		return 77;
	}
	printf("%s kernels, %u-byte vectors\n", KT_STR(KT_ISA),
		KT_KERNELS.width);
	pmem__ops.movnt_threshold = 256;
	return test_run(suite());
}
