/*
 * recovery.c -- seeded bug: a recovery that reads a field it never
 * persisted.  Each record is persisted with its valid word; the count of
 * records is kept in the pool too, but only stored, as a hint.  Recovery
 * trusts the count, so a crash loses records that are durable.  Fixed:
 * recovery counts the valid records itself.
 */
#include "seeded.h"

#define NREC 4

struct rec {
	uint64_t valid;
	uint64_t value;
	unsigned char pad[48];
};

struct pool {
	uint64_t count;			/* a hint: stored, never flushed */
	unsigned char pad[56];
	struct rec rec[NREC];
};

/* Appends record i with its value, then bumps the count. */
static void
add(struct pool *p, uint64_t i)
{
	p->rec[i].value = 100 + i;
	p->rec[i].valid = 1;
	pmem_persist(&p->rec[i], sizeof(p->rec[i])); /* BUG */
	p->count = i + 1;
}

/* Appends NREC records. */
static void
run(unsigned char *pool)
{
	for (uint64_t i = 0; i < NREC; i++)
		add((struct pool *)pool, i);
}

/* Recovery: how many records the pool holds. */
static uint64_t
recover_count(const struct pool *p)
{
#ifdef FIXED
	uint64_t n = 0;
	while (n < NREC && p->rec[n].valid)
		n++;
	return n;
#else
	return p->count;
#endif
}

/* Every durable record must be recovered. */
static int
check(const unsigned char *pool)
{
	const struct pool *p = (const void *)pool;
	uint64_t n = recover_count(p);
	for (uint64_t i = 0; i < NREC; i++)
		if (p->rec[i].valid && i >= n) {
			printf("record %lu is durable but recovery finds %lu\n",
				(unsigned long)i, (unsigned long)n);
			return 0;
		}
	return 1;
}
