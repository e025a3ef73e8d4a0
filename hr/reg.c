/*
 * reg.c -- the controller's registry: what a controller that dies leaves
 * for the next one (groups, members, their pids), in <dir>/hrctl.reg.
 *
 * Format (version 2): a header (magic "HRCTLREG", version, payload
 * length, FNV-1a 64 checksum of the payload), then records, each an
 * hr__hdr and its strings: one R_HEAD, one R_GROUP per group, one
 * R_MEMBER per member.  The file is at most HR__REG_MAX bytes; every
 * writer checks that limit (reg_fits) before it accepts a member, and a
 * registry that cannot be written leaves the last good one in place
 * (a new file, renamed over it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"

enum { R_HEAD = 100, R_GROUP, R_MEMBER };

#define REG_MAGIC "HRCTLREG"
#define REG_VERSION 2u

struct reg_head {
	char magic[8];
	uint32_t version;
	uint32_t zero;
	uint64_t len;		/* bytes of records that follow */
	uint64_t sum;		/* FNV-1a 64 of those bytes */
};

struct buf {
	char *p;
	size_t len, cap;
	int err;
};

/* FNV-1a, 64 bits: catches a torn or edited registry. */
static uint64_t
fnv(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Append n bytes to b (remembering a failure). */
static void
add(struct buf *b, const void *p, size_t n)
{
	if (b->err)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		char *q = realloc(b->p, cap);
		if (q == NULL) {
			b->err = ENOMEM;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* One record: its header and strings. */
static void
put(struct buf *b, struct hr__hdr *h, const char *const *s, unsigned n)
{
	h->nstr = n;
	h->len = (uint32_t)hr__strs_size(s, n);
	add(b, h, sizeof(*h));
	for (unsigned i = 0; i < n; i++)
		add(b, s[i], strlen(s[i]) + 1);
}

/* The length of a NULL-terminated vector. */
static unsigned
vlen(char **v)
{
	unsigned n = 0;
	while (v[n] != NULL)
		n++;
	return n;
}

/* The bytes member m takes in the registry. */
static size_t
member_size(const struct member *m)
{
	size_t n = sizeof(struct hr__hdr) + strlen(m->medium) + strlen(m->name) +
		strlen(m->path) + strlen(m->cwd) + 5 + 24;
	for (char **p = m->argv; *p != NULL; p++)
		n += strlen(*p) + 1;
	for (char **p = m->envp; *p != NULL; p++)
		n += strlen(*p) + 1;
	return n;
}

/* Whether the registry, with extra (a member not yet linked, or NULL),
 * stays within HR__REG_MAX; E2BIG and a reason in c->regerr if not. */
int
reg_fits(struct ctl *c, const struct member *extra)
{
	size_t n = sizeof(struct reg_head) + 2 * sizeof(struct hr__hdr);
	for (struct group *g = c->groups; g != NULL; g = g->next)
		n += sizeof(struct hr__hdr) + strlen(g->why) + 1;
	for (struct member *m = c->members; m != NULL; m = m->next)
		n += member_size(m);
	if (extra != NULL)
		n += member_size(extra) + sizeof(struct hr__hdr) + 200;
	if (n <= HR__REG_MAX)
		return 0;
	snprintf(c->regerr, sizeof(c->regerr),
			"too large: the registry would take %zu bytes, at most %d",
			n, HR__REG_MAX);
	errno = E2BIG;
	return -1;
}

/* One member record. */
static void
put_member(struct buf *b, const struct member *m)
{
	unsigned na = vlen(m->argv), ne = vlen(m->envp);
	const char **s = malloc((5 + na + ne) * sizeof(char *));
	if (s == NULL) {
		b->err = ENOMEM;
		return;
	}
	char start[24];
	snprintf(start, sizeof(start), "%llu", (unsigned long long)m->start);
	s[0] = m->medium;
	s[1] = m->name;
	s[2] = m->path;
	s[3] = m->cwd;
	s[4] = start;
	memcpy(s + 5, m->argv, na * sizeof(char *));
	memcpy(s + 5 + na, m->envp, ne * sizeof(char *));
	struct hr__hdr h = { .op = R_MEMBER, .gid = m->gid, .mid = m->id,
		.pid = m->pid, .status = m->parent,
		.flags = (uint32_t)(m->direct | m->clean << 1 | m->done << 2),
		.nargv = na, .nenv = ne };
	put(b, &h, s, 5 + na + ne);
	free(s);
}

/* The whole registry, encoded. */
static int
encode(struct ctl *c, struct buf *b)
{
	struct reg_head rh = { .version = REG_VERSION };
	memcpy(rh.magic, REG_MAGIC, 8);
	add(b, &rh, sizeof(rh));
	struct hr__hdr h = { .op = R_HEAD, .mid = c->next_mid,
		.flags = c->site_restarts, .pid = getpid() };
	put(b, &h, NULL, 0);
	for (struct group *g = c->groups; g != NULL; g = g->next) {
		const char *why = g->why;
		struct hr__hdr gh = { .op = R_GROUP, .gid = g->id,
			.status = g->badness, .flags = g->restarts,
			.mid = g->state == G_FAILED, .pid = g->fail_status,
			.nargv = g->gen };
		put(b, &gh, &why, 1);
	}
	for (struct member *m = c->members; m != NULL; m = m->next)
		put_member(b, m);
	if (b->err) {
		errno = b->err;
		return -1;
	}
	if (b->len > HR__REG_MAX) {
		errno = E2BIG;
		return -1;
	}
	struct reg_head *p = (struct reg_head *)(void *)b->p;
	p->len = b->len - sizeof(rh);
	p->sum = fnv(b->p + sizeof(rh), p->len);
	return 0;
}

/* Write all of buf to fd. */
static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = ENOSPC;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Write the registry: a new file (never through a link, never an
 * existing one) renamed over the old; on failure the old one stays and
 * c->regerr says why. */
int
reg_save(struct ctl *c)
{
	struct buf b = { 0 };
	int rc = -1, fd = -1, err;
	if (pmm__trust_dir(c->dirfd, c->dir, 1) != K_OK) {
		snprintf(c->regerr, sizeof(c->regerr), "%s", pmmErrorMsg());
		errno = EACCES;
		return -1;
	}
	if (encode(c, &b) != 0)
		goto out;
	for (int i = 0; i < 2 && fd < 0; i++) {
		/* it holds the members' environments: for this user only */
		fd = openat(c->dirfd, "hrctl.reg.new", O_WRONLY | O_CREAT |
				O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno == EEXIST)
			unlinkat(c->dirfd, "hrctl.reg.new", 0);	/* stale */
	}
	if (fd < 0)
		goto out;
	if (write_all(fd, b.p, b.len) != 0 || fsync(fd) != 0) {
		err = errno;
		close(fd);
		errno = err;
		goto unlink;
	}
	if (close(fd) != 0)
		goto unlink;
	if (renameat(c->dirfd, "hrctl.reg.new", c->dirfd, "hrctl.reg") == 0) {
		rc = 0;
		goto out;
	}
unlink:
	err = errno;
	unlinkat(c->dirfd, "hrctl.reg.new", 0);
	errno = err;
out:
	err = errno;
	if (rc != 0)
		snprintf(c->regerr, sizeof(c->regerr),
				"cannot write the registry %.100s: %s", c->reg,
				err == E2BIG ? "too large" : strerror(err));
	free(b.p);
	errno = err;
	return rc;
}

/* A malloc'd copy of n strings, NULL-terminated. */
static char **
strvec(char **s, unsigned n)
{
	char **v = calloc(n + 1, sizeof(char *));
	if (v == NULL)
		return NULL;
	for (unsigned i = 0; i < n; i++)
		if ((v[i] = strdup(s[i])) == NULL)
			return v;	/* truncated vector: still NULL-ended */
	return v;
}

/* Copy string s into a field of size n; -1 if it does not fit. */
static int
field(char *dst, size_t n, const char *s)
{
	size_t l = strlen(s);
	if (l >= n)
		return -1;
	memcpy(dst, s, l + 1);
	return 0;
}

/* One member record into a new member; NULL if it is malformed. */
static struct member *
load_member(const struct hr__hdr *h, char **s)
{
	if (h->nstr != 5 + (uint64_t)h->nargv + h->nenv || h->nargv == 0 ||
			h->mid < 0)
		return NULL;
	struct member *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->stdio[0] = m->stdio[1] = m->stdio[2] = -1;
	m->id = h->mid;
	m->gid = h->gid;
	m->pid = h->pid;
	m->parent = h->status;
	m->direct = h->flags & 1;
	m->clean = (h->flags >> 1) & 1;
	m->done = (h->flags >> 2) & 1;
	m->start = strtoull(s[4], NULL, 10);
	m->argv = strvec(s + 5, h->nargv);
	m->envp = strvec(s + 5 + h->nargv, h->nenv);
	if (field(m->medium, sizeof(m->medium), s[0]) != 0 ||
			field(m->name, sizeof(m->name), s[1]) != 0 ||
			field(m->path, sizeof(m->path), s[2]) != 0 ||
			field(m->cwd, sizeof(m->cwd), s[3]) != 0 ||
			m->argv == NULL || m->envp == NULL) {
		member_free(m);
		return NULL;
	}
	return m;
}

/* Decode the records of p[0..n); -1 (and nothing kept) if any is bad. */
static int
decode(struct ctl *c, char *p, size_t n)
{
	char *end = p + n;
	struct member **tail = &c->members;
	int heads = 0;
	while (p < end) {
		struct hr__hdr h;
		if ((size_t)(end - p) < sizeof(h))
			return -1;
		memcpy(&h, p, sizeof(h));
		p += sizeof(h);
		if (h.len > (size_t)(end - p) || h.nstr > h.len)
			return -1;
		char **s = calloc((size_t)h.nstr + 1, sizeof(char *));
		if (s == NULL)
			return -1;
		char *q = p, *rend = p + h.len;
		for (uint32_t i = 0; i < h.nstr; i++) {
			char *z = memchr(q, 0, (size_t)(rend - q));
			if (z == NULL) {
				free(s);
				return -1;
			}
			s[i] = q;
			q = z + 1;
		}
		p = rend;
		int ok = q == rend;
		if (ok && h.op == R_HEAD && h.nstr == 0 && heads++ == 0) {
			c->next_mid = h.mid;
			c->site_restarts = h.flags;
		} else if (ok && h.op == R_GROUP && h.nstr == 1 && h.gid >= 0 &&
				group_find(c, h.gid) == NULL) {
			struct group *g = group_new(c, h.gid);
			ok = g != NULL && field(g->why, sizeof(g->why), s[0]) == 0;
			if (ok) {
				g->badness = h.status;
				g->restarts = h.flags;
				g->state = h.mid ? G_FAILED : G_RUNNING;
				g->fail_status = h.pid;
				g->gen = h.nargv;
			}
		} else if (ok && h.op == R_MEMBER) {
			struct member *m = load_member(&h, s);
			ok = m != NULL && member_by_id(c, m->id) == NULL &&
				m->id < c->next_mid;
			if (ok) {
				*tail = m;
				tail = &m->next;
			} else {
				member_free(m);
			}
		} else {
			ok = 0;
		}
		free(s);
		if (!ok)
			return -1;
	}
	for (struct member *m = c->members; m != NULL; m = m->next)
		if (group_find(c, m->gid) == NULL)
			return -1;
	return heads == 1 ? 0 : -1;
}

/* Forget every group and member (a failed load, the controller's end). */
void
reg_forget(struct ctl *c)
{
	while (c->members != NULL) {
		struct member *m = c->members;
		c->members = m->next;
		member_free(m);
	}
	while (c->groups != NULL) {
		struct group *g = c->groups;
		c->groups = g->next;
		free(g);
	}
	c->next_mid = 0;
}

/* Read the registry a dead controller left, from the trusted directory
 * only; 0 if none, -1 (message on stderr, nothing kept) if it is not
 * this user's private file or is damaged. */
int
reg_load(struct ctl *c)
{
	int fd = openat(c->dirfd, "hrctl.reg", O_RDONLY | O_NOFOLLOW |
			O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT)
		return 0;
	struct stat st;
	const char *why = NULL;
	if (fd < 0)
		why = errno == ELOOP ? "a symbolic link" : strerror(errno);
	else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (st.st_uid != geteuid() || (st.st_mode & 077) != 0)
		why = "not a private file of this user";
	else if (st.st_size < (off_t)sizeof(struct reg_head) ||
			st.st_size > (off_t)HR__REG_MAX)
		why = "of a size no registry has";
	char *p = why == NULL ? malloc((size_t)st.st_size) : NULL;
	if (why == NULL && p == NULL)
		why = "out of memory";
	if (why == NULL && pread(fd, p, (size_t)st.st_size, 0) != st.st_size)
		why = "cannot be read";
	struct reg_head rh;
	if (why == NULL) {
		memcpy(&rh, p, sizeof(rh));
		if (memcmp(rh.magic, REG_MAGIC, 8) != 0 ||
				rh.version != REG_VERSION)
			why = "not a registry of this hrctl version";
		else if (rh.len != (uint64_t)st.st_size - sizeof(rh) ||
				fnv(p + sizeof(rh), rh.len) != rh.sum)
			why = "damaged (bad length or checksum)";
		else if (decode(c, p + sizeof(rh), rh.len) != 0)
			why = "damaged (a bad record)";
	}
	free(p);
	if (fd >= 0)
		close(fd);
	if (why == NULL)
		return 0;
	reg_forget(c);
	fprintf(stderr, "hrctl: registry %s: %s: not used, kept as hrctl.reg.bad\n",
			c->reg, why);
	if (fd >= 0)
		renameat(c->dirfd, "hrctl.reg", c->dirfd, "hrctl.reg.bad");
	return -1;
}

/* Free one member record. */
void
member_free(struct member *m)
{
	if (m == NULL)
		return;
	for (int i = 0; i < 3; i++)
		if (m->stdio[i] >= 0)
			close(m->stdio[i]);
	if (m->argv != NULL)
		for (char **p = m->argv; *p != NULL; p++)
			free(*p);
	if (m->envp != NULL)
		for (char **p = m->envp; *p != NULL; p++)
			free(*p);
	free(m->argv);
	free(m->envp);
	free(m);
}

/* The group gid, or NULL. */
struct group *
group_find(struct ctl *c, int gid)
{
	for (struct group *g = c->groups; g != NULL; g = g->next)
		if (g->id == gid)
			return g;
	return NULL;
}

/* The running member with process id pid, or NULL. */
struct member *
member_by_pid(struct ctl *c, pid_t pid)
{
	for (struct member *m = c->members; m != NULL; m = m->next)
		if (m->pid == pid && pid > 0)
			return m;
	return NULL;
}

/* The member mid, or NULL. */
struct member *
member_by_id(struct ctl *c, int mid)
{
	for (struct member *m = c->members; m != NULL; m = m->next)
		if (m->id == mid)
			return m;
	return NULL;
}

/* Field 22 of /proc/pid/stat: tells a process from a later one with its
 * pid; 0 if it has ended (a zombie) or is gone. */
uint64_t
proc_starttime(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (p == NULL)
		return 0;
	/* a zombie has ended: no start time (nothing left to kill) */
	if (p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'))
		return 0;
	/* after ")": field 3 is the state; starttime is field 22 */
	int field = 2;
	for (; *p != 0 && field < 22; p++)
		if (*p == ' ')
			field++;
	return strtoull(p, NULL, 10);
}
