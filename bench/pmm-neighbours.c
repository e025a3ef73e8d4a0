/*
 * pmm-neighbours.c -- "--neighbours reps": two processes allocating and
 * freeing at once on an empty bank of four arenas, told apart by whether
 * their arenas are neighbours.
 *
 * The driver runs it once, in a directory of its own (PMM_DIR) with a
 * 64 MiB bank of 4,096 entries (PMM_TUNABLES): four arenas of 4,096 pages.
 * A process takes its arena from its ids, so which two arenas a pair of
 * processes ends up in is chance; each sample says which.  In an empty
 * arena every pair splits and merges the one free extent that spans it;
 * before 2026-12-07 each split and merge also rewrote the page record at
 * the arena's end, beside the next arena's first, and two neighbours
 * did about one's pairs (bench/README.md, "Neighbouring arenas").
 *
 *   empty-p1     pairs by 1 process (ns per pair)
 *   empty-near   pairs by 2 processes at once in neighbouring arenas
 *                (ns per pair of the total)
 *   empty-apart  the same, in arenas with another between them or at
 *                the two ends
 *   empty-same   the same, both in one arena (each takes another when
 *                it finds its own taken, so this is rare)
 */
#include <stdio.h>
#include <stdlib.h>

#include "pmm/chPmm.h"
#include "pmm-bench.h"
#include "layout.h"

/* Pairs a process makes in a sample: enough to dwarf a time slice. */
#define NB_PAIRS 100000

/* Samples of each kind a rep. */
#define NB_PER_REP 3

/* The arena of a block at addr alone in an empty arena: it lies on the
 * arena's first page, where an even split of the pages puts it. */
static int
arena_of(const struct pmm__hdr *h, uint64_t addr, unsigned narenas)
{
	uint64_t data = h->base + h->data_off;
	if (addr < data || addr >= data + h->npages * h->page_size)
		return -1;
	uint64_t p = (addr - data) / h->page_size;
	return (int)((p * narenas + h->npages / 2) / h->npages);
}

/* See the file comment. */
int
pb_neighbours(int reps)
{
	PmmName n = { .medium = "RAM", .name = "neighbours" };
	VmAddr a;
	if (pmmAllocate(&a, &n, PB_BLOCK, NULL, 0) != K_OK ||
			pmmFree(&n) != K_OK) {
		fprintf(stderr, "pmm-bench: the neighbours' bank: %s\n",
			pmmErrorMsg());
		return 1;
	}
	struct pmm__hdr h;
	pb_bank_header(&h);
	unsigned narenas = PMM__ARENAS;
	if (h.npages / PMM__ARENA_PAGES < narenas ||
			h.max_blocks / PMM__ARENA_BLOCKS < narenas) {
		fprintf(stderr, "pmm-bench: the neighbours' bank has fewer "
			"than %u arenas\n", narenas);
		return 1;
	}
	for (int s = 0; s < reps * NB_PER_REP; s++) {
		uint64_t addr[2];
		pb_sample("empty-p1", 0, 1, pb_alloc_free_procs(1,
			2 * (unsigned long)s, NB_PAIRS, NULL));
		double t = pb_alloc_free_procs(2, 2 * (unsigned long)s + 1,
			NB_PAIRS, addr);
		int a0 = arena_of(&h, addr[0], narenas),
			a1 = arena_of(&h, addr[1], narenas);
		if (a0 < 0 || a1 < 0 || a0 >= (int)narenas ||
				a1 >= (int)narenas) {
			fprintf(stderr, "pmm-bench: a block outside the "
				"neighbours' bank\n");
			return 1;
		}
		int d = abs(a0 - a1);
		pb_sample(d == 0 ? "empty-same" : d == 1 ? "empty-near" :
			"empty-apart", 0, 1, t);
	}
	return 0;
}
