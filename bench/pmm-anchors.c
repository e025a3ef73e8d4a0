/*
 * pmm-anchors -- PMDK's allocator measured for pmm-bench: pmemobj_zalloc
 * of 4 KiB and pmemobj_free on a pool in a tmpfs directory.
 *
 * This program links libpmemobj and none of our libraries, so it runs on
 * PMDK's own libpmem (it prints the paths of the libraries it loaded, and
 * pmm-bench checks them).  pmm-bench runs it with a clean environment:
 * with PMEM_IS_PMEM_FORCE=1, PMDK persists with cache flushes as libpmm
 * does (and as on real persistent memory); without, PMDK sees a tmpfs
 * file and persists with msync.
 *
 * Each sample times PB_BATCH calls of pmemobj_zalloc(pop, &root->oid[i],
 * 4096, 1) -- the OID is written into the pool, so the allocation is
 * reachable after a crash, as a libpmm block is -- then PB_BATCH calls of
 * pmemobj_free(&root->oid[j]) in random order.  One warm-up sample is
 * not printed.  Output: the sample lines of pmm-bench.h, op LABEL-zalloc
 * and LABEL-free, population 0.
 */
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpmemobj.h>

#include "pmm-bench.h"

#define POOL_SIZE (64u << 20)

struct root {
	PMEMoid oid[PB_BATCH];
};

/* Print the path of every loaded libpmem* object (an "L" line). */
static int
print_lib(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	const char *slash = strrchr(info->dlpi_name, '/');
	const char *base = slash != NULL ? slash + 1 : info->dlpi_name;
	if (strncmp(base, "libpmem", 7) == 0) {
		char real[4096];
		if (realpath(info->dlpi_name, real) == NULL)
			snprintf(real, sizeof(real), "%s", info->dlpi_name);
		printf("L\t%s\n", real);
	}
	return 0;
}

/* Show how the command line is used. */
static int
usage(const char *prog)
{
	fprintf(stderr, "usage: %s --dir DIR --label LABEL [--reps N]\n"
		"Times pmemobj_zalloc(4 KiB) and pmemobj_free in batches of "
		"%d on a pool in DIR\n(run by pmm-bench).\n", prog, PB_BATCH);
	return 2;
}

/* One sample of zalloc and free; printed unless it is the warm-up. */
static int
sample(PMEMobjpool *pop, struct root *r, const char *label, int print)
{
	static uint32_t perm[PB_BATCH];
	static uint64_t rng = 0x2545f4914f6cdd1dULL;
	int rc = 0;
	double t0 = pb_now_ns();
	for (size_t i = 0; i < PB_BATCH; i++)
		rc |= pmemobj_zalloc(pop, &r->oid[i], PB_BLOCK, 1);
	double zalloc = (pb_now_ns() - t0) / PB_BATCH;
	for (size_t i = 0; i < PB_BATCH && rc == 0; i++) {
		const char *p = pmemobj_direct(r->oid[i]);
		if (p == NULL || p[0] != 0 || p[PB_BLOCK - 1] != 0)
			rc = -1;
	}
	if (rc != 0) {
		fprintf(stderr, "pmm-anchors: pmemobj_zalloc: %s\n",
			pmemobj_errormsg());
		return 1;
	}
	for (size_t i = 0; i < PB_BATCH; i++)
		perm[i] = (uint32_t)i;
	pb_shuffle(perm, PB_BATCH, &rng);
	t0 = pb_now_ns();
	for (size_t i = 0; i < PB_BATCH; i++)
		pmemobj_free(&r->oid[perm[i]]);
	double fr = (pb_now_ns() - t0) / PB_BATCH;
	for (size_t i = 0; i < PB_BATCH; i++)
		if (!OID_IS_NULL(r->oid[i])) {
			fprintf(stderr, "pmm-anchors: pmemobj_free left an "
				"OID\n");
			return 1;
		}
	if (print) {
		char op[64];
		snprintf(op, sizeof(op), "%s-zalloc", label);
		pb_sample(op, 0, 1, zalloc);
		snprintf(op, sizeof(op), "%s-free", label);
		pb_sample(op, 0, 1, fr);
	}
	return 0;
}

/* Parse the options, make the pool, measure, remove the pool. */
int
main(int argc, char **argv)
{
	const char *dir = NULL, *label = NULL;
	int reps = 5;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--label") == 0 && i + 1 < argc)
			label = argv[++i];
		else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
			reps = atoi(argv[++i]);
		else
			return usage(argv[0]);
	}
	if (dir == NULL || label == NULL || reps < 1)
		return usage(argv[0]);
	dl_iterate_phdr(print_lib, NULL);
	fflush(stdout);

	char path[4096];
	snprintf(path, sizeof(path), "%s/anchors-%d.pool", dir, (int)getpid());
	unlink(path);
	PMEMobjpool *pop = pmemobj_create(path, "pmm-bench", POOL_SIZE, 0600);
	if (pop == NULL) {
		fprintf(stderr, "pmm-anchors: pmemobj_create %s: %s\n", path,
			pmemobj_errormsg());
		return 1;
	}
	PMEMoid root = pmemobj_root(pop, sizeof(struct root));
	struct root *r = pmemobj_direct(root);
	int rc = r == NULL;
	if (rc)
		fprintf(stderr, "pmm-anchors: pmemobj_root: %s\n",
			pmemobj_errormsg());
	pb_pin();
	for (int s = 0; s <= reps && rc == 0; s++)
		rc = sample(pop, r, label, s > 0);
	pmemobj_close(pop);
	unlink(path);
	return rc;
}
