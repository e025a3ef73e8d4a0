/*
 * common.h -- small definitions shared by every libpmem source file.
 */
#ifndef PMEM_COMMON_H
#define PMEM_COMMON_H 1

#include <stddef.h>
#include <stdint.h>

/* Marks a function as part of the library's ABI (default is hidden). */
#define PMEM_EXPORT __attribute__((visibility("default")))

#define PMEM_CACHELINE 64u

#define pmem__likely(x) __builtin_expect(!!(x), 1)
#define pmem__unlikely(x) __builtin_expect(!!(x), 0)

#ifdef PMEM_USE_VALGRIND
#include <valgrind/memcheck.h>
#define PMEM_VG_CHECK_ADDRESSABLE(a, l) \
	((void)VALGRIND_CHECK_MEM_IS_ADDRESSABLE((a), (l)))
/* Silences valgrind's error reports in this thread, then restores them. */
#define PMEM_VG_ERRORS_OFF() VALGRIND_DISABLE_ERROR_REPORTING
#define PMEM_VG_ERRORS_ON() VALGRIND_ENABLE_ERROR_REPORTING
#else
#define PMEM_VG_CHECK_ADDRESSABLE(a, l) ((void)(a), (void)(l))
#define PMEM_VG_ERRORS_OFF() ((void)0)
#define PMEM_VG_ERRORS_ON() ((void)0)
#endif

#endif /* PMEM_COMMON_H */
