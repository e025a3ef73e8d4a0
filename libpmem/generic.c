/*
 * generic.c -- the portable copy kernels: 8-byte stores, then a flush of
 * every line written.  An 8-byte-aligned destination and length are
 * written with 8-byte stores only, so each aligned word is failure-atomic.
 */
#include <stdint.h>
#include <string.h>

#include "libpmem.h"
#include "flush.h"
#include "ops.h"
#include "pmemcheck.h"

/* Stores one 8-byte word; volatile keeps the compiler from merging it. */
static inline void
store8(char *d, uint64_t v)
{
	*(volatile uint64_t *)(void *)d = v;
}

/* Stores one byte. */
static inline void
store1(char *d, char v)
{
	*(volatile char *)d = v;
}

/* Loads 8 bytes from any alignment. */
static inline uint64_t
load8(const char *s)
{
	uint64_t v;
	memcpy(&v, s, sizeof(v));
	return v;
}

/* Copies low to high; safe when dst <= src or the ranges are apart. */
static inline void
copy_forward(char *d, const char *s, size_t len)
{
	while (len > 0 && ((uintptr_t)d & 7) != 0) {
		store1(d++, *s++);
		len--;
	}
	for (; len >= 8; len -= 8, d += 8, s += 8)
		store8(d, load8(s));
	while (len-- > 0)
		store1(d++, *s++);
}

/* Copies high to low; safe when dst > src. */
static inline void
copy_backward(char *d, const char *s, size_t len)
{
	d += len;
	s += len;
	while (len > 0 && ((uintptr_t)d & 7) != 0) {
		store1(--d, *--s);
		len--;
	}
	for (; len >= 8; len -= 8) {
		d -= 8;
		s -= 8;
		store8(d, load8(s));
	}
	while (len-- > 0)
		store1(--d, *--s);
}

/* Copies with overlap in either direction. */
static inline void
copy_any(char *d, const char *s, size_t len)
{
	if ((uintptr_t)d - (uintptr_t)s >= len)
		copy_forward(d, s, len);
	else
		copy_backward(d, s, len);
}

/* Fills with the byte c. */
static inline void
fill(char *d, int c, size_t len)
{
	uint64_t v = 0x0101010101010101ull * (uint8_t)c;

	while (len > 0 && ((uintptr_t)d & 7) != 0) {
		store1(d++, (char)c);
		len--;
	}
	for (; len >= 8; len -= 8, d += 8)
		store8(d, v);
	while (len-- > 0)
		store1(d++, (char)c);
}

/*
 * Flushes the written range (unless NOFLUSH); "none" (a constant) marks
 * the kernels that run no flush instruction, whose flush pmemcheck is
 * told of instead.
 */
#define GENERIC_FLUSH(dst, len, flags, line_op, none) do { \
	if (!((flags) & PMEM_F_MEM_NOFLUSH)) { \
		PMEM__FLUSH_RANGE((dst), (len), line_op); \
		if (none) \
			PMEM__PMC_FLUSH((dst), (len)); \
	} \
} while (0)

/* Instantiates a memmove/memset pair whose flush is inlined. */
#define GENERIC_KERNELS(kind, line_op, none) \
static void \
memmove_##kind(void *dst, const void *src, size_t len, unsigned flags) \
{ \
	copy_any(dst, src, len); \
	GENERIC_FLUSH(dst, len, flags, line_op, none); \
} \
static void \
memset_##kind(void *dst, int c, size_t len, unsigned flags) \
{ \
	fill(dst, c, len); \
	GENERIC_FLUSH(dst, len, flags, line_op, none); \
}

GENERIC_KERNELS(noflush, pmem__noflush_line, 1)
GENERIC_KERNELS(clflush, pmem__clflush_line, 0)
GENERIC_KERNELS(clflushopt, pmem__clflushopt_line, 0)
GENERIC_KERNELS(clwb, pmem__clwb_line, 0)

/* Returns the portable memmove kernel for a flush instruction. */
pmem__memmove_fn
pmem__generic_memmove(enum pmem__flush_kind k)
{
	switch (k) {
	case PMEM_FLUSH_CLFLUSH: return memmove_clflush;
	case PMEM_FLUSH_CLFLUSHOPT: return memmove_clflushopt;
	case PMEM_FLUSH_CLWB: return memmove_clwb;
	default: return memmove_noflush;
	}
}

/* Returns the portable memset kernel for a flush instruction. */
pmem__memset_fn
pmem__generic_memset(enum pmem__flush_kind k)
{
	switch (k) {
	case PMEM_FLUSH_CLFLUSH: return memset_clflush;
	case PMEM_FLUSH_CLFLUSHOPT: return memset_clflushopt;
	case PMEM_FLUSH_CLWB: return memset_clwb;
	default: return memset_noflush;
	}
}

/* libc's memmove, then the flush in force (PMEM_NO_GENERIC_MEMCPY=1). */
void
pmem__libc_memmove(void *dst, const void *src, size_t len, unsigned flags)
{
	memmove(dst, src, len);
	if (!(flags & PMEM_F_MEM_NOFLUSH))
		pmem__ops.flush(dst, len);
}

/* libc's memset, then the flush in force. */
void
pmem__libc_memset(void *dst, int c, size_t len, unsigned flags)
{
	memset(dst, c, len);
	if (!(flags & PMEM_F_MEM_NOFLUSH))
		pmem__ops.flush(dst, len);
}

/* 8-byte-store copy, then the flush in force (msync and fit modes). */
void
pmem__indirect_memmove(void *dst, const void *src, size_t len,
	unsigned flags)
{
	copy_any(dst, src, len);
	if (!(flags & PMEM_F_MEM_NOFLUSH))
		pmem__ops.flush(dst, len);
}

/* 8-byte-store fill, then the flush in force (msync and fit modes). */
void
pmem__indirect_memset(void *dst, int c, size_t len, unsigned flags)
{
	fill(dst, c, len);
	if (!(flags & PMEM_F_MEM_NOFLUSH))
		pmem__ops.flush(dst, len);
}
