/*
 * ctl.c -- becoming the controller and giving the role up: the trusted
 * directory, the lock, the image store, the socket, signals and timer.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"

/* Open (creating it) a private file of this user in the directory,
 * never through a link; -1 with a message if it is anything else. */
int
ctl_open_file(struct ctl *c, const char *name, int flags)
{
	int fd = openat(c->dirfd, name, flags | O_CREAT | O_NOFOLLOW |
			O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
	struct stat st;
	if (fd < 0) {
		fprintf(stderr, "hrctl: %s/%s: %s\n", c->dir, name,
				errno == ELOOP ? "a symbolic link: refused" :
				strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
			st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
		fprintf(stderr, "hrctl: %s/%s is not a private file of this user: refused\n",
				c->dir, name);
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

/* The image store, created if needed, opened and trusted. */
static int
open_images(struct ctl *c)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/hrctl.images", c->dir);
	if (mkdirat(c->dirfd, "hrctl.images", 0700) != 0 && errno != EEXIST) {
		perror("hrctl: image store");
		return -1;
	}
	c->imgfd = openat(c->dirfd, "hrctl.images", O_RDONLY | O_DIRECTORY |
			O_NOFOLLOW | O_CLOEXEC);
	if (c->imgfd < 0) {
		fprintf(stderr, "hrctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (pmm__trust_dir(c->imgfd, path, 1) != K_OK) {
		fprintf(stderr, "hrctl: %s\n", pmmErrorMsg());
		return -1;
	}
	return 0;
}

/* Signals through a descriptor, and the badness timer. */
static int
open_events(struct ctl *c)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	c->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	c->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct itimerspec it = { { (time_t)c->cfg.hr_interval, 0 },
		{ (time_t)c->cfg.hr_interval, 0 } };
	if (c->sigfd < 0 || c->timerfd < 0 ||
			timerfd_settime(c->timerfd, 0, &it, NULL) != 0) {
		perror("hrctl");
		return -1;
	}
	return 0;
}

/* The listening socket, this user's only. */
static int
open_socket(struct ctl *c)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(c->sock) >= sizeof(a.sun_path)) {
		fprintf(stderr, "hrctl: socket path %s too long\n", c->sock);
		return -1;
	}
	strcpy(a.sun_path, c->sock);
	unlinkat(c->dirfd, "hrctl.sock", 0);	/* ours: we hold the lock */
	c->lsock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC |
			SOCK_NONBLOCK, 0);
	mode_t old = umask(077);
	int b = c->lsock < 0 ? -1 : bind(c->lsock, (struct sockaddr *)&a,
			sizeof(a));
	umask(old);
	if (b != 0 || fchmodat(c->dirfd, "hrctl.sock", 0600, 0) != 0 ||
			listen(c->lsock, 128) != 0) {
		perror("hrctl: socket");
		return -1;
	}
	return 0;
}

/* Become the controller.  1 if another controller runs, -1 on error
 * (message on stderr). */
int
ctl_open(struct ctl *c, int embedded)
{
	memset(c, 0, sizeof(*c));
	c->lsock = c->sigfd = c->timerfd = c->lockfd = -1;
	c->dirfd = c->imgfd = c->cgfd = -1;
	c->embedded_gid = embedded ? -2 : -1;
	if (pmm__config_load(&c->cfg) != K_OK) {
		fprintf(stderr, "hrctl: %s\n", pmmErrorMsg());
		return -1;
	}
	c->dirfd = hr__dir_open(c->dir, sizeof(c->dir), 1);
	if (c->dirfd < 0) {
		fprintf(stderr, "hrctl: %s\n", pmmErrorMsg());
		return -1;
	}
	snprintf(c->sock, sizeof(c->sock), "%s/hrctl.sock", c->dir);
	snprintf(c->reg, sizeof(c->reg), "%s/hrctl.reg", c->dir);
	c->lockfd = ctl_open_file(c, "hrctl.lock", O_RDWR);
	if (c->lockfd < 0)
		return -1;
	if (flock(c->lockfd, LOCK_EX | LOCK_NB) != 0) {
		close(c->lockfd);
		c->lockfd = -1;
		return 1;
	}
	/* descendants that leave their member come back to us */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		perror("hrctl: PR_SET_CHILD_SUBREAPER");
	/* and, where we may make cgroups, they cannot leave at all */
	cg_open(c);
	if (open_images(c) != 0 || open_events(c) != 0 || open_socket(c) != 0)
		return -1;
	return 0;
}

/* Take over what a dead controller left: call once output goes where
 * the members' should. */
void
ctl_recover(struct ctl *c)
{
	recover(c);
}

/* Give up the controller role. */
void
ctl_close(struct ctl *c)
{
	while (c->clients != NULL)
		ctl_drop_client(c, c->clients);
	if (c->lsock >= 0) {
		unlinkat(c->dirfd, "hrctl.sock", 0);
		close(c->lsock);
	}
	/* only a controller that took the registry over may remove it: a
	 * start that failed before leaves a dead controller's in place */
	if (c->lockfd >= 0 && c->owner && c->groups == NULL) {
		unlinkat(c->dirfd, "hrctl.reg", 0);
		unlinkat(c->dirfd, "hrctl.images", AT_REMOVEDIR);
	}
	/* the cgroups go with the controller that ran them; a failed start
	 * leaves a dead controller's (and what runs there) alone */
	if (c->owner)
		cg_kill_all(c, 1);
	int fds[] = { c->sigfd, c->timerfd, c->lockfd, c->imgfd, c->cgfd,
		c->dirfd };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	reg_forget(c);
}
