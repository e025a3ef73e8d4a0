/*
 * spawn.c -- starting members: a new process group from the member's
 * captured image, its stdio and nothing else of the controller's, and
 * the bookkeeping of hrctl run and hrfexec*: nothing starts that the
 * registry cannot record.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"

/* The member's environment: its own, with the controller's names set. */
static char **
member_env(struct ctl *c, const struct member *m, const struct group *g)
{
	unsigned n = 0;
	while (m->envp[n] != NULL)
		n++;
	char **e = calloc(n + 6, sizeof(char *));
	if (e == NULL)
		return NULL;
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++)
		if (strncmp(m->envp[i], "HRCTL_", 6) != 0)
			e[k++] = m->envp[i];
	if (asprintf(&e[k++], "HRCTL_SOCK=%s", c->sock) < 0 ||
			asprintf(&e[k++], "HRCTL_GROUP=%d", m->gid) < 0 ||
			asprintf(&e[k++], "HRCTL_MEMBER=%d", m->id) < 0 ||
			asprintf(&e[k++], "HRCTL_RESTARTS=%u",
				g != NULL ? g->restarts : 0) < 0 ||
			asprintf(&e[k++], "HRCTL_GEN=%u", g != NULL ? g->gen : 0) < 0) {
		for (unsigned i = 0; i < n + 5; i++)
			if (e[i] != NULL && strncmp(e[i], "HRCTL_", 6) == 0)
				free(e[i]);
		free(e);
		return NULL;
	}
	return e;
}

/* Close every descriptor from lo up. */
static void
close_from(int lo)
{
	if (close_range((unsigned)lo, ~0U, 0) == 0)
		return;
	long max = sysconf(_SC_OPEN_MAX);
	for (long fd = lo; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
		close((int)fd);
}

/* In the child: its group's cgroup (cg >= 0), its own process group,
 * its stdio, the image at 3 and the error pipe at 4, nothing else; then
 * exec. */
static void __attribute__((noreturn))
child(const struct member *m, int img, int errw, int cg, char **env)
{
	/* first: before any descriptor it names is reused */
	if (cg >= 0 && write(cg, "0", 1) != 1) {
		int err = errno;
		if (write(errw, &err, sizeof(err)) < 0)
			_exit(127);
		_exit(127);
	}
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGPIPE, SIG_DFL);
	setpgid(0, 0);
	int script = !(fcntl(img, F_GETFD) & FD_CLOEXEC);
	int im = fcntl(img, F_DUPFD_CLOEXEC, 10);
	int pw = fcntl(errw, F_DUPFD_CLOEXEC, 10);
	for (int i = 0; i < 3; i++) {
		if (m->stdio[i] == i)
			fcntl(i, F_SETFD, 0);
		else if (m->stdio[i] >= 0)
			dup2(m->stdio[i], i);
	}
	if (im < 0 || pw < 0 || dup3(im, 3, script ? 0 : O_CLOEXEC) < 0 ||
			dup3(pw, 4, O_CLOEXEC) < 0)
		_exit(127);
	close_from(5);
	int err = errno;
	if (chdir(m->cwd) != 0 && chdir("/") != 0)
		err = errno;
	else
		fexecve(3, m->argv, env);
	err = errno;
	if (write(4, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

/* vfork a child that execs member m; the pid, or -1.  vfork, not fork:
 * the controller is suspended until the exec (it waits for it anyway),
 * and it neither copies its page tables nor takes copy-on-write faults
 * afterwards, the larger part of a restart's cost on a virtual machine.
 * The child only makes system calls, and the controller installs no
 * signal handler that could run in it.  Not inlined: no local of the
 * caller lives in a frame the child shares. */
static pid_t __attribute__((noinline))
start_child(const struct member *m, int img, int errw, int cg, char **env)
{
	pid_t pid = vfork();
	if (pid == 0)
		child(m, img, errw, cg, env);
	return pid;
}

/* Start member m from its image; -1 with errno if it cannot exec. */
int
spawn_member(struct ctl *c, struct member *m)
{
	struct group *g = group_find(c, m->gid);
	char **env = member_env(c, m, g);
	int img = env != NULL ? image_open(c, m->id) : -1;
	int p[2], err = errno;
	if (env == NULL || img < 0 || pipe2(p, O_CLOEXEC) != 0) {
		err = errno;
		if (img >= 0)
			close(img);
		goto out;
	}
	int cg = cg_procs_fd(c, m->gid);
	pid_t pid = start_child(m, img, p[1], cg, env);
	err = errno;
	close(p[1]);
	close(img);
	if (cg >= 0)
		close(cg);
	if (pid < 0) {
		close(p[0]);
		goto out;
	}
	setpgid(pid, pid);	/* before anyone may kill the group */
	int child_err = 0;
	ssize_t n;
	do
		n = read(p[0], &child_err, sizeof(child_err));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n == (ssize_t)sizeof(child_err)) {
		waitpid(pid, NULL, 0);
		err = child_err;
		goto out;
	}
	m->pid = pid;
	m->start = proc_starttime(pid);
	m->clean = 0;
	m->done = 0;
	err = 0;
out:
	if (env != NULL) {
		for (char **e = env; *e != NULL; e++)
			if (strncmp(*e, "HRCTL_", 6) == 0)
				free(*e);
		free(env);
	}
	errno = err;
	return err == 0 ? 0 : -1;
}

/* A new member record (not yet linked), or NULL. */
struct member *
member_new(struct ctl *c, int gid, const char *path, const char *cwd,
		char **argv, unsigned na, char **envp, unsigned ne)
{
	struct member *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->id = c->next_mid++;
	m->gid = gid;
	m->stdio[0] = m->stdio[1] = m->stdio[2] = -1;
	snprintf(m->path, sizeof(m->path), "%s", path);
	snprintf(m->cwd, sizeof(m->cwd), "%s", cwd);
	m->argv = calloc(na + 1, sizeof(char *));
	m->envp = calloc(ne + 1, sizeof(char *));
	if (m->argv == NULL || m->envp == NULL) {
		member_free(m);
		return NULL;
	}
	for (unsigned i = 0; i < na; i++)
		if ((m->argv[i] = strdup(argv[i])) == NULL)
			goto fail;
	for (unsigned i = 0; i < ne; i++)
		if ((m->envp[i] = strdup(envp[i])) == NULL)
			goto fail;
	return m;
fail:
	member_free(m);
	return NULL;
}

/* Add m at the end of the member list. */
void
member_link(struct ctl *c, struct member *m)
{
	struct member **t = &c->members;
	while (*t != NULL)
		t = &(*t)->next;
	*t = m;
	m->next = NULL;
}

/* Take m out of the member list. */
void
member_unlink(struct ctl *c, struct member *m)
{
	for (struct member **t = &c->members; *t != NULL; t = &(*t)->next)
		if (*t == m) {
			*t = m->next;
			return;
		}
}

/* Record a new member m (linked, pid 0), start it, record its pid; on
 * any failure undo all of it (the last good registry stays) and return
 * -errno with the reason in err. */
static int
start_recorded(struct ctl *c, struct member *m, int fresh, char *err,
		size_t errlen)
{
	int e = 0;
	if (fresh)
		member_link(c, m);
	if (reg_save(c) != 0) {
		e = errno;
		snprintf(err, errlen, "refused: %s", c->regerr);
	} else if (spawn_member(c, m) != 0) {
		e = errno;
		snprintf(err, errlen, "cannot run %.300s: %s", m->path,
				strerror(e));
	} else if (reg_save(c) != 0) {
		e = errno;
		snprintf(err, errlen, "refused: %s", c->regerr);
		member_kill(m);
		waitpid(m->pid, NULL, 0);
		m->pid = 0;
	}
	if (e == 0)
		return 0;
	c->dirty = 1;	/* the first write may have recorded it */
	if (fresh) {
		member_unlink(c, m);
		image_remove(c, m->id);
	}
	return -e;
}

/* Whether the strings of a member fit HR__MAXREQ; why not in err. */
static int
req_fits(const char *path, const char *cwd, char **argv, unsigned na,
		char **envp, unsigned ne, char *err, size_t errlen)
{
	size_t n = strlen(path) + strlen(cwd) + 2;
	n += hr__strs_size((const char *const *)argv, na);
	n += hr__strs_size((const char *const *)envp, ne);
	if (n <= HR__MAXREQ)
		return 0;
	snprintf(err, errlen, "too large: the program's path, arguments and environment take %zu bytes, at most %d",
			n, HR__MAXREQ);
	return -E2BIG;
}

/* A new member m: within the registry's limit, its image captured;
 * else m is freed and -errno returned with the reason in err. */
static int
admit(struct ctl *c, struct member *m, const char *path, char *err,
		size_t errlen)
{
	int e = 0;
	if (reg_fits(c, m) != 0) {
		e = E2BIG;
		snprintf(err, errlen, "refused: %s", c->regerr);
	} else if (image_capture(c, path, m->id, err, errlen) != 0) {
		e = errno;
	}
	if (e != 0)
		member_free(m);
	return -e;
}

/* Start a direct member of group gid (hrctl run). */
int
ctl_run_direct(struct ctl *c, int gid, const char *path, const char *cwd,
		char **argv, char **envp, const int *stdio, char *err,
		size_t errlen, struct member **out)
{
	unsigned na = 0, ne = 0;
	while (argv[na] != NULL)
		na++;
	while (envp[ne] != NULL)
		ne++;
	int rc = req_fits(path, cwd, argv, na, envp, ne, err, errlen);
	if (rc != 0)
		return rc;
	struct group *g = group_find(c, gid);
	if (g != NULL && g->state == G_FAILED) {
		snprintf(err, errlen, "group %d has failed (%s); hrctl kill -g %d ends it",
				gid, g->why, gid);
		return -EBUSY;
	}
	if (g != NULL && g->state != G_RUNNING) {
		snprintf(err, errlen, "group %d is being stopped or restarted", gid);
		return -EBUSY;
	}
	if (g == NULL && (uint64_t)count_groups(c) >= c->cfg.hr_maxgroups) {
		snprintf(err, errlen, "hrCtrl.maxGroups = %llu groups exist",
				(unsigned long long)c->cfg.hr_maxgroups);
		return -EAGAIN;
	}
	if ((uint64_t)count_members(c) >= c->cfg.hr_maxprocesses) {
		snprintf(err, errlen, "hrCtrl.maxprocesses = %llu processes are registered",
				(unsigned long long)c->cfg.hr_maxprocesses);
		return -EAGAIN;
	}
	struct member *m = member_new(c, gid, path, cwd, argv, na, envp, ne);
	if (m == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	m->direct = 1;
	if ((rc = admit(c, m, path, err, errlen)) != 0)
		return rc;
	int created = g == NULL;
	if (created && (g = group_new(c, gid)) == NULL) {
		image_remove(c, m->id);
		member_free(m);
		return -ENOMEM;
	}
	for (int i = 0; i < 3; i++)
		m->stdio[i] = stdio != NULL ? stdio[i] : -1;
	rc = start_recorded(c, m, 1, err, errlen);
	if (rc != 0) {
		for (int i = 0; i < 3; i++)
			m->stdio[i] = -1;	/* the caller still owns them */
		member_free(m);
		if (created)
			group_end(c, g, 127);
		return rc;
	}
	*out = m;
	return 0;
}

/* hrfexec*: start (or bring back) the indirect member of this name. */
int
spawn_indirect(struct ctl *c, struct member *parent, struct hr__msg *q,
		char *err, size_t errlen, pid_t *pid)
{
	if (q->h.nstr != 4 + (uint64_t)q->h.nargv + q->h.nenv ||
			q->h.nargv == 0) {
		snprintf(err, errlen, "malformed request");
		return -EPROTO;
	}
	char **s = q->str;
	const char *medium = s[0], *name = s[1], *path = s[2], *cwd = s[3];
	char **argv = s + 4, **envp = s + 4 + q->h.nargv;
	if (strlen(medium) >= PMM_MEDIUM_MAX || strlen(name) >= PMM_NAME_MAX ||
			strlen(path) >= PATH_MAX || strlen(cwd) >= PATH_MAX) {
		snprintf(err, errlen, "medium, name, path or directory too long");
		return -EINVAL;
	}
	int rc = req_fits(path, cwd, argv, q->h.nargv, envp, q->h.nenv, err,
			errlen);
	if (rc != 0)
		return rc;
	struct group *g = group_find(c, parent->gid);
	if (g == NULL || g->state != G_RUNNING) {
		snprintf(err, errlen, "the group is being stopped or restarted");
		return -EBUSY;
	}
	struct member *m;
	for (m = c->members; m != NULL; m = m->next)
		if (m->gid == parent->gid && !m->direct &&
				strcmp(m->medium, medium) == 0 &&
				strcmp(m->name, name) == 0)
			break;
	if (m != NULL && m->pid > 0) {
		snprintf(err, errlen, "%.20s:%.70s is running already (pid %d)",
				medium, name, (int)m->pid);
		return -EBUSY;
	}
	int fresh = m == NULL;
	if (fresh && (uint64_t)count_members(c) >= c->cfg.hr_maxprocesses) {
		snprintf(err, errlen,
				"hrCtrl.maxprocesses = %llu processes are registered",
				(unsigned long long)c->cfg.hr_maxprocesses);
		return -EAGAIN;
	}
	/* the same registered name: its first image, today's arguments */
	struct member *n = member_new(c, parent->gid, fresh ? path : m->path,
			cwd, argv, q->h.nargv, envp, q->h.nenv);
	if (n == NULL)
		return -ENOMEM;
	if (!fresh) {
		c->next_mid--;
		char **t = m->argv;
		m->argv = n->argv;
		n->argv = t;
		t = m->envp;
		m->envp = n->envp;
		n->envp = t;
		snprintf(m->cwd, sizeof(m->cwd), "%s", cwd);
		member_free(n);
	} else {
		m = n;
		snprintf(m->medium, sizeof(m->medium), "%s", medium);
		snprintf(m->name, sizeof(m->name), "%s", name);
		if ((rc = admit(c, m, path, err, errlen)) != 0)
			return rc;
	}
	m->parent = parent->id;
	rc = start_recorded(c, m, fresh, err, errlen);
	if (rc != 0) {
		if (fresh)
			member_free(m);
		return rc;
	}
	*pid = m->pid;
	return 0;
}
