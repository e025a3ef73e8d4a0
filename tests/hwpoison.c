/*
 * hwpoison.c -- pmem_persist_verify on a page the kernel really poisoned
 * (madvise MADV_HWPOISON).  Needs CONFIG_MEMORY_FAILURE and CAP_SYS_ADMIN;
 * exits 77 saying which is missing.  The page stays poisoned: it is an
 * anonymous page of this short-lived process.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libpmem.h"

#ifndef MADV_HWPOISON
#define MADV_HWPOISON 100
#endif

int
main(void)
{
	long page = sysconf(_SC_PAGESIZE);
	if (access("/proc/sys/vm/memory_failure_recovery", F_OK) != 0) {
		printf("SKIP: this kernel has no CONFIG_MEMORY_FAILURE "
			"(no /proc/sys/vm/memory_failure_recovery): "
			"MADV_HWPOISON cannot poison a page\n");
		return 77;
	}
	char *p = mmap(NULL, (size_t)page * 4, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	memset(p, 1, (size_t)page * 4);
	if (madvise(p + 2 * page, (size_t)page, MADV_HWPOISON) != 0) {
		printf("SKIP: madvise(MADV_HWPOISON): %s\n", strerror(errno));
		return 77;
	}
	size_t bad = 0;
	int r = pmem_persist_verify(p, (size_t)page * 4, &bad);
	if (r != -1 || errno != EIO || bad != (size_t)(2 * page)) {
		printf("FAIL: verify returned %d (%s), bad offset %zu\n", r,
			strerror(errno), bad);
		return 1;
	}
	printf("ok: the poisoned page reported at offset %zu\n", bad);
	return 0;
}
