/*
 * pmm-bench -- libpmm's allocate, retrieve, free and freeAll on banks of
 * 30 to 1,000,000 blocks, beside their anchors (PMDK's pmemobj_zalloc and
 * pmemobj_free, POSIX shm_open) measured in the same run.
 *
 * The driver runs every measurement in a child with a clean environment:
 * "--worker N" (pmm-worker.c) for each population, in its own PMM_DIR
 * with PMM_TUNABLES sized for it; "--neighbours" (pmm-neighbours.c) once
 * after them, on an empty bank; "--shm" (pmm-shm.c); and the separate
 * program pmm-anchors, which links PMDK and none of our libraries.  The
 * anchors run before every population and after the last, so their
 * samples span the whole run.  See bench/README.md, section libpmm.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pmm-bench.h"
#include "source.h"

#ifndef PMM_BENCH_SRCDIR
#define PMM_BENCH_SRCDIR "."
#endif

#define MAX_POPS 8
#define MAX_LIBS 8

extern char **environ;

static const unsigned long all_pops[] = { 30, 1000, 100000, 1000000 };

struct opts {
	int quick, csv, reps;
	int flushed;			/* --flushed */
	unsigned long max_blocks;
	const char *dir, *anchors;
};

/* Libraries the PMDK anchors loaded ("L" lines), for the header. */
static char anchor_libs[MAX_LIBS][PATH_MAX];
static size_t nanchor_libs;
static int anchors_on_ours;

/* This program, resolved (so it works under valgrind too). */
static char self[PATH_MAX];

/* The private directory under --dir, removed at the end. */
static char tmpdir[PATH_MAX / 2];

/* The name in messages: argv[0] is libtool's wrapper path in the tree. */
static const char prog[] = "pmm-bench";

/* Show how the command line is used. */
static void
usage(FILE *f)
{
	fprintf(f, "usage: %s [--quick] [--csv] [--flushed] [--max-blocks N]\n"
		"       [--reps N] [--dir DIR] [--anchors PATH]\n"
		"Measures libpmm (new 4 KiB pmmAllocate, retrieve of an "
		"existing name, pmmFree,\npmmFreeAll of k blocks) on banks of "
		"30, 1000, 100000 and 1000000 blocks, and\nits anchors in the "
		"same run (PMDK pmemobj_zalloc/pmemobj_free, shm_open).\n"
		"  --quick         3 samples, populations up to 100000, "
		"k up to 1000\n"
		"  --csv           the medians as CSV on stdout\n"
		"  --flushed       libpmm with PMEM_IS_PMEM_FORCE=1: flushed "
		"as on a DAX bank\n"
		"  --max-blocks N  largest population (also measured itself "
		"when not in the list)\n"
		"  --reps N        samples per measurement (default 9, "
		"medians taken)\n"
		"  --dir DIR       where banks and pools are made (default "
		"/dev/shm)\n"
		"  --anchors PATH  the pmm-anchors program (default: next to "
		"this one)\n", prog);
}

/* The directory of this executable (bench/.libs under libtool). */
static void
exe_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	if (n <= 0) {
		snprintf(buf, len, ".");
		return;
	}
	buf[n] = '\0';
	char *slash = strrchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
}

/* Where this program is, for re-executing it as a child. */
static void
find_self(void)
{
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		snprintf(self, sizeof(self), "/proc/self/exe");
	else
		self[n] = '\0';
}

/* pmm-anchors next to us, or one level up (from bench/.libs). */
static const char *
find_anchors(void)
{
	static char path[PATH_MAX];
	char dir[PATH_MAX - 32];
	exe_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/pmm-anchors", dir);
	if (access(path, X_OK) == 0)
		return path;
	snprintf(path, sizeof(path), "%s/../pmm-anchors", dir);
	if (access(path, X_OK) == 0)
		return path;
	return NULL;
}

/* "LD_PRELOAD=" and pmm-lockshare.so next to us or in .libs below us
 * (where libtool puts it); 0 when it is in neither. */
static int
find_lockshare(char *buf, size_t len)
{
	char dir[PATH_MAX];
	exe_dir(dir, sizeof(dir));
	static const char *const where[] = { "%s/pmm-lockshare.so",
		"%s/.libs/pmm-lockshare.so" };
	for (size_t i = 0; i < 2; i++) {
		char path[PATH_MAX + 32];
		snprintf(path, sizeof(path), where[i], dir);
		if (access(path, R_OK) == 0 &&
				(size_t)snprintf(buf, len, "LD_PRELOAD=%s", path) <
				len)
			return 1;
	}
	return 0;
}

/* The environment without PMEM_*, PMEMOBJ_*, PMM_* and LD_PRELOAD (and
 * without LD_LIBRARY_PATH when drop_ldpath), plus the extra entries. */
static char **
clean_env(int drop_ldpath, char *const *extra)
{
	size_t n = 0, m = 0;
	while (environ[n] != NULL)
		n++;
	while (extra != NULL && extra[m] != NULL)
		m++;
	char **env = calloc(n + m + 1, sizeof(*env));
	if (env == NULL)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		const char *e = environ[i];
		if (strncmp(e, "PMEM", 4) == 0 || strncmp(e, "PMM_", 4) == 0 ||
				strncmp(e, "LD_PRELOAD=", 11) == 0 ||
				(drop_ldpath &&
				 strncmp(e, "LD_LIBRARY_PATH=", 16) == 0))
			continue;
		env[o++] = environ[i];
	}
	for (size_t i = 0; i < m; i++)
		env[o++] = extra[i];
	env[o] = NULL;
	return env;
}

/* Keep a library path reported by pmm-anchors. */
static void
note_lib(const char *line)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s", line + 2);
	path[strcspn(path, "\n")] = '\0';
	/* PMDK's libpmemobj must not have picked up our libpmem */
	if (strstr(path, "/.libs/") != NULL)
		anchors_on_ours = 1;
	for (size_t i = 0; i < nanchor_libs; i++)
		if (strcmp(anchor_libs[i], path) == 0)
			return;
	if (nanchor_libs < MAX_LIBS)
		snprintf(anchor_libs[nanchor_libs++], PATH_MAX, "%s", path);
}

/* Run one measuring child and feed its sample lines to the report. */
static int
run_child(const char *path, char *const *argv, char **env, const char *what)
{
	int fds[2];
	if (env == NULL || pipe(fds) != 0) {
		perror("pmm-bench");
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("pmm-bench: fork");
		return -1;
	}
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execve(path, argv, env);
		perror(path);
		_exit(127);
	}
	close(fds[1]);
	FILE *in = fdopen(fds[0], "r");
	char line[512];
	int bad = 0;
	while (in != NULL && fgets(line, sizeof(line), in) != NULL) {
		if (line[0] == 'S')
			bad |= pb_report_add(line) != 0;
		else if (line[0] == 'L')
			note_lib(line);
		else
			fputs(line, stderr);
	}
	if (in != NULL)
		fclose(in);
	int st;
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
			WEXITSTATUS(st) != 0 || bad) {
		fprintf(stderr, "pmm-bench: %s failed\n", what);
		return -1;
	}
	return 0;
}

/* Bytes a bank of pop blocks plus headroom takes, with some margin. */
static unsigned long long
bank_bytes(unsigned long pop)
{
	unsigned long long blocks = pop + PB_HEADROOM + 64;
	/* data page, table entry, index words, rounded up generously */
	return blocks * (PB_BLOCK + 128 + 64) + (64ull << 20);
}

/* One population in its own PMM_DIR; the directory is removed after. */
static int
run_population(const struct opts *o, unsigned long pop)
{
	char dir[PATH_MAX], tun[128], reps[16], popstr[32];
	static char env_dir[PATH_MAX + 16], env_tun[160];
	snprintf(dir, sizeof(dir), "%s/pop-%lu", tmpdir, pop);
	struct statvfs vfs;
	if (statvfs(tmpdir, &vfs) == 0 &&
			(unsigned long long)vfs.f_bavail * vfs.f_frsize <
			bank_bytes(pop)) {
		fprintf(stderr, "pmm-bench: skipping %lu blocks: the bank "
			"needs %llu MiB, %s has %llu MiB free\n", pop,
			bank_bytes(pop) >> 20, o->dir,
			((unsigned long long)vfs.f_bavail * vfs.f_frsize) >> 20);
		return 1;
	}
	if (mkdir(dir, 0700) != 0) {
		perror(dir);
		return -1;
	}
	snprintf(tun, sizeof(tun), "pmm.maxBlocks=%lu;pmm.rambankSize=%lu",
		pop + PB_HEADROOM, (pop + PB_HEADROOM + 64) * PB_BLOCK);
	snprintf(env_dir, sizeof(env_dir), "PMM_DIR=%s", dir);
	snprintf(env_tun, sizeof(env_tun), "PMM_TUNABLES=%s", tun);
	char *extra[] = { env_dir, env_tun, "PMM_CONF=",
		o->flushed ? "PMEM_IS_PMEM_FORCE=1" : NULL, NULL };
	snprintf(reps, sizeof(reps), "%d", o->reps);
	snprintf(popstr, sizeof(popstr), "%lu", pop);
	char *argv[] = { "pmm-bench", "--worker", popstr, reps,
		o->quick ? "--quick" : NULL, NULL };
	char **env = clean_env(0, extra);
	int rc = run_child(self, argv, env, "the libpmm worker");
	/* the same bank in a new process: first calls, threads, processes */
	char *sargv[] = { "pmm-bench", "--scale", popstr, reps, NULL };
	if (rc == 0)
		rc = run_child(self, sargv, env, "the scaling rows");
	free(env);
	/* the same pairs with the lock timed, in a process of their own;
	 * without the module (or where it cannot be preloaded, as under
	 * ASan) the two rows read n/a and nothing else changes */
	char preload[PATH_MAX + 64];
	if (rc == 0 && find_lockshare(preload, sizeof(preload))) {
		char *lextra[] = { env_dir, env_tun, "PMM_CONF=", preload,
			o->flushed ? "PMEM_IS_PMEM_FORCE=1" : NULL, NULL };
		char *largv[] = { "pmm-bench", "--lockshare", popstr, reps,
			NULL };
		env = clean_env(0, lextra);
		if (run_child(self, largv, env, "the lock-share rows") != 0)
			fprintf(stderr, "pmm-bench: no lock-share rows\n");
		free(env);
	}
	char bank[PATH_MAX + 16];
	snprintf(bank, sizeof(bank), "%s/RAM.pmm", dir);
	unlink(bank);
	rmdir(dir);
	return rc;
}

/* Two processes on an empty bank of four arenas, in a directory of its
 * own (pmm-neighbours.c); the directory is removed after. */
static int
run_neighbours(const struct opts *o)
{
	char dir[PATH_MAX], reps[16], bank[PATH_MAX + 16];
	static char env_dir[PATH_MAX + 16];
	snprintf(dir, sizeof(dir), "%s/neighbours", tmpdir);
	if (mkdir(dir, 0700) != 0) {
		perror(dir);
		return -1;
	}
	snprintf(env_dir, sizeof(env_dir), "PMM_DIR=%s", dir);
	char *extra[] = { env_dir,
		"PMM_TUNABLES=pmm.maxBlocks=4096;pmm.rambankSize=67108864",
		"PMM_CONF=", o->flushed ? "PMEM_IS_PMEM_FORCE=1" : NULL, NULL };
	snprintf(reps, sizeof(reps), "%d", o->reps);
	char *argv[] = { "pmm-bench", "--neighbours", reps, NULL };
	char **env = clean_env(0, extra);
	int rc = run_child(self, argv, env, "the neighbours' rows");
	free(env);
	snprintf(bank, sizeof(bank), "%s/RAM.pmm", dir);
	unlink(bank);
	rmdir(dir);
	return rc;
}

/* One pass of the anchors: shm, then PMDK with flushes, then with msync;
 * and the parts of an allocate. */
static int
run_anchors(const struct opts *o, int *pmdk_ok)
{
	char reps[16];
	snprintf(reps, sizeof(reps), "%d", o->reps);
	char *shm_argv[] = { "pmm-bench", "--shm", reps, NULL };
	char *parts_argv[] = { "pmm-bench", "--parts", tmpdir, reps, NULL };
	char **env = clean_env(0, NULL);
	int rc = run_child(self, shm_argv, env, "the shm anchors");
	if (rc == 0)
		rc = run_child(self, parts_argv, env, "the parts of allocate");
	free(env);
	if (rc != 0)
		return rc;
	if (o->anchors == NULL)
		return 0;
	static const struct {
		const char *label;
		char *env;
	} runs[] = {
		{ "pmdk", "PMEM_IS_PMEM_FORCE=1" },
		{ "pmdk-msync", NULL },
	};
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		char *extra[] = { runs[i].env, NULL };
		char *argv[] = { "pmm-anchors", "--dir", tmpdir, "--label",
			(char *)runs[i].label, "--reps", reps, NULL };
		env = clean_env(1, extra);
		if (run_child(o->anchors, argv, env, "pmm-anchors") != 0 ||
				anchors_on_ours) {
			if (anchors_on_ours)
				fprintf(stderr, "pmm-bench: pmm-anchors loaded "
					"a build tree's libpmem; PMDK anchors "
					"dropped\n");
			*pmdk_ok = 0;
		}
		free(env);
	}
	return 0;
}

/* The CPU's model name from /proc/cpuinfo. */
static void
cpu_model(char *buf, size_t len)
{
	snprintf(buf, len, "unknown");
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		char *colon = strchr(line, ':');
		if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
			colon += 1 + (colon[1] == ' ');
			colon[strcspn(colon, "\n")] = '\0';
			snprintf(buf, len, "%s", colon);
			break;
		}
	}
	if (f != NULL)
		fclose(f);
}

/* The load average line, to judge how quiet the machine was. */
static void
loadavg(char *buf, size_t len)
{
	snprintf(buf, len, "unknown");
	FILE *f = fopen("/proc/loadavg", "r");
	if (f != NULL && fgets(buf, (int)len, f) != NULL)
		buf[strcspn(buf, "\n")] = '\0';
	if (f != NULL)
		fclose(f);
}

/* Print the path of our libpmm and libpmem as loaded here. */
static int
print_our_lib(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	const char *slash = strrchr(info->dlpi_name, '/');
	const char *base = slash != NULL ? slash + 1 : info->dlpi_name;
	if (strncmp(base, "libpmm", 6) == 0 || strncmp(base, "libpmem", 7) == 0)
		fprintf((FILE *)arg, "ours:    %s\n", info->dlpi_name);
	return 0;
}

/* The header: what, where, when. */
static void
header(FILE *f, const struct opts *o, int argc, char **argv)
{
	char commit[80], date[64], cpu[256], load[128];
	struct utsname u;
	time_t t = time(NULL);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S %Z", localtime(&t));
	bench_git_commit(PMM_BENCH_SRCDIR, 1, commit, sizeof(commit));
	cpu_model(cpu, sizeof(cpu));
	loadavg(load, sizeof(load));
	if (uname(&u) != 0)
		snprintf(u.release, sizeof(u.release), "unknown");
	fprintf(f, "pmm-bench:");
	for (int i = 0; i < argc; i++)
		fprintf(f, " %s", argv[i]);
	fprintf(f, "\ndate:    %s\ncommit:  %s (source tree %s)\n", date,
		commit, PMM_BENCH_SRCDIR);
	fprintf(f, "cpu:     %s; %ld online; Linux %s\n", cpu,
		sysconf(_SC_NPROCESSORS_ONLN), u.release);
	fprintf(f, "load:    %s (at start)\n", load);
	dl_iterate_phdr(print_our_lib, f);
	fprintf(f, "anchors: %s\n", o->anchors != NULL ? o->anchors :
		"pmm-anchors not found: PMDK anchors skipped");
	fprintf(f, "method:  %d samples of %d calls per row (the first, "
		"warm-up, dropped), medians; banks and pools in %s; %s\n",
		o->reps, PB_BATCH, o->dir, o->flushed ?
		"libpmm with PMEM_IS_PMEM_FORCE=1 (--flushed: every change "
		"flushed and fenced, as on a DAX bank), no other PMEM_* "
		"variable" : "no PMEM_* variable (libpmm on tmpfs: no "
		"flushes, see libpmm(7); --flushed for the DAX path)");
}

/* Remove one file or directory of the private tree (nftw callback). */
static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* Parse a number of blocks: decimal, at least 1. */
static int
parse_count(const char *s, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v == 0 ||
			v > (1ul << 24) - PB_HEADROOM)
		return -1;
	*out = v;
	return 0;
}

/* Driver, or one of the measuring children (--worker, --shm). */
int
main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "--worker") == 0)
		return pb_worker(strtoul(argv[2], NULL, 10), atoi(argv[3]),
			argc >= 5 && strcmp(argv[4], "--quick") == 0);
	if (argc >= 4 && strcmp(argv[1], "--scale") == 0) {
		find_self();
		return pb_scale(strtoul(argv[2], NULL, 10), atoi(argv[3]),
			self);
	}
	if (argc >= 4 && strcmp(argv[1], "--lockshare") == 0)
		return pb_lockshare(strtoul(argv[2], NULL, 10), atoi(argv[3]));
	if (argc >= 3 && strcmp(argv[1], "--neighbours") == 0)
		return pb_neighbours(atoi(argv[2]));
	if (argc >= 2 && strcmp(argv[1], "--first") == 0)
		return pb_first();
	if (argc >= 3 && strcmp(argv[1], "--shm") == 0)
		return pb_shm_anchors(atoi(argv[2]));
	if (argc >= 4 && strcmp(argv[1], "--parts") == 0)
		return pb_parts(argv[2], atoi(argv[3]));

	struct opts o = { 0, 0, 9, 0, 0, "/dev/shm", NULL };
	int reps_set = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int more = i + 1 < argc;
		if (strcmp(a, "--quick") == 0) {
			o.quick = 1;
		} else if (strcmp(a, "--flushed") == 0) {
			o.flushed = 1;
		} else if (strcmp(a, "--csv") == 0) {
			o.csv = 1;
		} else if (strcmp(a, "--max-blocks") == 0 && more) {
			if (parse_count(argv[++i], &o.max_blocks) != 0) {
				fprintf(stderr, "%s: bad --max-blocks\n",
					prog);
				return 2;
			}
		} else if (strcmp(a, "--reps") == 0 && more) {
			o.reps = atoi(argv[++i]);
			reps_set = 1;
			if (o.reps < 1 || o.reps > 1000) {
				fprintf(stderr, "%s: bad --reps\n", prog);
				return 2;
			}
		} else if (strcmp(a, "--dir") == 0 && more) {
			o.dir = argv[++i];
		} else if (strcmp(a, "--anchors") == 0 && more) {
			o.anchors = argv[++i];
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "%s: unknown or incomplete argument "
				"'%s'\n", prog, a);
			usage(stderr);
			return 2;
		}
	}
	if (o.quick && !reps_set)
		o.reps = 3;
	if (o.max_blocks == 0)
		o.max_blocks = o.quick ? 100000 : 1000000;
	find_self();
	if (o.anchors == NULL)
		o.anchors = find_anchors();
	else if (access(o.anchors, X_OK) != 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, o.anchors,
			strerror(errno));
		return 1;
	}

	unsigned long pops[MAX_POPS], ks[PB_MAX_K];
	size_t npops = 0;
	for (size_t i = 0; i < sizeof(all_pops) / sizeof(all_pops[0]); i++)
		if (all_pops[i] <= o.max_blocks)
			pops[npops++] = all_pops[i];
	if (npops == 0 || pops[npops - 1] != o.max_blocks)
		pops[npops++] = o.max_blocks;
	size_t nks = pb_freeall_ks(o.quick, ks);

	snprintf(tmpdir, sizeof(tmpdir), "%s/pmm-bench-XXXXXX", o.dir);
	if (mkdtemp(tmpdir) == NULL) {
		fprintf(stderr, "%s: cannot make a directory in %s: %s\n",
			prog, o.dir, strerror(errno));
		return 1;
	}
	FILE *out = o.csv ? stderr : stdout;
	header(out, &o, argc, argv);
	fflush(out);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int pmdk_ok = o.anchors != NULL, rc = 0;
	size_t measured = 0;
	unsigned long done[MAX_POPS];
	for (size_t p = 0; p <= npops && rc == 0; p++) {
		fprintf(stderr, "\ranchors, pass %zu of %zu            ", p + 1,
			npops + 1);
		rc = run_anchors(&o, &pmdk_ok);
		if (rc != 0 || p == npops)
			break;
		fprintf(stderr, "\rlibpmm, %lu blocks            ", pops[p]);
		int r = run_population(&o, pops[p]);
		if (r < 0)
			rc = r;
		else if (r == 0)
			done[measured++] = pops[p];
	}
	if (rc == 0) {
		fprintf(stderr, "\rlibpmm, two processes in an empty bank   ");
		rc = run_neighbours(&o);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "\r%60s\r", "");
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (rc != 0)
		return 1;

	for (size_t i = 0; i < nanchor_libs; i++)
		fprintf(out, "PMDK:    %s\n", anchor_libs[i]);
	char load[128];
	loadavg(load, sizeof(load));
	fprintf(out, "load:    %s (at end)\nruntime: %.0f s\n", load,
		(double)(t1.tv_sec - t0.tv_sec) +
		(double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	struct pb_report_info info = { o.reps, pmdk_ok, o.flushed, done, measured, ks,
		nks };
	if (o.csv)
		pb_report_csv(stdout, &info);
	else
		pb_report_text(stdout, &info);
	return ferror(stdout) ? 1 : 0;
}
