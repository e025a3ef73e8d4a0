/*
 * crashtest-check.c -- runs the user's check on crash images, -j at a
 * time: each job slot has a directory the check runs on and a pristine
 * copy of the same image, kept as the evidence when the check fails.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
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
	char wdir[PATH_MAX];	/* what the check runs on */
	char pdir[PATH_MAX];	/* the same image, untouched */
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

/* nftw callback: removes one entry, depth first. */
static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	if (ftw->level == 0)
		return 0;	/* the directory itself stays */
	return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

/* Empties directory dir (whatever a check left in it); 0 or -1. */
static int
empty_dir(const char *dir)
{
	return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes all of n bytes at offset off; 0 or -1. */
static int
pwrite_all(int fd, const void *p, size_t n, off_t off)
{
	const unsigned char *c = p;
	while (n > 0) {
		ssize_t w = pwrite(fd, c, n, off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

/* 1 when the n bytes at p are all zero. */
static int
all_zero(const unsigned char *p, size_t n)
{
	static const unsigned char zero[4096];
	return memcmp(p, zero, n) == 0;
}

/* Writes a file's content, leaving holes for its zero pages (most of a
 * fresh pool): a third of the writing on tmpfs; 0 or -1. */
static int
write_sparse(int fd, const unsigned char *img, uint64_t size)
{
	const uint64_t pg = 4096;
	uint64_t run = 0, off;
	for (off = 0; off < size; off += pg) {
		size_t n = size - off < pg ? (size_t)(size - off) : pg;
		if (!all_zero(img + off, n))
			continue;
		if (off > run && pwrite_all(fd, img + run, off - run,
				(off_t)run) != 0)
			return -1;
		run = off + n;
	}
	if (size > run && pwrite_all(fd, img + run, size - run,
			(off_t)run) != 0)
		return -1;
	return ftruncate(fd, (off_t)size);
}

/* Writes the image's files into dir; 0 or -1 (message printed). */
static int
write_image(const struct ct_state *s, const struct ct_image *im,
	const char *dir)
{
	char path[PATH_MAX];
	if (empty_dir(dir) != 0) {
		ct_err("cannot empty %s: %s", dir, strerror(errno));
		return -1;
	}
	for (uint32_t i = s->file_base; i < s->nfiles; i++) {
		const struct ct_file *f = &s->files[i];
		snprintf(path, sizeof(path), "%s/%s", dir, f->name);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
			O_NOFOLLOW, 0600);
		int bad = fd < 0 || write_sparse(fd, f->img, f->size) != 0;
		for (uint32_t k = 0; !bad && k < im->nlines; k++) {
			const struct pmem__trace_line *l = &im->lines[k];
			if (l->file != i || l->off >= f->size)
				continue;
			size_t n = f->size - l->off < PMEM_CACHELINE ?
				(size_t)(f->size - l->off) : PMEM_CACHELINE;
			bad = pwrite_all(fd, l->data, n, (off_t)l->off) != 0;
		}
		if (fd >= 0 && close(fd) != 0)
			bad = 1;
		if (bad) {
			ct_err("cannot write %s: %s", path, strerror(errno));
			return -1;
		}
	}
	return 0;
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
	if (s->failed <= SAVED_MAX && rename(sl->pdir, keep) == 0) {
		sl->f.saved = strdup(keep);
		snprintf(sl->pdir, sizeof(sl->pdir), "%s/p%u", s->dir,
			nfail_dirs++ + nslots);
		if (mkdir(sl->pdir, 0700) != 0)
			ct_err("cannot make %s: %s", sl->pdir, strerror(errno));
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

/* Reaps finished checks (blocking until one ends when block is set) and
 * kills those past the timeout. */
static void
reap(struct ct_state *s, int block)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid > 0) {
			for (unsigned i = 0; i < nslots; i++)
				if (slots[i].pid == pid)
					finish(s, &slots[i], status,
						slots[i].f.timed_out);
			return;
		}
		if (pid < 0 || !block)
			return;
		double t = now();
		for (unsigned i = 0; i < nslots; i++)
			if (slots[i].pid > 0 && s->o->timeout &&
					t - slots[i].start > s->o->timeout &&
					!slots[i].f.timed_out) {
				slots[i].f.timed_out = 1;
				kill(-slots[i].pid, SIGKILL);
			}
		struct timespec ts = { 0, 500000 };
		nanosleep(&ts, NULL);
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
		snprintf(sl->wdir, sizeof(sl->wdir), "%s/w%u", s->dir, i);
		snprintf(sl->pdir, sizeof(sl->pdir), "%s/p%u", s->dir, i);
		snprintf(sl->log, sizeof(sl->log), "%s/w%u.log", s->dir, i);
		if ((mkdir(sl->wdir, 0700) != 0 && errno != EEXIST) ||
				(mkdir(sl->pdir, 0700) != 0 && errno != EEXIST)) {
			ct_err("cannot make %s: %s", sl->wdir, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Runs the check on slot sl's directory. */
static int
spawn(struct ct_state *s, struct slot *sl)
{
	char *cmd = expand(s->o->check, sl->wdir);
	if (cmd == NULL)
		return -1;
	sl->start = now();
	pid_t pid = fork();
	if (pid < 0) {
		ct_err("fork: %s", strerror(errno));
		free(cmd);
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);	/* a timeout kills the check's whole group */
		int in = open("/dev/null", O_RDONLY);
		int out = open(sl->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (in < 0 || out < 0)
			_exit(126);
		dup2(in, 0);
		dup2(out, 1);
		dup2(out, 2);
		unsetenv(PMEM_TRACK_ENV);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	sl->pid = pid;
	free(cmd);
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
	if (write_image(s, im, sl->pdir) != 0 ||
			write_image(s, im, sl->wdir) != 0)
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
