/*
 * hrctl-ctl.c -- the hot restart controller: starts members, watches them
 * die, restarts their groups, applies the badness policy and answers the
 * requests of <hr/hr.h> and of hrctl.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hrctl.h"

static int
count_members(struct ctl *c)
{
	int n = 0;
	for (struct member *m = c->members; m != NULL; m = m->next)
		n++;
	return n;
}

static int
count_groups(struct ctl *c)
{
	int n = 0;
	for (struct group *g = c->groups; g != NULL; g = g->next)
		n++;
	return n;
}

static int
alive_in(struct ctl *c, int gid)
{
	int n = 0;
	for (struct member *m = c->members; m != NULL; m = m->next)
		n += m->gid == gid && m->pid > 0;
	return n;
}

/* The member's environment: its own, with the controller's names set. */
static char **
member_env(struct ctl *c, const struct member *m, unsigned restarts)
{
	unsigned n = 0;
	while (m->envp[n] != NULL)
		n++;
	char **e = calloc(n + 5, sizeof(char *));
	if (e == NULL)
		return NULL;
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++)
		if (strncmp(m->envp[i], "HRCTL_", 6) != 0)
			e[k++] = m->envp[i];
	if (asprintf(&e[k++], "HRCTL_SOCK=%s", c->sock) < 0 ||
			asprintf(&e[k++], "HRCTL_GROUP=%d", m->gid) < 0 ||
			asprintf(&e[k++], "HRCTL_MEMBER=%d", m->id) < 0 ||
			asprintf(&e[k++], "HRCTL_RESTARTS=%u", restarts) < 0)
		return NULL;
	return e;
}

/* Start member m from its image; -1 with errno if it cannot exec. */
static int
spawn_member(struct ctl *c, struct member *m)
{
	struct group *g = group_find(c, m->gid);
	char **env = member_env(c, m, g != NULL ? g->restarts : 0);
	int img = open(m->image, O_RDONLY);	/* kept across exec: scripts */
	int p[2];
	if (env == NULL || img < 0 || pipe2(p, O_CLOEXEC) != 0) {
		if (img >= 0)
			close(img);
		return -1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t all;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		signal(SIGPIPE, SIG_DFL);
		setpgid(0, 0);
		for (int i = 0; i < 3; i++)
			if (m->stdio[i] >= 0)
				dup2(m->stdio[i], i);
		if (chdir(m->cwd) != 0 && chdir("/") != 0)
			_exit(127);
		fexecve(img, m->argv, env);
		int err = errno;
		if (write(p[1], &err, sizeof(err)) < 0)
			_exit(127);
		_exit(127);
	}
	int err = errno;
	close(p[1]);
	close(img);
	for (char **e = env; *e != NULL; e++)
		if (strncmp(*e, "HRCTL_", 6) == 0)
			free(*e);
	free(env);
	if (pid < 0) {
		close(p[0]);
		errno = err;
		return -1;
	}
	int child_err = 0;
	ssize_t n;
	do
		n = read(p[0], &child_err, sizeof(child_err));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n == (ssize_t)sizeof(child_err)) {
		waitpid(pid, NULL, 0);
		errno = child_err;
		return -1;
	}
	m->pid = pid;
	m->start = proc_starttime(pid);
	m->clean = 0;
	m->done = 0;
	return 0;
}

/* Remove a group for good: free its HR_GROUP_KEY blocks, forget its
 * members and their images. */
static void
group_end(struct ctl *c, struct group *g, int status)
{
	char key[32];
	int n = snprintf(key, sizeof(key), PMM__HRG_PREFIX "%d", g->id);
	if (n > 0 && (size_t)n < sizeof(key)) {
		int rc = pmm__free_all(key, (size_t)n + 1, PMM__F_SYSTEM);
		if (rc != K_OK && rc != K_EUNKNOWN)
			fprintf(stderr, "hrctl: group %d: cannot free its blocks: %s\n",
					g->id, pmmErrorMsg());
	}
	for (struct member **pm = &c->members; *pm != NULL;) {
		struct member *m = *pm;
		if (m->gid != g->id) {
			pm = &m->next;
			continue;
		}
		*pm = m->next;
		unlink(m->image);
		member_free(m);
	}
	if (g->id == c->embedded_gid) {
		c->embedded_done = 1;
		c->embedded_status = status;
	}
	for (struct group **pg = &c->groups; *pg != NULL; pg = &(*pg)->next)
		if (*pg == g) {
			*pg = g->next;
			break;
		}
	free(g);
}

/* Run the group's direct members again; indirect ones wait for hrfexec. */
static void
group_respawn(struct ctl *c, struct group *g)
{
	g->state = G_RUNNING;
	g->exit_status = -1;	/* a status belongs to the run that ends */
	for (struct member *m = c->members; m != NULL; m = m->next) {
		if (m->gid != g->id)
			continue;
		m->clean = m->done = 0;
		if (m->direct && spawn_member(c, m) != 0) {
			fprintf(stderr, "hrctl: group %d: cannot restart %s: %s\n",
					g->id, m->path, strerror(errno));
			g->state = G_KILLING;
		}
	}
	if (g->state == G_KILLING) {
		for (struct member *m = c->members; m != NULL; m = m->next)
			if (m->gid == g->id && m->pid > 0)
				kill(m->pid, SIGKILL);
		if (alive_in(c, g->id) == 0)
			group_end(c, g, 127);
	}
}

/* Stop every member of g, then act on state when they are gone. */
static void
group_stop(struct ctl *c, struct group *g, enum grp_state state)
{
	g->state = state;
	for (struct member *m = c->members; m != NULL; m = m->next)
		if (m->gid == g->id && m->pid > 0)
			kill(m->pid, SIGKILL);
	if (alive_in(c, g->id) > 0)
		return;
	if (state == G_RESTARTING)
		group_respawn(c, g);
	else
		group_end(c, g, 128 + SIGKILL);
}

/* Restart every group: the hot reboot that keeps persistent memory. */
static void
site_restart(struct ctl *c)
{
	c->site_restarts++;
	fprintf(stderr, "hrctl: site restart %u\n", c->site_restarts);
	for (struct group *g = c->groups, *next; g != NULL; g = next) {
		next = g->next;
		g->badness = 0;
		if (g->state == G_RUNNING || g->state == G_RESTARTING)
			group_stop(c, g, G_RESTARTING);
	}
}

/* A member of g ended abnormally: count it, restart the group or the site. */
static void
group_crashed(struct ctl *c, struct group *g)
{
	g->restarts++;
	g->badness++;
	if (c->cfg.hr_maxbadness > 0 &&
			(uint64_t)g->badness >= c->cfg.hr_maxbadness)
		site_restart(c);
	else
		group_stop(c, g, G_RESTARTING);
}

static void
member_exited(struct ctl *c, struct member *m, int status)
{
	struct group *g = group_find(c, m->gid);
	m->pid = 0;
	m->status = status;
	if (g == NULL)
		return;
	if (g->state != G_RUNNING) {
		if (alive_in(c, g->id) == 0) {
			if (g->state == G_RESTARTING)
				group_respawn(c, g);
			else
				group_end(c, g, 128 + SIGKILL);
		}
		return;
	}
	if (!m->clean) {
		group_crashed(c, g);
		return;
	}
	m->done = 1;
	if (m->direct && g->exit_status < 0)
		g->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) :
			128 + WTERMSIG(status);
	if (alive_in(c, g->id) > 0)
		return;
	for (struct member *x = c->members; x != NULL; x = x->next)
		if (x->gid == g->id && x->direct && !x->done)
			return;
	group_end(c, g, g->exit_status < 0 ? 0 : g->exit_status);
}

static void
reap(struct ctl *c)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct member *m = member_by_pid(c, pid);
		if (m != NULL)
			member_exited(c, m, status);
	}
	reg_save(c);
}

static struct member *
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
		m->argv[i] = strdup(argv[i]);
	for (unsigned i = 0; i < ne; i++)
		m->envp[i] = strdup(envp[i]);
	return m;
}

static void
member_link(struct ctl *c, struct member *m)
{
	struct member **t = &c->members;
	while (*t != NULL)
		t = &(*t)->next;
	*t = m;
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
	struct group *g = group_find(c, gid);
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
	for (int i = 0; i < 3; i++)
		m->stdio[i] = stdio != NULL ? stdio[i] : -1;
	if (image_capture(c, path, m->id, m->image) != 0) {
		int e = errno;
		snprintf(err, errlen, "cannot read %.300s: %s", path, strerror(e));
		for (int i = 0; i < 3; i++)
			m->stdio[i] = -1;	/* the caller still owns them */
		member_free(m);
		return -e;
	}
	int created = g == NULL;
	if (created) {
		g = calloc(1, sizeof(*g));
		if (g == NULL) {
			unlink(m->image);
			member_free(m);
			return -ENOMEM;
		}
		g->id = gid;
		g->exit_status = -1;
		g->next = c->groups;
		c->groups = g;
	}
	if (spawn_member(c, m) != 0) {
		int e = errno;
		snprintf(err, errlen, "cannot run %.300s: %s", path, strerror(e));
		unlink(m->image);
		for (int i = 0; i < 3; i++)
			m->stdio[i] = -1;
		member_free(m);
		if (created)
			group_end(c, g, 127);
		return -e;
	}
	member_link(c, m);
	reg_save(c);
	*out = m;
	return 0;
}

/* hrfexec*: start (or bring back) the indirect member of this name. */
static int
spawn_indirect(struct ctl *c, struct member *parent, struct hr__msg *q,
		char *err, size_t errlen, pid_t *pid)
{
	char **s = q->str;
	const char *medium = s[0], *name = s[1], *path = s[2], *cwd = s[3];
	char **argv = s + 4, **envp = s + 4 + q->h.nargv;
	if (q->h.nstr != 4 + q->h.nargv + q->h.nenv || q->h.nargv == 0) {
		snprintf(err, errlen, "malformed request");
		return -EPROTO;
	}
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
	if (fresh) {
		if ((uint64_t)count_members(c) >= c->cfg.hr_maxprocesses) {
			snprintf(err, errlen,
					"hrCtrl.maxprocesses = %llu processes are registered",
					(unsigned long long)c->cfg.hr_maxprocesses);
			return -EAGAIN;
		}
		m = member_new(c, parent->gid, path, cwd, argv, q->h.nargv,
				envp, q->h.nenv);
		if (m == NULL)
			return -ENOMEM;
		snprintf(m->medium, sizeof(m->medium), "%s", medium);
		snprintf(m->name, sizeof(m->name), "%s", name);
		if (image_capture(c, path, m->id, m->image) != 0) {
			int e = errno;
			snprintf(err, errlen, "cannot read %.300s: %s", path,
					strerror(e));
			member_free(m);
			return -e;
		}
	} else {
		/* the same registered name: its first image, today's arguments */
		struct member *n = member_new(c, m->gid, m->path, cwd, argv,
				q->h.nargv, envp, q->h.nenv);
		if (n == NULL)
			return -ENOMEM;
		char **t = m->argv;
		m->argv = n->argv;
		n->argv = t;
		t = m->envp;
		m->envp = n->envp;
		n->envp = t;
		snprintf(m->cwd, sizeof(m->cwd), "%s", cwd);
		c->next_mid--;
		member_free(n);
	}
	m->parent = parent->id;
	if (spawn_member(c, m) != 0) {
		int e = errno;
		snprintf(err, errlen, "cannot run %.300s: %s", m->path, strerror(e));
		if (fresh) {
			unlink(m->image);
			member_free(m);
		}
		return -e;
	}
	if (fresh)
		member_link(c, m);
	reg_save(c);
	*pid = m->pid;
	return 0;
}

static pid_t
peer_pid(int s)
{
	struct ucred cr;
	socklen_t l = sizeof(cr);
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &l) != 0)
		return -1;
	return cr.pid;
}

static struct member *
member_by_id(struct ctl *c, int mid)
{
	for (struct member *m = c->members; m != NULL; m = m->next)
		if (m->id == mid)
			return m;
	return NULL;
}

static void
reply(int s, int status, int gid, int mid, pid_t pid, const char *text)
{
	struct hr__hdr h = { .op = HR__REPLY, .status = status, .gid = gid,
		.mid = mid, .pid = pid };
	const char *strs[1] = { text };
	hr__send(s, &h, strs, text != NULL ? 1 : 0, NULL, 0);
}

/* Serve one connection's request. */
static void
serve(struct ctl *c, int s)
{
	struct hr__msg q;
	if (hr__recv(s, &q) != 1)
		return;
	char err[512] = "";
	int rc = 0;
	pid_t ppid = peer_pid(s);
	struct member *m = NULL;
	switch (q.h.op) {
	case HR__RUN: {
		if (q.h.nstr != 2 + q.h.nargv + q.h.nenv || q.h.nargv == 0) {
			reply(s, -EPROTO, 0, 0, 0, "malformed request");
			break;
		}
		int fds[3] = { -1, -1, -1 };
		for (int i = 0; i < q.nfds && i < 3; i++)
			fds[i] = q.fds[i];
		/* argv and envp follow each other: split them into two
		 * NULL-terminated vectors */
		char **av = calloc(q.h.nargv + 1, sizeof(char *));
		if (av == NULL) {
			reply(s, -ENOMEM, 0, 0, 0, "out of memory");
			break;
		}
		memcpy(av, q.str + 2, q.h.nargv * sizeof(char *));
		rc = ctl_run_direct(c, q.h.gid, q.str[0], q.str[1], av,
				q.str + 2 + q.h.nargv, q.nfds == 3 ? fds : NULL,
				err, sizeof(err), &m);
		free(av);
		if (rc == 0 && q.nfds == 3)
			q.nfds = 0;	/* the member owns them now */
		reply(s, rc, q.h.gid, rc == 0 ? m->id : 0, rc == 0 ? m->pid : 0,
				err);
		break;
	}
	case HR__SPAWN: {
		struct member *p = member_by_id(c, q.h.mid);
		pid_t child = 0;
		if (p == NULL || p->pid != ppid) {
			reply(s, -ESRCH, 0, 0, 0,
					"the caller is not a restartable process of this controller");
			break;
		}
		rc = spawn_indirect(c, p, &q, err, sizeof(err), &child);
		reply(s, rc, p->gid, 0, child, err);
		break;
	}
	case HR__CLEAN:
		m = member_by_id(c, q.h.mid);
		if (m == NULL || m->pid != ppid) {
			reply(s, -ESRCH, 0, 0, 0,
					"the caller is not a restartable process of this controller");
			break;
		}
		m->clean = 1;
		reply(s, 0, m->gid, m->id, m->pid, NULL);
		break;
	case HR__KILL: {
		struct group *g = group_find(c, q.h.gid);
		if (g == NULL) {
			snprintf(err, sizeof(err), "no restart group %d", q.h.gid);
			reply(s, -ESRCH, q.h.gid, 0, 0, err);
			break;
		}
		reply(s, 0, q.h.gid, 0, 0, NULL);
		group_stop(c, g, G_KILLING);
		reg_save(c);
		break;
	}
	case HR__GROUP:
		m = member_by_pid(c, q.h.pid);
		if (m == NULL) {
			snprintf(err, sizeof(err), "process %d is in no restart group",
					q.h.pid);
			reply(s, -ESRCH, -1, 0, q.h.pid, err);
		} else {
			reply(s, 0, m->gid, m->id, m->pid, NULL);
		}
		break;
	case HR__STATUS: {
		char *text = status_report(c, q.h.flags & 1);
		reply(s, text != NULL ? 0 : -ENOMEM, 0, 0, getpid(), text);
		free(text);
		break;
	}
	case HR__SITE:
		reply(s, 0, 0, 0, 0, NULL);
		site_restart(c);
		reg_save(c);
		break;
	default:
		reply(s, -EPROTO, 0, 0, 0, "unknown request");
	}
	hr__msg_free(&q);
}

/* Kill what a dead controller left running, and restart its groups. */
static void
recover(struct ctl *c)
{
	if (reg_load(c) != 0)
		fprintf(stderr, "hrctl: registry %s damaged; kept what could be read\n",
				c->reg);
	int any = 0;
	for (struct member *m = c->members; m != NULL; m = m->next) {
		if (m->pid > 0 && m->start != 0 &&
				proc_starttime(m->pid) == m->start) {
			kill(m->pid, SIGKILL);
			for (int i = 0; i < 1000 && kill(m->pid, 0) == 0 &&
					proc_starttime(m->pid) == m->start; i++)
				usleep(1000);
		}
		m->pid = 0;
		any = 1;
	}
	for (struct group *g = c->groups, *next; g != NULL; g = next) {
		next = g->next;
		g->exit_status = -1;
		fprintf(stderr, "hrctl: recovering group %d\n", g->id);
		group_respawn(c, g);
	}
	if (any)
		reg_save(c);
}

/* Become the controller: the lock, the socket, signals, timer.
 * 1 if another controller runs, -1 on error (message on stderr). */
int
ctl_open(struct ctl *c, int embedded)
{
	memset(c, 0, sizeof(*c));
	c->lsock = c->sigfd = c->timerfd = c->lockfd = -1;
	c->embedded_gid = embedded ? -2 : -1;
	if (pmm__config_load(&c->cfg) != K_OK) {
		fprintf(stderr, "hrctl: %s\n", pmmErrorMsg());
		return -1;
	}
	char lock[PATH_MAX];
	if (hr__dir(c->dir, sizeof(c->dir)) != 0) {
		perror("hrctl: bank directory");
		return -1;
	}
	snprintf(c->sock, sizeof(c->sock), "%s/hrctl.sock", c->dir);
	snprintf(c->reg, sizeof(c->reg), "%s/hrctl.reg", c->dir);
	snprintf(c->images, sizeof(c->images), "%s/hrctl.images", c->dir);
	snprintf(lock, sizeof(lock), "%s/hrctl.lock", c->dir);
	c->lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (c->lockfd < 0) {
		perror("hrctl: lock");
		return -1;
	}
	if (flock(c->lockfd, LOCK_EX | LOCK_NB) != 0) {
		close(c->lockfd);
		c->lockfd = -1;
		return 1;
	}
	if (mkdir(c->images, 0700) != 0 && errno != EEXIST) {
		perror("hrctl: image store");
		return -1;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	c->sigfd = signalfd(-1, &set, SFD_CLOEXEC);
	c->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	struct itimerspec it = { { (time_t)c->cfg.hr_interval, 0 },
		{ (time_t)c->cfg.hr_interval, 0 } };
	if (c->sigfd < 0 || c->timerfd < 0 ||
			timerfd_settime(c->timerfd, 0, &it, NULL) != 0) {
		perror("hrctl");
		return -1;
	}
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(c->sock) >= sizeof(a.sun_path)) {
		fprintf(stderr, "hrctl: socket path %s too long\n", c->sock);
		return -1;
	}
	strcpy(a.sun_path, c->sock);
	unlink(c->sock);	/* ours: we hold the controller lock */
	c->lsock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	mode_t old = umask(077);
	int b = c->lsock < 0 ? -1 : bind(c->lsock, (struct sockaddr *)&a,
			sizeof(a));
	umask(old);
	if (b != 0 || chmod(c->sock, 0600) != 0 || listen(c->lsock, 64) != 0) {
		perror("hrctl: socket");
		return -1;
	}
	return 0;
}

/* Take over what a dead controller left: call once output goes where
 * the members' should. */
void
ctl_recover(struct ctl *c)
{
	recover(c);
}

/* Serve until told to stop or, embedded, until every group has ended. */
int
ctl_loop(struct ctl *c)
{
	int stopping = 0, stop_signal = 0;
	while (!c->quit) {
		if (c->embedded_gid != -1 && c->embedded_done && c->groups == NULL)
			break;
		if (stopping && c->groups == NULL)
			break;
		struct pollfd p[3] = { { c->lsock, POLLIN, 0 },
			{ c->sigfd, POLLIN, 0 }, { c->timerfd, POLLIN, 0 } };
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("hrctl: poll");
			return -1;
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(c->sigfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGCHLD) {
					reap(c);
				} else if (!stopping) {
					stopping = 1;
					stop_signal = (int)si.ssi_signo;
					for (struct group *g = c->groups, *n; g != NULL; g = n) {
						n = g->next;
						group_stop(c, g, G_KILLING);
					}
					reg_save(c);
				}
				struct pollfd q = { c->sigfd, POLLIN, 0 };
				if (poll(&q, 1, 0) <= 0)
					break;
			}
		}
		if (p[2].revents & POLLIN) {
			uint64_t ticks;
			if (read(c->timerfd, &ticks, sizeof(ticks)) == sizeof(ticks)) {
				for (struct group *g = c->groups; g != NULL; g = g->next)
					g->badness = g->badness > (int)ticks ?
						g->badness - (int)ticks : 0;
				reg_save(c);
			}
		}
		if (p[0].revents & POLLIN) {
			int s = accept4(c->lsock, NULL, NULL, SOCK_CLOEXEC);
			if (s >= 0) {
				serve(c, s);
				close(s);
			}
		}
	}
	/* stopped by a signal: say which, whatever the groups' ends said */
	return stopping ? 128 + stop_signal : c->embedded_status;
}

/* Give up the controller role. */
void
ctl_close(struct ctl *c)
{
	if (c->lsock >= 0) {
		unlink(c->sock);
		close(c->lsock);
	}
	/* only the controller (the lock's holder) owns these: a controller
	 * that lost the race must not take them from the running one */
	if (c->lockfd >= 0 && c->groups == NULL) {
		unlink(c->reg);
		rmdir(c->images);
	}
	if (c->sigfd >= 0)
		close(c->sigfd);
	if (c->timerfd >= 0)
		close(c->timerfd);
	if (c->lockfd >= 0)
		close(c->lockfd);
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
}
