/*
 * client.c -- the hot restart calls of <hr/hr.h>: HR_EXIT_HDL, the
 * hrfexec* family, hrKillGroup and hrGetActorGroup, all requests to the
 * controller (hrctl) that started the calling process.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hr/hr.h"
#include "proto.h"
#include "pmm.h"

extern char **environ;

/* A member's output reaches its console line by line, as on ChorusOS:
 * a crash must not swallow what was printed before it. */
__attribute__((constructor)) static void
hr_member_init(void)
{
	if (pmm__env(PMM__ENV_HRCTL_MEMBER) != NULL)
		setvbuf(stdout, NULL, _IOLBF, 0);
}

/* This process's member id, or -1 (ESRCH) outside a restartable process. */
static int
member_id(const char *call)
{
	const char *m = pmm__env(PMM__ENV_HRCTL_MEMBER);
	char *end;
	long v = m != NULL ? strtol(m, &end, 10) : -1;
	if (m == NULL || *m == 0 || *end != 0 || v < 0 || v > INT_MAX) {
		pmm__fail(K_ENOGROUP,
				"%s: not a restartable process (not started by hrctl)",
				call);
		errno = ESRCH;
		return -1;
	}
	return (int)v;
}

/* Send a request; -1 with errno and a message when it fails. */
static int
request(const char *call, struct hr__hdr *h, const char *const *strs,
		unsigned nstr, struct hr__msg *reply)
{
	if (hr__call(h, strs, nstr, NULL, 0, reply) != 0) {
		int err = errno;
		char why[256];
		snprintf(why, sizeof(why), "%s", pmmErrorMsg());
		if (err == ENOENT || err == ECONNREFUSED) {
			pmm__fail(K_ESYS, "%s: no hot restart controller answers",
					call);
			err = ESRCH;
		} else {
			pmm__fail(K_ESYS, "%s: %s", call, why);
		}
		errno = err;
		return -1;
	}
	if (reply->h.status != 0) {
		const char *why = reply->h.nstr > 0 ? reply->str[0] : "";
		pmm__fail(K_EINVAL, "%s: %s", call, why);
		errno = -reply->h.status;
		hr__msg_free(reply);
		return -1;
	}
	return 0;
}

/* Mark this process's coming exit as clean. */
PMM_EXPORT int
HR_EXIT_HDL(void)
{
	int mid = member_id("HR_EXIT_HDL");
	if (mid < 0)
		return -1;
	struct hr__hdr h = { .op = HR__CLEAN, .mid = mid, .pid = getpid() };
	struct hr__msg r;
	if (request("HR_EXIT_HDL", &h, NULL, 0, &r) != 0)
		return -1;
	hr__msg_free(&r);
	return 0;
}

/* Ask the controller to run path as an indirect member named name. */
static pid_t
spawn(const char *call, PmmName *name, const char *file, int use_path,
		char *const argv[], char *const envp[])
{
	int mid = member_id(call);
	if (mid < 0)
		return -1;
	if (name == NULL || file == NULL || argv == NULL || envp == NULL) {
		pmm__fail(K_EFAULT, "%s: NULL argument", call);
		errno = EFAULT;
		return -1;
	}
	if (memchr(name->medium, 0, sizeof(name->medium)) == NULL ||
			memchr(name->name, 0, sizeof(name->name)) == NULL ||
			name->medium[0] == 0 || name->name[0] == 0) {
		pmm__fail(K_ENOTERM, "%s: the PmmName needs a non-empty, NUL-terminated medium and name",
				call);
		errno = EINVAL;
		return -1;
	}
	char path[PATH_MAX], cwd[PATH_MAX];
	int rerr = 0;
	if (hr__resolve(file, use_path, path) != 0) {
		/* the file is gone: a name already registered in the group
		 * still runs the image captured at its first start, so ask
		 * (with no path, which the controller cannot open) and report
		 * this error only if the controller needed the file */
		rerr = errno;
		path[0] = 0;
	}
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		strcpy(cwd, "/");
	unsigned na = 0, ne = 0;
	while (argv[na] != NULL)
		na++;
	while (envp[ne] != NULL)
		ne++;
	const char **s = malloc((4 + na + ne) * sizeof(char *));
	if (s == NULL)
		return -1;
	s[0] = name->medium;
	s[1] = name->name;
	s[2] = path;
	s[3] = cwd;
	for (unsigned i = 0; i < na; i++)
		s[4 + i] = argv[i];
	for (unsigned i = 0; i < ne; i++)
		s[4 + na + i] = envp[i];
	/* the medium and name do not count: the registry keeps them apart */
	size_t size = hr__strs_size(s + 2, 2 + na + ne);
	if (size > HR__MAXREQ) {
		free(s);
		pmm__fail(K_EINVAL, "%s: too large: its path, arguments and environment take %zu bytes, at most %d",
				call, size, HR__MAXREQ);
		errno = E2BIG;
		return -1;
	}
	struct hr__hdr h = { .op = HR__SPAWN, .mid = mid, .pid = getpid(),
		.nargv = na, .nenv = ne };
	struct hr__msg r;
	int rc = request(call, &h, s, 4 + na + ne, &r);
	free(s);
	if (rc != 0 && rerr != 0 && errno == ENOENT) {
		errno = rerr;
		pmm__fail_errno(K_EINVAL, "%s: %s", call, file);
	}
	if (rc != 0)
		return -1;
	pid_t pid = r.h.pid;
	hr__msg_free(&r);
	return pid;
}

/* Collect a variadic argument list ending in NULL into a vector. */
static char **
collect(const char *arg0, va_list ap, char ***envp_out)
{
	va_list cp;
	va_copy(cp, ap);
	size_t n = 1;
	while (va_arg(cp, char *) != NULL)
		n++;
	va_end(cp);
	char **v = malloc((n + 1) * sizeof(char *));
	if (v == NULL)
		return NULL;
	v[0] = (char *)arg0;
	for (size_t i = 1; i < n; i++)
		v[i] = va_arg(ap, char *);
	v[n] = NULL;
	(void)va_arg(ap, char *);	/* the terminating NULL */
	if (envp_out != NULL)
		*envp_out = va_arg(ap, char **);
	return v;
}

/* The vector forms of hrfexec: see hrfexecl(3). */
PMM_EXPORT pid_t
hrfexecv(PmmName *name, const char *path, char *const argv[])
{
	return spawn("hrfexecv", name, path, 0, argv, environ);
}

PMM_EXPORT pid_t
hrfexecve(PmmName *name, const char *path, char *const argv[],
		char *const envp[])
{
	return spawn("hrfexecve", name, path, 0, argv, envp);
}

PMM_EXPORT pid_t
hrfexecvp(PmmName *name, const char *file, char *const argv[])
{
	return spawn("hrfexecvp", name, file, 1, argv, environ);
}

/* The list forms: collect the arguments (and envp after the NULL, for
 * hrfexecle), then spawn. */
static pid_t
spawn_list(const char *call, PmmName *name, const char *file, int use_path,
		int with_env, const char *arg, va_list ap)
{
	char **envp = environ;
	char **v = collect(arg, ap, with_env ? &envp : NULL);
	if (v == NULL)
		return -1;
	pid_t p = spawn(call, name, file, use_path, v, envp);
	free(v);
	return p;
}

/* The list forms of hrfexec: see hrfexecl(3). */
PMM_EXPORT pid_t
hrfexecl(PmmName *name, const char *path, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	pid_t p = spawn_list("hrfexecl", name, path, 0, 0, arg, ap);
	va_end(ap);
	return p;
}

PMM_EXPORT pid_t
hrfexeclp(PmmName *name, const char *file, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	pid_t p = spawn_list("hrfexeclp", name, file, 1, 0, arg, ap);
	va_end(ap);
	return p;
}

PMM_EXPORT pid_t
hrfexecle(PmmName *name, const char *path, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	pid_t p = spawn_list("hrfexecle", name, path, 0, 1, arg, ap);
	va_end(ap);
	return p;
}

/* Kill restart group gid: its members stop for good, its HR_GROUP_KEY
 * blocks are freed; other blocks stay. */
PMM_EXPORT int
hrKillGroup(int gid)
{
	struct hr__hdr h = { .op = HR__KILL, .gid = gid, .pid = getpid() };
	struct hr__msg r;
	if (request("hrKillGroup", &h, NULL, 0, &r) != 0)
		return -1;
	hr__msg_free(&r);
	return 0;
}

/* The restart group of process pid (0: the caller), or -1. */
PMM_EXPORT int
hrGetActorGroup(pid_t pid)
{
	struct hr__hdr h = { .op = HR__GROUP, .pid = pid == 0 ? getpid() : pid };
	struct hr__msg r;
	if (request("hrGetActorGroup", &h, NULL, 0, &r) != 0)
		return -1;
	int g = r.h.gid;
	hr__msg_free(&r);
	return g;
}

/* The restart group hrctl put this process in (its text), or NULL:
 * what the PMM core needs for HR_GROUP_KEY, read here so that the core
 * never looks at the controller's environment itself. */
const char *
hr__self_group(void)
{
	const char *g = pmm__env(PMM__ENV_HRCTL_GROUP);
	return g != NULL && *g != 0 ? g : NULL;
}
