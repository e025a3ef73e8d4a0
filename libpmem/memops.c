/*
 * memops.c -- pmem_memmove, pmem_memcpy, pmem_memset and their _persist
 * and _nodrain forms: flag routing in front of the kernels of the table.
 */
#include "libpmem.h"
#include "common.h"
#include "errormsg.h"
#include "ops.h"

/* Records unknown flag bits; the call still proceeds with the known ones. */
static inline unsigned
check_flags(unsigned flags)
{
	if (pmem__unlikely(flags & ~PMEM_F_MEM_VALID_FLAGS))
		pmem__err("invalid flags 0x%x", flags);
	return flags & PMEM_F_MEM_VALID_FLAGS;
}

/* Drains unless the caller asked not to, or nothing was flushed. */
static inline void
maybe_drain(unsigned flags)
{
	if ((flags & (PMEM_F_MEM_NODRAIN | PMEM_F_MEM_NOFLUSH)) == 0)
		pmem__ops.drain();
}

/* Copies with overlap allowed, then flushes (and drains) per flags. */
PMEM_EXPORT void *
pmem_memmove(void *pmemdest, const void *src, size_t len, unsigned flags)
{
	flags = check_flags(flags);
	if (len == 0 || pmemdest == src)
		return pmemdest;
	pmem__ops.memmove_nodrain(pmemdest, src, len, flags);
	maybe_drain(flags);
	return pmemdest;
}

/* Same as pmem_memmove: overlap is always safe. */
PMEM_EXPORT void *
pmem_memcpy(void *pmemdest, const void *src, size_t len, unsigned flags)
{
	return pmem_memmove(pmemdest, src, len, flags);
}

/* Fills, then flushes (and drains) per flags. */
PMEM_EXPORT void *
pmem_memset(void *pmemdest, int c, size_t len, unsigned flags)
{
	flags = check_flags(flags);
	if (len == 0)
		return pmemdest;
	pmem__ops.memset_nodrain(pmemdest, c, len, flags);
	maybe_drain(flags);
	return pmemdest;
}

/* Copies and makes the copy durable. */
PMEM_EXPORT void *
pmem_memmove_persist(void *pmemdest, const void *src, size_t len)
{
	return pmem_memmove(pmemdest, src, len, 0);
}

/* Copies and makes the copy durable. */
PMEM_EXPORT void *
pmem_memcpy_persist(void *pmemdest, const void *src, size_t len)
{
	return pmem_memmove(pmemdest, src, len, 0);
}

/* Fills and makes the fill durable. */
PMEM_EXPORT void *
pmem_memset_persist(void *pmemdest, int c, size_t len)
{
	return pmem_memset(pmemdest, c, len, 0);
}

/* Copies and flushes; the caller drains. */
PMEM_EXPORT void *
pmem_memmove_nodrain(void *pmemdest, const void *src, size_t len)
{
	return pmem_memmove(pmemdest, src, len, PMEM_F_MEM_NODRAIN);
}

/* Copies and flushes; the caller drains. */
PMEM_EXPORT void *
pmem_memcpy_nodrain(void *pmemdest, const void *src, size_t len)
{
	return pmem_memmove(pmemdest, src, len, PMEM_F_MEM_NODRAIN);
}

/* Fills and flushes; the caller drains. */
PMEM_EXPORT void *
pmem_memset_nodrain(void *pmemdest, int c, size_t len)
{
	return pmem_memset(pmemdest, c, len, PMEM_F_MEM_NODRAIN);
}
