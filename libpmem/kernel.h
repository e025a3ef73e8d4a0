/*
 * kernel.h -- the SIMD copy and fill kernels, written once and compiled
 * once per ISA.  The including file (kernel_sse2.c, kernel_avx2.c,
 * kernel_avx512f.c), built with that ISA's flags, defines first:
 *
 *   KVEC            the vector type
 *   KW              its width in bytes (16, 32 or 64)
 *   KLOADU(p)       an unaligned load
 *   KSTORE(p, v)    an aligned temporal store
 *   KSTREAM(p, v)   an aligned non-temporal store
 *   KSET1(c)        a vector of the byte c
 *   KISA            the ISA's name as a token (sse2, avx2, avx512f)
 *
 * Every kernel is inlined into one exported function per flush
 * instruction, which passes its line flush as a constant: the per-line
 * flush is never an indirect call.
 *
 * Layout of a copy: byte stores until the destination is 8-byte aligned,
 * 8-byte stores until it is line-aligned, whole lines of KW-wide stores
 * (four vectors at a time while they last), then 8-byte and byte stores
 * for the tail.  So an 8-byte-aligned destination and length get nothing
 * narrower than 8 bytes.  Non-temporal copies stream the body; temporal
 * ones flush it step by step as they write it, while it is cached, each
 * line once.  The head and tail (one partial line each, or one line for
 * both) are written with temporal stores and flushed at the end.
 */
#include <stdint.h>
#include <string.h>

#include "libpmem.h"
#include "flush.h"
#include "ops.h"
#include "pmemcheck.h"

#define K_INLINE static inline __attribute__((always_inline))
#define K_CAT_(a, b, c) a##b##c
#define K_CAT(a, b, c) K_CAT_(a, b, c)

typedef void (*k_line_fn)(const void *);

/* One byte store. */
K_INLINE void
k_st1(char *d, char v)
{
	*(volatile char *)d = v;
}

/* One 8-byte store; volatile keeps it from being split or merged. */
K_INLINE void
k_st8(char *d, uint64_t v)
{
	*(volatile uint64_t *)(void *)d = v;
}

/* An unaligned 8-byte load. */
K_INLINE uint64_t
k_ld8(const char *s)
{
	uint64_t v;
	memcpy(&v, s, sizeof(v));
	return v;
}

/* A cache line, and the vectors that fill one. */
#define KL 64
#define KPL (KL / KW)
/* The unrolled step: four vectors, at least one whole line. */
#define KSTEP (4 * KW > KL ? 4 * KW : KL)

/* Stores one vector, streaming or not. */
K_INLINE void
k_put(char *d, KVEC v, int nt)
{
	if (nt)
		KSTREAM(d, v);
	else
		KSTORE(d, v);
}

/* Copies n whole lines' worth of vectors from s to the line-aligned d. */
K_INLINE void
k_lines(char *d, const char *s, size_t n, int nt, k_line_fn line)
{
	if (n == 4 * KW && n >= KL) {
		KVEC a = KLOADU(s), b = KLOADU(s + KW);
		KVEC c = KLOADU(s + 2 * KW), e = KLOADU(s + 3 * KW);
		k_put(d, a, nt);
		k_put(d + KW, b, nt);
		k_put(d + 2 * KW, c, nt);
		k_put(d + 3 * KW, e, nt);
	} else {
		KVEC v[KPL];
		for (int k = 0; k < KPL; k++)
			v[k] = KLOADU(s + k * KW);
		for (int k = 0; k < KPL; k++)
			k_put(d + k * KW, v[k], nt);
	}
	if (!nt)
		PMEM__FLUSH_RANGE(d, n, line);
}

/*
 * Copies the line-aligned body forward (len a multiple of KL).  Temporal
 * stores are flushed step by step, each line once, while still cached.
 */
K_INLINE void
k_body_fwd(char *d, const char *s, size_t len, int nt, k_line_fn line)
{
	for (; len >= KSTEP; len -= KSTEP, d += KSTEP, s += KSTEP)
		k_lines(d, s, KSTEP, nt, line);
	for (; len >= KL; len -= KL, d += KL, s += KL)
		k_lines(d, s, KL, nt, line);
}

/* Copies the line-aligned body backward (d + len and s + len are the ends). */
K_INLINE void
k_body_bwd(char *d, const char *s, size_t len, int nt, k_line_fn line)
{
	d += len;
	s += len;
	for (; len >= KSTEP; len -= KSTEP) {
		d -= KSTEP;
		s -= KSTEP;
		k_lines(d, s, KSTEP, nt, line);
	}
	for (; len >= KL; len -= KL) {
		d -= KL;
		s -= KL;
		k_lines(d, s, KL, nt, line);
	}
}

/* Copies low to high; safe when d <= s or the ranges are apart. */
K_INLINE void
k_copy_fwd(char *d, const char *s, size_t len, int nt, k_line_fn line)
{
	for (; len > 0 && ((uintptr_t)d & 7); len--)
		k_st1(d++, *s++);
	for (; len >= 8 && ((uintptr_t)d & (KL - 1)); len -= 8, d += 8, s += 8)
		k_st8(d, k_ld8(s));
	size_t body = len & ~(size_t)(KL - 1);
	k_body_fwd(d, s, body, nt, line);
	d += body;
	s += body;
	len -= body;
	for (; len >= 8; len -= 8, d += 8, s += 8)
		k_st8(d, k_ld8(s));
	for (; len > 0; len--)
		k_st1(d++, *s++);
}

/* Copies high to low; safe when d > s. */
K_INLINE void
k_copy_bwd(char *d, const char *s, size_t len, int nt, k_line_fn line)
{
	char *de = d + len;
	const char *se = s + len;
	for (; len > 0 && ((uintptr_t)de & 7); len--)
		k_st1(--de, *--se);
	for (; len >= 8 && ((uintptr_t)de & (KL - 1)); len -= 8) {
		de -= 8;
		se -= 8;
		k_st8(de, k_ld8(se));
	}
	size_t body = len & ~(size_t)(KL - 1);
	k_body_bwd(de - body, se - body, body, nt, line);
	de -= body;
	se -= body;
	len -= body;
	for (; len >= 8; len -= 8) {
		de -= 8;
		se -= 8;
		k_st8(de, k_ld8(se));
	}
	for (; len > 0; len--)
		k_st1(--de, *--se);
}

/* Fills whole lines at the line-aligned d. */
K_INLINE void
k_fill_lines(char *d, KVEC v, size_t n, int nt, k_line_fn line)
{
	for (size_t k = 0; k < n; k += KW)
		k_put(d + k, v, nt);
	if (!nt)
		PMEM__FLUSH_RANGE(d, n, line);
}

/* Fills; the same layout as k_copy_fwd. */
K_INLINE void
k_fill(char *d, int c, size_t len, int nt, k_line_fn line)
{
	uint64_t v8 = 0x0101010101010101ull * (uint8_t)c;
	KVEC v = KSET1((char)c);

	for (; len > 0 && ((uintptr_t)d & 7); len--)
		k_st1(d++, (char)c);
	for (; len >= 8 && ((uintptr_t)d & (KL - 1)); len -= 8, d += 8)
		k_st8(d, v8);
	for (; len >= KSTEP; len -= KSTEP, d += KSTEP)
		k_fill_lines(d, v, KSTEP, nt, line);
	for (; len >= KL; len -= KL, d += KL)
		k_fill_lines(d, v, KL, nt, line);
	for (; len >= 8; len -= 8, d += 8)
		k_st8(d, v8);
	for (; len > 0; len--)
		k_st1(d++, (char)c);
}

/* Up to this length a NOFLUSH copy or fill is libc's: its overlapping
 * vector moves beat the line-by-line layout below on short or unaligned
 * ranges (pmem-bench's noflush rows). */
#define K_NOFLUSH_LIBC 256

/*
 * Non-temporal or temporal, from the flags and the length: NOFLUSH and
 * TEMPORAL/WB ask for cached stores, NONTEMPORAL/WC for streaming ones;
 * without a hint, lengths from the threshold up stream.
 */
K_INLINE int
k_use_nt(unsigned flags, size_t len)
{
	if (flags & PMEM_F_MEM_NOFLUSH)
		return 0;
	if (flags & (PMEM_F_MEM_NONTEMPORAL | PMEM_F_MEM_WC))
		return 1;
	if (flags & (PMEM_F_MEM_TEMPORAL | PMEM_F_MEM_WB))
		return 0;
	return len >= pmem__ops.movnt_threshold;
}

/*
 * After the stores: the body was streamed, or flushed as it was written;
 * what is left is the head and the tail, written with 8-byte and byte
 * stores (each inside one line).  A streaming copy also fences when the
 * drain of this flush instruction would not (clflush, or no flush at
 * all), so the streamed data is ordered.
 */
K_INLINE void
k_finish(char *d, size_t len, int nt, k_line_fn line, int fence_nt)
{
	uintptr_t start = (uintptr_t)d, end = start + len;
	int head = len > 0 && (start & (KL - 1));
	int tail = len > 0 && (end & (KL - 1));
	if (head)
		line((const void *)start);
	if (tail && (!head || ((end - 1) & ~(uintptr_t)(KL - 1)) !=
			(start & ~(uintptr_t)(KL - 1))))
		line((const void *)(end - 1));
	if (nt && fence_nt)
		pmem__sfence();
}

/*
 * Tells pmemcheck of the flushes it cannot see: the streamed body (whole
 * lines that bypassed the cache) or, for the kernels that run no flush
 * instruction, the whole range.  NOFLUSH flushes nothing.  noflush is a
 * constant in each instance, so the test folds away.
 */
K_INLINE void
k_pmemcheck(char *d, size_t len, int nt, unsigned flags, int noflush)
{
	if (flags & PMEM_F_MEM_NOFLUSH)
		return;
	if (noflush) {
		PMEM__PMC_FLUSH(d, len);
	} else if (nt) {
		uintptr_t b = ((uintptr_t)d + KL - 1) & ~(uintptr_t)(KL - 1);
		uintptr_t e = ((uintptr_t)d + len) & ~(uintptr_t)(KL - 1);
		if (e > b)
			PMEM__PMC_FLUSH(b, e - b);
	}
}

/*
 * The memmove kernel: direction, then temporal or streaming stores.  Each
 * of the four combinations is its own inlined copy with nt a constant, so
 * no store loop tests it.
 */
K_INLINE void
k_memmove(void *dst, const void *src, size_t len, unsigned flags,
	k_line_fn line, int fence_nt)
{
	char *d = dst;
	const char *s = src;
	int fwd = (uintptr_t)d - (uintptr_t)s >= len;
	if (flags & PMEM_F_MEM_NOFLUSH) {
		/* cached stores, nothing flushed or told to pmemcheck; a
		 * constant line function here and below, as a variable
		 * one is called through a pointer for every line */
		if (len <= K_NOFLUSH_LIBC) {
			memmove(d, s, len);
			return;
		}
		if (fwd)
			k_copy_fwd(d, s, len, 0, pmem__noflush_line);
		else
			k_copy_bwd(d, s, len, 0, pmem__noflush_line);
		return;
	}
	int nt = k_use_nt(flags, len);
	int noflush = line == pmem__noflush_line;
	if (nt) {
		if (fwd)
			k_copy_fwd(d, s, len, 1, line);
		else
			k_copy_bwd(d, s, len, 1, line);
	} else {
		if (fwd)
			k_copy_fwd(d, s, len, 0, line);
		else
			k_copy_bwd(d, s, len, 0, line);
	}
	k_finish(d, len, nt, line, fence_nt);
	k_pmemcheck(d, len, nt, flags, noflush);
}

/* The memset kernel, likewise specialised on nt. */
K_INLINE void
k_memset(void *dst, int c, size_t len, unsigned flags, k_line_fn line,
	int fence_nt)
{
	if (flags & PMEM_F_MEM_NOFLUSH) {
		/* as in k_memmove */
		if (len <= K_NOFLUSH_LIBC) {
			memset(dst, c, len);
			return;
		}
		k_fill(dst, c, len, 0, pmem__noflush_line);
		return;
	}
	int nt = k_use_nt(flags, len);
	int noflush = line == pmem__noflush_line;
	if (nt)
		k_fill(dst, c, len, 1, line);
	else
		k_fill(dst, c, len, 0, line);
	k_finish(dst, len, nt, line, fence_nt);
	k_pmemcheck(dst, len, nt, flags, noflush);
}

/*
 * One memmove/memset pair per flush instruction, for the table.  A test
 * defines K_TEST_INSTANCES to instantiate the kernels with a line
 * function of its own instead.
 */
#define K_INSTANCE(kind, line_op, fence_nt) \
static void \
K_CAT(memmove_, KISA, _##kind)(void *dst, const void *src, size_t len, \
	unsigned flags) \
{ \
	k_memmove(dst, src, len, flags, line_op, fence_nt); \
} \
static void \
K_CAT(memset_, KISA, _##kind)(void *dst, int c, size_t len, unsigned flags) \
{ \
	k_memset(dst, c, len, flags, line_op, fence_nt); \
}

#ifndef K_TEST_INSTANCES
K_INSTANCE(noflush, pmem__noflush_line, 1)
K_INSTANCE(clflush, pmem__clflush_line, 1)
K_INSTANCE(clflushopt, pmem__clflushopt_line, 0)
K_INSTANCE(clwb, pmem__clwb_line, 0)

/* See ops.h: this ISA's memmove for a flush instruction. */
pmem__memmove_fn
K_CAT(pmem__, KISA, _memmove)(enum pmem__flush_kind k)
{
	switch (k) {
	case PMEM_FLUSH_CLFLUSH: return K_CAT(memmove_, KISA, _clflush);
	case PMEM_FLUSH_CLFLUSHOPT: return K_CAT(memmove_, KISA, _clflushopt);
	case PMEM_FLUSH_CLWB: return K_CAT(memmove_, KISA, _clwb);
	default: return K_CAT(memmove_, KISA, _noflush);
	}
}

/* See ops.h: this ISA's memset for a flush instruction. */
pmem__memset_fn
K_CAT(pmem__, KISA, _memset)(enum pmem__flush_kind k)
{
	switch (k) {
	case PMEM_FLUSH_CLFLUSH: return K_CAT(memset_, KISA, _clflush);
	case PMEM_FLUSH_CLFLUSHOPT: return K_CAT(memset_, KISA, _clflushopt);
	case PMEM_FLUSH_CLWB: return K_CAT(memset_, KISA, _clwb);
	default: return K_CAT(memset_, KISA, _noflush);
	}
}
#endif /* K_TEST_INSTANCES */
