/*
 * obj_tx.c -- a libpmemobj program for pmem-crashtest, built against the
 * system's PMDK headers: N transactions, each adding to two counters and
 * filling one slot of a ring; its invariant is that both counters are
 * equal and that the ring holds exactly the values of the transactions
 * counted.
 *
 *	obj_tx create POOL	creates POOL and its root (not atomic:
 *				PMDK's pool creation is not crash-safe)
 *	obj_tx run POOL N	opens POOL and runs N transactions
 *	obj_tx check POOL	opens POOL (recovering it) and checks
 *
 * Built with -DOBJ_TX_POOLCHECK -lpmempool, check first runs libpmempool's
 * consistency check on POOL, the same calls with the same arguments as
 * `pmempool check` (which is a front end to them), so that one process
 * does what `pmempool check -q POOL && obj_tx check POOL` does with
 * three (sh, pmempool, obj_tx): pmem-crashtest runs it on every image.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpmemobj.h>
#ifdef OBJ_TX_POOLCHECK
#include <libpmempool.h>
#endif

#define RING 64

struct root {
	uint64_t a;
	uint64_t ring[RING];		/* slot i % RING holds i + 1 */
	uint64_t b;
};

/* One transaction: count n, slot n, count n again. */
static int
one_tx(PMEMobjpool *pop, struct root *r)
{
	volatile int ret = 0;
	TX_BEGIN(pop) {
		uint64_t n = r->a;
		pmemobj_tx_add_range_direct(&r->a, sizeof(r->a));
		r->a = n + 1;
		pmemobj_tx_add_range_direct(&r->ring[n % RING], 8);
		r->ring[n % RING] = n + 1;
		pmemobj_tx_add_range_direct(&r->b, sizeof(r->b));
		r->b = n + 1;
	} TX_ONABORT {
		ret = -1;
	} TX_END
	return ret;
}

/* Creates the pool and its root. */
static int
create(const char *path)
{
	PMEMobjpool *pop = pmemobj_create(path, "crashtest", PMEMOBJ_MIN_POOL,
		0600);
	if (pop == NULL || OID_IS_NULL(pmemobj_root(pop,
			sizeof(struct root)))) {
		fprintf(stderr, "pmemobj_create %s: %s\n", path,
			pmemobj_errormsg());
		return 2;
	}
	pmemobj_close(pop);
	return 0;
}

/* Opens the pool and runs n transactions. */
static int
run(const char *path, long n)
{
	PMEMobjpool *pop = pmemobj_open(path, "crashtest");
	if (pop == NULL) {
		fprintf(stderr, "pmemobj_open %s: %s\n", path,
			pmemobj_errormsg());
		return 2;
	}
	PMEMoid root = pmemobj_root(pop, sizeof(struct root));
	struct root *r = pmemobj_direct(root);
	for (long i = 0; i < n; i++)
		if (one_tx(pop, r) != 0) {
			fprintf(stderr, "transaction %ld aborted\n", i);
			return 2;
		}
	pmemobj_close(pop);
	return 0;
}

#ifdef OBJ_TX_POOLCHECK
/* libpmempool's check of path, as `pmempool check -q` runs it (no
 * repair, no questions): 0 when consistent, else 1 with its messages. */
static int
pool_check(const char *path)
{
	struct pmempool_check_args a = {
		.path = path,
		.backup_path = NULL,
		.pool_type = PMEMPOOL_POOL_TYPE_DETECT,
		.flags = PMEMPOOL_CHECK_FORMAT_STR,
	};
	PMEMpoolcheck *c = pmempool_check_init(&a, sizeof(a));
	if (c == NULL) {
		printf("pmempool_check_init %s: %s\n", path,
			pmempool_errormsg());
		return 1;
	}
	struct pmempool_check_status *st;
	int bad = 0;
	while ((st = pmempool_check(c)) != NULL) {
		if (st->type == PMEMPOOL_CHECK_MSG_TYPE_ERROR)
			printf("pmempool check %s: %s\n", path, st->str.msg);
		else if (st->type == PMEMPOOL_CHECK_MSG_TYPE_QUESTION)
			bad = 1;	/* asks to repair: not consistent */
	}
	enum pmempool_check_result r = pmempool_check_end(c);
	if (r != PMEMPOOL_CHECK_RESULT_CONSISTENT || bad) {
		printf("pmempool check %s: not consistent (result %d)\n",
			path, (int)r);
		return 1;
	}
	return 0;
}
#endif

/* Opens the pool (a crashed one is recovered) and checks the invariant. */
static int
check(const char *path)
{
#ifdef OBJ_TX_POOLCHECK
	if (pool_check(path) != 0)
		return 1;
#endif
	PMEMobjpool *pop = pmemobj_open(path, "crashtest");
	if (pop == NULL) {
		printf("pmemobj_open %s: %s\n", path, pmemobj_errormsg());
		return 1;
	}
	if (pmemobj_root_size(pop) == 0) {
		pmemobj_close(pop);
		return 0;	/* crashed before the root was made */
	}
	struct root *r = pmemobj_direct(pmemobj_root(pop, sizeof(*r)));
	int ok = r->a == r->b;
	for (uint64_t i = 0; ok && i < RING; i++) {
		/* slot i was last written by transaction k < a, k % RING == i */
		uint64_t want = 0;
		if (i < r->a)
			want = r->a - 1 - ((r->a - 1 - i) % RING) + 1;
		ok = r->ring[i] == want;
	}
	if (!ok)
		printf("invariant broken: a %lu b %lu\n",
			(unsigned long)r->a, (unsigned long)r->b);
	pmemobj_close(pop);
	return ok ? 0 : 1;
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "run") == 0)
		return run(argv[2], atol(argv[3]));
	if (argc == 3 && strcmp(argv[1], "create") == 0)
		return create(argv[2]);
	if (argc == 3 && strcmp(argv[1], "check") == 0)
		return check(argv[2]);
	fprintf(stderr, "usage: %s create POOL | run POOL N | check POOL\n",
		argv[0]);
	return 2;
}
