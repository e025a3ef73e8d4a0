/*
 * hrctl -- run and watch ChorusOS-style restartable process groups.
 *
 *   hrctl run -g GROUP [--] PROG [ARGS...]   (the ChorusOS "arun -g")
 *   hrctl daemon [--foreground]
 *   hrctl kill -g GROUP
 *   hrctl status [--json]
 *   hrctl site-restart
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

extern char **environ;

/* The usage summary. */
static void
usage(FILE *f)
{
	fprintf(f,
		"usage: hrctl run -g GROUP [--] PROG [ARGS...]\n"
		"       hrctl daemon [--foreground]\n"
		"       hrctl kill -g GROUP\n"
		"       hrctl status [--json]\n"
		"       hrctl site-restart\n"
		"       hrctl --help | --version\n");
}

/* A group number from 0 to 1000000000, or -1 with a message. */
static int
parse_group(const char *s, int *gid)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || *s == 0 || *end != 0 || v < 0 || v > 1000000000) {
		fprintf(stderr, "hrctl: bad group \"%s\" (a number from 0)\n", s);
		return -1;
	}
	*gid = (int)v;
	return 0;
}

/* Hand a direct member to the running controller. */
static int
hand_over(int gid, const char *path, const char *cwd, char **argv)
{
	unsigned na = 0, ne = 0;
	while (argv[na] != NULL)
		na++;
	while (environ[ne] != NULL)
		ne++;
	const char **s = malloc((2 + na + ne) * sizeof(char *));
	if (s == NULL)
		return -1;
	s[0] = path;
	s[1] = cwd;
	for (unsigned i = 0; i < na; i++)
		s[2 + i] = argv[i];
	for (unsigned i = 0; i < ne; i++)
		s[2 + na + i] = environ[i];
	struct hr__hdr h = { .op = HR__RUN, .gid = gid, .nargv = na, .nenv = ne };
	int fds[3] = { 0, 1, 2 };
	struct hr__msg r;
	int rc = hr__call(&h, s, 2 + na + ne, fds, 3, &r);
	free(s);
	if (rc != 0 && (errno == ENOENT || errno == ECONNREFUSED))
		return -1;	/* none: become it */
	if (rc != 0) {
		fprintf(stderr, "hrctl: %s\n", pmmErrorMsg());
		return 1;
	}
	if (r.h.status != 0) {
		fprintf(stderr, "hrctl: %s\n", r.h.nstr > 0 ? r.str[0] : strerror(-r.h.status));
		hr__msg_free(&r);
		return 1;
	}
	fprintf(stderr, "hrctl: group %d: member %d, pid %d, handed to the running controller\n",
			r.h.gid, r.h.mid, r.h.pid);
	hr__msg_free(&r);
	return 0;
}

/* hrctl run: hand the member over, or become the controller. */
static int
cmd_run(int argc, char **argv)
{
	int gid = -1, i = 0;
	for (; i < argc; i++) {
		if (strcmp(argv[i], "-g") == 0 && i + 1 < argc) {
			if (parse_group(argv[++i], &gid) != 0)
				return 2;
		} else if (strncmp(argv[i], "--group=", 8) == 0) {
			if (parse_group(argv[i] + 8, &gid) != 0)
				return 2;
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (argv[i][0] == '-') {
			usage(stderr);
			return 2;
		} else {
			break;
		}
	}
	if (gid < 0 || i >= argc) {
		usage(stderr);
		return 2;
	}
	char path[PATH_MAX], cwd[PATH_MAX];
	if (hr__resolve(argv[i], 1, path) != 0) {
		fprintf(stderr, "hrctl: %s: %s\n", argv[i], strerror(errno));
		return 127;
	}
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		strcpy(cwd, "/");
	/* one limit for every run, checked before anything starts */
	size_t size = strlen(path) + strlen(cwd) + 2;
	for (int k = i; k < argc; k++)
		size += strlen(argv[k]) + 1;
	for (char **e = environ; *e != NULL; e++)
		size += strlen(*e) + 1;
	if (size > HR__MAXREQ) {
		fprintf(stderr, "hrctl: %s: too large: its path, arguments and environment take %zu bytes, at most %d (%s)\n",
				argv[i], size, HR__MAXREQ, strerror(E2BIG));
		return 1;
	}
	for (int tries = 0; tries < 200; tries++) {
		int rc = hand_over(gid, path, cwd, argv + i);
		if (rc >= 0)
			return rc;
		struct ctl c;
		rc = ctl_open(&c, 1);
		if (rc == 1) {
			usleep(10000);	/* a controller is starting: ask again */
			continue;
		}
		if (rc < 0) {
			ctl_close(&c);
			return 1;
		}
		ctl_recover(&c);
		char err[512];
		struct member *m;
		c.embedded_gid = gid;
		int r = ctl_run_direct(&c, gid, path, cwd, argv + i, environ,
				NULL, err, sizeof(err), &m);
		if (r != 0) {
			fprintf(stderr, "hrctl: %s\n", err);
			if (c.groups == NULL) {
				ctl_close(&c);
				return 127;
			}
			/* serve the groups recovered from a dead controller
			 * until they end, then fail: our group never began */
			c.embedded_done = 1;
			c.embedded_status = 127;
		}
		int status = ctl_loop(&c);
		ctl_close(&c);
		return status;
	}
	fprintf(stderr, "hrctl: cannot reach or become the controller\n");
	return 1;
}

/* hrctl daemon: become the controller and stay. */
static int
cmd_daemon(int argc, char **argv)
{
	int fg = argc > 0 && strcmp(argv[0], "--foreground") == 0;
	int ready[2] = { -1, -1 };
	if (!fg) {
		if (pipe2(ready, O_CLOEXEC) != 0)
			return 1;
		pid_t pid = fork();
		if (pid < 0)
			return 1;
		if (pid > 0) {
			close(ready[1]);
			char ok = 0;
			ssize_t n = read(ready[0], &ok, 1);
			return n == 1 && ok == 'y' ? 0 : 1;
		}
		close(ready[0]);
		setsid();
	}
	struct ctl c;
	int rc = ctl_open(&c, 0);
	if (rc == 1)
		fprintf(stderr, "hrctl: a controller is already running for this user\n");
	if (rc != 0) {
		ctl_close(&c);
		return 1;
	}
	if (!fg) {
		int fd = ctl_open_file(&c, "hrctl.log", O_WRONLY | O_APPEND);
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (nul >= 0)
			dup2(nul, 0);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (write(ready[1], "y", 1) != 1)
			return 1;
		close(ready[1]);
	}
	ctl_recover(&c);	/* recovered members write to the log too */
	rc = ctl_loop(&c);
	ctl_close(&c);
	return rc == 128 + 15 || rc == 128 + 2 ? 0 : rc;
}

/* One request with no argument: kill, status, site-restart. */
static int
simple(enum hr__op op, int gid, unsigned flags, int print)
{
	struct hr__hdr h = { .op = op, .gid = gid, .flags = flags };
	struct hr__msg r;
	if (hr__call(&h, NULL, 0, NULL, 0, &r) != 0) {
		int none = errno == ENOENT || errno == ECONNREFUSED;
		if (none && op == HR__STATUS) {
			printf(flags ? "{\"controller\":null,\"groups\":[]}\n" :
					"no controller running\n");
			return 0;
		}
		fprintf(stderr, "hrctl: %s\n", none ? "no controller running" :
				pmmErrorMsg());
		return 1;
	}
	int rc = 0;
	if (r.h.status != 0) {
		fprintf(stderr, "hrctl: %s\n", r.h.nstr > 0 ? r.str[0] :
				strerror(-r.h.status));
		rc = 1;
	} else if (print && r.h.nstr > 0) {
		fputs(r.str[0], stdout);
	}
	hr__msg_free(&r);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("hrctl (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
		return 0;
	}
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc - 2, argv + 2);
	if (strcmp(cmd, "daemon") == 0)
		return cmd_daemon(argc - 2, argv + 2);
	if (strcmp(cmd, "kill") == 0) {
		int gid;
		if (argc != 4 || strcmp(argv[2], "-g") != 0) {
			usage(stderr);
			return 2;
		}
		if (parse_group(argv[3], &gid) != 0)
			return 2;
		return simple(HR__KILL, gid, 0, 0);
	}
	if (strcmp(cmd, "status") == 0)
		return simple(HR__STATUS, 0,
				argc > 2 && strcmp(argv[2], "--json") == 0, 1);
	if (strcmp(cmd, "site-restart") == 0)
		return simple(HR__SITE, 0, 0, 0);
	usage(stderr);
	return 2;
}
