/*
 * pmem.h -- the original Linux Persistent Memory API (LINUX_PMEM_API 0.8),
 * served by the same libpmem.so.1 as <libpmem.h>, which it includes.
 *
 * See libpmem(7) and pmem_map(3).
 */
#ifndef PMEM_H
#define PMEM_H 1

#include <libpmem.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * pmem_persist(addr, len, flags) is declared by <libpmem.h>; it accepts the
 * 0.8 form with three arguments.  No flags were ever defined: any value is
 * ignored.  <libpmem.h> declares the calls below too, unless the program
 * defined PMEM_NO_0_8_API; repeating them here keeps <pmem.h> complete.
 */
void *pmem_map(int fd, size_t len);
void pmem_flush_cache(void *addr, size_t len, int flags);
void pmem_fence(void);
void pmem_drain_pm_stores(void);
void pmem_msync_mode(void);
void pmem_fit_mode(void);

#ifdef __cplusplus
}
#endif

#endif /* PMEM_H */
