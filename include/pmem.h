/*
 * pmem.h -- the original Linux Persistent Memory API (LINUX_PMEM_API 0.8),
 * served by the same libpmem.so.1 as <libpmem.h>, which it includes.
 *
 * See libpmem(7) and pmem_map(3).
 */
#ifndef PMEM_H
#define PMEM_H 1

/* Declares the 1.x calls and, PMEM_H being defined, the 0.8-only ones. */
#include <libpmem.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Under this header pmem_persist has the 0.8 type, as it had with the
 * original one: a program may take a "void (*)(void *, size_t, int)"
 * pointer to it or call "(pmem_persist)(p, n, 0)".  <libpmem.h> already
 * declared the name with the 1.x type, and one name cannot have two, so
 * the 0.8 prototype gets a name of its own bound to the same exported
 * symbol (the third argument is ignored by the 1.x function and harmless
 * in the x86-64 and AArch64 calling conventions).  The name pmem_persist
 * then stands for it.  From C99 and C++11 on a call may also omit the
 * flags, as in 1.x; in C89 and C++98 it takes exactly three arguments, as
 * the original did.
 */
#undef pmem_persist
void pmem__persist_0_8(void *addr, size_t len, int flags)
	__asm__("pmem_persist");

#ifdef __cplusplus
}
#endif

#define pmem_persist pmem__persist_0_8
#ifdef PMEM__PERSIST
#define pmem__persist_0_8(...) PMEM__PERSIST(__VA_ARGS__, 0, \
	pmem__persist_takes_2_or_3_arguments())
#endif

#endif /* PMEM_H */
