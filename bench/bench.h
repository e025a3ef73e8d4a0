/*
 * bench.h -- declarations shared by the parts of pmem-bench: the machine
 * (CPU features, cache size, the non-temporal limit kernels and the
 * configurations the CPU can run), the worker that measures one library
 * in one configuration, and the report built from the workers' results.
 */
#ifndef PMEM_BENCH_H
#define PMEM_BENCH_H 1

#include <stddef.h>
#include <stdio.h>

/* Sizes measured; the largest list has this many entries. */
#define BENCH_MAX_SIZES 16

/* Fills sizes[] with the sizes measured and returns how many. */
size_t bench_sizes(int quick, size_t *sizes);

/* Formats a size as "64", "4K", "2M" into buf (at least 16 bytes). */
const char *bench_size_str(size_t size, char *buf);

/* ---------------------------------------------------------- machine.c */

/* What the CPU (and the OS, for the vector state) supports. */
struct bench_cpu {
	int clflush, clflushopt, clwb;
	int sse2, avx, avx2, avx512f;	/* usable: CPUID and XCR0 agree */
	char model[128];		/* "model name" from /proc/cpuinfo */
};

void bench_cpu_detect(struct bench_cpu *cpu);

/* Size of the last-level cache in bytes (32 MiB when it cannot be read). */
size_t bench_llc_size(void);

/*
 * The machine's limit: a plain non-temporal copy and fill (AVX2 streaming
 * stores when the CPU has AVX2, SSE2 otherwise) ending with an sfence.
 * dst must be 16-byte aligned and len a multiple of 64.
 */
void *bench_nt_copy(void *dst, const void *src, size_t len);
void *bench_nt_fill(void *dst, int c, size_t len);
const char *bench_nt_name(void);

/*
 * One configuration: the environment both libraries read at load, and
 * what is measured under it.  "flush" and "isa" are the path labels of
 * the flush instruction and the copy kernels requested.
 */
#define BENCH_MAX_ENV 3
struct bench_config {
	char name[32];		/* e.g. "clwb", "clflush", "isa-sse2" */
	char flush[16];		/* auto (the library's own choice), clwb,
				 * clflushopt, clflush, none */
	char isa[16];		/* avx512f, avx, sse2, generic */
	const char *env[BENCH_MAX_ENV + 1];	/* "NAME=VALUE", NULL ends */
	int flush_rows;		/* persist and flush+drain */
	int matrix;		/* every mem* variant, flag and alignment */
	int limit;		/* the non-temporal limit kernels */
};

#define BENCH_MAX_CONFIGS 12

/* The flush instruction the fixed priority clwb > clflushopt > clflush
 * picks on this CPU. */
const char *bench_priority_flush(const struct bench_cpu *cpu);

/*
 * Fills cfg[] with the configurations this CPU can run and returns how
 * many; each one skipped is described on skipped (if not NULL).
 */
size_t bench_configs(const struct bench_cpu *cpu, struct bench_config *cfg,
	FILE *skipped);

/* ----------------------------------------------------------- worker.c */

/*
 * The worker: argv holds LIBPATH CONFIG [--quick] [--dir DIR].  Loads the
 * library, measures what the configuration asks for and prints one line
 * per measurement: "R<TAB>op<TAB>path<TAB>align<TAB>size<TAB>ns".
 */
int bench_worker(int argc, char **argv);

/* ----------------------------------------------------------- report.c */

enum { LIB_OURS, LIB_PMDK, NLIBS };

/* Records one result line ("R\t...") of a worker run on library lib. */
int report_add_line(const char *line, int lib);

/* What the report needs besides the results. */
struct report_info {
	int compare;		/* PMDK measured too */
	int reps;
	const char *default_path;	/* "auto/avx/default" */
	const char *priority_flush;	/* "clwb" */
};

void report_text(FILE *f, const struct report_info *info);
void report_csv(FILE *f, const struct report_info *info);
int report_plot(const char *file, const struct report_info *info);

#endif /* PMEM_BENCH_H */
