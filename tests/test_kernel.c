/*
 * test_kernel.c -- the SIMD kernel template (kernel.h) instantiated with
 * a line "flush" that records which lines it was given: every line a
 * temporal copy or fill writes must be flushed, exactly once, and a
 * streaming one must flush the lines of its unaligned head and tail.
 */
#include <emmintrin.h>
#include <stdint.h>

#include "common.h"

#define KVEC __m128i
#define KW 16
#define KLOADU(p) _mm_loadu_si128((const __m128i *)(const void *)(p))
#define KSTORE(p, v) _mm_store_si128((__m128i *)(void *)(p), (v))
#define KSTREAM(p, v) _mm_stream_si128((__m128i *)(void *)(p), (v))
#define KSET1(c) _mm_set1_epi8(c)
#define KISA test
#define K_TEST_INSTANCES 1

#include "kernel.h"

#define AREA (16384 + 512)
static char area[AREA] __attribute__((aligned(64)));
static char other[AREA] __attribute__((aligned(64)));
static unsigned char flushed[AREA / 64];

/* The recording line function: counts the flushes of each line. */
static void
rec_line(const void *p)
{
	uintptr_t off = (uintptr_t)p - (uintptr_t)area;
	if (off < sizeof(area))
		flushed[off / 64]++;
}

K_INSTANCE(rec, rec_line, 1)

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

/* NOFLUSH flushes nothing. */
START_TEST(test_noflush)
{
	memset(flushed, 0, sizeof(flushed));
	memmove_test_rec(area + 3, other, 5000, PMEM_F_MEM_NOFLUSH);
	memset_test_rec(area + 5, 1, 5000, PMEM_F_MEM_NOFLUSH);
	for (size_t l = 0; l < sizeof(flushed); l++)
		ck_assert_int_eq(flushed[l], 0);
}
END_TEST

/* Builds the suite. */
static Suite *
suite(void)
{
	Suite *s = suite_create("kernel");
	TCase *tc = test_case(s, "lines", 60);
	tcase_add_test(tc, test_lines_flushed);
	tcase_add_test(tc, test_noflush);
	return s;
}

int
main(void)
{
	pmem__ops.movnt_threshold = 256;
	return test_run(suite());
}
