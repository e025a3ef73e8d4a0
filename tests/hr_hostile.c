/*
 * hr_hostile -- clients that try to stall a hot restart controller, for
 * tests/hr-hostile.sh, tests/hr-soak.sh and bench/hr-bench --hostile.
 * It knows nothing of the protocol: the bytes it sends are a real
 * request that `record` captured from hrctl.
 *
 *   hr_hostile record SOCK FAKE FILE
 *        listen on the path FAKE with the socket type of the controller
 *        at SOCK; accept one client (hrctl run with HRCTL_SOCK=FAKE) and
 *        save what it sends into FILE (at most 10 s, done after 300 ms of
 *        quiet or when the client closes)
 *   hr_hostile attack SOCK [OPTION...]
 *        --silent N    N clients that connect and send nothing
 *        --slow N      N clients that send the request one byte a second
 *        --many N      N clients that send half the request and hold
 *        --deaf N      N clients that send the whole request and never
 *                      read the reply
 *        --request F   the request (from record; default: "x" bytes)
 *        --ready F     create file F once every client has connected
 *        --for S       stop after S seconds (default: until SIGTERM)
 *      A client the controller drops connects again 100 ms later; so
 *      does one that could not connect (no controller, for instance).
 *      At the end it prints its counts on standard output and exits 0.
 *   hr_hostile ask SOCK FILE
 *        one client: connect, send the request in FILE (from record)
 *        whole, and copy what comes back to standard output until the
 *        controller closes the connection; exits 0 once it is closed, 3
 *        if it is still open after 10 s (tests/hr-peer.sh sends it as
 *        another user)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAXCLIENTS 1000

enum kind { SILENT, SLOW, MANY, DEAF };

struct client {
	enum kind kind;
	int fd;			/* -1: not connected */
	size_t sent;		/* bytes of the request sent */
	int64_t next;		/* ms: when to act (connect, or send a byte) */
};

static struct client cl[MAXCLIENTS];
static unsigned ncl;
static char req[65536] = "xxxxxxxxxxxxxxxx";
static size_t reqlen = 16;
static struct sockaddr_un addr;
static int socktype = SOCK_STREAM;
static volatile sig_atomic_t stop;
static unsigned long connects, refused, dropped, bytes;

/* Milliseconds of CLOCK_MONOTONIC. */
static int64_t
now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Print why, and exit 2. */
static void
die(const char *what)
{
	fprintf(stderr, "hr_hostile: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* Fill addr with path; exit if it does not fit. */
static void
set_addr(const char *path)
{
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "hr_hostile: socket path too long: %s\n", path);
		exit(2);
	}
	strcpy(addr.sun_path, path);
}

/* A non-blocking connection to addr of the known type, or -1. */
static int
dial(int type)
{
	int fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 &&
			errno != EINPROGRESS && errno != EAGAIN) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Learn the controller's socket type: stream, else seqpacket. */
static void
probe_type(void)
{
	int fd = dial(SOCK_STREAM);
	if (fd < 0 && errno == EPROTOTYPE)
		fd = dial(socktype = SOCK_SEQPACKET);
	if (fd < 0)
		die(addr.sun_path);
	close(fd);
}

/* record SOCK FAKE FILE */
static int
record(char **argv)
{
	set_addr(argv[0]);
	probe_type();
	set_addr(argv[1]);
	int l = socket(AF_UNIX, socktype | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
			listen(l, 1) != 0)
		die(argv[1]);
	struct pollfd p = { l, POLLIN, 0 };
	if (poll(&p, 1, 10000) != 1) {
		fprintf(stderr, "hr_hostile: no client came to %s\n", argv[1]);
		return 2;
	}
	int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		die("accept");
	size_t n = 0;
	int64_t end = now_ms() + 10000;
	p.fd = c;
	while (n < sizeof(req) && poll(&p, 1, 300) == 1 && now_ms() < end) {
		ssize_t r = recv(c, req + n, sizeof(req) - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	FILE *f = fopen(argv[2], "we");
	if (f == NULL || fwrite(req, 1, n, f) != n || fclose(f) != 0)
		die(argv[2]);
	unlink(argv[1]);
	printf("hr_hostile: recorded %zu bytes (%s)\n", n,
			socktype == SOCK_STREAM ? "stream" : "seqpacket");
	return n > 0 ? 0 : 1;
}

/* Read the request file. */
static void
load(const char *path)
{
	FILE *f = fopen(path, "re");
	if (f == NULL)
		die(path);
	size_t n = fread(req, 1, sizeof(req), f);
	fclose(f);
	if (n > 0)
		reqlen = n;
}

/* Send what client c sends now; 0, or -1 if the peer is gone. */
static int
feed(struct client *c, int64_t t)
{
	size_t want = 0;
	switch (c->kind) {
	case SILENT: return 0;
	case SLOW: want = c->sent < reqlen ? 1 : 0; break;
	case MANY: want = c->sent < reqlen / 2 + 1 ? reqlen / 2 + 1 - c->sent : 0;
		break;
	case DEAF: want = reqlen - c->sent; break;
	}
	if (c->kind == SLOW && t < c->next)
		return 0;
	if (want > reqlen - c->sent)
		want = reqlen - c->sent;
	if (want == 0)
		return 0;
	ssize_t r = send(c->fd, req + c->sent, want, MSG_NOSIGNAL);
	if (r < 0)
		return errno == EAGAIN ? 0 : -1;
	c->sent += (size_t)r;
	bytes += (unsigned long)r;
	if (c->kind == SLOW)
		c->next = t + 1000;
	/* a slow client whose request is complete starts another */
	if (c->kind == SLOW && c->sent == reqlen)
		return -1;
	return 0;
}

/* Take down client c; it connects again in 100 ms. */
static void
hang_up(struct client *c, int64_t t)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->sent = 0;
	c->next = t + 100;
}

/* Connect client c if it is time to. */
static void
redial(struct client *c, int64_t t)
{
	if (c->fd >= 0 || t < c->next)
		return;
	c->fd = dial(socktype);
	if (c->fd < 0) {
		refused++;
		c->next = t + 100;
		return;
	}
	connects++;
	/* a slow client's first byte comes a second after it connects */
	c->next = c->kind == SLOW ? t + 1000 : t;
}

/* A peer that closed, or data the deaf client must not read: true if
 * the client's connection is over. */
static int
gone(struct client *c, short revents)
{
	if (revents & (POLLHUP | POLLERR))
		return 1;
	if (!(revents & POLLIN) || c->kind == DEAF)
		return 0;
	char buf[4096];
	ssize_t r = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
	return r == 0 || (r < 0 && errno != EAGAIN);
}

/* Add n clients of a kind. */
static void
add(enum kind k, const char *n)
{
	long v = strtol(n, NULL, 10);
	for (long i = 0; i < v && ncl < MAXCLIENTS; i++) {
		cl[ncl].kind = k;
		cl[ncl].fd = -1;
		ncl++;
	}
}

/* Stop at the next turn of the loop. */
static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* attack SOCK OPTIONS: the loop over every client. */
static int
attack(int argc, char **argv)
{
	const char *ready = NULL;
	double secs = 0;
	set_addr(argv[0]);
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *o = argv[i], *v = argv[i + 1];
		if (strcmp(o, "--silent") == 0) add(SILENT, v);
		else if (strcmp(o, "--slow") == 0) add(SLOW, v);
		else if (strcmp(o, "--many") == 0) add(MANY, v);
		else if (strcmp(o, "--deaf") == 0) add(DEAF, v);
		else if (strcmp(o, "--request") == 0) load(v);
		else if (strcmp(o, "--ready") == 0) ready = v;
		else if (strcmp(o, "--for") == 0) secs = strtod(v, NULL);
		else {
			fprintf(stderr, "hr_hostile: unknown option %s\n", o);
			return 2;
		}
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	int fd = dial(SOCK_STREAM);
	if (fd < 0 && errno == EPROTOTYPE)
		socktype = SOCK_SEQPACKET;
	if (fd >= 0)
		close(fd);
	int64_t t0 = now_ms(), t = t0;
	static struct pollfd p[MAXCLIENTS];
	while (!stop && (secs <= 0 || t - t0 < (int64_t)(secs * 1000))) {
		for (unsigned i = 0; i < ncl; i++) {
			redial(&cl[i], t);
			if (cl[i].fd >= 0 && feed(&cl[i], t) != 0)
				hang_up(&cl[i], t);
		}
		if (ready != NULL) {
			int f = open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
			if (f >= 0)
				close(f);
			ready = NULL;
		}
		for (unsigned i = 0; i < ncl; i++) {
			p[i].fd = cl[i].fd;
			/* no POLLOUT: what is left to send goes at the
			 * next tick, and a slow client waits anyway */
			p[i].events = POLLIN;
			p[i].revents = 0;
		}
		poll(p, ncl, 50);
		t = now_ms();
		for (unsigned i = 0; i < ncl; i++)
			if (cl[i].fd >= 0 && gone(&cl[i], p[i].revents)) {
				dropped++;
				hang_up(&cl[i], t);
			}
	}
	printf("hr_hostile: %u clients, %lu connects, %lu refused, "
			"%lu dropped by the server, %lu bytes sent\n", ncl,
			connects, refused, dropped, bytes);
	return 0;
}

/* ask SOCK FILE */
static int
ask(char **argv)
{
	set_addr(argv[0]);
	load(argv[1]);
	probe_type();
	int fd = socket(AF_UNIX, socktype | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
		die(argv[0]);
	/* a server that closed at once may refuse the request itself */
	ssize_t s = send(fd, req, reqlen, MSG_NOSIGNAL);
	int errno0 = errno;
	if (s < 0 && errno != EPIPE && errno != ECONNRESET)
		die("send");
	size_t back = 0;
	int64_t end = now_ms() + 10000;
	struct pollfd p = { fd, POLLIN, 0 };
	for (;;) {
		int64_t left = end - now_ms();
		if (left <= 0 || poll(&p, 1, (int)left) != 1) {
			fprintf(stderr, "hr_hostile: %zu bytes back, the connection still open after 10 s\n",
					back);
			return 3;
		}
		char buf[4096];
		ssize_t r = recv(fd, buf, sizeof(buf), 0);
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			break;
		if (r < 0)
			die("recv");
		if (fwrite(buf, 1, (size_t)r, stdout) != (size_t)r)
			die("stdout");
		back += (size_t)r;
	}
	if (s < 0)
		fprintf(stderr, "hr_hostile: the request refused (%s), ", strerror(errno0));
	else
		fprintf(stderr, "hr_hostile: sent %zd of %zu bytes, ", s, reqlen);
	fprintf(stderr, "%zu bytes back, closed by the server\n", back);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "record") == 0)
		return record(argv + 2);
	if (argc >= 3 && strcmp(argv[1], "attack") == 0)
		return attack(argc - 2, argv + 2);
	if (argc == 4 && strcmp(argv[1], "ask") == 0)
		return ask(argv + 2);
	fprintf(stderr, "usage: hr_hostile record SOCK FAKE FILE\n"
			"       hr_hostile attack SOCK [--silent N] [--slow N] "
			"[--many N] [--deaf N]\n"
			"            [--request FILE] [--ready FILE] [--for S]\n"
			"       hr_hostile ask SOCK FILE\n");
	return 2;
}
