/*
 * proto.c -- encoding, sending and receiving controller messages.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto.h"

/* The bytes strs take in a message (each with its NUL). */
size_t
hr__strs_size(const char *const *strs, unsigned nstr)
{
	size_t len = 0;
	for (unsigned i = 0; i < nstr; i++)
		len += strlen(strs[i]) + 1;
	return len;
}

/* Encode a header and its strings into one malloc'd datagram. */
char *
hr__encode(const struct hr__hdr *h, const char *const *strs, unsigned nstr,
		size_t *lenp)
{
	size_t len = hr__strs_size(strs, nstr);
	if (len > HR__MAXMSG - sizeof(*h)) {
		errno = E2BIG;
		return NULL;
	}
	char *buf = malloc(sizeof(*h) + len);
	if (buf == NULL)
		return NULL;
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
	*lenp = sizeof(hh) + len;
	return buf;
}

/* Send a header, its strings and descriptors as one datagram. */
int
hr__send(int sock, const struct hr__hdr *h, const char *const *strs,
		unsigned nstr, const int *fds, int nfds)
{
	size_t len;
	char *buf = hr__encode(h, strs, nstr, &len);
	if (buf == NULL)
		return -1;
	struct iovec iov = { buf, len };
	union {
		char b[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (nfds > 0 && nfds <= 3) {
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

/* Keep up to 3 passed descriptors in m, close any others. */
static void
take_fds(struct msghdr *msg, struct hr__msg *m)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL;
			c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
				c->cmsg_len < CMSG_LEN(0))
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (m->nfds < 3)
				m->fds[m->nfds++] = fd;
			else
				close(fd);
		}
	}
}

/* Receive and decode one datagram; every count and length is checked
 * against the bytes received before anything is indexed with it. */
int
hr__recv(int sock, struct hr__msg *m, int flags)
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
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | flags);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		free(m->buf);
		m->buf = NULL;
		return n == 0 ? 0 : -1;
	}
	take_fds(&msg, m);
	if ((size_t)n < sizeof(m->h) ||
			(msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		goto bad;
	memcpy(&m->h, m->buf, sizeof(m->h));
	if (m->h.len != (size_t)n - sizeof(m->h) || m->h.nstr > m->h.len ||
			(uint64_t)m->h.nargv + m->h.nenv > m->h.nstr)
		goto bad;
	m->str = calloc((size_t)m->h.nstr + 1, sizeof(char *));
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
	if (p != end)
		goto bad;
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
