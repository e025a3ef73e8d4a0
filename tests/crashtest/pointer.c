/*
 * pointer.c -- seeded bug: a pointer persisted before its target.  A new
 * node is linked from the root before the node itself is written.  Fixed:
 * the node is persisted, then the root.
 */
#include "seeded.h"

#define MAGIC 0x4e4f44454e4f4445ULL

struct node {
	uint64_t magic;
	uint64_t value;
	uint64_t next;			/* offset of the next node, or 0 */
};

/* Writes node n at its offset, after the list head old. */
static void
put_node(unsigned char *pool, uint64_t off, uint64_t n, uint64_t old)
{
	struct node nd = { MAGIC, n, old };
	pmem_memcpy_persist(pool + off, &nd, sizeof(nd));
}

/* Pushes nodes 1..3 on a list whose head offset is at 0. */
static void
run(unsigned char *pool)
{
	uint64_t *root = (uint64_t *)pool;
	for (uint64_t n = 1; n <= 3; n++) {
		uint64_t off = 512 * n, old = *root;
#ifdef FIXED
		put_node(pool, off, n, old);
#endif
		*root = off;
		pmem_persist(root, sizeof(*root)); /* BUG */
#ifndef FIXED
		put_node(pool, off, n, old);
#endif
	}
}

/* Every node reachable from the root must be a node. */
static int
check(const unsigned char *pool)
{
	uint64_t off;
	memcpy(&off, pool, sizeof(off));
	for (int hops = 0; off != 0; hops++) {
		struct node nd;
		if (off > POOL_SIZE - sizeof(nd) || hops > 8) {
			printf("bad link %lu\n", (unsigned long)off);
			return 0;
		}
		memcpy(&nd, pool + off, sizeof(nd));
		if (nd.magic != MAGIC) {
			printf("link to %lu, which is not a node\n",
				(unsigned long)off);
			return 0;
		}
		off = nd.next;
	}
	return 1;
}
