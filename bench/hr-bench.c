/*
 * hr-bench -- the time from a restartable member's crash to the first
 * line of its restarted main, under hrctl.
 *
 *   bench/hr-bench [-n RESTARTS] [-t SECONDS] [--hrctl PATH]
 *                  [--hostile PROG ARG...]
 *
 * The driver runs itself under `hrctl run` with hrCtrl.maxBadness = 0
 * (never a site restart) and hrCtrl.maxBackoff = 0 (every restart at
 * once: the member crashes at the top of main, which the restart backoff
 * would otherwise delay, up to 1 s).  The member keeps its samples in a persistent
 * block: at the top of main it records now - (time of the last crash),
 * then notes the time and dies of a SIGSEGV; after n restarts it prints
 * the figures.  For scale, the same binary is also started n times with
 * posix_spawn (spawn to main, no crash, no controller).
 *
 * With --hostile, PROG runs beside the controller for the whole
 * measurement (tests/hr_hostile, clients that try to stall it): an
 * argument @SOCK is replaced with the controller's socket, @READY with a
 * file that PROG creates once its clients are connected; the first start
 * of the member waits for it (at most 10 s).  PROG gets SIGTERM at the
 * end.  With -t, a run that has not ended after SECONDS (a stalled
 * controller) is killed, and hr-bench exits with 3.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <hr/hr.h>

extern char **environ;

#define MAXN 10000

struct state {
	uint64_t n;		/* restarts measured so far */
	uint64_t t_crash;	/* CLOCK_MONOTONIC ns just before the crash */
	uint64_t want;
	uint64_t ns[MAXN];
};

static uint64_t
now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int
cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Print median, p10, p90, min and max of v (sorted in place). */
static void
summary(const char *what, uint64_t *v, uint64_t n)
{
	qsort(v, n, sizeof(*v), cmp);
	printf("%-34s n=%-5llu median %7.3f ms  p10 %7.3f  p90 %7.3f  min %7.3f  max %7.3f\n",
			what, (unsigned long long)n, v[n / 2] / 1e6,
			v[n / 10] / 1e6, v[n * 9 / 10] / 1e6, v[0] / 1e6,
			v[n - 1] / 1e6);
}

/* Wait (at most 10 s) until path exists. */
static void
wait_file(const char *path)
{
	for (int i = 0; i < 1000 && access(path, F_OK) != 0; i++)
		usleep(10000);
}

/* The restartable member: measure, then crash until enough samples. */
static int
member(uint64_t t0)
{
	PmmName name = { "RAM", "hr-bench" };
	struct state *s;
	if (pmmAllocate((VmAddr *)&s, &name, sizeof(*s), NULL, 0) != K_OK) {
		fprintf(stderr, "hr-bench: %s\n", pmmErrorMsg());
		HR_EXIT_HDL();
		return 1;
	}
	if (s->t_crash != 0 && s->n < MAXN)
		s->ns[s->n++] = t0 - s->t_crash;
	if (s->want == 0) {
		s->want = strtoull(getenv("HR_BENCH_N"), NULL, 10);
		if (getenv("HR_BENCH_READY") != NULL)
			wait_file(getenv("HR_BENCH_READY"));
	}
	if (s->n >= s->want) {
		summary("crash -> restarted main (hrctl)", s->ns, s->n);
		pmmFree(&name);
		HR_EXIT_HDL();
		return 0;
	}
	s->t_crash = now_ns();
	raise(SIGSEGV);		/* the crash */
	return 1;
}

/* posix_spawn of this binary to its main, n times: the floor. */
static void
spawn_floor(const char *self, uint64_t n)
{
	uint64_t *v = calloc(n, sizeof(*v));
	int p[2];
	if (v == NULL || pipe(p) != 0)
		return;
	char fd[16];
	snprintf(fd, sizeof(fd), "%d", p[1]);
	for (uint64_t i = 0; i < n; i++) {
		char *argv[] = { (char *)self, "--stamp", fd, NULL };
		uint64_t t = now_ns(), t1 = 0;
		pid_t pid;
		if (posix_spawn(&pid, self, NULL, NULL, argv, environ) != 0)
			return;
		if (read(p[0], &t1, sizeof(t1)) != sizeof(t1))
			return;
		waitpid(pid, NULL, 0);
		v[i] = t1 - t;
	}
	summary("posix_spawn -> main (no controller)", v, n);
	free(v);
}

/* Start the hostile program argv (@SOCK, @READY replaced) once the
 * controller's socket exists; its pid, or 0. */
static pid_t
start_hostile(char **argv, int argc, const char *dir)
{
	char sock[sizeof(((struct sockaddr_un *)0)->sun_path) + 16];
	char ready[PATH_MAX];
	snprintf(sock, sizeof(sock), "%s/hrctl.sock", dir);
	snprintf(ready, sizeof(ready), "%s/hostile.ready", dir);
	char **av = calloc((size_t)argc + 1, sizeof(char *));
	if (av == NULL)
		return 0;
	for (int i = 0; i < argc; i++)
		av[i] = strcmp(argv[i], "@SOCK") == 0 ? sock :
			strcmp(argv[i], "@READY") == 0 ? ready : argv[i];
	wait_file(sock);
	pid_t pid = 0;
	int rc = posix_spawn(&pid, av[0], NULL, NULL, av, environ);
	if (rc != 0) {
		fprintf(stderr, "hr-bench: cannot run %s: %s\n", av[0],
				strerror(rc));
		pid = 0;
	}
	free(av);
	return pid;
}

/* waitpid with a limit in seconds (0: none); false when it expired. */
static int
wait_limited(pid_t pid, int *status, long limit)
{
	uint64_t end = now_ns() + (uint64_t)limit * 1000000000u;
	while (waitpid(pid, status, limit > 0 ? WNOHANG : 0) == 0) {
		if (now_ns() > end)
			return 0;
		usleep(20000);
	}
	return 1;
}

int
main(int argc, char **argv)
{
	uint64_t t0 = now_ns();
	if (argc == 3 && strcmp(argv[1], "--stamp") == 0) {
		int fd = atoi(argv[2]);
		return write(fd, &t0, sizeof(t0)) == sizeof(t0) ? 0 : 1;
	}
	if (getenv("HRCTL_MEMBER") != NULL)
		return member(t0);
	uint64_t n = 200;
	char hrctl[PATH_MAX] = "", self[PATH_MAX];
	char **hostile = NULL;
	int nhostile = 0;
	long limit = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			n = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--hrctl") == 0 && i + 1 < argc)
			snprintf(hrctl, sizeof(hrctl), "%s", argv[++i]);
		else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
			limit = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--hostile") == 0 && i + 1 < argc) {
			hostile = argv + i + 1;
			nhostile = argc - i - 1;
			break;
		} else {
			fprintf(stderr, "usage: hr-bench [-n RESTARTS] "
				"[-t SECONDS] [--hrctl PATH] "
				"[--hostile PROG ARG...]\n"
				"Times crash -> restarted main under hrctl.\n"
				"  -n RESTARTS   restarts to time, from 10 to %d "
				"(default 200)\n"
				"  -t SECONDS    give up (status 3) after SECONDS "
				"(default: never)\n"
				"  --hrctl PATH  the hrctl to use (default: "
				"../tools/hrctl beside this program)\n"
				"  --hostile PROG ARG...  run PROG beside the "
				"controller (@SOCK: its socket,\n"
				"                @READY: a file PROG creates when "
				"ready)\n", MAXN);
			return 2;
		}
	}
	if (n < 10 || n > MAXN) {
		fprintf(stderr, "hr-bench: -n from 10 to %d\n", MAXN);
		return 2;
	}
	ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (l <= 0)
		return 1;
	self[l] = 0;
	if (hrctl[0] == 0) {
		/* beside us in the build tree: bench/../tools/hrctl */
		snprintf(hrctl, sizeof(hrctl), "%s", self);
		char *slash = strrchr(hrctl, '/');
		*slash = 0;
		slash = strrchr(hrctl, '/');
		if (slash != NULL)
			*slash = 0;
		strncat(hrctl, "/tools/hrctl", sizeof(hrctl) - strlen(hrctl) - 1);
	}
	char dir[] = "/dev/shm/hr-bench-XXXXXX", nbuf[32];
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(nbuf, sizeof(nbuf), "%llu", (unsigned long long)n);
	setenv("PMM_DIR", dir, 1);
	setenv("HR_BENCH_N", nbuf, 1);
	setenv("PMM_TUNABLES", "hrCtrl.maxBadness=0;hrCtrl.maxBackoff=0", 1);
	unsetenv("PMM_CONF");
	char ready[PATH_MAX];
	snprintf(ready, sizeof(ready), "%s/hostile.ready", dir);
	if (hostile != NULL)
		setenv("HR_BENCH_READY", ready, 1);
	printf("hr-bench: %llu restarts, %ld CPUs\n", (unsigned long long)n,
			sysconf(_SC_NPROCESSORS_ONLN));
	fflush(stdout);
	pid_t pid;
	char *hargv[] = { hrctl, "run", "-g", "0", "--", self, NULL };
	int rc = posix_spawn(&pid, hrctl, NULL, NULL, hargv, environ);
	int status = 1;
	pid_t hpid = 0;
	if (rc == 0 && hostile != NULL)
		hpid = start_hostile(hostile, nhostile, dir);
	if (rc == 0 && !wait_limited(pid, &status, limit)) {
		fprintf(stderr, "hr-bench: no result after %ld s: killed\n",
				limit);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		status = 3 << 8;
	} else if (rc != 0)
		fprintf(stderr, "hr-bench: cannot run %s: %s\n", hrctl, strerror(rc));
	if (hpid > 0) {
		kill(hpid, SIGTERM);
		waitpid(hpid, NULL, 0);
	}
	fflush(stdout);
	spawn_floor(self, n);
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "hr-bench: could not remove %s\n", dir);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
