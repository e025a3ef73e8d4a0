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
#include <sys/types.h>

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

/* ----------------------------------------------------- hot restart */
/*
 * Mark the coming exit of this restartable process as clean: without it,
 * exit() counts as a crash and restarts the process's group.  0, or -1
 * with errno ESRCH outside a restartable process.
 */
int HR_EXIT_HDL(void);

/*
 * Run a program as an indirect member of the caller's restart group,
 * registered under name: after a group restart, calling again with the
 * same name brings it back from its first image.  The process id, or -1
 * with errno.  Arguments as execl(3) and friends.
 */
pid_t hrfexecl(PmmName *name, const char *path, const char *arg, ...);
pid_t hrfexecle(PmmName *name, const char *path, const char *arg, ...);
pid_t hrfexeclp(PmmName *name, const char *file, const char *arg, ...);
pid_t hrfexecv(PmmName *name, const char *path, char *const argv[]);
pid_t hrfexecve(PmmName *name, const char *path, char *const argv[],
		char *const envp[]);
pid_t hrfexecvp(PmmName *name, const char *file, char *const argv[]);

/* Kill restart group gid for good (the group kill); 0 or -1 with errno. */
int hrKillGroup(int gid);

/* The restart group of process pid (0 = the caller), or -1 with errno. */
int hrGetActorGroup(pid_t pid);

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
