/*
 * tear.c -- seeded bug: a 16-byte commit that can tear.  A record of two
 * words (v, ~v) is updated in place with one pmem_memcpy_persist, and it
 * straddles two cache lines: a crash can keep one line and not the other.
 * Fixed: two slots and an 8-byte selector, written after the slot.
 */
#include "seeded.h"

struct pair {
	uint64_t v, nv;			/* nv == ~v */
};

#define AT 56				/* the pair crosses line 0 and 1 */
#define SEL 128				/* fixed: the selector's line */
#define SLOT(i) (256 + 64 * (i))	/* fixed: the slots' lines */

/* Writes values 1..3. */
static void
run(unsigned char *pool)
{
	struct pair init = { 0, ~0ULL };
	pmem_memcpy_persist(pool + AT, &init, sizeof(init));
	pmem_memcpy_persist(pool + SLOT(0), &init, sizeof(init));
	for (uint64_t n = 1; n <= 3; n++) {
		struct pair p = { n, ~n };
#ifndef FIXED
		pmem_memcpy_persist(pool + AT, &p, sizeof(p)); /* BUG */
#else
		uint64_t sel = *(volatile uint64_t *)(pool + SEL);
		pmem_memcpy_persist(pool + SLOT(!sel), &p, sizeof(p));
		sel = !sel;
		pmem_memcpy_persist(pool + SEL, &sel, sizeof(sel));
#endif
	}
}

/* The pair must not be torn. */
static int
check(const unsigned char *pool)
{
	struct pair p;
#ifndef FIXED
	memcpy(&p, pool + AT, sizeof(p));
#else
	uint64_t sel;
	memcpy(&sel, pool + SEL, sizeof(sel));
	memcpy(&p, pool + SLOT(sel ? 1 : 0), sizeof(p));
#endif
	if (p.v == 0 && p.nv == 0)
		return 1;		/* never written */
	if (p.nv != ~p.v) {
		printf("torn pair: %lx %lx\n", (unsigned long)p.v,
			(unsigned long)p.nv);
		return 0;
	}
	return 1;
}
