/*
 * pmm-bench.h -- declarations shared by the parts of pmm-bench: the
 * timing helpers, the libpmm worker that measures one bank population,
 * the shm_open anchors, and the report built from their sample lines.
 *
 * Every measuring process prints one line per sample on stdout:
 *   "S<TAB>op<TAB>population<TAB>k<TAB>ns"
 * where ns is the time of one call (the batch's time divided by its
 * calls) and k the blocks one call handles (1 except for pmmFreeAll).
 */
#ifndef PMM_BENCH_H
#define PMM_BENCH_H 1

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Calls per timed batch: the VM's clock is too coarse for one call. */
#define PB_BATCH 1000

/* Blocks handed to pmmFreeAll per sample, over all its calls. */
#define PB_FREEALL_TOTAL 10000

/* The sizes of pmmFreeAll calls measured (blocks per call). */
#define PB_MAX_K 8
size_t pb_freeall_ks(int quick, unsigned long *ks);

/* Block size of every allocation measured. */
#define PB_BLOCK 4096

/* The monotonic clock in nanoseconds. */
double pb_now_ns(void);

/*
 * A timed batch (of at most PB_BATCH calls) reads the cycle counter
 * after every PB_CHUNK calls, and a chunk that took PB_STALL_NS or more
 * is counted as a stall: on this VM the host now and then holds a load
 * 100-200 us, which the guest sees as neither fault, interrupt nor steal
 * (bench/README.md, "Issue 14: what slowed the retrieve runs"), and one
 * such stall in a batch of 1,000 calls of 230 ns adds half again to its
 * average.  A batch's time still counts its stalls; its "calm" time per
 * call leaves the stalled chunks out.
 */
#define PB_CHUNK 16
#define PB_STALL_NS 50000.0
#define PB_MAX_CHUNKS (PB_BATCH / PB_CHUNK + 1)

struct pb_clock {
	double t0, t1, stalled_ns;
	uint64_t c0, last;
	uint64_t chunk[PB_MAX_CHUNKS];	/* cycle counts of the chunks */
	size_t nchunks, calls, stalled_calls, stalls;
};

/* A cycle counter, cheap to read (the TSC; elsewhere the clock). */
static inline uint64_t
pb_cycles(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __builtin_ia32_rdtsc();
#else
	return (uint64_t)pb_now_ns();
#endif
}

/* Start timing a batch. */
void pb_clock_start(struct pb_clock *c);

/* Close a chunk: its cycle count is kept (the last absorbs any beyond
 * PB_MAX_CHUNKS). */
static inline void
pb_clock_chunk(struct pb_clock *c)
{
	uint64_t t = pb_cycles();
	if (c->nchunks < PB_MAX_CHUNKS)
		c->chunk[c->nchunks++] = t - c->last;
	else
		c->chunk[PB_MAX_CHUNKS - 1] += t - c->last;
	c->last = t;
}

/* After call i (from 0) of a batch: close a chunk every PB_CHUNK calls. */
static inline void
pb_clock_tick(struct pb_clock *c, size_t i)
{
	if ((i + 1) % PB_CHUNK == 0)
		pb_clock_chunk(c);
}

/* End a batch of n calls: its time per call (the clock's, stalls
 * included), and its stalls, the cycles scaled by the clock. */
double pb_clock_end(struct pb_clock *c, size_t n);

/* Print a batch's "op-stalls" (stalled chunks) and "op-calm" (ns per
 * call outside them; none when every chunk stalled) sample lines. */
void pb_clock_sample(const struct pb_clock *c, const char *op,
	unsigned long pop, unsigned long k);

/* Pin the calling process to the CPU it is running on. */
void pb_pin(void);

/* Pin the calling process to cpu; 0, or -1 when refused. */
int pb_pin_to(int cpu);

/* A small reproducible generator (xorshift64*). */
uint64_t pb_rand(uint64_t *state);

/* Shuffle idx[0..n) in place. */
void pb_shuffle(uint32_t *idx, size_t n, uint64_t *state);

/* A tmpfs file of len bytes in dir, mapped shared and populated (and
 * unlinked); NULL on failure, said on stderr. */
void *pb_map_scratch(const char *dir, const char *what, size_t len);

/* Link the 64-byte lines of region r (len bytes) into one random cycle
 * of pointers; 0, or -1 without memory. */
int pb_link_cycle(unsigned char *r, size_t len);

/* Print one sample line (see above). */
void pb_sample(const char *op, unsigned long pop, unsigned long k,
	double ns);

/* ------------------------------------------------------- pmm-worker.c */

/*
 * Measures libpmm on a bank of `population` 4 KiB blocks: creates and
 * fills the bank (PMM_DIR, PMM_TUNABLES and PMM_CONF are set by the
 * driver), then prints `reps` samples of each operation.
 */
int pb_worker(unsigned long population, int reps, int quick);

/* Blocks a worker adds on top of its population during a sample. */
#define PB_HEADROOM (PB_FREEALL_TOTAL > PB_BATCH ? PB_FREEALL_TOTAL : PB_BATCH)

/* ------------------------------------------------------- pmm-scale.c */

struct pmm__hdr;

/* Read the header of the bank in $PMM_DIR (RAM.pmm) into h; exits with a
 * message when it cannot. */
void pb_bank_header(struct pmm__hdr *h);

/* On the bank the worker of `population` left in PMM_DIR, in a new
 * process: first calls, 1 vs 2 threads, 1 vs 2 processes, metadata. */
int pb_scale(unsigned long population, int reps, const char *self);
/* "--lockshare N reps": the share of a lone process's allocate + free
 * pairs spent holding the bank lock (run with pmm-lockshare.so
 * preloaded); 1 when the module is not there. */
int pb_lockshare(unsigned long population, int reps);
/* Allocate + free pairs of 4 KiB blocks by nprocs (1 or 2) forked
 * processes on the bank of PMM_DIR, from a common start after an untimed
 * first lap: ns per pair of the total; each process's last block's
 * address in addr[0..nprocs) unless NULL.  Names carry s. */
double pb_alloc_free_procs(int nprocs, unsigned long s, int pairs,
	uint64_t *addr);
/* "--neighbours reps" (pmm-neighbours.c): 1 and 2 processes allocating
 * and freeing on an empty bank of four arenas (PMM_DIR, PMM_TUNABLES). */
int pb_neighbours(int reps);
/* "--first": the first call of this process, in ns, on stdout. */
int pb_first(void);

/* --------------------------------------------------------- pmm-shm.c */

/* The shm_open anchors: `reps` samples of create, open and destroy. */
int pb_shm_anchors(int reps);

/* ------------------------------------------------------- pmm-parts.c */

/* The parts of a new allocate, timed alone on a tmpfs file in dir. */
int pb_parts(const char *dir, int reps);

/* ------------------------------------------------------ pmm-report.c */

/* Record one "S" line; 0 on success, -1 if it does not parse. */
int pb_report_add(const char *line);

/* What the report prints besides the samples. */
struct pb_report_info {
	int reps;
	int anchors_pmdk;		/* pmm-anchors ran */
	int flushed;			/* libpmm ran with PMEM_IS_PMEM_FORCE=1 */
	const unsigned long *pops;	/* populations measured, ascending */
	size_t npops;
	const unsigned long *ks;	/* pmmFreeAll sizes */
	size_t nks;
};

void pb_report_text(FILE *f, const struct pb_report_info *info);
void pb_report_csv(FILE *f, const struct pb_report_info *info);

#endif /* PMM_BENCH_H */
