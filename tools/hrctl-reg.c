/*
 * hrctl-reg.c -- the controller's registry, kept in the bank directory
 * (memory, on tmpfs) and rewritten atomically at every change, and the
 * captured process images beside it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hrctl.h"

enum { R_HEAD = 100, R_GROUP, R_MEMBER };

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

/* Field 22 of /proc/pid/stat: tells a process from a later one with its pid. */
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
	/* after ")": field 3 is the state; starttime is field 22 */
	int field = 2;
	for (; *p != 0 && field < 22; p++)
		if (*p == ' ')
			field++;
	return strtoull(p, NULL, 10);
}

/* Copy the executable at path into the image store; its path in image. */
int
image_capture(struct ctl *c, const char *path, int mid, char *image)
{
	int in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	struct stat st;
	if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(in);
		errno = EACCES;
		return -1;
	}
	snprintf(image, PATH_MAX, "%s/m%d", c->images, mid);
	unlink(image);
	int out = open(image, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
	if (out < 0) {
		close(in);
		return -1;
	}
	off_t off = 0;
	int rc = 0;
	while (off < st.st_size) {
		ssize_t n = sendfile(out, in, &off, (size_t)(st.st_size - off));
		if (n <= 0) {
			rc = -1;
			break;
		}
	}
	close(in);
	if (close(out) != 0 || rc != 0) {
		unlink(image);
		return -1;
	}
	return 0;
}

static int
put(FILE *f, struct hr__hdr *h, const char *const *s, unsigned n)
{
	uint32_t len = 0;
	for (unsigned i = 0; i < n; i++)
		len += (uint32_t)strlen(s[i]) + 1;
	h->nstr = n;
	h->len = len;
	if (fwrite(h, sizeof(*h), 1, f) != 1)
		return -1;
	for (unsigned i = 0; i < n; i++)
		if (fwrite(s[i], strlen(s[i]) + 1, 1, f) != 1)
			return -1;
	return 0;
}

static int
put_member(FILE *f, const struct member *m)
{
	unsigned na = 0, ne = 0;
	while (m->argv[na] != NULL)
		na++;
	while (m->envp[ne] != NULL)
		ne++;
	const char **s = malloc((6 + na + ne) * sizeof(char *));
	if (s == NULL)
		return -1;
	char start[32];
	snprintf(start, sizeof(start), "%llu", (unsigned long long)m->start);
	s[0] = m->medium;
	s[1] = m->name;
	s[2] = m->path;
	s[3] = m->image;
	s[4] = m->cwd;
	s[5] = start;
	for (unsigned i = 0; i < na; i++)
		s[6 + i] = m->argv[i];
	for (unsigned i = 0; i < ne; i++)
		s[6 + na + i] = m->envp[i];
	struct hr__hdr h = { .op = R_MEMBER, .gid = m->gid, .mid = m->id,
		.pid = m->pid, .status = m->parent,
		.flags = (uint32_t)(m->direct | m->clean << 1 | m->done << 2),
		.nargv = na, .nenv = ne };
	int rc = put(f, &h, s, 6 + na + ne);
	free(s);
	return rc;
}

/* Write the registry atomically (a new file renamed over the old). */
int
reg_save(struct ctl *c)
{
	char tmp[PATH_MAX + 8];
	snprintf(tmp, sizeof(tmp), "%s.new", c->reg);
	/* it holds the members' environments: for this user only */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
	if (f == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct hr__hdr h = { .op = R_HEAD, .mid = c->next_mid,
		.flags = c->site_restarts, .pid = getpid() };
	int rc = put(f, &h, NULL, 0);
	for (struct group *g = c->groups; g != NULL && rc == 0; g = g->next) {
		struct hr__hdr gh = { .op = R_GROUP, .gid = g->id,
			.status = g->badness, .flags = g->restarts };
		rc = put(f, &gh, NULL, 0);
	}
	for (struct member *m = c->members; m != NULL && rc == 0; m = m->next)
		rc = put_member(f, m);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, c->reg) != 0)
		rc = -1;
	if (rc != 0)
		unlink(tmp);
	return rc;
}

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

/* Read the registry a dead controller left; 0 if none. */
int
reg_load(struct ctl *c)
{
	FILE *f = fopen(c->reg, "re");
	if (f == NULL)
		return errno == ENOENT ? 0 : -1;
	struct hr__hdr h;
	struct member **tail = &c->members;
	int rc = 0;
	while (fread(&h, sizeof(h), 1, f) == 1) {
		if (h.len > HR__MAXMSG || h.nstr > h.len ||
				(uint64_t)h.nargv + h.nenv + 6 > (uint64_t)h.nstr + 6) {
			rc = -1;
			break;
		}
		char *buf = malloc(h.len + 1);
		char **s = calloc(h.nstr + 1, sizeof(char *));
		if (buf == NULL || s == NULL ||
				(h.len > 0 && fread(buf, h.len, 1, f) != 1)) {
			free(buf);
			free(s);
			rc = -1;
			break;
		}
		buf[h.len] = 0;
		char *p = buf;
		for (uint32_t i = 0; i < h.nstr; i++) {
			s[i] = p;
			p += strlen(p) + 1;
			if (p > buf + h.len + 1)
				p = buf + h.len;
		}
		if (h.op == R_HEAD) {
			c->next_mid = h.mid;
			c->site_restarts = h.flags;
		} else if (h.op == R_GROUP) {
			struct group *g = calloc(1, sizeof(*g));
			if (g != NULL) {
				g->id = h.gid;
				g->badness = h.status;
				g->restarts = h.flags;
				g->next = c->groups;
				c->groups = g;
			}
		} else if (h.op == R_MEMBER && h.nstr == 6 + h.nargv + h.nenv) {
			struct member *m = calloc(1, sizeof(*m));
			if (m != NULL) {
				m->id = h.mid;
				m->gid = h.gid;
				m->pid = h.pid;
				m->parent = h.status;
				m->direct = h.flags & 1;
				m->clean = (h.flags >> 1) & 1;
				m->done = (h.flags >> 2) & 1;
				snprintf(m->medium, sizeof(m->medium), "%s", s[0]);
				snprintf(m->name, sizeof(m->name), "%s", s[1]);
				snprintf(m->path, sizeof(m->path), "%s", s[2]);
				snprintf(m->image, sizeof(m->image), "%s", s[3]);
				snprintf(m->cwd, sizeof(m->cwd), "%s", s[4]);
				m->start = strtoull(s[5], NULL, 10);
				m->argv = strvec(s + 6, h.nargv);
				m->envp = strvec(s + 6 + h.nargv, h.nenv);
				m->stdio[0] = m->stdio[1] = m->stdio[2] = -1;
				*tail = m;
				tail = &m->next;
			}
		}
		free(buf);
		free(s);
	}
	fclose(f);
	return rc;
}
