/*
 * cgroup.c -- a cgroup per group, where the controller may make one.
 *
 * Where a cgroup v2 hierarchy is mounted and the controller may create
 * cgroups under its own (as root, or in a subtree delegated to its
 * user), every member joins its group's cgroup before it execs, and
 * whatever it starts stays there, whatever it does (a new session, a
 * cleared environment, a double fork): a group's stop kills the cgroup
 * whole (cgroup.kill).  Elsewhere nothing changes: the process group,
 * the subreaper and the inherited HRCTL_GROUP/HRCTL_GEN do it
 * (reaper.c), which a descendant that leaves its process group and
 * clears its environment escapes until the controller stops.
 *
 * The cgroups are hrctl.DEV.INO/gID under the controller's own cgroup,
 * DEV.INO naming the controller directory: a controller that takes over
 * from a dead one finds, and kills, what that one left there.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"

/* The mount point of the cgroup v2 hierarchy, into out; -1 if none. */
static int
v2_mount(char *out, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (f == NULL)
		return -1;
	char line[4096];
	int rc = -1;
	while (rc != 0 && fgets(line, sizeof(line), f) != NULL) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS... - FSTYPE SRC OPTS */
		char *sep = strstr(line, " - ");
		char root[PATH_MAX], mnt[PATH_MAX];
		if (sep == NULL || strncmp(sep + 3, "cgroup2 ", 8) != 0 ||
				sscanf(line, "%*s %*s %*s %4095s %4095s", root,
					mnt) != 2 || strcmp(root, "/") != 0 ||
				strchr(mnt, '\\') != NULL)
			continue;
		if ((size_t)snprintf(out, len, "%s", mnt) < len)
			rc = 0;
	}
	fclose(f);
	return rc;
}

/* This process's cgroup v2 path ("0::PATH"), into out; -1 if none. */
static int
own_cgroup(char *out, size_t len)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	if (f == NULL)
		return -1;
	char line[PATH_MAX + 8];
	int rc = -1;
	while (rc != 0 && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "0::/", 4) == 0) {
			line[strcspn(line, "\n")] = 0;
			if ((size_t)snprintf(out, len, "%s", line + 3) < len)
				rc = 0;
		}
	fclose(f);
	return rc;
}

/* Make (or find) the controller's cgroup; c->cgfd, or -1 with the
 * reason in c->cgwhy. */
void
cg_open(struct ctl *c)
{
	char mnt[PATH_MAX], own[PATH_MAX], path[PATH_MAX * 2 + 64];
	struct stat st;
	c->cgfd = -1;
	if (v2_mount(mnt, sizeof(mnt)) != 0) {
		snprintf(c->cgwhy, sizeof(c->cgwhy), "no cgroup v2 hierarchy");
		return;
	}
	if (own_cgroup(own, sizeof(own)) != 0 || fstat(c->dirfd, &st) != 0) {
		snprintf(c->cgwhy, sizeof(c->cgwhy), "no cgroup v2 path");
		return;
	}
	snprintf(path, sizeof(path), "%s%s/hrctl.%llx.%llx", mnt,
			strcmp(own, "/") == 0 ? "" : own,
			(unsigned long long)st.st_dev,
			(unsigned long long)st.st_ino);
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		snprintf(c->cgwhy, sizeof(c->cgwhy), "cannot make %.150s: %s",
				path, strerror(errno));
		return;
	}
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0 || st.st_uid != geteuid() ||
			faccessat(fd, "cgroup.procs", W_OK, AT_EACCESS) != 0) {
		snprintf(c->cgwhy, sizeof(c->cgwhy),
				"%.150s is not this user's to use", path);
		if (fd >= 0)
			close(fd);
		return;
	}
	c->cgfd = fd;
	c->cgwhy[0] = 0;
}

/* A descriptor of group gid's cgroup.procs (the cgroup made if need
 * be), for a new member to write "0" to; -1 without cgroups. */
int
cg_procs_fd(struct ctl *c, int gid)
{
	if (c->cgfd < 0)
		return -1;
	char name[64];
	snprintf(name, sizeof(name), "g%d", gid);
	if (mkdirat(c->cgfd, name, 0700) != 0 && errno != EEXIST)
		return -1;
	snprintf(name, sizeof(name), "g%d/cgroup.procs", gid);
	return openat(c->cgfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
}

/* Kill every process in cgroup name (under ours): cgroup.kill, or one
 * by one where the kernel has none (before 5.14). */
static void
kill_named(struct ctl *c, const char *name)
{
	char path[96];
	snprintf(path, sizeof(path), "%s/cgroup.kill", name);
	int fd = openat(c->cgfd, path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t w = write(fd, "1", 1);
		close(fd);
		if (w == 1)
			return;
	}
	snprintf(path, sizeof(path), "%s/cgroup.procs", name);
	fd = openat(c->cgfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (f == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	long pid;
	while (fscanf(f, "%ld", &pid) == 1)
		if (pid > 0 && pid != getpid())
			kill((pid_t)pid, SIGKILL);
	fclose(f);
}

/* Kill whatever runs in group gid's cgroup. */
void
cg_kill(struct ctl *c, int gid)
{
	if (c->cgfd < 0)
		return;
	char name[32];
	snprintf(name, sizeof(name), "g%d", gid);
	kill_named(c, name);
}

/* Remove group gid's cgroup once it is empty (no harm if it is not). */
void
cg_remove(struct ctl *c, int gid)
{
	if (c->cgfd < 0)
		return;
	char name[32];
	snprintf(name, sizeof(name), "g%d", gid);
	unlinkat(c->cgfd, name, AT_REMOVEDIR);
}

/* Kill what runs in every group's cgroup (a dead controller's too);
 * with remove, then remove them all and the controller's own, waiting
 * at most 1 s for the killed to go. */
void
cg_kill_all(struct ctl *c, int remove)
{
	if (c->cgfd < 0)
		return;
	int fd = dup(c->cgfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] == 'g' && e->d_type == DT_DIR)
			kill_named(c, e->d_name);
	for (int i = 0, left = remove; i < 1000 && left; i++) {
		left = 0;
		rewinddir(d);
		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] == 'g' && e->d_type == DT_DIR &&
					unlinkat(c->cgfd, e->d_name,
						AT_REMOVEDIR) != 0)
				left = 1;
		if (left)
			usleep(1000);
	}
	closedir(d);
	if (remove) {
		/* our own, by the name it has under its parent */
		char self[64];
		struct stat st;
		if (fstat(c->dirfd, &st) == 0) {
			snprintf(self, sizeof(self), "../hrctl.%llx.%llx",
					(unsigned long long)st.st_dev,
					(unsigned long long)st.st_ino);
			unlinkat(c->cgfd, self, AT_REMOVEDIR);
		}
		close(c->cgfd);
		c->cgfd = -1;
	}
}
