/*
 * pmm-worker.c -- measures libpmm on one bank population.
 *
 * The driver re-executes pmm-bench as "--worker N" with PMM_DIR (a private
 * directory), PMM_TUNABLES (pmm.maxBlocks and pmm.rambankSize sized for N
 * blocks plus PB_HEADROOM) and PMM_CONF="" (no /etc/pmm.conf) set, and no
 * PMEM_* variable.  The worker fills the bank with N blocks of 4 KiB,
 * then runs one warm-up sample and `reps` measured samples; each sample
 * times, in batches of PB_BATCH calls (names built beforehand, so the
 * timed loops only call libpmm):
 *
 *   alloc      pmmAllocate of new names, 4 KiB, no deletion key
 *   free       pmmFree of those blocks, in random order
 *   retrieve   pmmAllocate of existing names picked at random among the
 *              N (so not always the same cache lines)
 *   retrieve-hot  the same names again at once: the cost without cache
 *              misses, to tell the code from the memory
 *   alloc-key  as alloc, with an 8-byte deletion key
 *   free-key   pmmFree of those, in random order (unlinks the key list)
 *   freeall    pmmFreeAll of k blocks per call for each k, as many calls
 *              as make PB_FREEALL_TOTAL blocks (the blocks of one key are
 *              interleaved in allocation order with the other keys')
 *   freeall-none  pmmFreeAll of a key no block has (K_EUNKNOWN): the
 *              fixed cost of a call without any persistence
 *
 * alloc, free and retrieve also print "op-stalls" and "op-calm": the
 * batch's stalls of the machine and its time per call without them (the
 * clock of pmm-bench.h, read every PB_CHUNK calls of every batch).
 *
 * During a sample the bank holds between N and N + PB_HEADROOM blocks:
 * "population" is the number of blocks present before each batch.
 * Every call's result is checked outside the timed loops.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmm/chPmm.h"
#include "pmm-bench.h"

/* Keys of the population's blocks: 64 of them, so the key hash is used. */
#define POP_KEYS 64

/* Names and results of one batch, built before it is timed. */
static PmmName *names;
static VmAddr *addrs;
static uint32_t *perm;
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

/* Stop the worker: a failed call makes every figure meaningless. */
static void
die(const char *what, int rc)
{
	fprintf(stderr, "pmm-bench worker: %s: %s (%s)\n", what,
		pmmStrError(rc), pmmErrorMsg());
	exit(1);
}

/* Fill one PmmName of the RAM medium with prefix and numbers. */
static void
set_name(PmmName *n, const char *prefix, unsigned long a, unsigned long b)
{
	memset(n, 0, sizeof(*n));
	strcpy(n->medium, "RAM");
	snprintf(n->name, sizeof(n->name), "%s-%lu-%lu", prefix, a, b);
}

/* Block i of the population is named pop-i-0 and keyed pk(i % 64). */
static void
pop_key(unsigned long i, char key[8])
{
	memset(key, 0, 8);
	snprintf(key, 8, "pk%lu", i % POP_KEYS);
}

/* Allocate names[0..n) as new 4 KiB blocks, timed as one batch (c). */
static double
timed_alloc(size_t n, const void *key, size_t keysize, struct pb_clock *c)
{
	int rc = 0;
	pb_clock_start(c);
	for (size_t i = 0; i < n; i++) {
		rc |= pmmAllocate(&addrs[i], &names[i], PB_BLOCK, key,
			keysize);
		pb_clock_tick(c, i);
	}
	double t = pb_clock_end(c, n);
	if (rc != K_OK)
		die("pmmAllocate of a new block", rc);
	for (size_t i = 0; i < n; i++)
		if (addrs[i] == 0 || *(const volatile char *)addrs[i] != 0 ||
				*((const volatile char *)addrs[i] + PB_BLOCK - 1) != 0)
			die("new block not zero-filled", K_ECORRUPT);
	return t;
}

/* Free names[0..n) in a random order, timed as one batch (c). */
static double
timed_free_shuffled(size_t n, struct pb_clock *c)
{
	static PmmName shuffled[PB_HEADROOM];
	for (size_t i = 0; i < n; i++)
		perm[i] = (uint32_t)i;
	pb_shuffle(perm, n, &rng);
	for (size_t i = 0; i < n; i++)
		shuffled[i] = names[perm[i]];
	int rc = 0;
	pb_clock_start(c);
	for (size_t i = 0; i < n; i++) {
		rc |= pmmFree(&shuffled[i]);
		pb_clock_tick(c, i);
	}
	double t = pb_clock_end(c, n);
	if (rc != K_OK)
		die("pmmFree", rc);
	return t;
}

/* Retrieve names[0..n), timed as one batch (c); check the addresses. */
static double
timed_retrieve_names(size_t n, const VmAddr *pop_addr, struct pb_clock *c)
{
	int rc = 0;
	pb_clock_start(c);
	for (size_t i = 0; i < n; i++) {
		rc |= pmmAllocate(&addrs[i], &names[i], PB_BLOCK, NULL, 0);
		pb_clock_tick(c, i);
	}
	double t = pb_clock_end(c, n);
	if (rc != K_OK)
		die("pmmAllocate of an existing block", rc);
	for (size_t i = 0; i < n; i++)
		if (addrs[i] != pop_addr[perm[i]])
			die("retrieve returned another address", K_ECORRUPT);
	return t;
}

/* Retrieve n random members of the population, timed as one batch (c);
 * *hot: the same again. */
static double
timed_retrieve(unsigned long pop, size_t n, const VmAddr *pop_addr,
	double *hot, struct pb_clock *c)
{
	for (size_t i = 0; i < n; i++) {
		perm[i] = (uint32_t)(pb_rand(&rng) % pop);
		set_name(&names[i], "pop", perm[i], 0);
	}
	struct pb_clock again;
	double cold = timed_retrieve_names(n, pop_addr, c);
	*hot = timed_retrieve_names(n, pop_addr, &again);
	return cold;
}

/* pmmFreeAll of k blocks per call, PB_FREEALL_TOTAL blocks in all. */
static double
timed_freeall(unsigned long k, unsigned long sample)
{
	static char keys[PB_FREEALL_TOTAL][16];
	unsigned long calls = PB_FREEALL_TOTAL / k, total = calls * k;
	for (unsigned long j = 0; j < calls; j++) {
		memset(keys[j], 0, sizeof(keys[j]));
		snprintf(keys[j], sizeof(keys[j]), "fa%lu", j);
	}
	/* block i belongs to key i % calls: each key's blocks are spread */
	for (unsigned long i = 0; i < total; i++) {
		set_name(&names[i], "fa", sample, i);
		int rc = pmmAllocate(&addrs[i], &names[i], PB_BLOCK,
			keys[i % calls], sizeof(keys[0]));
		if (rc != K_OK)
			die("pmmAllocate for pmmFreeAll", rc);
	}
	int rc = 0;
	double t0 = pb_now_ns();
	for (unsigned long j = 0; j < calls; j++)
		rc |= pmmFreeAll(keys[j], sizeof(keys[0]));
	double t = pb_now_ns() - t0;
	if (rc != K_OK)
		die("pmmFreeAll", rc);
	/* every one of them is gone: size 0 only retrieves */
	for (unsigned long i = 0; i < total; i += total / 16 + 1) {
		VmAddr a;
		if ((rc = pmmAllocate(&a, &names[i], 0, NULL, 0)) != K_ESIZE)
			die("a block survived pmmFreeAll", rc);
	}
	return t / (double)calls;
}

/* pmmFreeAll of a key without blocks, timed as one batch. */
static double
timed_freeall_none(void)
{
	static const char key[16] = "no-such-key";
	int bad = 0;
	double t0 = pb_now_ns();
	for (size_t i = 0; i < PB_BATCH; i++)
		bad |= pmmFreeAll(key, sizeof(key)) != K_EUNKNOWN;
	double t = pb_now_ns() - t0;
	if (bad)
		die("pmmFreeAll of an unknown key", K_ECORRUPT);
	return t / PB_BATCH;
}

/* One sample of every operation; printed unless it is the warm-up. */
static void
sample(unsigned long pop, unsigned long s, int print, const VmAddr *pop_addr,
	const unsigned long *ks, size_t nks)
{
	static const char key[8] = "benchky";
	struct pb_clock c;
	double ns;
	for (size_t i = 0; i < PB_BATCH; i++)
		set_name(&names[i], "new", s, i);
	ns = timed_alloc(PB_BATCH, NULL, 0, &c);
	if (print) {
		pb_sample("alloc", pop, 1, ns);
		pb_clock_sample(&c, "alloc", pop, 1);
	}
	ns = timed_free_shuffled(PB_BATCH, &c);
	if (print) {
		pb_sample("free", pop, 1, ns);
		pb_clock_sample(&c, "free", pop, 1);
	}
	double hot;
	ns = timed_retrieve(pop, PB_BATCH, pop_addr, &hot, &c);
	if (print) {
		pb_sample("retrieve", pop, 1, ns);
		pb_clock_sample(&c, "retrieve", pop, 1);
		pb_sample("retrieve-hot", pop, 1, hot);
	}
	for (size_t i = 0; i < PB_BATCH; i++)
		set_name(&names[i], "key", s, i);
	ns = timed_alloc(PB_BATCH, key, sizeof(key), &c);
	if (print)
		pb_sample("alloc-key", pop, 1, ns);
	ns = timed_free_shuffled(PB_BATCH, &c);
	if (print)
		pb_sample("free-key", pop, 1, ns);
	ns = timed_freeall_none();
	if (print)
		pb_sample("freeall-none", pop, 0, ns);
	for (size_t i = 0; i < nks; i++) {
		ns = timed_freeall(ks[i], s);
		if (print)
			pb_sample("freeall", pop, ks[i], ns);
	}
}

/* Fill the bank with pop blocks, then measure; see the file comment. */
int
pb_worker(unsigned long pop, int reps, int quick)
{
	unsigned long ks[PB_MAX_K];
	size_t nks = pb_freeall_ks(quick, ks);
	VmAddr *pop_addr = calloc(pop, sizeof(*pop_addr));
	names = calloc(PB_HEADROOM, sizeof(*names));
	addrs = calloc(PB_HEADROOM, sizeof(*addrs));
	perm = calloc(PB_HEADROOM, sizeof(*perm));
	if (pop == 0 || pop_addr == NULL || names == NULL || addrs == NULL ||
			perm == NULL) {
		fprintf(stderr, "pmm-bench worker: no memory\n");
		return 1;
	}
	pb_pin();
	char key[8];
	PmmName n;
	/* the first call creates, maps (MAP_POPULATE) and checks the bank */
	double t0 = pb_now_ns();
	set_name(&n, "pop", 0, 0);
	pop_key(0, key);
	int rc = pmmAllocate(&pop_addr[0], &n, PB_BLOCK, key, sizeof(key));
	if (rc != K_OK)
		die("creating the bank", rc);
	double t1 = pb_now_ns();
	pb_sample("open", pop, 1, t1 - t0);
	for (unsigned long i = 1; i < pop; i++) {
		set_name(&n, "pop", i, 0);
		pop_key(i, key);
		rc = pmmAllocate(&pop_addr[i], &n, PB_BLOCK, key, sizeof(key));
		if (rc != K_OK)
			die("filling the bank", rc);
	}
	double t2 = pb_now_ns();
	if (pop > 1)
		pb_sample("fill", pop, 1, (t2 - t1) / (double)(pop - 1));
	for (int s = 0; s <= reps; s++)
		sample(pop, (unsigned long)s, s > 0, pop_addr, ks, nks);
	/* the bank stays for the scaling rows (pmm-scale.c); the driver
	 * removes it after them */
	free(pop_addr);
	free(names);
	free(addrs);
	free(perm);
	return 0;
}
