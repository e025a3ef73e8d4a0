/*
 * poison.h -- libpmem's own poison injection (verify.c): ranges marked
 * bad whose read-back by pmem_persist_verify raises the SIGBUS a machine
 * check on a poisoned line raises.  For tests on machines without
 * persistent memory or CONFIG_MEMORY_FAILURE.
 */
#ifndef PMEM_POISON_H
#define PMEM_POISON_H 1

#include <stddef.h>

#define PMEM_POISON_MAX 16

/* Marks [addr, addr + len) poisoned; 0, or -1 with errno (ENOSPC). */
int pmem__poison_inject(const void *addr, size_t len);

/* Forgets every injected range. */
void pmem__poison_clear(void);

#endif /* PMEM_POISON_H */
