/*
 * chPmm.h -- the ChorusOS Persistent Memory Manager interface on Linux.
 *
 * A block of persistent memory is named by a medium (a bank: "RAM" by
 * default) and a name.  pmmAllocate() allocates it, zero-filled and rounded
 * up to whole pages, or retrieves it at the same address in every process;
 * pmmFree() and pmmFreeAll() release blocks by name or by deletion key.
 * See libpmm(7).
 */
#ifndef CHPMM_H
#define CHPMM_H 1

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Array sizes: each string must end with a NUL inside its array. */
#define PMM_MEDIUM_MAX 16	/* PmmMedium, with its NUL */
#define PMM_NAME_MAX 64		/* PmmMemName, with its NUL */
#define PMM_DELKEY_MAX 32	/* the longest deletion key, in bytes */

typedef char PmmMedium[PMM_MEDIUM_MAX];
typedef char PmmMemName[PMM_NAME_MAX];

typedef struct {
	PmmMedium medium;	/* the bank: "RAM" or a configured medium */
	PmmMemName name;	/* unique within the medium */
} PmmName;

typedef const void *PmmDelKey;	/* a binary array passed with its size */
typedef unsigned long VmAddr;	/* an address in the caller's space */
typedef int KnError;		/* K_OK or one of the K_E* codes below */

#define K_OK 0
#define K_EFAULT (-1)		/* a required pointer is NULL */
#define K_ENOTERM (-2)		/* a name or medium has no NUL in its array */
#define K_EEMPTY (-3)		/* an empty name or medium */
#define K_ESIZE (-4)		/* size 0 and no block of that name */
#define K_ETOOBIG (-5)		/* larger than the whole bank */
#define K_ENOMEM (-6)		/* no more persistent memory in the bank */
#define K_ENOMEDIUM (-7)	/* no such medium */
#define K_EUNKNOWN (-8)		/* no such block, or no block has the key */
#define K_EKEYSIZE (-9)		/* deletion key too long, or empty */
#define K_EPRIV (-10)		/* the key is HR_GROUP_KEY or reserved */
#define K_ESYSTEM (-11)		/* the block is internal to the system */
#define K_ETOOMUCH (-12)	/* pmm.maxBlocks blocks exist already */
#define K_ETRUNC (-13)		/* the bank file is truncated */
#define K_ECORRUPT (-14)	/* the bank is damaged */
#define K_EFOREIGN (-15)	/* the file is not a bank */
#define K_EVERSION (-16)	/* the bank has another layout version */
#define K_EMAPPED (-17)		/* the bank's address is occupied */
#define K_ESYS (-18)		/* a system call failed (see pmmErrorMsg) */
#define K_ECONFIG (-19)		/* the configuration is invalid */
#define K_ENOGROUP (-20)	/* HR_GROUP_KEY outside a restart group */
#define K_EINVAL (-21)		/* an invalid argument */
#define K_EBUSY (-22)		/* the bank is in use */
#define K_EMEDIA (-23)		/* the block lies on a bad range of the medium */

/* Allocate a new named block, or retrieve the existing one. */
KnError pmmAllocate(VmAddr *addr, PmmName *name, size_t size,
		PmmDelKey delKey, size_t delKeySize);

/* Free the block of that name; the name is reusable at once. */
int pmmFree(PmmName *name);

/* Free every block allocated with that deletion key, all or nothing. */
int pmmFreeAll(PmmDelKey delKey, size_t delKeySize);

/* The fixed text for a K_* code. */
const char *pmmStrError(KnError code);

/* The detailed message of this thread's last failed call. */
const char *pmmErrorMsg(void);

#ifdef __cplusplus
}
#endif

#endif /* CHPMM_H */
