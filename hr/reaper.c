/*
 * reaper.c -- ending members and everything they started.
 *
 * A member runs in a process group of its own, which is killed with it.
 * The controller is a child subreaper (PR_SET_CHILD_SUBREAPER): a
 * descendant that left its member's process group comes back to the
 * controller as a child when its parent dies, and sweep() kills it once
 * its group stops or restarts.  A descendant is known by the
 * environment it inherited (HRCTL_GROUP and HRCTL_GEN, the group's
 * generation, which every restart changes).  What the members of a
 * dead controller left is found by HRCTL_SOCK (kill_strays).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"

/* Kill member m and its process group. */
void
member_kill(struct member *m)
{
	if (m->pid <= 0)
		return;
	kill(-m->pid, SIGKILL);
	kill(m->pid, SIGKILL);
}

/* The value of name (with its '=') in the environment of process pid,
 * into out; -1 if it has none or cannot be read. */
static int
env_of(pid_t pid, const char *name, char *out, size_t len)
{
	char path[64], buf[16384];
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	size_t nl = strlen(name);
	for (char *p = buf; p < buf + n; p += strlen(p) + 1)
		if (strncmp(p, name, nl) == 0) {
			snprintf(out, len, "%s", p + nl);
			return 0;
		}
	return -1;
}

/* Whether descendant pid belongs to no running instance of a group. */
static int
stale(struct ctl *c, pid_t pid)
{
	char gs[32], gen[32];
	if (env_of(pid, "HRCTL_GROUP=", gs, sizeof(gs)) != 0 ||
			env_of(pid, "HRCTL_GEN=", gen, sizeof(gen)) != 0)
		return 0;	/* not known: killed when the controller stops */
	struct group *g = group_find(c, atoi(gs));
	return g == NULL || g->state != G_RUNNING ||
		strtoul(gen, NULL, 10) != g->gen;
}

/* Kill the controller's children that are not members and belong to
 * no running group (all of them when all). */
void
sweep(struct ctl *c, int all)
{
	char path[64], buf[8192];
	snprintf(path, sizeof(path), "/proc/self/task/%d/children",
			(int)getpid());
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	for (char *p = buf, *end; *p != 0; p = end) {
		long pid = strtol(p, &end, 10);
		if (end == p)
			break;
		if (pid <= 0 || member_by_pid(c, (pid_t)pid) != NULL)
			continue;
		if (all || stale(c, (pid_t)pid))
			kill((pid_t)pid, SIGKILL);
	}
}

/* Collect the children that ended; members' ends go to the groups. */
void
reap(struct ctl *c)
{
	int status, any = 0;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct member *m = member_by_pid(c, pid);
		if (m != NULL)
			member_exited(c, m, status);
		any = 1;
	}
	if (any)
		sweep(c, 0);
}

/* The controller stops: kill and collect every child left. */
void
reap_all(struct ctl *c)
{
	cg_kill_all(c, 0);
	for (int i = 0; i < 5000; i++) {
		if (i % 50 == 0)
			sweep(c, 1);
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid < 0 && errno == ECHILD)
			return;
		if (pid > 0) {
			struct member *m = member_by_pid(c, pid);
			if (m != NULL)
				m->pid = 0;
			continue;
		}
		usleep(1000);
	}
}

/* A group that a killed stray belonged to, and the media its
 * environment declared (PMM_DIR=, PMM_CONF=, PMM_TUNABLES=: the strings,
 * NULL-ended). */
struct lost {
	int gid;
	char *env[4];
};

#define MAX_LOST 64

static const char *const media_vars[] = { "PMM_DIR=", "PMM_CONF=",
	"PMM_TUNABLES=" };

static int same_media(char **a, char **b);
static void free_in(char **env, const char *key, size_t ks, int gid);

/* Note stray pid's group and media in lost[*n] unless known already;
 * only groups the registry no longer has (its groups restart, and keep
 * their blocks). */
static void
note_lost(struct ctl *c, pid_t pid, struct lost *lost, int *n)
{
	char v[PATH_MAX], *end;
	if (*n == MAX_LOST || env_of(pid, "HRCTL_GROUP=", v, sizeof(v)) != 0)
		return;
	long gid = strtol(v, &end, 10);
	if (*end != 0 || gid < 0 || gid > 0x7fffffff ||
			group_find(c, (int)gid) != NULL)
		return;
	struct lost l = { .gid = (int)gid };
	for (int i = 0, k = 0; i < 3; i++)
		if (env_of(pid, media_vars[i], v, sizeof(v)) == 0 &&
				asprintf(&l.env[k], "%s%s", media_vars[i], v) > 0)
			k++;
	for (int i = 0; i < *n; i++)
		if (lost[i].gid == l.gid && same_media(lost[i].env, l.env)) {
			for (int k = 0; l.env[k] != NULL; k++)
				free(l.env[k]);
			return;
		}
	lost[(*n)++] = l;
}

/* Kill every process of this user that a member of this controller's
 * socket started and that is not one of ours now: what the members of a
 * dead controller left.  A group of theirs that the registry does not
 * have (it was damaged or lost) has ended: its HR_GROUP_KEY blocks are
 * freed in the media its members declared, as at any group's end. */
void
kill_strays(struct ctl *c)
{
	DIR *d = opendir("/proc");
	if (d == NULL)
		return;
	struct lost lost[MAX_LOST];
	int nlost = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end != 0 || pid <= 0 || pid == getpid() ||
				member_by_pid(c, (pid_t)pid) != NULL)
			continue;
		struct stat st;
		char path[64], sock[PATH_MAX];
		snprintf(path, sizeof(path), "/proc/%ld", pid);
		if (stat(path, &st) != 0 || st.st_uid != geteuid())
			continue;
		if (env_of((pid_t)pid, "HRCTL_SOCK=", sock, sizeof(sock)) == 0 &&
				strcmp(sock, c->sock) == 0 &&
				env_of((pid_t)pid, "HRCTL_GEN=", path, sizeof(path)) == 0) {
			note_lost(c, (pid_t)pid, lost, &nlost);
			kill((pid_t)pid, SIGKILL);
		}
	}
	closedir(d);
	for (int i = 0; i < nlost; i++) {
		char key[48];
		int kn = snprintf(key, sizeof(key), PMM__HRG_PREFIX "%d",
				lost[i].gid);
		free_in(lost[i].env, key, (size_t)kn + 1, lost[i].gid);
		for (int k = 0; lost[i].env[k] != NULL; k++)
			free(lost[i].env[k]);
	}
}

/* The value of var (with its '=') in env, or NULL; env NULL: ours. */
static const char *
env_get(char **env, const char *var)
{
	size_t vl = strlen(var);
	if (env == NULL) {
		char name[16];
		snprintf(name, sizeof(name), "%.*s", (int)vl - 1, var);
		return getenv(name);
	}
	for (char **p = env; *p != NULL; p++)
		if (strncmp(*p, var, vl) == 0)
			return *p + vl;
	return NULL;
}

/* Whether two environments declare the same media. */
static int
same_media(char **a, char **b)
{
	for (int v = 0; v < 3; v++) {
		const char *x = env_get(a, media_vars[v]);
		const char *y = env_get(b, media_vars[v]);
		if ((x == NULL) != (y == NULL) || (x != NULL && strcmp(x, y) != 0))
			return 0;
	}
	return 1;
}

/* In a child: free the blocks of key in the media env declares. */
static void
free_in(char **env, const char *key, size_t ks, int gid)
{
	pid_t pid = fork();
	if (pid != 0) {
		while (pid > 0 && waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return;
	}
	alarm(10);
	for (int v = 0; env != NULL && v < 3; v++) {
		char name[16];
		const char *val = env_get(env, media_vars[v]);
		snprintf(name, sizeof(name), "%.*s",
				(int)strlen(media_vars[v]) - 1, media_vars[v]);
		if (val != NULL)
			setenv(name, val, 1);
		else
			unsetenv(name);
	}
	int rc = pmm__free_all(key, ks, PMM__F_SYSTEM);
	if (rc != K_OK && rc != K_EUNKNOWN)
		fprintf(stderr, "hrctl: group %d: cannot free its blocks: %s\n",
				gid, pmmErrorMsg());
	_exit(0);
}

/* Free the HR_GROUP_KEY blocks of g in every medium its members used:
 * the controller's, and those each member's environment (PMM_DIR,
 * PMM_CONF, PMM_TUNABLES) declares, each in a child of its own so that
 * the controller never holds a bank open. */
void
free_group_keys(struct ctl *c, struct group *g)
{
	char key[48];
	int kn = snprintf(key, sizeof(key), PMM__HRG_PREFIX "%d", g->id);
	char **seen[64];
	int n = 0;
	seen[n++] = NULL;
	free_in(NULL, key, (size_t)kn + 1, g->id);
	for (struct member *m = c->members; m != NULL; m = m->next) {
		if (m->gid != g->id)
			continue;
		int dup = 0;
		for (int i = 0; i < n && !dup; i++)
			dup = same_media(seen[i], m->envp);
		if (dup || n == 64)
			continue;
		seen[n++] = m->envp;
		free_in(m->envp, key, (size_t)kn + 1, g->id);
	}
}
