/*
 * pmem-crashtest -- runs a program that links libpmem with tracking on,
 * then checks every crash image a power failure could leave at its
 * persist points with the user's command; see pmem-crashtest(1).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crashtest.h"

static volatile pid_t program_pid;	/* while it runs */

/* Prints the usage text. */
static void
usage(FILE *f)
{
	fputs("usage: pmem-crashtest [options] --check 'CMD {}' -- PROGRAM "
		"[ARGS...]\n"
		"Runs PROGRAM with libpmem's tracking on, builds the crash "
		"images its persist\npoints allow and runs CMD on each ({} is "
		"a directory holding the image's\ncopies of the program's "
		"files).  Exit 0 when every image passed.\n"
		"  --check CMD        the check (run by /bin/sh)\n"
		"  --dir DIR          output directory (default: a new one in "
		"$TMPDIR)\n"
		"  --subsets N        every subset of up to N pending lines "
		"(default 4)\n"
		"  --random R         else R random subsets (default 8)\n"
		"  --seed S           their seed (default 1)\n"
		"  --durable-only     only the durable lines at each point\n"
		"  --evict            dirty lines may have been evicted too\n"
		"  --rerun            run PROGRAM once per point, killed there\n"
		"  -j, --jobs N       checks at once (default: the CPUs)\n"
		"  --timeout S        seconds for the program's run and for each "
		"check\n                     (default 60, 0: none)\n"
		"  --max-reports N    failures told in full (default 10)\n"
		"  --keep             keep the output directory\n"
		"  --json             one JSON object on stdout\n"
		"  -q, --quiet        no progress line\n", f);
}

/* Parses a non-negative decimal option value, or exits. */
static uint64_t
num(const char *opt, const char *v)
{
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-') {
		ct_err("%s: not a number: %s", opt, v);
		exit(2);
	}
	return n;
}

/* Fills o from the command line, or exits (2 on a usage error). */
static void
parse(int argc, char **argv, struct ct_opts *o)
{
	static const struct option lo[] = {
		{ "check", 1, NULL, 'c' }, { "dir", 1, NULL, 'd' },
		{ "subsets", 1, NULL, 's' }, { "random", 1, NULL, 'r' },
		{ "seed", 1, NULL, 'S' }, { "durable-only", 0, NULL, 'D' },
		{ "evict", 0, NULL, 'e' }, { "rerun", 0, NULL, 'R' },
		{ "jobs", 1, NULL, 'j' }, { "timeout", 1, NULL, 't' },
		{ "max-reports", 1, NULL, 'm' }, { "keep", 0, NULL, 'k' },
		{ "json", 0, NULL, 'J' }, { "quiet", 0, NULL, 'q' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	*o = (struct ct_opts){ .bound = 4, .random = 8, .seed = 1,
		.jobs = ncpu > 0 ? (unsigned)ncpu : 1, .timeout = 60,
		.max_reports = 10 };
	int c;
	while ((c = getopt_long(argc, argv, "+j:qh", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o->check = optarg; break;
		case 'd': o->dir = optarg; break;
		case 's': o->bound = (unsigned)num("--subsets", optarg); break;
		case 'r': o->random = (unsigned)num("--random", optarg); break;
		case 'S': o->seed = num("--seed", optarg); break;
		case 'D': o->durable_only = 1; break;
		case 'e': o->evict = 1; break;
		case 'R': o->rerun = 1; break;
		case 'j': o->jobs = (unsigned)num("--jobs", optarg); break;
		case 't': o->timeout = (unsigned)num("--timeout", optarg);
			break;
		case 'm': o->max_reports = (unsigned)num("--max-reports",
				optarg);
			break;
		case 'k': o->keep = 1; break;
		case 'J': o->json = 1; break;
		case 'q': o->quiet = 1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (o->check == NULL || optind >= argc) {
		ct_err(o->check == NULL ? "--check CMD is required" :
			"no PROGRAM to run");
		usage(stderr);
		exit(2);
	}
	if (o->bound > 20) {
		ct_err("--subsets %u: at most 20 (2^20 images a point)",
			o->bound);
		exit(2);
	}
	if (o->jobs == 0 || o->jobs > 256) {
		ct_err("--jobs must be 1 to 256");
		exit(2);
	}
	o->argv = argv + optind;
}

/* Makes the output directory (private to the user); its path or NULL. */
static char *
make_dir(const char *want)
{
	if (want != NULL) {
		if (mkdir(want, 0700) != 0) {
			ct_err("cannot make %s: %s (give a new directory)",
				want, strerror(errno));
			return NULL;
		}
		return realpath(want, NULL);
	}
	const char *t = getenv("TMPDIR");
	char tmpl[PATH_MAX];
	snprintf(tmpl, sizeof(tmpl), "%s/pmem-crashtest.XXXXXX",
		t && *t ? t : "/tmp");
	if (mkdtemp(tmpl) == NULL) {
		ct_err("cannot make %s: %s", tmpl, strerror(errno));
		return NULL;
	}
	return realpath(tmpl, NULL);
}

/* Seconds on the monotonic clock. */
static double
now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* In the child: becomes the program, with tracking on (stopping at point
 * stop unless 0); on failure writes errno to fd and exits. */
static void __attribute__((noreturn))
exec_program(const struct ct_state *s, uint64_t stop, int fd)
{
	char log[PATH_MAX], num[32];
	snprintf(log, sizeof(log), "%s/program.log", s->dir);
	/* a group of its own, which a timeout kills whole */
	setpgid(0, 0);
	sigset_t none;	/* the tool blocks SIGCHLD (crashtest-check.c) */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (out >= 0) {
		dup2(out, 1);
		dup2(out, 2);
	}
	setenv(PMEM_TRACK_ENV, s->dir, 1);
	if (s->o->evict)
		setenv(PMEM_TRACK_ENV_EVICT, "1", 1);
	snprintf(num, sizeof(num), "%lu", (unsigned long)stop);
	if (stop)
		setenv(PMEM_TRACK_ENV_STOP, num, 1);
	execvp(s->o->argv[0], s->o->argv);
	int e = errno;
	/* the parent tells it: our stderr is the program's log by now */
	if (write(fd, &e, sizeof(e)) != (ssize_t)sizeof(e))
		fprintf(stderr, "pmem-crashtest: cannot run %s: %s\n",
			s->o->argv[0], strerror(e));
	_exit(127);
}

/* Starts the program; its pid, or -1 (told) when it could not be run.
 * The exec's errno comes back through a pipe that the exec closes. */
static pid_t
start_program(const struct ct_state *s, uint64_t stop)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0) {
		ct_err("pipe: %s", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		exec_program(s, stop, fds[1]);
	}
	close(fds[1]);
	if (pid < 0) {
		ct_err("fork: %s", strerror(errno));
		close(fds[0]);
		return -1;
	}
	setpgid(pid, pid);	/* so that a kill can follow at once */
	program_pid = pid;
	int e = 0;
	ssize_t n;
	while ((n = read(fds[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(fds[0]);
	if (n <= 0)
		return pid;	/* the exec closed the pipe: it runs */
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	program_pid = 0;
	ct_err("cannot run %s: %s", s->o->argv[0],
		n == (ssize_t)sizeof(e) ? strerror(e) : "exec failed");
	return -1;
}

/* Waits for the program, killing its process group past --timeout;
 * 0 with its wait status in *status, or -1 (told). */
static int
wait_program(const struct ct_state *s, pid_t pid, int *status)
{
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	double end = now() + s->o->timeout;
	for (;;) {
		/* SIGCHLD is blocked (ct_check_init): it stays pending until
		 * sigtimedwait takes it, so the exit is not missed */
		pid_t r = waitpid(pid, status, s->o->timeout ? WNOHANG : 0);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			ct_err("waitpid: %s", strerror(errno));
			program_pid = 0;
			return -1;
		}
		double left = end - now();
		if (r == 0 && left <= 0) {
			kill(-pid, SIGKILL);
			while (waitpid(pid, status, 0) < 0 && errno == EINTR)
				;
			program_pid = 0;
			ct_err("%s did not finish within %u second%s "
				"(--timeout): killed (its output: "
				"%s/program.log)", s->o->argv[0],
				s->o->timeout, s->o->timeout == 1 ? "" : "s",
				s->dir);
			return -1;
		}
		if (r == 0) {
			if (left > 1.0)
				left = 1.0;
			struct timespec ts = { (time_t)left,
				(long)((left - (double)(time_t)left) * 1e9) };
			sigtimedwait(&chld, NULL, &ts);
		}
	}
	program_pid = 0;
	return 0;
}

/* Runs the program with tracking on (stopping at point stop unless 0);
 * its pid, and its wait status in *status; -1 on error (told). */
static long
run_program(const struct ct_state *s, uint64_t stop, int *status)
{
	pid_t pid = start_program(s, stop);
	if (pid < 0 || wait_program(s, pid, status) != 0)
		return -1;
	return pid;
}

/* Tells that the program failed, with the end of what it printed. */
static void
program_failed(const struct ct_state *s, int status)
{
	if (WIFEXITED(status))
		ct_err("%s exited with status %d (its output: %s/program.log)",
			s->o->argv[0], WEXITSTATUS(status), s->dir);
	else
		ct_err("%s was killed by signal %d (its output: "
			"%s/program.log)", s->o->argv[0],
			WTERMSIG(status), s->dir);
}

/* The single run: the program once, then its trace's images. */
static int
single(struct ct_state *s)
{
	int status;
	uint64_t n;
	long pid = run_program(s, 0, &status);
	if (pid < 0)
		return 2;
	int bad = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	if (bad)
		program_failed(s, status);
	if (ct_trace_run(s, pid, &n) != 0)
		return 2;
	ct_check_wait_all(s);
	return s->failed ? 1 : bad ? 2 : 0;
}

/* --rerun: a counting run, then one run per point k, killed at k. */
static int
rerun(struct ct_state *s)
{
	int status;
	uint64_t n, k, got;
	s->only_point = UINT64_MAX;	/* count only */
	long pid = run_program(s, 0, &status);
	if (pid < 0 || ct_trace_run(s, pid, &n) != 0)
		return 2;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		program_failed(s, status);
		return 2;
	}
	s->points = 0;
	for (k = 1; k <= n; k++) {
		s->only_point = k;
		pid = run_program(s, k, &status);
		if (pid < 0 || ct_trace_run(s, pid, &got) != 0)
			return 2;
		if (got < k) {
			ct_err("run %lu stopped after %lu points: the program "
				"is not deterministic (use the single run)",
				(unsigned long)k, (unsigned long)got);
			return 2;
		}
		s->points = k;
	}
	ct_check_wait_all(s);
	return s->failed ? 1 : 0;
}

/* SIGINT, SIGTERM, SIGHUP: the program and the checks die with the tool. */
static void
on_signal(int sig)
{
	if (program_pid > 0)
		kill(-program_pid, SIGKILL);
	ct_check_kill_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Runs it all; exit status 0 (all passed), 1 (a check failed), 2. */
int
main(int argc, char **argv)
{
	struct ct_opts o;
	struct ct_state s;
	parse(argc, argv, &o);
	memset(&s, 0, sizeof(s));
	s.o = &o;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	s.dir = make_dir(o.dir);
	if (s.dir == NULL || ct_check_init(&s) != 0) {
		ct_check_fini();
		free(s.dir);
		return 2;
	}
	double t0 = now();
	int ret = o.rerun ? rerun(&s) : single(&s);
	ct_check_wait_all(&s);
	ct_progress(&s, s.points, 1);
	ct_report(&s, stdout, now() - t0, ret);
	if (ret == 0 && !o.keep)
		ct_rm_tree(s.dir);
	else if (!o.json)
		printf("pmem-crashtest: images and traces kept in %s\n",
			s.dir);
	ct_report_fini();
	ct_check_fini();
	ct_state_free(&s);
	return ret;
}
