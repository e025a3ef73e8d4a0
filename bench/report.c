/*
 * report.c -- collects the workers' results, takes medians over the runs
 * and prints them: the table (text or CSV), the targets, the share of the
 * non-temporal limit, the best flush instruction per size, and the plot.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

/* One row: an operation on one path, alignment and size. */
struct row {
	char op[24], path[48], align[4];
	size_t size;
	int path_id;
	double *v[NLIBS];	/* ns per call, one per run */
	size_t n[NLIBS], cap[NLIBS];
};

static struct row *rows;
static size_t nrows, rows_cap, cursor;

/* Paths in the order first seen, to keep the workers' order. */
static char paths[256][48];
static int npaths;

/* The operations, in the order printed. */
static const char *const op_order[] = {
	"persist", "flush+drain", "persist-cold", "memcpy_persist", "memcpy_nodrain",
	"memmove_persist", "memmove_nodrain", "memset_persist",
	"memset_nodrain", "nt-copy", "nt-fill",
};
#define NOPS (sizeof(op_order) / sizeof(op_order[0]))

/* The sizes every target row is checked at. */
static const size_t target_sizes[] = {
	64, 256, 4 << 10, 64 << 10, 2 << 20, 64 << 20,
};

static int
op_rank(const char *op)
{
	for (size_t i = 0; i < NOPS; i++)
		if (strcmp(op, op_order[i]) == 0)
			return (int)i;
	return (int)NOPS;
}

static int
path_id(const char *path)
{
	for (int i = 0; i < npaths; i++)
		if (strcmp(paths[i], path) == 0)
			return i;
	if (npaths == (int)(sizeof(paths) / sizeof(paths[0])))
		return npaths - 1;
	snprintf(paths[npaths], sizeof(paths[0]), "%s", path);
	return npaths++;
}

static struct row *
find(const char *op, const char *path, const char *align, size_t size)
{
	for (size_t k = 0; k < nrows; k++) {
		struct row *r = &rows[(cursor + k) % nrows];
		if (r->size == size && strcmp(r->op, op) == 0 &&
				strcmp(r->path, path) == 0 &&
				strcmp(r->align, align) == 0) {
			cursor = (size_t)(r - rows) + 1;
			return r;
		}
	}
	if (nrows == rows_cap) {
		rows_cap = rows_cap ? 2 * rows_cap : 256;
		rows = realloc(rows, rows_cap * sizeof(*rows));
		if (rows == NULL) {
			perror("pmem-bench");
			exit(1);
		}
	}
	struct row *r = &rows[nrows++];
	memset(r, 0, sizeof(*r));
	snprintf(r->op, sizeof(r->op), "%s", op);
	snprintf(r->path, sizeof(r->path), "%s", path);
	snprintf(r->align, sizeof(r->align), "%s", align);
	r->size = size;
	r->path_id = path_id(path);
	cursor = nrows;
	return r;
}

int
report_add_line(const char *line, int lib)
{
	char op[24], path[48], align[4];
	size_t size;
	double ns;
	if (sscanf(line, "R\t%23s\t%47s\t%3s\t%zu\t%lf", op, path, align,
			&size, &ns) != 5)
		return -1;
	struct row *r = find(op, path, align, size);
	if (r->n[lib] == r->cap[lib]) {
		r->cap[lib] = r->cap[lib] ? 2 * r->cap[lib] : 8;
		r->v[lib] = realloc(r->v[lib], r->cap[lib] * sizeof(double));
		if (r->v[lib] == NULL) {
			perror("pmem-bench");
			exit(1);
		}
	}
	r->v[lib][r->n[lib]++] = ns;
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Median of the runs of lib, or NAN without any. */
static double
median(const struct row *r, int lib)
{
	size_t n = r->n[lib];
	if (n == 0)
		return NAN;
	double *v = malloc(n * sizeof(double));
	if (v == NULL)
		return NAN;
	memcpy(v, r->v[lib], n * sizeof(double));
	qsort(v, n, sizeof(double), cmp_double);
	double m = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	free(v);
	return m;
}

static int
cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int d = op_rank(x->op) - op_rank(y->op);
	if (d == 0)
		d = x->path_id - y->path_id;
	if (d == 0)
		d = strcmp(x->align, y->align);
	if (d == 0)
		d = x->size < y->size ? -1 : x->size > y->size;
	return d;
}

static void
sort_rows(void)
{
	qsort(rows, nrows, sizeof(*rows), cmp_row);
	cursor = 0;
}

static int
is_target_size(size_t size)
{
	for (size_t i = 0; i < sizeof(target_sizes) / sizeof(*target_sizes);
			i++)
		if (size == target_sizes[i])
			return 1;
	return 0;
}

/* Target rows: persist on the default path and on each flush
 * instruction, and memcpy_persist and memset_persist on the default path,
 * aligned, at the target sizes.  (Not the opt-in "calibrated" path: it is
 * measured to show what it gains and loses, not as a default.) */
static int
is_target(const struct row *r, const struct report_info *info)
{
	if (strcmp(r->align, "a") != 0 || !is_target_size(r->size))
		return 0;
	if (strcmp(r->op, "persist") == 0)
		return strcmp(r->path, "none") != 0 &&
			strcmp(r->path, "calibrated") != 0;
	return (strcmp(r->op, "memcpy_persist") == 0 ||
		strcmp(r->op, "memset_persist") == 0) &&
		strcmp(r->path, info->default_path) == 0;
}

static const struct row *
lookup(const char *op, const char *path, const char *align, size_t size)
{
	for (size_t i = 0; i < nrows; i++)
		if (rows[i].size == size && strcmp(rows[i].op, op) == 0 &&
				strcmp(rows[i].path, path) == 0 &&
				strcmp(rows[i].align, align) == 0)
			return &rows[i];
	return NULL;
}

static const char *const lib_name[NLIBS] = { "ours", "PMDK" };

/* The share of the non-temporal limit reached by the default path. */
static void
limit_check(FILE *f, const struct report_info *info)
{
	fprintf(f, "\n== memcpy_persist / memset_persist (%s, aligned) "
		"against the non-temporal limit of the same runs "
		"(target >= 90%% from 64K)\n", info->default_path);
	fprintf(f, "%-16s %6s | %-20s %-20s\n", "op", "size",
		"ours GB/s (limit) %", info->compare ?
		"PMDK GB/s (limit) %" : "");
	int met = 0, total = 0;
	for (size_t i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		int cp = strcmp(r->op, "memcpy_persist") == 0;
		if ((!cp && strcmp(r->op, "memset_persist") != 0) ||
				strcmp(r->path, info->default_path) != 0 ||
				strcmp(r->align, "a") != 0 ||
				r->size < (64 << 10))
			continue;
		const struct row *lim = NULL;
		for (size_t j = 0; j < nrows && lim == NULL; j++)
			if (rows[j].size == r->size && strcmp(rows[j].op,
					cp ? "nt-copy" : "nt-fill") == 0)
				lim = &rows[j];
		if (lim == NULL)
			continue;
		char sz[16];
		fprintf(f, "%-16s %6s |", r->op, bench_size_str(r->size, sz));
		for (int l = 0; l < (info->compare ? NLIBS : 1); l++) {
			double g = (double)r->size / median(r, l);
			double lg = (double)r->size / median(lim, l);
			double pct = 100 * g / lg;
			fprintf(f, " %6.2f (%6.2f) %5.1f%%%s", g, lg, pct,
				l == LIB_OURS ? (pct >= 90 ? " ok" : " NO") :
				"");
			if (l == LIB_OURS) {
				met += pct >= 90;
				total++;
			}
		}
		fputc('\n', f);
	}
	fprintf(f, "ours: %d of %d rows at >= 90%% of the limit\n", met,
		total);
}

/* The fastest flush instruction for persist at each size, and where the
 * library's own choice ("auto") and the fixed priority stand. */
static void
best_flush(FILE *f, const struct report_info *info, const char *op,
	const char *what)
{
	static const char *const fl[] = { "clwb", "clflushopt", "clflush",
		"auto" };
	fprintf(f, "\n== %s of %s per flush instruction (ns/op, "
		"medians); the fixed priority picks %s, auto is the "
		"library's own choice\n", op, what, info->priority_flush);
	for (int l = 0; l < (info->compare ? NLIBS : 1); l++) {
		fprintf(f, "%s:\n%6s | %10s %10s %10s | %-10s %9s | %10s %9s"
			"\n", lib_name[l], "size", fl[0], fl[1], fl[2], "best",
			"priority", fl[3], "auto");
		for (size_t i = 0; i < nrows; i++) {
			const struct row *r = &rows[i];
			if (strcmp(r->op, op) != 0 ||
					strcmp(r->path, "auto") != 0)
				continue;
			char sz[16];
			fprintf(f, "%6s |", bench_size_str(r->size, sz));
			double best = INFINITY, prio = NAN;
			const char *bname = "-";
			for (int k = 0; k < 3; k++) {
				const struct row *q = lookup(op, fl[k],
					"a", r->size);
				double m = q ? median(q, l) : NAN;
				if (q == NULL || isnan(m)) {
					fprintf(f, " %10s", "-");
					continue;
				}
				fprintf(f, " %10.1f", m);
				if (m < best) {
					best = m;
					bname = fl[k];
				}
				if (strcmp(fl[k], info->priority_flush) == 0)
					prio = m;
			}
			double a = median(r, l);
			fprintf(f, " | %-10s %+8.0f%% | %10.1f %+8.0f%%\n",
				bname, 100 * (prio / best - 1), a,
				100 * (a / best - 1));
		}
	}
	fprintf(f, "(priority, auto: how much slower than the best "
		"instruction)\n");
}

/* GB/s of size bytes in ns, "-" when too fast to tell. */
static void
gbps(FILE *f, size_t size, double ns)
{
	if (ns > 0.05)
		fprintf(f, "%7.2f", (double)size / ns);
	else
		fprintf(f, "%7s", "-");
}

void
report_text(FILE *f, const struct report_info *info)
{
	sort_rows();
	fprintf(f, "\n%-15s %-22s %-5s %5s | %12s %7s", "op", "path",
		"align", "size", "ours ns/op", "GB/s");
	if (info->compare)
		fprintf(f, " | %12s %7s | %9s", "PMDK ns/op", "GB/s",
			"ours/PMDK");
	fputc('\n', f);
	double logsum = 0;
	int ntarget = 0, nfast = 0;
	for (size_t i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		if (i > 0 && (strcmp(r->op, rows[i - 1].op) ||
				r->path_id != rows[i - 1].path_id ||
				strcmp(r->align, rows[i - 1].align)))
			fputc('\n', f);
		char sz[16];
		double o = median(r, LIB_OURS);
		fprintf(f, "%-15s %-22s %-5s %5s | %12.1f ", r->op, r->path,
			r->align, bench_size_str(r->size, sz), o);
		gbps(f, r->size, o);
		if (info->compare) {
			double p = median(r, LIB_PMDK);
			double q = o / p;
			fprintf(f, " | %12.1f ", p);
			gbps(f, r->size, p);
			if (o > 0 && p > 0)
				fprintf(f, " | %9.3f", q);
			else
				fprintf(f, " | %9s", "-");
			if (is_target(r, info) && o > 0 && p > 0) {
				fprintf(f, "  T%s", q <= 1 ? "" : " slower");
				logsum += log(q);
				ntarget++;
				nfast += q <= 1;
			}
		}
		fputc('\n', f);
	}
	if (info->compare && ntarget > 0) {
		fprintf(f, "\n== targets (rows marked T: persist per flush "
			"instruction, memcpy_persist and memset_persist on %s, "
			"aligned, at 64, 256, 4K, 64K, 2M, 64M)\n",
			info->default_path);
		double g = exp(logsum / ntarget);
		fprintf(f, "ours at least as fast as PMDK: %d of %d rows\n",
			nfast, ntarget);
		fprintf(f, "geometric mean of ours/PMDK: %.3f (target <= "
			"0.97: %s)\n", g, g <= 0.97 ? "met" : "NOT met");
	}
	limit_check(f, info);
	best_flush(f, info, "persist", "cached dirty lines");
	best_flush(f, info, "persist-cold", "fresh dirty lines (evicted, "
		"then stored to)");
}

void
report_csv(FILE *f, const struct report_info *info)
{
	sort_rows();
	fprintf(f, "op,path,align,size,ours_ns,ours_gbps,pmdk_ns,pmdk_gbps,"
		"ratio,target,runs\n");
	for (size_t i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		double o = median(r, LIB_OURS);
		fprintf(f, "%s,%s,%s,%zu,%.3f,%.4f", r->op, r->path, r->align,
			r->size, o, (double)r->size / o);
		if (info->compare) {
			double p = median(r, LIB_PMDK);
			fprintf(f, ",%.3f,%.4f,%.4f", p, (double)r->size / p,
				o / p);
		} else {
			fprintf(f, ",,,");
		}
		fprintf(f, ",%d,%zu\n", info->compare && is_target(r, info),
			r->n[LIB_OURS]);
	}
}

/* Colours of the plot's lines, distinct enough side by side. */
static const char *const colors[] = {
	"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
	"#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939",
};
#define NCOLORS (sizeof(colors) / sizeof(colors[0]))

/* Is the path drawn in a panel of op?  "none" never (it does not flush);
 * the copy panels show the default flush choice on every copy path. */
static int
plotted(const char *op, const char *path)
{
	if (strncmp(path, "none", 4) == 0)
		return 0;
	if (strncmp(op, "persist", 7) == 0 || strncmp(op, "nt-", 3) == 0)
		return 1;
	return strncmp(path, "auto/", 5) == 0;
}

/* One panel of the plot: the paths of op (aligned), plus lim if set. */
static void
plot_panel(FILE *g, const char *title, const char *op, const char *lim,
	const struct report_info *info, int *block)
{
	int first_block = *block;
	char plot[16384] = "";
	size_t len = 0;
	int color = 0;
	for (int pass = 0; pass < 2; pass++) {
		const char *want = pass ? lim : op;
		if (want == NULL)
			continue;
		for (int p = 0; p < npaths; p++) {
			int found = 0;
			for (size_t i = 0; i < nrows; i++)
				if (rows[i].path_id == p && strcmp(rows[i].op,
						want) == 0 && strcmp(rows[i].align,
						"a") == 0)
					found = 1;
			if (!found || !plotted(want, paths[p]))
				continue;
			const char *rgb = pass ? "black" :
				colors[color++ % NCOLORS];
			for (int l = 0; l < (info->compare ? NLIBS : 1); l++) {
				fprintf(g, "$d%d << EOD\n", *block);
				for (size_t i = 0; i < nrows; i++) {
					const struct row *r = &rows[i];
					if (r->path_id == p && !strcmp(r->op,
						want) && !strcmp(r->align, "a") &&
						median(r, l) > 0)
						fprintf(g, "%zu %.4f\n", r->size,
							(double)r->size /
							median(r, l));
				}
				fprintf(g, "EOD\n");
				len += (size_t)snprintf(plot + len,
					len < sizeof(plot) ? sizeof(plot) - len
					: 0, "%s$d%d using 1:2 with linespoints "
					"lc rgb '%s' lw %d dt %d pt %d "
					"title '%s%s%s'",
					*block == first_block ? "" : ", \\\n  ",
					*block, rgb, pass ? 3 : 2,
					l == LIB_OURS ? 1 : 2,
					l == LIB_OURS ? 7 : 6, pass ?
					"limit " : "", paths[p], info->compare ?
					(l == LIB_OURS ? " ours" : " PMDK") :
					"");
				(*block)++;
			}
		}
	}
	fprintf(g, "set title '%s'\n", title);
	if (*block > first_block && len < sizeof(plot))
		fprintf(g, "plot %s\n", plot);
	else
		fprintf(g, "plot NaN notitle\n");
}

int
report_plot(const char *file, const struct report_info *info)
{
	sort_rows();
	char gp[4096];
	snprintf(gp, sizeof(gp), "%s", file);
	char *dot = strrchr(gp, '.'), *slash = strrchr(gp, '/');
	int png = dot != NULL && strcmp(dot, ".png") == 0;
	if (dot != NULL && (slash == NULL || dot > slash))
		*dot = '\0';
	strncat(gp, ".gp", sizeof(gp) - strlen(gp) - 1);
	FILE *g = fopen(gp, "w");
	if (g == NULL) {
		perror(gp);
		return -1;
	}
	fprintf(g, "# written by pmem-bench; run: gnuplot %s\n", gp);
	if (png)
		fprintf(g, "set terminal pngcairo size 1800,1400 "
			"font ',10'\n");
	else
		fprintf(g, "set terminal svg size 1800,1400 dynamic "
			"font 'sans,10' background rgb 'white'\n");
	fprintf(g, "set output '%s'\n", file);
	fprintf(g, "set logscale xy 2\nset grid\nset key outside right "
		"top font ',8'\nset xlabel 'size (bytes)'\n"
		"set ylabel 'GB/s'\nset xtics (");
	size_t sizes[BENCH_MAX_SIZES], n = 0;
	for (size_t i = 0; i < nrows; i++) {
		size_t k = 0;
		while (k < n && sizes[k] != rows[i].size)
			k++;
		if (k == n && n < BENCH_MAX_SIZES)
			sizes[n++] = rows[i].size;
	}
	for (size_t k = 0; k < n; k++) {
		char sz[16];
		fprintf(g, "%s'%s' %zu", k ? ", " : "",
			bench_size_str(sizes[k], sz), sizes[k]);
	}
	if (n > 0) {
		size_t lo = sizes[0], hi = sizes[0];
		for (size_t k = 1; k < n; k++) {
			lo = sizes[k] < lo ? sizes[k] : lo;
			hi = sizes[k] > hi ? sizes[k] : hi;
		}
		fprintf(g, ")\nset xrange [%g:%g]", (double)lo / 1.4,
			(double)hi * 1.4);
	} else {
		fprintf(g, ")");
	}
	fprintf(g, "\nset multiplot layout 2,2 title 'pmem-bench: GB/s "
		"against size, aligned; black: the non-temporal limit (%s)'\n",
		info->compare ? "solid: ours, dashed: PMDK" : "ours");
	int block = 0;
	plot_panel(g, "persist (dirty lines)", "persist", NULL, info, &block);
	plot_panel(g, "persist-cold (lines evicted, then dirtied)",
		"persist-cold", NULL, info, &block);
	plot_panel(g, "memcpy\\_persist", "memcpy_persist", "nt-copy", info,
		&block);
	plot_panel(g, "memset\\_persist", "memset_persist", "nt-fill", info,
		&block);
	fprintf(g, "unset multiplot\n");
	if (fclose(g) != 0) {
		perror(gp);
		return -1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		execlp("gnuplot", "gnuplot", gp, (char *)NULL);
		_exit(127);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) < 0) {
		perror("pmem-bench: gnuplot");
		return -1;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
		fprintf(stderr, "pmem-bench: gnuplot is not installed "
			"(apt-get install gnuplot-nox); the script is %s\n",
			gp);
		return -1;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "pmem-bench: gnuplot %s failed\n", gp);
		return -1;
	}
	fprintf(stderr, "pmem-bench: plot written to %s (script %s)\n", file,
		gp);
	return 0;
}
