/*
 * flush.h -- cache-line flush and fence primitives, inlined into kernels.
 *
 * Each primitive clobbers memory so that no store the caller made before
 * it can be moved after the flush by the compiler.
 */
#ifndef PMEM_FLUSH_H
#define PMEM_FLUSH_H 1

#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* Writes back and evicts one line; ordered against other clflushes. */
static inline void
pmem__clflush_line(const void *p)
{
	__asm__ volatile("clflush %0" : : "m"(*(const volatile char *)p)
		: "memory");
}

/* Writes back and evicts one line; weakly ordered (needs sfence). */
static inline void
pmem__clflushopt_line(const void *p)
{
	__asm__ volatile("clflushopt %0" : : "m"(*(const volatile char *)p)
		: "memory");
}

/* Writes back one line, which may stay cached; weakly ordered. */
static inline void
pmem__clwb_line(const void *p)
{
	__asm__ volatile("clwb %0" : : "m"(*(const volatile char *)p)
		: "memory");
}

/* Does nothing: the flush of a platform that needs none (eADR). */
static inline void
pmem__noflush_line(const void *p)
{
	(void)p;
}

/* Store fence: orders weakly ordered flushes and non-temporal stores. */
static inline void
pmem__sfence(void)
{
	__asm__ volatile("sfence" : : : "memory");
}

/* Applies line_op to every cache line touching [addr, addr + len).  A
 * counted loop: with pmem__noflush_line's empty body the compiler drops
 * it, which it may not do for "p_ < e_" (a loop that might never end). */
#define PMEM__FLUSH_RANGE(addr, len, line_op) do { \
	uintptr_t p_ = (uintptr_t)(addr) & ~(uintptr_t)(PMEM_CACHELINE - 1); \
	uintptr_t e_ = (uintptr_t)(addr) + (len); \
	size_t n_ = e_ > p_ ? (e_ - p_ + PMEM_CACHELINE - 1) / PMEM_CACHELINE \
		: 0; \
	for (; n_ > 0; n_--, p_ += PMEM_CACHELINE) \
		line_op((const void *)p_); \
} while (0)

#endif /* PMEM_FLUSH_H */
