/*
 * hr.h -- the ChorusOS hot restart interface on Linux.
 *
 * It brings in <pmm/chPmm.h> and, for programs written for ChorusOS (such
 * as the "hello world" of the ChorusOS 5.0 guide), the C library headers
 * and the few kernel names they use.  See libpmm(7).
 */
#ifndef HR_HR_H
#define HR_HR_H 1

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <pmm/chPmm.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The deletion key of blocks that live as long as the caller's restart
 * group: freed when the group terminates or is killed.  pmmFreeAll()
 * refuses it (K_EPRIV), as it refuses every key starting with "__SYS".
 */
#define HR_GROUP_KEY "__SYS.HR_GROUP"
#define HR_GROUP_KEYSIZE sizeof(HR_GROUP_KEY)

/* ------------------------------------------ ChorusOS kernel names */
/* A region descriptor, as rgnAllocate() takes it. */
typedef struct {
	VmAddr startAddr;	/* in: hint (unless K_ANYWHERE); out: start */
	VmAddr size;		/* bytes, rounded up to whole pages */
	int options;		/* K_ANYWHERE, K_RESERVED, K_WRITABLE... */
	void *opaque1;
	void *opaque2;
} KnRgnDesc;

#define K_MYprocess 0		/* the calling process */
#define K_ANYWHERE 0x1		/* the system chooses the address */
#define K_RESERVED 0x2		/* address space only: any access faults */
#define K_WRITABLE 0x4		/* readable and writable */
#define K_EXECUTABLE 0x8	/* readable and executable */
#define K_FILLZERO 0x10		/* zero-filled (always, on Linux) */

/* Allocate a region of the caller's address space (process K_MYprocess). */
int rgnAllocate(int process, KnRgnDesc *rgn);

/* The size of a virtual memory page. */
VmAddr vmPageSize(void);

#ifdef __cplusplus
}
#endif

#endif /* HR_HR_H */
