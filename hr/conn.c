/*
 * conn.c -- finding and trusting the controller: its directory, its
 * socket, the credentials of the process at the other end, and the
 * request-reply exchange the clients make.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"
#include "pmm.h"

/* The controller's directory, opened and trusted (see proto.h). */
int
hr__dir_open(char *buf, size_t len, int create)
{
	const char *dir = pmm__env(PMM__ENV_DIR);
	int n = (dir != NULL && *dir != 0) ? snprintf(buf, len, "%s", dir) :
		snprintf(buf, len, "/dev/shm/pmm-%u", (unsigned)geteuid());
	if (n < 0 || (size_t)n >= len) {
		pmm__fail(K_EINVAL, "controller directory name too long");
		errno = ENAMETOOLONG;
		return -1;
	}
	if (create && mkdir(buf, 0700) != 0 && errno != EEXIST) {
		int err = errno;
		pmm__fail_errno(K_ESYS, "cannot create %s", buf);
		errno = err;
		return -1;
	}
	int fd = open(buf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		if (err == ELOOP || err == ENOTDIR) {
			pmm__fail(K_ESYS, "%s is not a directory (a symbolic link?): refused",
					buf);
			err = EACCES;
		} else {
			pmm__fail_errno(K_ESYS, "cannot open %s", buf);
		}
		errno = err;
		return -1;
	}
	/* the bank directory's strict rule, whatever its name */
	if (pmm__trust_dir(fd, buf, 1) != K_OK) {
		close(fd);
		errno = EACCES;
		return -1;
	}
	return fd;
}

/* Resolve file like execvp: through PATH when it has no '/'. */
int
hr__resolve(const char *file, int use_path, char *out)
{
	if (!use_path || strchr(file, '/') != NULL) {
		if (realpath(file, out) == NULL)
			return -1;
		return access(out, X_OK);
	}
	const char *path = pmm__env(PMM__ENV_PATH);
	if (path == NULL)
		path = "/bin:/usr/bin";
	int err = ENOENT;
	for (const char *p = path; *p != 0;) {
		const char *e = strchrnul(p, ':');
		char cand[PATH_MAX];
		int n = snprintf(cand, sizeof(cand), "%.*s/%s", (int)(e - p),
				e == p ? "." : p, file);
		if (n > 0 && (size_t)n < sizeof(cand) &&
				access(cand, X_OK) == 0 &&
				realpath(cand, out) != NULL)
			return 0;
		if (errno == EACCES)
			err = EACCES;
		p = *e ? e + 1 : e;
	}
	errno = err;
	return -1;
}

/* The controller socket's path; without HRCTL_SOCK, in the trusted
 * directory (checked now). */
int
hr__sock_path(char *buf, size_t len)
{
	const char *s = pmm__env(PMM__ENV_HRCTL_SOCK);
	if (s != NULL && *s != 0) {
		if ((size_t)snprintf(buf, len, "%s", s) >= len) {
			errno = ENAMETOOLONG;
			return -1;
		}
		return 0;
	}
	char dir[PATH_MAX];
	int fd = hr__dir_open(dir, sizeof(dir), 0);
	if (fd < 0)
		return -1;
	close(fd);
	if ((size_t)snprintf(buf, len, "%s/hrctl.sock", dir) >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Whether the process at the other end of s runs as this user. */
int
hr__peer_ok(int s, pid_t *pid, uid_t *uid)
{
	struct ucred cr;
	socklen_t l = sizeof(cr);
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &l) != 0)
		return 0;
	if (pid != NULL)
		*pid = cr.pid;
	if (uid != NULL)
		*uid = cr.uid;
	return cr.uid == geteuid();
}

/* Connect to the running controller, and check who it is before
 * anything is sent: another user's server gets nothing. */
int
hr__connect(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (hr__sock_path(a.sun_path, sizeof(a.sun_path)) != 0) {
		if (errno == ENOENT)
			pmm__fail(K_ESYS, "no controller running");
		return -1;
	}
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	/* a stalled controller's backlog fills up, and then connect
	 * waits for an accept that never comes: bound it (and send) */
	struct timeval tv = { .tv_sec = HR__CALL_MS / 1000,
		.tv_usec = HR__CALL_MS % 1000 * 1000 };
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
		int err = errno;
		if (err == ENOENT || err == ECONNREFUSED)
			pmm__fail(K_ESYS, "no controller running");
		else if (err == EAGAIN)
			pmm__fail(K_ESYS, "the controller at %s accepted no connection in %d s (stalled?)",
					a.sun_path, HR__CALL_MS / 1000);
		else
			pmm__fail_errno(K_ESYS, "cannot reach the controller at %s",
					a.sun_path);
		close(s);
		errno = err == EAGAIN ? ETIMEDOUT : err;
		return -1;
	}
	uid_t uid = 0;
	if (!hr__peer_ok(s, NULL, &uid)) {
		pmm__fail(K_ESYS, "the controller at %s runs as uid %u, not as this user (uid %u): refused",
				a.sun_path, (unsigned)uid, (unsigned)geteuid());
		close(s);
		errno = EACCES;
		return -1;
	}
	return s;
}

/* Join the pieces of a long reply: r holds the last, text the rest. */
static int
join(struct hr__msg *r, char *text, size_t tlen)
{
	size_t more = r->h.nstr > 0 ? strlen(r->str[0]) : 0;
	char *all = realloc(text, tlen + more + 1);
	char **str = calloc(2, sizeof(char *));
	if (all == NULL || str == NULL) {
		free(all != NULL ? all : text);
		free(str);
		hr__msg_free(r);
		errno = ENOMEM;
		return -1;
	}
	memcpy(all + tlen, more > 0 ? r->str[0] : "", more + 1);
	free(r->str);
	free(r->buf);
	r->buf = all;
	r->str = str;
	str[0] = all;
	r->h.nstr = 1;
	r->h.len = (uint32_t)(tlen + more + 1);
	return 0;
}

/* Milliseconds of CLOCK_MONOTONIC. */
static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until the controller's next message (or its close) can be read,
 * at the latest at deadline (ms); else -1 with ETIMEDOUT and a message.
 * Without it, a controller that accepts and never answers (stalled, or
 * stopped) would hold its client, a member's HR_EXIT_HDL for one, for
 * ever. */
static int
await_reply(int s, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { s, POLLIN, 0 };
		int64_t left = deadline - now_ms();
		int n = left > 0 ? poll(&p, 1, (int)left) : 0;
		if (n > 0)
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			pmm__fail(K_ESYS, "the controller did not answer in %d s (stalled?)",
					HR__CALL_MS / 1000);
			errno = ETIMEDOUT;
		}
		return -1;
	}
}

/* Send a request to the controller and wait for its reply, at most
 * HR__CALL_MS from the request for all of it. */
int
hr__call(const struct hr__hdr *h, const char *const *strs, unsigned nstr,
		const int *fds, int nfds, struct hr__msg *reply)
{
	int s = hr__connect();
	if (s < 0)
		return -1;
	char *text = NULL;
	size_t tlen = 0;
	int rc = hr__send(s, h, strs, nstr, fds, nfds);
	int64_t deadline = now_ms() + HR__CALL_MS;
	while (rc == 0) {
		rc = await_reply(s, deadline);
		if (rc == 0)
			rc = hr__recv(s, reply, 0);
		if (rc == 0) {
			errno = ECONNRESET;
			rc = -1;
			break;
		}
		if (rc < 0)
			break;
		rc = 0;
		if (!(reply->h.flags & HR__F_MORE))
			break;
		size_t l = reply->h.nstr > 0 ? strlen(reply->str[0]) : 0;
		char *t = realloc(text, tlen + l + 1);
		if (t == NULL) {
			hr__msg_free(reply);
			rc = -1;
			break;
		}
		text = t;
		if (l > 0)
			memcpy(text + tlen, reply->str[0], l);
		tlen += l;
		hr__msg_free(reply);
	}
	if (rc == 0 && text != NULL)
		rc = join(reply, text, tlen);
	else if (rc != 0)
		free(text);
	int err = errno;
	close(s);
	errno = err;
	return rc;
}
