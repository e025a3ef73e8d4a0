/*
 * compat.c -- the ChorusOS kernel calls that hot restart programs use:
 * rgnAllocate and vmPageSize, on mmap.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hr/hr.h"
#include "pmm.h"

/* The size of a virtual memory page. */
PMM_EXPORT VmAddr
vmPageSize(void)
{
	return (VmAddr)sysconf(_SC_PAGESIZE);
}

/* Allocate a region: K_RESERVED gives address space that faults on any
 * access; otherwise zero-filled memory, writable with K_WRITABLE or by
 * default. */
PMM_EXPORT int
rgnAllocate(int process, KnRgnDesc *rgn)
{
	if (rgn == NULL)
		return pmm__fail(K_EFAULT, "region descriptor is NULL");
	if (process != K_MYprocess)
		return pmm__fail(K_EINVAL,
				"rgnAllocate: only K_MYprocess exists on Linux");
	int known = K_ANYWHERE | K_RESERVED | K_WRITABLE | K_EXECUTABLE |
		K_FILLZERO;
	if (rgn->options & ~known)
		return pmm__fail(K_EINVAL, "rgnAllocate: unknown options 0x%x",
				rgn->options & ~known);
	VmAddr ps = vmPageSize();
	if (rgn->size == 0 || rgn->size > ((VmAddr)1 << 46))
		return pmm__fail(K_EINVAL, "rgnAllocate: size %lu", rgn->size);
	size_t len = (rgn->size + ps - 1) & ~(ps - 1);
	int prot = PROT_NONE;
	if (!(rgn->options & K_RESERVED)) {
		prot = PROT_READ | PROT_WRITE;
		if (rgn->options & K_EXECUTABLE)
			prot = PROT_READ | PROT_EXEC |
				((rgn->options & K_WRITABLE) ? PROT_WRITE : 0);
	}
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	void *hint = NULL;
	if (!(rgn->options & K_ANYWHERE)) {
		/* never map page 0: a zeroed descriptor without K_ANYWHERE
		 * would otherwise make NULL a valid pointer (as root) */
		if (rgn->startAddr == 0)
			return pmm__fail(K_EINVAL,
					"rgnAllocate: start address 0 without K_ANYWHERE");
		if (rgn->startAddr % ps != 0)
			return pmm__fail(K_EINVAL,
					"rgnAllocate: start 0x%lx not page-aligned",
					rgn->startAddr);
		hint = (void *)rgn->startAddr;
		flags |= MAP_FIXED_NOREPLACE;
	}
	if (rgn->options & K_RESERVED)
		flags |= MAP_NORESERVE;
	void *p = mmap(hint, len, prot, flags, -1, 0);
	if (p == MAP_FAILED)
		return pmm__fail_errno(errno == EEXIST ? K_EMAPPED : K_ENOMEM,
				"rgnAllocate");
	if (hint != NULL && p != hint) {
		munmap(p, len);
		return pmm__fail(K_EMAPPED, "rgnAllocate: 0x%lx is occupied",
				rgn->startAddr);
	}
	rgn->startAddr = (VmAddr)p;
	rgn->size = len;
	return K_OK;
}
