/*
 * crashtest-check.c -- runs the user's check on crash images, -j at a
 * time: each job slot has a directory the check runs on and a pristine
 * copy of the same image, kept as the evidence when the check fails
 * (crashtest-copy.c keeps both).
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crashtest.h"

#define OUTPUT_MAX 2048
#define SAVED_MAX 100		/* failed images kept as evidence */

/* A job slot: its directories and the image it checks. */
struct slot {
	pid_t pid;		/* 0 when free */
	struct ct_dir wd;	/* what the check runs on */
	struct ct_dir pd;	/* the same image, untouched */
	char log[PATH_MAX];
	double start;
	struct ct_fail f;	/* filled in case it fails */
};

static struct slot *slots;
static unsigned nslots;
static unsigned nfail_dirs;

/* Seconds on the monotonic clock. */
static double
now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* CMD with every {} replaced by dir, single-quoted for the shell. */
static char *
expand(const char *cmd, const char *dir)
{
	size_t n = strlen(cmd) + 1, q = 2;
	for (const char *c = dir; *c; c++)
		q += *c == '\'' ? 4 : 1;
	for (const char *c = cmd; (c = strstr(c, "{}")) != NULL; c += 2)
		n += q;
	char *out = malloc(n), *o = out;
	if (out == NULL)
		return NULL;
	for (const char *c = cmd; *c;) {
		if (c[0] == '{' && c[1] == '}') {
			*o++ = '\'';
			for (const char *d = dir; *d; d++) {
				if (*d == '\'') {
					memcpy(o, "'\\''", 4);
					o += 4;
				} else {
					*o++ = *d;
				}
			}
			*o++ = '\'';
			c += 2;
		} else {
			*o++ = *c++;
		}
	}
	*o = '\0';
	return out;
}

/* The first OUTPUT_MAX bytes of a log file, as a string. */
static char *
read_log(const char *path)
{
	char *b = calloc(1, OUTPUT_MAX + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (b != NULL && fd >= 0) {
		ssize_t n = read(fd, b, OUTPUT_MAX);
		b[n > 0 ? n : 0] = '\0';
	}
	if (fd >= 0)
		close(fd);
	return b;
}

/* Copies lines out of the scratch arrays of the image. */
static struct pmem__trace_line *
dup_lines(const struct pmem__trace_line *l, uint32_t n)
{
	struct pmem__trace_line *c = malloc((n + 1) * sizeof(*c));
	if (c != NULL && n)
		memcpy(c, l, n * sizeof(*c));
	return c;
}

/* A check ended: records a failure with its pristine image. */
static void
finish(struct ct_state *s, struct slot *sl, int status, int timed_out)
{
	s->check_seconds += now() - sl->start;
	sl->pid = 0;
	if (!timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		free(sl->f.lines);
		free(sl->f.evicted);
		free(sl->f.dropped);
		memset(&sl->f, 0, sizeof(sl->f));
		return;
	}
	s->failed++;
	sl->f.status = status;
	sl->f.timed_out = timed_out;
	sl->f.output = read_log(sl->log);
	char keep[PATH_MAX];
	snprintf(keep, sizeof(keep), "%s/fail-%lu", s->dir,
		(unsigned long)sl->f.image);
	/* a broken check fails everywhere: keep the first ones only */
	if (s->failed <= SAVED_MAX && rename(sl->pd.path, keep) == 0) {
		sl->f.saved = strdup(keep);
		ct_dir_close(&sl->pd);
		snprintf(sl->pd.path, sizeof(sl->pd.path), "%s/p%u", s->dir,
			nfail_dirs++ + nslots);
		if (mkdir(sl->pd.path, 0700) != 0)
			ct_err("cannot make %s: %s", sl->pd.path,
				strerror(errno));
	}
	if (s->nfails == s->capfails) {
		size_t cap = s->capfails ? 2 * s->capfails : 16;
		void *p = realloc(s->fails, cap * sizeof(*s->fails));
		if (p == NULL)
			return;
		s->fails = p;
		s->capfails = cap;
	}
	s->fails[s->nfails++] = sl->f;
	memset(&sl->f, 0, sizeof(sl->f));
}

/* How long reap may sleep: until the first timeout falls due. */
static struct timespec
nap(const struct ct_state *s)
{
	double t = now(), wait = 1.0;
	for (unsigned i = 0; i < nslots; i++)
		if (slots[i].pid > 0 && s->o->timeout &&
				!slots[i].f.timed_out &&
				slots[i].start + s->o->timeout - t < wait)
			wait = slots[i].start + s->o->timeout - t;
	if (wait < 0.001)
		wait = 0.001;
	struct timespec ts = { (time_t)wait,
		(long)((wait - (double)(time_t)wait) * 1e9) };
	return ts;
}

/* Reaps a finished check (blocking until one ends when block is set) and
 * kills those past the timeout.  SIGCHLD is blocked (ct_check_init): it
 * stays pending until sigtimedwait takes it, so no exit is missed. */
static void
reap(struct ct_state *s, int block)
{
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
			return;		/* no children */
		for (unsigned i = 0; si.si_pid > 0 && i < nslots; i++) {
			if (slots[i].pid != si.si_pid)
				continue;
			/* while it is a zombie its group id cannot be reused:
			 * what it left running would change the next image */
			kill(-si.si_pid, SIGKILL);
			int status;
			if (waitpid(si.si_pid, &status, 0) == si.si_pid)
				finish(s, &slots[i], status,
					slots[i].f.timed_out);
			return;
		}
		if (si.si_pid > 0) {
			waitpid(si.si_pid, NULL, 0);	/* not a check */
			continue;
		}
		if (!block)
			return;
		double t = now();
		for (unsigned i = 0; i < nslots; i++)
			if (slots[i].pid > 0 && s->o->timeout &&
					t - slots[i].start > s->o->timeout &&
					!slots[i].f.timed_out) {
				slots[i].f.timed_out = 1;
				kill(-slots[i].pid, SIGKILL);
			}
		struct timespec ts = nap(s);
		sigtimedwait(&chld, NULL, &ts);
	}
}

/* See crashtest.h. */
int
ct_check_init(struct ct_state *s)
{
	nslots = s->o->jobs ? s->o->jobs : 1;
	slots = calloc(nslots, sizeof(*slots));
	if (slots == NULL)
		return -1;
	for (unsigned i = 0; i < nslots; i++) {
		struct slot *sl = &slots[i];
		snprintf(sl->wd.path, sizeof(sl->wd.path), "%s/w%u", s->dir, i);
		snprintf(sl->pd.path, sizeof(sl->pd.path), "%s/p%u", s->dir, i);
		snprintf(sl->log, sizeof(sl->log), "%s/w%u.log", s->dir, i);
		if ((mkdir(sl->wd.path, 0700) != 0 && errno != EEXIST) ||
				(mkdir(sl->pd.path, 0700) != 0 &&
				errno != EEXIST)) {
			ct_err("cannot make %s: %s", sl->wd.path,
				strerror(errno));
			return -1;
		}
	}
	/* reap waits for SIGCHLD with sigtimedwait */
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	return 0;
}

/* The environment of the checks: the tool's, without PMEM_TRACK_ENV (a
 * check is not traced); a new array (of the same strings) or NULL. */
static char **
check_env(void)
{
	extern char **environ;
	size_t n = 0, k = 0, len = strlen(PMEM_TRACK_ENV);
	while (environ[n] != NULL)
		n++;
	char **env = malloc((n + 1) * sizeof(*env));
	for (size_t i = 0; env != NULL && i < n; i++)
		if (strncmp(environ[i], PMEM_TRACK_ENV, len) != 0 ||
				environ[i][len] != '=')
			env[k++] = environ[i];
	if (env != NULL)
		env[k] = NULL;
	return env;
}

/* A byte that means nothing to the shell in a word: a command made of
 * such words and blanks runs the same with or without sh. */
static int
plain_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || (c != 0 && strchr("_./,:@%+-", c));
}

/* CMD split into words when the shell would do nothing but split it
 * (after the {} of dir, which must be plain too, and no NAME=VALUE
 * before the program); a NULL-ended array in one allocation, or NULL
 * when sh is needed (or on ENOMEM). */
static char **
plain_words(const char *cmd, const char *dir)
{
	size_t len = 0, nw = 0;
	int inword = 0;
	for (const char *d = dir; *d; d++)
		if (!plain_byte((unsigned char)*d))
			return NULL;
	for (const char *c = cmd; *c; c++) {
		if (c[0] == '{' && c[1] == '}') {
			len += strlen(dir);
			nw += !inword;
			inword = 1;
			c++;
		} else if (*c == ' ' || *c == '\t') {
			inword = 0;
		} else if (plain_byte((unsigned char)*c)) {
			len++;
			nw += !inword;
			inword = 1;
		} else {
			return NULL;
		}
	}
	if (nw == 0)
		return NULL;
	char **w = malloc((nw + 1) * sizeof(*w) + len + nw);
	if (w == NULL)
		return NULL;
	char *o = (char *)(w + nw + 1);
	size_t k = 0;
	inword = 0;
	for (const char *c = cmd; *c; c++) {
		if (*c == ' ' || *c == '\t') {
			if (inword)
				*o++ = '\0';
			inword = 0;
			continue;
		}
		if (!inword)
			w[k++] = o;
		inword = 1;
		if (c[0] == '{' && c[1] == '}') {
			o = stpcpy(o, dir);
			c++;
		} else {
			*o++ = *c;
		}
	}
	*o = '\0';
	w[k] = NULL;
	return w;
}

/* Runs the check on slot sl's directory: spawned (no copy of the tool's
 * page tables, as fork would make), in a process group of its own, which
 * a timeout kills whole; 0 or -1.  A command of plain words is started
 * directly, anything else by sh -c: one process start less per image. */
static int
spawn(struct ct_state *s, struct slot *sl)
{
	char **words = plain_words(s->o->check, sl->wd.path);
	char *cmd = words != NULL ? NULL : expand(s->o->check, sl->wd.path);
	char **env = check_env();
	char *shargv[] = { "sh", "-c", cmd, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, def;
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);	/* ignored by the tool, not by checks */
	int err = (words == NULL && cmd == NULL) || env == NULL ? ENOMEM : 0;
	if (err == 0 && (err = posix_spawn_file_actions_init(&fa)) == 0) {
		if ((err = posix_spawnattr_init(&at)) == 0) {
			posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
				O_RDONLY, 0);
			posix_spawn_file_actions_addopen(&fa, 1, sl->log,
				O_WRONLY | O_CREAT | O_TRUNC, 0600);
			posix_spawn_file_actions_adddup2(&fa, 1, 2);
			posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
				POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
			posix_spawnattr_setpgroup(&at, 0);
			posix_spawnattr_setsigmask(&at, &none);
			posix_spawnattr_setsigdefault(&at, &def);
			sl->start = now();
			err = words != NULL ? posix_spawnp(&sl->pid,
				words[0], &fa, &at, words, env) : -1;
			/* not a program (a shell builtin like exit or
			 * cd, or not found): the shell says what it is */
			if (err != 0 && cmd == NULL)
				cmd = expand(s->o->check, sl->wd.path);
			if (err != 0) {
				shargv[2] = cmd;
				err = cmd == NULL ? ENOMEM :
					posix_spawn(&sl->pid, "/bin/sh", &fa,
						&at, shargv, env);
			}
			posix_spawnattr_destroy(&at);
		}
		posix_spawn_file_actions_destroy(&fa);
	}
	free(cmd);
	free(env);
	if (err != 0) {
		sl->pid = 0;
		ct_err("cannot run the check: %s", strerror(err));
		free(words);
		return -1;
	}
	free(words);
	return 0;
}

/* See crashtest.h. */
int
ct_check_image(struct ct_state *s, const struct ct_image *im)
{
	struct slot *sl = NULL;
	for (;;) {
		reap(s, 0);
		for (unsigned i = 0; i < nslots && sl == NULL; i++)
			if (slots[i].pid == 0)
				sl = &slots[i];
		if (sl != NULL)
			break;
		reap(s, 1);
	}
	s->unique++;
	if (ct_dir_image(s, &sl->pd, im) != 0 ||
			ct_dir_mirror(s, &sl->wd, &sl->pd) != 0)
		return -1;
	sl->f = (struct ct_fail){ .image = im->id, .seq = im->seq,
		.kind = im->kind, .stack = im->stack, .nlines = im->nlines,
		.lines = dup_lines(im->lines, im->nlines),
		.evicted = malloc(im->nlines + 1),
		.ndropped = im->ndropped,
		.dropped = dup_lines(im->dropped, im->ndropped) };
	if (sl->f.evicted != NULL)
		memcpy(sl->f.evicted, im->evicted, im->nlines);
	return spawn(s, sl);
}

/* See crashtest.h. */
void
ct_check_fini(void)
{
	for (unsigned i = 0; i < nslots; i++) {
		free(slots[i].f.lines);
		free(slots[i].f.evicted);
		free(slots[i].f.dropped);
		free(slots[i].f.output);
		free(slots[i].f.saved);
		ct_dir_close(&slots[i].wd);
		ct_dir_close(&slots[i].pd);
	}
	free(slots);
	slots = NULL;
	nslots = 0;
}

/* See crashtest.h. */
void
ct_check_kill_all(void)
{
	for (unsigned i = 0; i < nslots; i++)
		if (slots[i].pid > 0)
			kill(-slots[i].pid, SIGKILL);
}

/* See crashtest.h. */
void
ct_check_wait_all(struct ct_state *s)
{
	for (;;) {
		int busy = 0;
		for (unsigned i = 0; i < nslots; i++)
			busy |= slots[i].pid != 0;
		if (!busy)
			return;
		reap(s, 1);
	}
}
