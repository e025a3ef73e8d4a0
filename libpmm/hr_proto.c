/*
 * hr_proto.c -- encoding, sending and receiving controller messages.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hr_proto.h"
#include "pmm.h"

/* The RAM bank's directory: PMM_DIR or /dev/shm/pmm-UID. */
int
hr__dir(char *buf, size_t len)
{
	const char *dir = pmm__env(PMM__ENV_DIR);
	int n = (dir != NULL && *dir != 0) ? snprintf(buf, len, "%s", dir) :
		snprintf(buf, len, "/dev/shm/pmm-%u", (unsigned)geteuid());
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (mkdir(buf, 0700) != 0 && errno != EEXIST)
		return -1;
	return 0;
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

/* The controller socket's path. */
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
	if (hr__dir(dir, sizeof(dir)) != 0)
		return -1;
	if ((size_t)snprintf(buf, len, "%s/hrctl.sock", dir) >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Send a header, its strings and descriptors as one datagram. */
int
hr__send(int sock, const struct hr__hdr *h, const char *const *strs,
		unsigned nstr, const int *fds, int nfds)
{
	size_t len = 0;
	for (unsigned i = 0; i < nstr; i++)
		len += strlen(strs[i]) + 1;
	if (len > HR__MAXMSG - sizeof(*h)) {
		errno = E2BIG;
		return -1;
	}
	char *buf = malloc(sizeof(*h) + len);
	if (buf == NULL)
		return -1;
	struct hr__hdr hh = *h;
	hh.nstr = nstr;
	hh.len = (uint32_t)len;
	memcpy(buf, &hh, sizeof(hh));
	char *p = buf + sizeof(hh);
	for (unsigned i = 0; i < nstr; i++) {
		size_t l = strlen(strs[i]) + 1;
		memcpy(p, strs[i], l);
		p += l;
	}
	struct iovec iov = { buf, sizeof(hh) + len };
	union {
		char b[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (nfds > 0) {
		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.b;
		msg.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
	}
	ssize_t n;
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	int err = errno;
	free(buf);
	errno = err;
	return n < 0 ? -1 : 0;
}

/* Receive and decode one datagram. */
int
hr__recv(int sock, struct hr__msg *m)
{
	memset(m, 0, sizeof(*m));
	m->buf = malloc(HR__MAXMSG);
	if (m->buf == NULL)
		return -1;
	struct iovec iov = { m->buf, HR__MAXMSG };
	union {
		char b[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) };
	ssize_t n;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		free(m->buf);
		m->buf = NULL;
		return n == 0 ? 0 : -1;
	}
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL;
			c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (int i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (m->nfds < 3)
				m->fds[m->nfds++] = fd;
			else
				close(fd);
		}
	}
	if ((size_t)n < sizeof(m->h) || (msg.msg_flags & MSG_TRUNC))
		goto bad;
	memcpy(&m->h, m->buf, sizeof(m->h));
	if (m->h.len != (size_t)n - sizeof(m->h) || m->h.nstr > m->h.len ||
			(uint64_t)m->h.nargv + m->h.nenv > m->h.nstr)
		goto bad;
	m->str = calloc(m->h.nstr + 1, sizeof(char *));
	if (m->str == NULL)
		goto bad;
	char *p = m->buf + sizeof(m->h), *end = m->buf + n;
	for (uint32_t i = 0; i < m->h.nstr; i++) {
		char *z = memchr(p, 0, (size_t)(end - p));
		if (z == NULL)
			goto bad;
		m->str[i] = p;
		p = z + 1;
	}
	return 1;
bad:
	hr__msg_free(m);
	errno = EPROTO;
	return -1;
}

/* Release a received message (and any descriptors it still holds). */
void
hr__msg_free(struct hr__msg *m)
{
	for (int i = 0; i < m->nfds; i++)
		if (m->fds[i] >= 0)
			close(m->fds[i]);
	m->nfds = 0;
	free(m->str);
	free(m->buf);
	m->str = NULL;
	m->buf = NULL;
}

/* Connect to the running controller. */
int
hr__connect(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (hr__sock_path(a.sun_path, sizeof(a.sun_path)) != 0)
		return -1;
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
		int err = errno;
		close(s);
		errno = err;
		return -1;
	}
	return s;
}

/* Send a request to the controller and wait for its reply. */
int
hr__call(const struct hr__hdr *h, const char *const *strs, unsigned nstr,
		const int *fds, int nfds, struct hr__msg *reply)
{
	int s = hr__connect();
	if (s < 0)
		return -1;
	int rc = hr__send(s, h, strs, nstr, fds, nfds);
	if (rc == 0) {
		rc = hr__recv(s, reply);
		if (rc == 0) {
			errno = ECONNRESET;
			rc = -1;
		} else if (rc == 1) {
			rc = 0;
		}
	}
	int err = errno;
	close(s);
	errno = err;
	return rc;
}
