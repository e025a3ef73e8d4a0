/*
 * noflush.c -- seeded bug: a store never flushed.  The data of a record
 * is stored but never flushed; its commit word is persisted, so a crash
 * can leave the commit without the data.  Fixed: the data is persisted
 * before the commit.
 */
#include "seeded.h"

struct rec {
	uint64_t commit;		/* n: data holds n everywhere */
	unsigned char pad[56];
	uint64_t data[8];		/* the next line */
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
#ifdef FIXED
		pmem_persist(r->data, sizeof(r->data));
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
