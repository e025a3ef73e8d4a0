/*
 * order.c -- seeded bug: the commit written before its data.  Each step
 * persists, but the commit word goes first.  Fixed: data, then commit.
 */
#include "seeded.h"

struct rec {
	uint64_t commit;
	unsigned char pad[56];
	uint64_t data[8];
};

/* Writes the data of record n. */
static void
put_data(struct rec *r, uint64_t n)
{
	for (int i = 0; i < 8; i++)
		r->data[i] = n;
	pmem_persist(r->data, sizeof(r->data));
}

/* Writes records 1..3 in place. */
static void
run(unsigned char *pool)
{
	struct rec *r = (struct rec *)pool;
	for (uint64_t n = 1; n <= 3; n++) {
		/* in place: the old record is invalidated first */
		r->commit = 0;
		pmem_persist(&r->commit, sizeof(r->commit));
#ifdef FIXED
		put_data(r, n);
#endif
		r->commit = n;
		pmem_persist(&r->commit, sizeof(r->commit)); /* BUG */
#ifndef FIXED
		put_data(r, n);
#endif
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
