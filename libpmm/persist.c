/*
 * persist.c -- how libpmm makes its stores durable: through libpmem.
 *
 * The table is reached through pmm__pers so that the crash campaign can
 * watch every flush and drain (and stop the world at any of them).
 */
#include <libpmem.h>

#include "pmm.h"

/* Fill with libpmem's non-temporal or flushed stores, without the fence. */
static void
memset_nodrain(void *addr, int c, size_t len)
{
	pmem_memset_nodrain(addr, c, len);
}

struct pmm__persist_ops pmm__pers = {
	.flush = pmem_flush,
	.drain = pmem_drain,
	.memset_nodrain = memset_nodrain,
};
