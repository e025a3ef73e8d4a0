/*
 * loop.c -- the controller's event loop: one poll over the listening
 * socket, the signals (child exits through a signalfd), the badness
 * timer and every client, so that nothing waits on a client.  Each
 * client is non-blocking, has its own queue of replies and a deadline
 * (HR__CLIENT_MS) for its whole exchange; a client of another user is
 * closed as soon as it connects.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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
#include <time.h>
#include <unistd.h>

#include "ctl.h"

struct out {
	char *buf;
	size_t len;
	struct out *next;
};

struct client {
	int fd;
	pid_t pid;
	int64_t deadline;
	int served;		/* its request is answered: close once sent */
	struct out *q, **qtail;
	struct client *next;
};

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t
ctl_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Queue a message for cl. */
void
client_send(struct client *cl, const struct hr__hdr *h,
		const char *const *strs, unsigned nstr)
{
	struct out *o = calloc(1, sizeof(*o));
	if (o == NULL || (o->buf = hr__encode(h, strs, nstr, &o->len)) == NULL) {
		free(o);
		return;
	}
	*cl->qtail = o;
	cl->qtail = &o->next;
}

/* Send what cl can take now; -1 if it is gone. */
static int
client_flush(struct client *cl)
{
	while (cl->q != NULL) {
		struct out *o = cl->q;
		ssize_t n = send(cl->fd, o->buf, o->len,
				MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		cl->q = o->next;
		if (cl->q == NULL)
			cl->qtail = &cl->q;
		free(o->buf);
		free(o);
	}
	return 0;
}

/* Close client cl and forget it. */
void
ctl_drop_client(struct ctl *c, struct client *cl)
{
	for (struct client **p = &c->clients; *p != NULL; p = &(*p)->next)
		if (*p == cl) {
			*p = cl->next;
			break;
		}
	while (cl->q != NULL) {
		struct out *o = cl->q;
		cl->q = o->next;
		free(o->buf);
		free(o);
	}
	close(cl->fd);
	free(cl);
	c->nclients--;
}

/* Take the connections waiting, as many as there is room for. */
static void
accept_clients(struct ctl *c)
{
	while (c->nclients < HR__MAXCLIENTS) {
		int s = accept4(c->lsock, NULL, NULL,
				SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (s < 0)
			return;
		pid_t pid = 0;
		struct client *cl = NULL;
		if (!hr__peer_ok(s, &pid, NULL) ||
				(cl = calloc(1, sizeof(*cl))) == NULL) {
			close(s);	/* another user's: not a word */
			continue;
		}
		cl->fd = s;
		cl->pid = pid;
		cl->deadline = ctl_now() + HR__CLIENT_MS;
		cl->qtail = &cl->q;
		cl->next = c->clients;
		c->clients = cl;
		c->nclients++;
	}
}

/* Read and serve the request of cl, if it has come. */
static void
client_read(struct ctl *c, struct client *cl)
{
	struct hr__msg q;
	int rc = hr__recv(cl->fd, &q, MSG_DONTWAIT);
	if (rc < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	cl->served = 1;
	if (rc == 0)
		return;
	if (rc < 0) {
		struct hr__hdr h = { .op = HR__REPLY, .status = -EPROTO };
		const char *why = "malformed request";
		client_send(cl, &h, &why, 1);
		return;
	}
	serve(c, cl, &q, cl->pid);
	hr__msg_free(&q);
}

/* One pass over the clients after poll: read, write, expire. */
static void
clients_run(struct ctl *c, struct pollfd *p, int n, int64_t now)
{
	for (int i = 0; i < n; i++) {
		struct client *cl;
		for (cl = c->clients; cl != NULL && cl->fd != p[i].fd;
				cl = cl->next)
			;
		if (cl == NULL)
			continue;
		if (!cl->served && (p[i].revents & (POLLIN | POLLHUP | POLLERR)))
			client_read(c, cl);
		int gone = (p[i].revents & POLLERR) || client_flush(cl) != 0 ||
			(cl->served && cl->q == NULL) || now >= cl->deadline;
		if (gone)
			ctl_drop_client(c, cl);
	}
}

/* The signals: stop on SIGINT/SIGTERM/SIGHUP, reap on SIGCHLD. */
static void
signals(struct ctl *c, int *stop_signal)
{
	struct signalfd_siginfo si;
	int chld = 0;
	while (read(c->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			chld = 1;
		} else if (!c->stopping) {
			c->stopping = 1;
			*stop_signal = (int)si.ssi_signo;
			for (struct group *g = c->groups, *n; g != NULL; g = n) {
				n = g->next;
				group_stop(c, g, G_KILLING);
			}
		}
	}
	if (chld)
		reap(c);
}

/* The badness timer: one less per interval elapsed. */
static void
tick(struct ctl *c)
{
	uint64_t ticks;
	if (read(c->timerfd, &ticks, sizeof(ticks)) != (ssize_t)sizeof(ticks))
		return;
	for (struct group *g = c->groups; g != NULL; g = g->next)
		g->badness = g->badness > (int)ticks ? g->badness - (int)ticks : 0;
	c->dirty = 1;
	sweep(c, 0);
}

/* Whether the loop is over. */
static int
finished(struct ctl *c)
{
	if (c->embedded_gid != -1 && c->embedded_done && c->groups == NULL)
		return 1;
	return c->stopping && c->groups == NULL;
}

/* Serve until told to stop or, embedded, until every group has ended. */
int
ctl_loop(struct ctl *c)
{
	int stop_signal = 0;
	struct pollfd *p = calloc(HR__MAXCLIENTS + 3, sizeof(*p));
	if (p == NULL)
		return 1;
	while (!c->quit && !finished(c)) {
		int64_t now = ctl_now(), next = -1;
		groups_due(c, now, &next);
		if (c->dirty && reg_save(c) != 0)
			fprintf(stderr, "hrctl: %s\n", c->regerr);
		c->dirty = 0;
		if (finished(c))
			break;
		int n = 0;
		p[n++] = (struct pollfd){ c->sigfd, POLLIN, 0 };
		p[n++] = (struct pollfd){ c->timerfd, POLLIN, 0 };
		p[n++] = (struct pollfd){ c->nclients < HR__MAXCLIENTS ?
			c->lsock : -1, POLLIN, 0 };
		for (struct client *cl = c->clients; cl != NULL; cl = cl->next) {
			p[n++] = (struct pollfd){ cl->fd, (short)((cl->served ?
					0 : POLLIN) | (cl->q ? POLLOUT : 0)), 0 };
			if (next < 0 || cl->deadline < next)
				next = cl->deadline;
		}
		int timeout = next < 0 ? -1 : next <= now ? 0 :
			(int)(next - now);
		if (poll(p, (nfds_t)n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			perror("hrctl: poll");
			break;
		}
		if (p[0].revents & POLLIN)
			signals(c, &stop_signal);
		if (p[1].revents & POLLIN)
			tick(c);
		if (p[2].revents & POLLIN)
			accept_clients(c);
		clients_run(c, p + 3, n - 3, ctl_now());
	}
	free(p);
	if (c->dirty && reg_save(c) != 0)
		fprintf(stderr, "hrctl: %s\n", c->regerr);
	reap_all(c);
	/* stopped by a signal: say which, whatever the groups' ends said */
	return c->stopping ? 128 + stop_signal : c->embedded_status;
}
