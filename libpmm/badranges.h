/*
 * badranges.h -- blocks of a bank that lie on known bad ranges of its
 * medium (libpmem's pmem_badblocks_get of the bank file).
 */
#ifndef PMM_BADRANGES_H
#define PMM_BADRANGES_H 1

#include <stdint.h>

#include "pmm.h"

/*
 * K_OK when block e of bank b (called name) lies on no known bad range of
 * the bank file; K_EMEDIA with a message when it does.  A list that
 * cannot be read counts as empty (pmmctl check reports it).  The list is
 * read once per bank and process.
 * Caller holds the bank's lock.
 */
int pmm__bad_retrieve(struct pmm__bank *b, const struct pmm__entry *e,
		const char *name);

/*
 * Every block of b that lies on a known bad range, read now: K_OK, or
 * K_EMEDIA with the blocks named in the message (and in report), or
 * K_ESYS.  Caller holds the lock or owns the bank.
 */
int pmm__bad_check(struct pmm__bank *b, char *report, size_t len);

#endif /* PMM_BADRANGES_H */
