/*
 * pmm-report.c -- collects the sample lines of the workers and anchors,
 * takes medians and prints the table: ours, the anchors, the ratios, the
 * targets and whether each is met (Markdown, or CSV).
 *
 * Targets (issue 14): a new 4 KiB pmmAllocate <= 800 ns, a retrieve
 * <= 100 ns cached and <= 1.3 x the machine's miss at large populations, a
 * pmmFree <= 500 ns, at every population; "flat" is judged
 * here as slowest population / fastest <= FLAT_MAX; pmmFreeAll "linear"
 * as every measured k within LINEAR_TOL of the straight line through the
 * smallest and the largest k (a fixed cost plus a cost per block).
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pmm-bench.h"

#define FLAT_MAX 1.5
#define LINEAR_TOL 0.25

struct sample {
	char op[32];
	unsigned long pop, k;
	double ns;
};

static struct sample *samples;
static size_t nsamples, cap;

/* Parse "S\top\tpop\tk\tns" and keep it. */
int
pb_report_add(const char *line)
{
	struct sample s;
	if (sscanf(line, "S\t%31[^\t]\t%lu\t%lu\t%lf", s.op, &s.pop, &s.k,
			&s.ns) != 4 || !(s.ns >= 0))
		return -1;
	if (nsamples == cap) {
		size_t ncap = cap ? 2 * cap : 256;
		struct sample *n = realloc(samples, ncap * sizeof(*n));
		if (n == NULL)
			return -1;
		samples = n;
		cap = ncap;
	}
	samples[nsamples++] = s;
	return 0;
}

/* Order doubles for qsort. */
static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Statistics of one (op, population, k): count, median, min, max. */
struct pstat {
	size_t n;
	double med, min, max;
};

/* Gather the samples of one row; NAN median when there are none. */
static struct pstat
row(const char *op, unsigned long pop, unsigned long k)
{
	struct pstat st = { 0, NAN, NAN, NAN };
	double *v = malloc((nsamples + 1) * sizeof(*v));
	if (v == NULL)
		return st;
	for (size_t i = 0; i < nsamples; i++)
		if (strcmp(samples[i].op, op) == 0 && samples[i].pop == pop &&
				samples[i].k == k)
			v[st.n++] = samples[i].ns;
	if (st.n > 0) {
		qsort(v, st.n, sizeof(*v), cmp_double);
		st.med = st.n % 2 ? v[st.n / 2] :
			(v[st.n / 2 - 1] + v[st.n / 2]) / 2;
		st.min = v[0];
		st.max = v[st.n - 1];
	}
	free(v);
	return st;
}

/* A number of ns with sensible precision, or "n/a", written to buf (so
 * that a caller printing buf never shows an earlier value). */
static const char *
fmt_ns(double ns, char *buf)
{
	if (isnan(ns)) {
		snprintf(buf, 32, "n/a");
		return buf;
	}
	if (ns < 100)
		snprintf(buf, 32, "%.1f", ns);
	else
		snprintf(buf, 32, "%.0f", ns);
	return buf;
}

/* A ratio with three decimals, or "n/a", written to buf likewise. */
static const char *
fmt_ratio(double r, char *buf)
{
	if (isnan(r) || isinf(r)) {
		snprintf(buf, 32, "n/a");
		return buf;
	}
	snprintf(buf, 32, r < 0.01 ? "%.4f" : "%.3f", r);
	return buf;
}

/* A population with thousands separators: 1,000,000. */
static const char *
fmt_pop(unsigned long n, char *buf)
{
	char tmp[32];
	int len = snprintf(tmp, sizeof(tmp), "%lu", n), o = 0;
	for (int i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
	return buf;
}

/* The operations with targets, and the anchors they are set against. */
static const struct target {
	const char *op, *what;
	double max_ns;
	const char *pmdk, *shm;		/* anchor ops, NULL when none */
} targets[] = {
	{ "alloc", "new 4 KiB pmmAllocate", 800, "pmdk-zalloc",
		"shm-create" },
	{ "retrieve", "retrieve (pmmAllocate of an existing name)", 100,
		NULL, "shm-open" },
	{ "free", "pmmFree", 500, "pmdk-free", "shm-destroy" },
};
#define NTARGETS (sizeof(targets) / sizeof(targets[0]))

/* A retrieval beyond the caches (more than 1,000 blocks) is judged
 * against the machine's miss: at most RETR_MISS_MAX x one dependent load
 * in 128 MiB, measured in the same run. */
#define RETR_MISS_MAX 1.3
#define CACHED_POP 1000

/* The limit of op at population pop (ns). */
static double
limit_of(const struct target *tg, unsigned long pop)
{
	if (strcmp(tg->op, "retrieve") == 0 && pop > CACHED_POP)
		return RETR_MISS_MAX * row("chase", 0, 128).med;
	return tg->max_ns;
}

static const char *verdict(int known, int ok);

/* How many samples of (op, pop, k) are above x. */
static size_t
count_above(const char *op, unsigned long pop, unsigned long k, double x)
{
	size_t n = 0;
	for (size_t i = 0; i < nsamples; i++)
		n += strcmp(samples[i].op, op) == 0 && samples[i].pop == pop &&
			samples[i].k == k && samples[i].ns > x;
	return n;
}

/* One row of the stalls table: batch op of population pop (k; pop 0:
 * the machine's, no population). */
static void
stall_row(FILE *f, const char *what, const char *op, unsigned long pop,
	unsigned long k)
{
	char b1[32], b2[32], b3[32], st[40], calm[40];
	struct pstat o = row(op, pop, k);
	snprintf(st, sizeof(st), "%s-stalls", op);
	snprintf(calm, sizeof(calm), "%s-calm", op);
	struct pstat s = row(st, pop, k);
	if (o.n == 0 || s.n == 0)
		return;
	fprintf(f, "| %s | %s | %zu of %zu | %s | %s |\n", what,
		pop ? fmt_pop(pop, b1) : "-", count_above(st, pop, k, 0),
		s.n, fmt_ns(o.med, b2), fmt_ns(row(calm, pop, k).med, b3));
}

/* The machine's stalls in the batches of the targets and of the miss
 * (pmm-bench.h): which medians a stall moved, and the retrieve / miss
 * ratio of the calm parts beside the judged one. */
static void
stalls_text(FILE *f, const struct pb_report_info *info)
{
	char b1[32], b2[32];
	if (row("chase-stalls", 0, 128).n == 0)
		return;
	fprintf(f, "\n### The machine's stalls (a stall: %d calls that took "
		">= %.0f us; the calm median leaves the stalled chunks out)\n\n"
		"| batch | blocks | samples with a stall | median (ns) | "
		"calm median (ns) |\n|---|---:|---:|---:|---:|\n", PB_CHUNK,
		PB_STALL_NS / 1000);
	for (size_t t = 0; t < NTARGETS; t++)
		for (size_t p = 0; p < info->npops; p++)
			stall_row(f, targets[t].what, targets[t].op,
				info->pops[p], 1);
	stall_row(f, "machine: one dependent load in 128 MiB", "chase", 0,
		128);
	double miss = row("chase-calm", 0, 128).med;
	for (size_t p = 0; p < info->npops; p++) {
		if (info->pops[p] <= CACHED_POP)
			continue;
		double r = row("retrieve-calm", info->pops[p], 1).med / miss;
		fprintf(f, "| retrieve / one miss in 128 MiB, %s blocks, both "
			"calm (shown, not judged) | - | %s | | <= %.1f: %s |\n",
			fmt_pop(info->pops[p], b1), fmt_ratio(r, b2),
			RETR_MISS_MAX, isnan(r) ? "n/a" : r <= RETR_MISS_MAX ?
			"yes" : "no");
	}
}

/* The neighbours' rows (pmm-neighbours.c): two processes on an empty
 * bank of four arenas, by where their arenas lie. */
static void
neighbours_text(FILE *f)
{
	static const struct {
		const char *op, *what;
	} k[] = {
		{ "empty-near", "in neighbouring arenas" },
		{ "empty-apart", "in arenas apart" },
		{ "empty-same", "in one arena" },
	};
	char b1[32], b2[32];
	struct pstat p1 = row("empty-p1", 0, 1);
	if (p1.n == 0)
		return;
	fprintf(f, "| empty bank of four arenas: 4 KiB allocate + free, 1 "
		"process (ns per pair; %zu samples) | %s | - | - |\n", p1.n,
		fmt_ns(p1.med, b1));
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		struct pstat p2 = row(k[i].op, 0, 1);
		fprintf(f, "| the same, 2 processes %s: throughput / 1 "
			"(%zu samples, ns per pair of the total %s) | %s | - | "
			"- |\n", k[i].what, p2.n, fmt_ns(p2.med, b2),
			fmt_ratio(p1.med / p2.med, b1));
	}
}

/* The scaling rows (pmm-scale.c) of the largest population measured,
 * judged; whether every target there is met. */
static int
scaling_text(FILE *f, const struct pb_report_info *info)
{
	char b1[32], b2[48], b3[32];
	if (info->npops == 0)
		return 1;
	unsigned long big = info->pops[info->npops - 1];
	if (row("retr-t1", big, 1).n == 0)
		return 1;
	int met = 1;
	double miss = row("chase", 0, 128).med;
	fprintf(f, "\n### Scaling, first use and memory (medians; %s blocks "
		"unless said)\n\n| measurement | value | target | met |\n"
		"|---|---:|---|---|\n", fmt_pop(big, b1));
	for (size_t p = 0; p < info->npops; p++) {
		double r = row("retrieve", info->pops[p], 1).med / miss;
		fprintf(f, "| retrieve / one miss in 128 MiB, %s blocks | %s | "
			"%s | %s |\n", fmt_pop(info->pops[p], b1),
			fmt_ratio(r, b2), info->pops[p] > CACHED_POP ?
			"<= 1.3" : "-", info->pops[p] > CACHED_POP ?
			verdict(!isnan(r), r <= RETR_MISS_MAX) : "-");
	}
	double t1 = row("retr-t1", big, 1).med, t2 = row("retr-t2", big, 1).med;
	double c1 = row("chase-t1", big, 1).med, c2 = row("chase-t2", big, 1).med;
	double p1 = row("af-p1", big, 1).med, p2 = row("af-p2", big, 1).med;
	double ls = row("lock-share", big, 1).med;
	double cr = row("open", big, 1).med, fa = row("first-alone", big, 1).med;
	double fs = row("first-shared", big, 1).med;
	struct {
		const char *what;
		double v, lim;
		int ratio, ms;
	} r[] = {
		{ "retrieve, 1 thread (ns per call)", t1, NAN, 0, 0 },
		{ "retrieve, 2 threads at once (ns per call of the total)", t2,
			NAN, 0, 0 },
		{ "retrieve throughput, 2 threads / 1", t1 / t2, 1.8, 1, 0 },
		{ "machine: dependent loads in 128 MiB, 1 thread (ns per load)",
			c1, NAN, 0, 0 },
		{ "machine: the same, 2 threads at once (ns per load of the "
			"total)", c2, NAN, 0, 0 },
		{ "machine: dependent-load throughput, 2 threads / 1", c1 / c2,
			NAN, 1, 0 },
		{ "4 KiB allocate + free, 1 process (ns per pair)", p1, NAN,
			0, 0 },
		{ "4 KiB allocate + free, 2 processes at once (ns per pair of "
			"the total)", p2, NAN, 0, 0 },
		{ "allocate + free throughput, 2 processes / 1", p1 / p2, 1.3,
			1, 0 },
		{ "share of 1 process's allocate + free time holding a lock "
			"(its arena's; pmm-lockshare.so)", ls, NAN, 1, 0 },
		{ "what one lock for the whole bank would allow (layout 3): "
			"2 processes / 1 at most 1 / that share", 1 / ls, NAN, 1,
			0 },
		{ "machine: one cache line moved from one CPU to the other "
			"(ns; each time a lock changes hands, its line and the "
			"lines its last holder wrote move)",
			row("xfer", big, 1).med, NAN, 0, 0 },
		{ "bank creation: the first call of the first process (ms)",
			cr, 2000e6, 0, 1 },
		{ "first call of a new process, nobody else using the bank "
			"(ms)", fa, 1e6, 0, 1 },
		{ "first call of a new process, another one using the bank "
			"(ms)", fs, 1e6, 0, 1 },
		/* no growth beyond the 170 bytes of the day */
		{ "metadata bytes per block (header, table, index / "
			"pmm.maxBlocks)", row("meta-bytes", big, 1).med, 170, 0,
			0 },
	};
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		int has = !isnan(r[i].lim);
		int ok = !has || (r[i].ratio ? r[i].v >= r[i].lim :
			r[i].v <= r[i].lim);
		met &= ok;
		if (r[i].ms)
			snprintf(b1, sizeof(b1), isnan(r[i].v) ? "n/a" : "%.3f",
				r[i].v / 1e6);
		else if (r[i].ratio)
			fmt_ratio(r[i].v, b1);
		else
			fmt_ns(r[i].v, b1);
		if (!has)
			snprintf(b2, sizeof(b2), "-");
		else if (r[i].ms)
			snprintf(b2, sizeof(b2), "<= %g", r[i].lim / 1e6);
		else if (!r[i].ratio)
			snprintf(b2, sizeof(b2), "<= %g", r[i].lim);
		else
			snprintf(b2, sizeof(b2), ">= %s",
				fmt_ratio(r[i].lim, b3));
		fprintf(f, "| %s | %s | %s | %s |\n", r[i].what, b1, b2,
			has ? verdict(!isnan(r[i].v), ok) : "-");
	}
	neighbours_text(f);
	return met;
}

/* The fastest and slowest medians over the populations (*lo NAN if
 * none); how many populations have one. */
static size_t
extremes_over_pops(const char *op, unsigned long k,
	const struct pb_report_info *info, double *lo, double *hi)
{
	size_t n = 0;
	*lo = INFINITY;
	*hi = 0;
	for (size_t p = 0; p < info->npops; p++) {
		double m = row(op, info->pops[p], k).med;
		if (isnan(m))
			continue;
		*lo = m < *lo ? m : *lo;
		*hi = m > *hi ? m : *hi;
		n++;
	}
	if (n == 0)
		*lo = NAN;
	return n;
}

/* slowest / fastest median over the populations (NAN if < 2). */
static double
spread_over_pops(const char *op, unsigned long k,
	const struct pb_report_info *info)
{
	double lo, hi;
	return extremes_over_pops(op, k, info, &lo, &hi) >= 2 ? hi / lo : NAN;
}

/* The worst relative distance of any k from the line through the ends. */
static double
linear_dev(unsigned long pop, const struct pb_report_info *info,
	double *fixed, double *per_block)
{
	unsigned long k0 = info->ks[0], k1 = info->ks[info->nks - 1];
	double t0 = row("freeall", pop, k0).med;
	double t1 = row("freeall", pop, k1).med;
	double b = (t1 - t0) / (double)(k1 - k0), a = t0 - b * (double)k0;
	double worst = 0;
	*fixed = a;
	*per_block = b;
	if (isnan(t0) || isnan(t1))
		return NAN;
	for (size_t i = 1; i + 1 < info->nks; i++) {
		double t = row("freeall", pop, info->ks[i]).med;
		double d = fabs(t - (a + b * (double)info->ks[i])) / t;
		if (isnan(t))
			return NAN;
		worst = d > worst ? d : worst;
	}
	return worst;
}

/* "yes", "**no**" or "n/a". */
static const char *
verdict(int known, int ok)
{
	return !known ? "n/a" : ok ? "yes" : "**no**";
}

/* Where a new allocate's time goes: the parts of the path libpmm took
 * in this run (flushed, or plain stores on tmpfs), then the misses. */
static void
parts_text(FILE *f, const struct pb_report_info *info)
{
	static const struct {
		const char *op, *what;
		int flushed;
	} parts[] = {
		{ "part-lock", "bank lock + unlock (robust, process-shared "
			"mutex)", -1 },
		{ "part-zero", "zero fill of 4 KiB + entry written and "
			"flushed + first fence", 1 },
		{ "part-commit", "state word stored + persisted (second "
			"fence, the commit)", 1 },
		{ "part-reload", "entry read back after the commit (the "
			"index updates read it)", 1 },
		{ "part-plain", "zero fill of 4 KiB + entry written, plain "
			"stores (tmpfs: no flush, no fence)", 0 },
	};
	char b1[32], b2[32];
	unsigned long p0 = info->pops[0];
	double alloc = row("alloc", p0, 1).med, sum = 0;
	fprintf(f, "\n### Where a new allocate's time goes (parts timed "
		"alone in the same run, ns; the %s path)\n\n| part | ns | "
		"share of the allocate at %s blocks |\n|---|---:|---:|\n",
		info->flushed ? "flushed (--flushed, a DAX bank)" :
		"tmpfs (no flushes)", fmt_pop(p0, b1));
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (parts[i].flushed >= 0 && parts[i].flushed != info->flushed)
			continue;
		double m = row(parts[i].op, 0, 1).med;
		sum += m;
		fprintf(f, "| %s | %s | %.0f%% |\n", parts[i].what,
			fmt_ns(m, b1), 100 * m / alloc);
	}
	if (info->flushed) {
		double z = row("part-zero", 0, 1).med -
			row("part-entry", 0, 1).med;
		fprintf(f, "| (of which the zero fill: part-zero - the same "
			"without it) | %s | %.0f%% |\n", fmt_ns(z, b1),
			100 * z / alloc);
	} else {
		fprintf(f, "| (the flushed path's parts in this run: first "
			"fence with the zero fill %s, commit %s) | | |\n",
			fmt_ns(row("part-zero", 0, 1).med, b1),
			fmt_ns(row("part-commit", 0, 1).med, b2));
	}
	fprintf(f, "| the rest: checks, hashing, index, call | %s | %.0f%% "
		"|\n", fmt_ns(alloc - sum, b1), 100 * (alloc - sum) / alloc);
	for (size_t p = 1; p < info->npops; p++)
		fprintf(f, "| added at %s blocks (index and table cache/TLB "
			"misses) | %s | |\n", fmt_pop(info->pops[p], b1),
			fmt_ns(row("alloc", info->pops[p], 1).med - alloc, b2));
}

/* The Markdown report. */
void
pb_report_text(FILE *f, const struct pb_report_info *info)
{
	char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32], b7[32], b8[32];
	struct pstat pz = row("pmdk-zalloc", 0, 1), pf = row("pmdk-free", 0, 1);
	fprintf(f, "\n### Targets (medians of %d samples of %d calls, ns per "
		"call; anchors: medians of all their samples in this run)\n\n",
		info->reps, PB_BATCH);
	fprintf(f, "| operation | blocks | ours | ours min..max | PMDK | "
		"ours/PMDK | shm | ours/shm | target | met |\n"
		"|---|---:|---:|---:|---:|---:|---:|---:|---|---|\n");
	int all_met = 1, any = 0;
	for (size_t t = 0; t < NTARGETS; t++) {
		const struct target *tg = &targets[t];
		struct pstat an_p = tg->pmdk ? row(tg->pmdk, 0, 1) :
			(struct pstat){ 0, NAN, NAN, NAN };
		struct pstat an_s = tg->shm ? row(tg->shm, 0, 1) :
			(struct pstat){ 0, NAN, NAN, NAN };
		for (size_t p = 0; p < info->npops; p++) {
			struct pstat o = row(tg->op, info->pops[p], 1);
			if (o.n == 0)
				continue;
			double lim = limit_of(tg, info->pops[p]);
			int ok = o.med <= lim;
			all_met &= ok;
			any = 1;
			fprintf(f, "| %s | %s | %s | %s..%s | %s | %s | %s | %s "
				"| <= %.0f ns%s | %s |\n", tg->what,
				fmt_pop(info->pops[p], b1), fmt_ns(o.med, b2),
				fmt_ns(o.min, b3), fmt_ns(o.max, b4),
				fmt_ns(an_p.med, b5), fmt_ratio(o.med / an_p.med,
					b6), fmt_ns(an_s.med, b7),
				fmt_ratio(o.med / an_s.med, b8), lim,
				lim != tg->max_ns ? " (1.3 x miss)" : "",
				verdict(1, ok));
		}
	}
	fprintf(f, "\nAnchors: PMDK = `pmemobj_zalloc` 4 KiB / `pmemobj_free` "
		"(PMEM_IS_PMEM_FORCE=1: cache flushes%s), %zu / %zu "
		"samples; shm = `shm_open`+`ftruncate`+`mmap` (new), "
		"`shm_open`+`mmap` (existing), `munmap`+`close`+`shm_unlink` "
		"(free), %zu samples.\n", info->flushed ? ", as libpmm in this "
		"run" : "; libpmm flushes nothing on tmpfs, where PMDK's own "
		"default is msync: see \"PMDK's default on tmpfs\" below",
		pz.n, pf.n, row("shm-create", 0, 1).n);

	fprintf(f, "\n### Flat from the smallest to the largest population "
		"(slowest median / fastest; flat when <= %.1f)\n\n", FLAT_MAX);
	/* what the largest population adds to the fastest, in ns and in the
	 * machine's misses: a call there pays at least the one miss on its
	 * name's line, and flat allows it half the fastest */
	double miss = row("chase", 0, 128).med;
	unsigned long big = info->npops > 0 ? info->pops[info->npops - 1] : 0;
	fprintf(f, "| operation | slowest/fastest | flat | fastest (ns) | "
		"%s blocks (ns) | added there (ns) | added / one miss in "
		"128 MiB (%s ns) | flat allows added <= (ns) |\n"
		"|---|---:|---|---:|---:|---:|---:|---:|\n",
		fmt_pop(big, b2), fmt_ns(miss, b3));
	static const char *const flat_ops[] = { "alloc", "retrieve", "free",
		"alloc-key", "free-key", "retrieve-hot" };
	for (size_t i = 0; i < sizeof(flat_ops) / sizeof(flat_ops[0]); i++) {
		double lo, slowest, hi = row(flat_ops[i], big, 1).med;
		double s = extremes_over_pops(flat_ops[i], 1, info, &lo,
			&slowest) >= 2 ? slowest / lo : NAN;
		int ok = !isnan(s) && s <= FLAT_MAX;
		if (i < NTARGETS && !isnan(s))
			all_met &= ok;
		fprintf(f, "| %s | %s | %s | %s | %s | %s | %s | %s |\n",
			flat_ops[i], fmt_ratio(s, b1), verdict(!isnan(s), ok),
			fmt_ns(lo, b2), fmt_ns(hi, b3), fmt_ns(hi - lo, b4),
			fmt_ratio((hi - lo) / miss, b5),
			fmt_ns((FLAT_MAX - 1) * lo, b6));
	}
	if (info->nks > 0) {
		double s = spread_over_pops("freeall", info->ks[info->nks - 1],
			info);
		fprintf(f, "| freeall of %lu, per block | %s | %s | | | | | |\n",
			info->ks[info->nks - 1], fmt_ratio(s, b1),
			verdict(!isnan(s), s <= FLAT_MAX));
	}

	fprintf(f, "\n### pmmFreeAll of k blocks: ns per call (ns per block)"
		"\n\n| k |");
	for (size_t p = 0; p < info->npops; p++)
		fprintf(f, " %s blocks |", fmt_pop(info->pops[p], b1));
	fprintf(f, "\n|---:|");
	for (size_t p = 0; p < info->npops; p++)
		fprintf(f, "---:|");
	fprintf(f, "\n");
	for (size_t i = 0; i < info->nks; i++) {
		fprintf(f, "| %lu |", info->ks[i]);
		for (size_t p = 0; p < info->npops; p++) {
			double m = row("freeall", info->pops[p],
				info->ks[i]).med;
			fprintf(f, " %s (%s) |", fmt_ns(m, b1),
				fmt_ns(m / (double)info->ks[i], b2));
		}
		fprintf(f, "\n");
	}
	fprintf(f, "| fit: fixed + per block |");
	for (size_t p = 0; p < info->npops; p++) {
		double a, b;
		linear_dev(info->pops[p], info, &a, &b);
		fprintf(f, " %s + %s k |", fmt_ns(a, b1), fmt_ns(b, b2));
	}
	fprintf(f, "\n| worst distance from the line (linear when <= %.0f%%) |",
		LINEAR_TOL * 100);
	int linear = 1;
	for (size_t p = 0; p < info->npops; p++) {
		double a, b, d = linear_dev(info->pops[p], info, &a, &b);
		int ok = !isnan(d) && d <= LINEAR_TOL;
		linear &= ok;
		fprintf(f, " %.1f%% %s |", d * 100, verdict(!isnan(d), ok));
	}
	fprintf(f, "\n");

	fprintf(f, "\n### Other measurements (medians, ns per call)\n\n");
	fprintf(f, "| measurement | blocks | ns |\n|---|---:|---:|\n");
	static const struct {
		const char *op, *what;
	} other[] = {
		{ "alloc-key", "new 4 KiB pmmAllocate with an 8-byte key" },
		{ "free-key", "pmmFree of a keyed block" },
		{ "retrieve-hot", "retrieve of the same 1000 names again at "
			"once (cached)" },
		{ "fill", "mean pmmAllocate while filling the bank (first "
			"use of every page)" },
		{ "freeall-none", "pmmFreeAll of a key no block has (fixed "
			"cost)" },
		{ "open", "first call of the first process: creates the bank" },
	};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		for (size_t p = 0; p < info->npops; p++) {
			struct pstat o = row(other[i].op, info->pops[p],
				strcmp(other[i].op, "freeall-none") != 0);
			int ms = strcmp(other[i].op, "open") == 0;
			if (ms)
				snprintf(b2, sizeof(b2), "%.1f ms", o.med / 1e6);
			if (o.n > 0)
				fprintf(f, "| %s | %s | %s |\n", other[i].what,
					fmt_pop(info->pops[p], b1),
					ms ? b2 : fmt_ns(o.med, b2));
		}
	static const struct {
		const char *op, *what;
	} anchors[] = {
		{ "shm-touch", "first store to a new shm mapping (fault + "
			"zero fill; not in the shm anchor)" },
		{ "pmdk-msync-zalloc", "pmemobj_zalloc 4 KiB, PMDK's default "
			"on tmpfs (msync)" },
		{ "pmdk-msync-free", "pmemobj_free, PMDK's default on tmpfs "
			"(msync)" },
	};
	for (size_t i = 0; i < sizeof(anchors) / sizeof(anchors[0]); i++) {
		struct pstat o = row(anchors[i].op, 0, 1);
		if (o.n > 0)
			fprintf(f, "| %s | - | %s |\n", anchors[i].what,
				fmt_ns(o.med, b1));
	}
	static const unsigned long chase_mib[] = { 1, 16, 128 };
	for (size_t i = 0; i < 3; i++) {
		struct pstat o = row("chase", 0, chase_mib[i]);
		if (o.n > 0)
			fprintf(f, "| machine: one dependent load at a random "
				"line of %lu MiB (tmpfs, 4 KiB pages) | - | %s "
				"|\n", chase_mib[i], fmt_ns(o.med, b1));
	}
	if (info->npops > 0 && row("part-lock", 0, 1).n > 0)
		parts_text(f, info);
	all_met &= scaling_text(f, info);
	stalls_text(f, info);
	if (!info->anchors_pmdk)
		fprintf(f, "\nPMDK anchors not measured (pmm-anchors missing "
			"or failed): those ratios are n/a.\n");
	fprintf(f, "\nTargets: %s; pmmFreeAll linear: %s.\n",
		!any ? "n/a" : all_met ? "all met" : "**not all met**",
		linear ? "yes" : "**no**");
}

/* One CSV line per (op, population, k): count, median, min, max. */
void
pb_report_csv(FILE *f, const struct pb_report_info *info)
{
	(void)info;
	fprintf(f, "op,population,k,samples,median_ns,min_ns,max_ns\n");
	for (size_t i = 0; i < nsamples; i++) {
		size_t j;
		for (j = 0; j < i; j++)
			if (strcmp(samples[j].op, samples[i].op) == 0 &&
					samples[j].pop == samples[i].pop &&
					samples[j].k == samples[i].k)
				break;
		if (j < i)
			continue;
		struct pstat s = row(samples[i].op, samples[i].pop,
			samples[i].k);
		fprintf(f, "%s,%lu,%lu,%zu,%.2f,%.2f,%.2f\n", samples[i].op,
			samples[i].pop, samples[i].k, s.n, s.med, s.min, s.max);
	}
}
