/*
 * nofence.c -- seeded bug: a flush without a fence before the commit.
 * The data is flushed but not drained before the commit is persisted, so
 * the two write-backs are not ordered.  Fixed: pmem_drain between them.
 */
#include "seeded.h"

struct rec {
	uint64_t commit;
	unsigned char pad[56];
	uint64_t data[8];
};

/* Writes records 1..3 in place. */
static void
run(unsigned char *pool)
{
	struct rec *r = (struct rec *)pool;
	for (uint64_t n = 1; n <= 3; n++) {
		/* in place: the old record is invalidated first */
		r->commit = 0;
		pmem_persist(&r->commit, sizeof(r->commit));
		for (int i = 0; i < 8; i++)
			r->data[i] = n;
		pmem_flush(r->data, sizeof(r->data));
#ifdef FIXED
		pmem_drain();
#endif
		r->commit = n;
		pmem_persist(&r->commit, sizeof(r->commit)); /* BUG */
	}
}

/* The committed record's data must be there. */
static int
check(const unsigned char *pool)
{
	const struct rec *r = (const void *)pool;
	for (int i = 0; r->commit && i < 8; i++)
		if (r->data[i] != r->commit) {
			printf("commit %lu but data[%d] = %lu\n",
				(unsigned long)r->commit, i,
				(unsigned long)r->data[i]);
			return 0;
		}
	return 1;
}
