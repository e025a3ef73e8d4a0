/*
 * pmem-bench -- microbenchmarks of libpmem on the running machine, ours
 * alone or against PMDK's libpmem.so.1 in the same run.
 *
 * Both libraries read their PMEM_* variables once, when loaded, so the
 * driver runs every (library, configuration) measurement in a child: it
 * re-executes itself as "--worker LIBPATH CONFIG" with the
 * configuration's variables set, reads the result lines, alternates the
 * two libraries for every configuration, repeats the whole set --reps
 * times and reports medians.  See bench/README.md.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "source.h"

#ifndef PMEM_BENCH_SRCDIR
#define PMEM_BENCH_SRCDIR "."
#endif

#define PMDK_DEFAULT "/usr/lib/x86_64-linux-gnu/libpmem.so.1"

extern char **environ;

struct opts {
	int compare, csv, quick, reps;
	const char *plot, *lib[NLIBS], *dir;
};

static void
usage(FILE *f, const char *prog)
{
	fprintf(f, "usage: %s [--compare] [--csv] [--plot FILE.svg|FILE.png] "
		"[--quick] [--reps N]\n"
		"       [--lib-ours PATH] [--lib-pmdk PATH] [--dir DIR]\n"
		"Measures persist, flush+drain and the pmem_mem* calls of "
		"libpmem for every\nflush instruction and copy path the CPU "
		"has, from 64 B to 64 MiB, and the\nmachine's non-temporal "
		"limit; with --compare, PMDK's libpmem.so.1 too, in\nthe "
		"same run, alternating, with ratios ours/PMDK of medians.\n"
		"  --compare       measure PMDK's library as well (default %s)\n"
		"  --csv           print the table as CSV on stdout\n"
		"  --plot FILE     write GB/s against size (SVG, or PNG for "
		".png) and its\n                  gnuplot script FILE.gp\n"
		"  --quick         few sizes, 3 runs (smoke test)\n"
		"  --reps N        runs per measurement, medians taken "
		"(default 5)\n"
		"  --lib-ours PATH our libpmem.so.1 (default: the build "
		"tree's)\n"
		"  --lib-pmdk PATH PMDK's libpmem.so.1\n"
		"  --dir DIR       where the destination file is mapped "
		"(default /dev/shm)\n", prog, PMDK_DEFAULT);
}

/* Our library in the build tree: ../libpmem/.libs/ from the program. */
static const char *
default_ours(void)
{
	static char path[PATH_MAX];
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return "libpmem/.libs/libpmem.so.1";
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash != NULL)
		*slash = '\0';
	snprintf(path, sizeof(path), "%.*s/../libpmem/.libs/libpmem.so.1",
		(int)(sizeof(path) - 40), exe);
	char *real = realpath(path, NULL);
	if (real != NULL) {
		snprintf(path, sizeof(path), "%s", real);
		free(real);
	}
	return path;
}

/* Runs one worker and feeds its result lines to the report. */
static int
run_worker(const struct opts *o, const struct bench_config *c, int lib)
{
	int fds[2];
	if (pipe(fds) != 0) {
		perror("pmem-bench: pipe");
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("pmem-bench: fork");
		return -1;
	}
	if (pid == 0) {
		/* a clean PMEM_* environment: only the configuration's */
		for (size_t i = 0; environ[i] != NULL;) {
			if (strncmp(environ[i], "PMEM_", 5) == 0) {
				char name[256];
				size_t len = strcspn(environ[i], "=");
				snprintf(name, sizeof(name), "%.*s", (int)len,
					environ[i]);
				unsetenv(name);
				continue;
			}
			i++;
		}
		for (int i = 0; c->env[i] != NULL; i++)
			putenv((char *)c->env[i]);
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		char *argv[] = {
			"pmem-bench", "--worker", (char *)o->lib[lib],
			(char *)c->name, "--dir", (char *)o->dir,
			o->quick ? "--quick" : NULL, NULL,
		};
		execv("/proc/self/exe", argv);
		perror("pmem-bench: exec");
		_exit(127);
	}
	close(fds[1]);
	FILE *in = fdopen(fds[0], "r");
	char line[512];
	int bad = 0;
	while (in != NULL && fgets(line, sizeof(line), in) != NULL)
		if (line[0] == 'R' && report_add_line(line, lib) != 0)
			bad = 1;
	if (in != NULL)
		fclose(in);
	int st;
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
			WEXITSTATUS(st) != 0 || bad) {
		fprintf(stderr, "pmem-bench: the worker for %s on %s failed\n",
			c->name, o->lib[lib]);
		return -1;
	}
	return 0;
}

/* The header: what, where, when. */
static void
header(FILE *f, const struct opts *o, const struct bench_cpu *cpu,
	int argc, char **argv)
{
	char commit[80], date[64];
	time_t t = time(NULL);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S %Z", localtime(&t));
	bench_git_commit(PMEM_BENCH_SRCDIR, 0, commit, sizeof(commit));
	fprintf(f, "pmem-bench: ");
	for (int i = 0; i < argc; i++)
		fprintf(f, "%s%s", i ? " " : "", argv[i]);
	fprintf(f, "\ndate:   %s\ncommit: %s (source tree %s)\n", date, commit,
		PMEM_BENCH_SRCDIR);
	fprintf(f, "cpu:    %s; %ld online; LLC %zu MiB\n", cpu->model,
		sysconf(_SC_NPROCESSORS_ONLN), bench_llc_size() >> 20);
	fprintf(f, "flags:  clflush=%d clflushopt=%d clwb=%d sse2=%d avx=%d "
		"avx2=%d avx512f=%d\n", cpu->clflush, cpu->clflushopt,
		cpu->clwb, cpu->sse2, cpu->avx, cpu->avx2, cpu->avx512f);
	fprintf(f, "ours:   %s\n", o->lib[LIB_OURS]);
	if (o->compare)
		fprintf(f, "PMDK:   %s\n", o->lib[LIB_PMDK]);
	fprintf(f, "runs:   %d per row, medians; destination: a file in %s "
		"mapped MAP_SHARED\n", o->reps, o->dir);
	fprintf(f, "path:   flush/isa/mode as requested through PMEM_* and "
		"PMEM_F_MEM_*: flush auto = no variable set (the library's "
		"own choice),\n        mode default = the call without "
		"flags; align a = aligned, m7 = dst and src + 7 bytes\n");
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--worker") == 0)
		return bench_worker(argc - 2, argv + 2);

	struct opts o = { 0, 0, 0, 5, NULL, { NULL, PMDK_DEFAULT },
		"/dev/shm" };
	int reps_set = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int more = i + 1 < argc;
		if (strcmp(a, "--compare") == 0) {
			o.compare = 1;
		} else if (strcmp(a, "--csv") == 0) {
			o.csv = 1;
		} else if (strcmp(a, "--quick") == 0) {
			o.quick = 1;
		} else if (strcmp(a, "--plot") == 0 && more) {
			o.plot = argv[++i];
		} else if (strcmp(a, "--reps") == 0 && more) {
			o.reps = atoi(argv[++i]);
			reps_set = 1;
			if (o.reps < 1 || o.reps > 1000) {
				fprintf(stderr, "%s: bad --reps\n", argv[0]);
				return 2;
			}
		} else if (strcmp(a, "--lib-ours") == 0 && more) {
			o.lib[LIB_OURS] = argv[++i];
		} else if (strcmp(a, "--lib-pmdk") == 0 && more) {
			o.lib[LIB_PMDK] = argv[++i];
		} else if (strcmp(a, "--dir") == 0 && more) {
			o.dir = argv[++i];
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout, argv[0]);
			return 0;
		} else {
			fprintf(stderr, "%s: unknown or incomplete argument "
				"'%s'\n", argv[0], a);
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (o.quick && !reps_set)
		o.reps = 3;
	if (o.lib[LIB_OURS] == NULL)
		o.lib[LIB_OURS] = default_ours();
	for (int l = 0; l < (o.compare ? NLIBS : 1); l++) {
		if (o.lib[l][0] != '/' || access(o.lib[l], R_OK) != 0) {
			fprintf(stderr, "%s: %s: %s\n", argv[0], o.lib[l],
				o.lib[l][0] != '/' ? "not an absolute path" :
				strerror(errno));
			return 1;
		}
	}

	struct bench_cpu cpu;
	struct bench_config cfg[BENCH_MAX_CONFIGS];
	bench_cpu_detect(&cpu);
	FILE *out = o.csv ? stderr : stdout;
	header(out, &o, &cpu, argc, argv);
	size_t ncfg = bench_configs(&cpu, cfg, out);
	fflush(out);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int rep = 0; rep < o.reps; rep++) {
		for (size_t c = 0; c < ncfg; c++) {
			fprintf(stderr, "\rrun %d/%d, configuration %zu/%zu "
				"(%s)        ", rep + 1, o.reps, c + 1, ncfg,
				cfg[c].name);
			for (int k = 0; k < (o.compare ? NLIBS : 1); k++) {
				/* alternate which library goes first */
				int lib = o.compare ? (k + rep + (int)c) % 2 : 0;
				if (run_worker(&o, &cfg[c], lib) != 0)
					return 1;
			}
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "\r%60s\r", "");

	char default_path[64];
	snprintf(default_path, sizeof(default_path), "%s/%s/default",
		cfg[0].flush, cfg[0].isa);
	struct report_info info = { o.compare, o.reps, default_path,
		bench_priority_flush(&cpu) };
	if (o.csv)
		report_csv(stdout, &info);
	else
		report_text(stdout, &info);
	int rc = 0;
	if (o.plot != NULL && report_plot(o.plot, &info) != 0)
		rc = 1;
	fprintf(out, "\nruntime: %.0f s\n", (double)(t1.tv_sec - t0.tv_sec) +
		(double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return ferror(stdout) ? 1 : rc;
}
