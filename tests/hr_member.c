/*
 * hr_member -- a restartable process for the hot restart tests: it runs
 * the commands of its command line in order, and reports what it sees in
 * files of DIR, so the shell tests can tell what the controller did.
 *
 *   hr_member DIR COMMAND...
 *
 *   start TAG          count this start of TAG in DIR/TAG.count; append
 *                      "TAG start N pid=P group=G member=M restarts=R" to
 *                      DIR/log; write argv and the environment (without
 *                      HRCTL_RESTARTS) to DIR/TAG.N.env
 *   crash KIND         segv | abort | exit | exit0 (exit(3) or exit(0)
 *                      without HR_EXIT_HDL) | fpe | term (raise SIGTERM)
 *   crashfirst N KIND  crash as above when this is start N or before
 *   alloc NAME KEY     pmmAllocate 4096 bytes of NAME with KEY ("group":
 *                      HR_GROUP_KEY, "none", else the string and its NUL);
 *                      a new block gets "NAME" written in it; logs
 *                      "TAG alloc NAME new|found 0xADDR"
 *   lookup NAME        logs "TAG lookup NAME found|absent"
 *   spawn V NAME PATH ARG... ;;
 *                      hrfexec<V> (V: l le lp v ve vp) of PATH as the
 *                      indirect member NAME; le/ve add HRT_EXTRA=V to the
 *                      environment; l/le/lp take at most 8 arguments; logs
 *                      "TAG spawn NAME pid=P" or "TAG spawn NAME errno=E"
 *   spawnbig NAME PATH BYTES
 *                      hrfexecv of PATH with one argument of BYTES bytes;
 *                      logged as spawn
 *   escape NAME        a grandchild that leaves the process group
 *                      (setsid) and whose parent exits at once; it logs
 *                      "TAG escape NAME pid=P" and pauses
 *   hide NAME          as escape, but the grandchild then runs
 *                      /bin/sleep 300 with an empty environment (no
 *                      HRCTL_GROUP/HRCTL_GEN to know it by); it logs
 *                      "TAG hide NAME pid=P" first
 *   fds                logs "TAG fds N..." (this process's descriptors)
 *   clean              HR_EXIT_HDL; logs "TAG clean 0" or "TAG clean errno=E"
 *   group [PID]        logs "TAG group G" (hrGetActorGroup) or "errno=E"
 *   killgroup G        logs "TAG killgroup G 0|errno=E" (hrKillGroup)
 *   touch FILE         creates DIR/FILE
 *   wait FILE          waits (at most 120 s) until DIR/FILE exists
 *   sleep MS           sleeps
 *   stamp              logs "TAG stamp N MS": start N, CLOCK_MONOTONIC ms
 *   child              forks a child that stays in the process group
 *                      and pauses; logs "TAG child pid=P" (once the
 *                      child runs)
 *   pause              sleeps until killed
 *   exit N             exit(N)
 *   outside            checks the calls fail with ESRCH outside a
 *                      restartable process; exits 0 if they all do
 *
 * The program ends with exit(0) after its last command.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hr/hr.h>

extern char **environ;

static const char *dir;
static char tag[64] = "?";
static unsigned starts;

/* Print a message and stop: the test sees status 2. */
static void
die(const char *fmt, const char *arg)
{
	fprintf(stderr, "hr_member: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(2);
}

/* Append one line to DIR/log with a single write, so that lines of
 * several members never mix. */
static void
logline(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
logline(const char *fmt, ...)
{
	char line[1024], path[PATH_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	snprintf(path, sizeof(path), "%s/log", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		die("cannot open %s", path);
	if (write(fd, line, (size_t)n) != n)
		die("cannot write %s", path);
	close(fd);
}

/* Write a whole file atomically (a new file renamed over the old). */
static void
put_file(const char *name, const char *text)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	FILE *f = fopen(tmp, "we");
	if (f == NULL)
		die("cannot create %s", tmp);
	fputs(text, f);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		die("cannot write %s", path);
}

/* The value of environment variable name, or "-". */
static const char *
env_or(const char *name)
{
	const char *v = getenv(name);
	return v != NULL ? v : "-";
}

/* Record a start: its number, a log line, and argv and environment. */
static void
cmd_start(const char *t, int argc, char **argv)
{
	char path[PATH_MAX], buf[32];
	snprintf(tag, sizeof(tag), "%s", t);
	snprintf(path, sizeof(path), "%s/%s.count", dir, tag);
	FILE *f = fopen(path, "re");
	starts = 0;
	if (f != NULL) {
		if (fscanf(f, "%u", &starts) != 1)
			starts = 0;
		fclose(f);
	}
	starts++;
	snprintf(buf, sizeof(buf), "%u\n", starts);
	snprintf(path, sizeof(path), "%s.count", tag);
	put_file(path, buf);

	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	if (m == NULL)
		die("%s", "out of memory");
	for (int i = 0; i < argc; i++)
		fprintf(m, "argv[%d]=%s\n", i, argv[i]);
	for (char **e = environ; *e != NULL; e++)
		if (strncmp(*e, "HRCTL_RESTARTS=", 15) != 0 &&
				strncmp(*e, "HRCTL_GEN=", 10) != 0)
			fprintf(m, "env %s\n", *e);
	fclose(m);
	snprintf(path, sizeof(path), "%s.%u.env", tag, starts);
	put_file(path, text);
	free(text);
	logline("%s start %u pid=%d group=%s member=%s restarts=%s", tag,
			starts, (int)getpid(), env_or("HRCTL_GROUP"),
			env_or("HRCTL_MEMBER"), env_or("HRCTL_RESTARTS"));
}

/* Die the way kind says: every one of them is an abnormal end. */
static void
crash(const char *kind)
{
	logline("%s crash %s", tag, kind);
	if (strcmp(kind, "segv") == 0) {
		volatile uintptr_t bad = 8;	/* opaque to the compiler */
		*(volatile int *)bad = 1;
	} else if (strcmp(kind, "abort") == 0) {
		abort();
	} else if (strcmp(kind, "exit") == 0) {
		exit(3);
	} else if (strcmp(kind, "exit0") == 0) {
		exit(0);
	} else if (strcmp(kind, "fpe") == 0) {
		raise(SIGFPE);
	} else if (strcmp(kind, "term") == 0) {
		raise(SIGTERM);
	}
	die("unknown crash kind %s", kind);
}

/* The deletion key of an alloc command. */
static void
key_of(const char *k, const void **key, size_t *size)
{
	if (strcmp(k, "group") == 0) {
		*key = HR_GROUP_KEY;
		*size = HR_GROUP_KEYSIZE;
	} else if (strcmp(k, "none") == 0) {
		*key = NULL;
		*size = 0;
	} else {
		*key = k;
		*size = strlen(k) + 1;
	}
}

/* A PmmName in medium RAM. */
static void
ram_name(PmmName *n, const char *name)
{
	memset(n, 0, sizeof(*n));
	strcpy(n->medium, "RAM");
	if (strlen(name) >= sizeof(n->name))
		die("name too long: %s", name);
	strcpy(n->name, name);
}

/* Allocate (or find) a named block and mark a new one with its name. */
static void
cmd_alloc(const char *name, const char *k)
{
	PmmName n;
	const void *key;
	size_t ks;
	VmAddr a = 0;
	ram_name(&n, name);
	key_of(k, &key, &ks);
	int rc = pmmAllocate(&a, &n, 4096, key, ks);
	if (rc != K_OK) {
		logline("%s alloc %s error %d %s", tag, name, rc, pmmErrorMsg());
		return;
	}
	char *p = (char *)a;
	int fresh = p[0] == 0;
	if (fresh)
		strcpy(p, name);
	else if (strcmp(p, name) != 0)
		logline("%s alloc %s content \"%.60s\"", tag, name, p);
	logline("%s alloc %s %s 0x%lx", tag, name, fresh ? "new" : "found",
			(unsigned long)a);
}

/* Tell whether a block of that name exists (size 0 never allocates). */
static void
cmd_lookup(const char *name)
{
	PmmName n;
	VmAddr a = 0;
	ram_name(&n, name);
	int rc = pmmAllocate(&a, &n, 0, NULL, 0);
	if (rc == K_OK)
		logline("%s lookup %s found 0x%lx \"%.60s\"", tag, name,
				(unsigned long)a, (char *)a);
	else if (rc == K_ESIZE)
		logline("%s lookup %s absent", tag, name);
	else
		logline("%s lookup %s error %d %s", tag, name, rc,
				pmmErrorMsg());
}

/* hrfexecle with na arguments: the environment comes right after the
 * NULL that ends them, so each count is its own call. */
static pid_t
spawn_le(PmmName *n, const char *path, int na, char **a, char **ev)
{
	switch (na) {
	case 1: return hrfexecle(n, path, a[0], (char *)NULL, ev);
	case 2: return hrfexecle(n, path, a[0], a[1], (char *)NULL, ev);
	case 3: return hrfexecle(n, path, a[0], a[1], a[2], (char *)NULL, ev);
	case 4: return hrfexecle(n, path, a[0], a[1], a[2], a[3],
				(char *)NULL, ev);
	case 5: return hrfexecle(n, path, a[0], a[1], a[2], a[3], a[4],
				(char *)NULL, ev);
	case 6: return hrfexecle(n, path, a[0], a[1], a[2], a[3], a[4],
				a[5], (char *)NULL, ev);
	case 7: return hrfexecle(n, path, a[0], a[1], a[2], a[3], a[4],
				a[5], a[6], (char *)NULL, ev);
	default: return hrfexecle(n, path, a[0], a[1], a[2], a[3], a[4],
				a[5], a[6], a[7], (char *)NULL, ev);
	}
}

/* hrfexec<variant> of path with args; returns how many words it used. */
static int
cmd_spawn(int argc, char **argv)
{
	if (argc < 3)
		die("%s", "spawn V NAME PATH ARG... ;;");
	const char *v = argv[0], *path = argv[2];
	PmmName n;
	ram_name(&n, argv[1]);
	int end = 3;
	while (end < argc && strcmp(argv[end], ";;") != 0)
		end++;
	int na = end - 3;
	char **av = calloc((size_t)na + 1, sizeof(char *));
	if (av == NULL)
		die("%s", "out of memory");
	for (int i = 0; i < na; i++)
		av[i] = argv[3 + i];
	char *a[9] = { NULL };
	if (v[0] == 'l' && na > 8)
		die("%s", "spawn l*: at most 8 arguments");
	for (int i = 0; i < na && i < 8; i++)
		a[i] = av[i];
	unsigned ne = 0;
	while (environ[ne] != NULL)
		ne++;
	char **ev = calloc(ne + 2, sizeof(char *));
	char extra[32];
	if (ev == NULL)
		die("%s", "out of memory");
	memcpy(ev, environ, ne * sizeof(char *));
	snprintf(extra, sizeof(extra), "HRT_EXTRA=%s", v);
	ev[ne] = extra;
	pid_t pid;
	if (na == 0)
		die("%s", "spawn: no argv[0]");
	if (strcmp(v, "l") == 0)
		pid = hrfexecl(&n, path, a[0], a[1], a[2], a[3], a[4], a[5],
				a[6], a[7], (char *)NULL);
	else if (strcmp(v, "le") == 0)
		pid = spawn_le(&n, path, na, a, ev);
	else if (strcmp(v, "lp") == 0)
		pid = hrfexeclp(&n, path, a[0], a[1], a[2], a[3], a[4], a[5],
				a[6], a[7], (char *)NULL);
	else if (strcmp(v, "v") == 0)
		pid = hrfexecv(&n, path, av);
	else if (strcmp(v, "ve") == 0)
		pid = hrfexecve(&n, path, av, ev);
	else if (strcmp(v, "vp") == 0)
		pid = hrfexecvp(&n, path, av);
	else
		die("unknown spawn variant %s", v);
	int err = errno;
	if (pid > 0)
		logline("%s spawn %s pid=%d", tag, n.name, (int)pid);
	else
		logline("%s spawn %s errno=%d %s", tag, n.name, err,
				pmmErrorMsg());
	free(av);
	free(ev);
	return end < argc ? end + 1 : end;
}

/* The path DIR/name. */
static void
dir_path(char *buf, size_t len, const char *name)
{
	if ((size_t)snprintf(buf, len, "%s/%s", dir, name) >= len)
		die("path too long: %s", name);
}

/* Wait until DIR/name exists. */
static void
cmd_wait(const char *name)
{
	char path[PATH_MAX];
	dir_path(path, sizeof(path), name);
	for (int i = 0; i < 12000; i++) {
		if (access(path, F_OK) == 0)
			return;
		usleep(10000);
	}
	die("timed out waiting for %s", path);
}

/* The calls of <hr/hr.h> outside a restartable process: -1 and ESRCH. */
static int
cmd_outside(void)
{
	PmmName n;
	ram_name(&n, "hr_member.outside");
	char *av[] = { "true", NULL }, *ev[] = { NULL };
	int bad = 0;
	struct { const char *what; long rc; int err; } r[10];
	int k = 0;
#define TRY(name_, call) do { errno = 0; long v_ = (long)(call); \
		r[k].what = name_; r[k].rc = v_; r[k].err = errno; k++; } \
	while (0)
	TRY("HR_EXIT_HDL", HR_EXIT_HDL());
	TRY("hrfexecl", hrfexecl(&n, "/bin/true", "true", (char *)NULL));
	TRY("hrfexecle", hrfexecle(&n, "/bin/true", "true", (char *)NULL, ev));
	TRY("hrfexeclp", hrfexeclp(&n, "true", "true", (char *)NULL));
	TRY("hrfexecv", hrfexecv(&n, "/bin/true", av));
	TRY("hrfexecve", hrfexecve(&n, "/bin/true", av, ev));
	TRY("hrfexecvp", hrfexecvp(&n, "true", av));
	TRY("hrKillGroup", hrKillGroup(0));
	TRY("hrGetActorGroup", hrGetActorGroup(0));
	TRY("hrGetActorGroup(1)", hrGetActorGroup(1));
#undef TRY
	for (int i = 0; i < k; i++) {
		int ok = r[i].rc == -1 && r[i].err == ESRCH;
		printf("%s %s: %ld errno=%d (%s)\n", ok ? "ok" : "FAIL",
				r[i].what, r[i].rc, r[i].err, strerror(r[i].err));
		bad += !ok;
	}
	/* HR_GROUP_KEY needs a group, too */
	VmAddr a;
	ram_name(&n, "hr_member.outside");
	int rc = pmmAllocate(&a, &n, 4096, HR_GROUP_KEY, HR_GROUP_KEYSIZE);
	printf("%s pmmAllocate(HR_GROUP_KEY): %d (%s)\n",
			rc == K_ENOGROUP ? "ok" : "FAIL", rc, pmmErrorMsg());
	bad += rc != K_ENOGROUP;
	return bad == 0 ? 0 : 1;
}

/* A whole number argument. */
static long
number(const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || *s == 0 || *end != 0)
		die("not a number: %s", s);
	return v;
}

/* Log the start number and the monotonic time in milliseconds. */
static void
cmd_stamp(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	logline("%s stamp %u %lld", tag, starts,
			(long long)t.tv_sec * 1000 + t.tv_nsec / 1000000);
}

/* A descendant in the member's process group that must not outlive it;
 * the member goes on once the child has logged its pid. */
static void
cmd_child(void)
{
	int p[2];
	if (pipe(p) != 0)
		die("pipe: %s", strerror(errno));
	pid_t c = fork();
	if (c < 0)
		die("fork: %s", strerror(errno));
	if (c == 0) {
		close(p[0]);
		logline("%s child pid=%d", tag, (int)getpid());
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		close(p[1]);
		for (;;)
			pause();
	}
	close(p[1]);
	char x;
	if (read(p[0], &x, 1) != 1)
		die("%s", "the child did not start");
	close(p[0]);
}

/* Run the commands of the command line, in order. */
/* hrfexecv with one argument of bytes bytes. */
static void
cmd_spawnbig(const char *name, const char *path, long bytes)
{
	PmmName n;
	ram_name(&n, name);
	char *big = malloc((size_t)bytes + 1);
	if (big == NULL)
		die("%s", "out of memory");
	memset(big, 'x', (size_t)bytes);
	big[bytes] = 0;
	char *av[] = { (char *)path, big, NULL };
	pid_t pid = hrfexecv(&n, path, av);
	int err = errno;
	if (pid > 0)
		logline("%s spawn %s pid=%d", tag, name, (int)pid);
	else
		logline("%s spawn %s errno=%d %s", tag, name, err,
				pmmErrorMsg());
	free(big);
}

/* A grandchild that leaves the process group and is orphaned at once;
 * with hide, it also sheds the environment it could be known by. */
static void
cmd_escape(const char *name, int hide)
{
	pid_t p = fork();
	if (p < 0)
		die("fork: %s", strerror(errno));
	if (p == 0) {
		if (fork() == 0) {
			setsid();
			logline("%s %s %s pid=%d", tag, hide ? "hide" : "escape",
					name, (int)getpid());
			if (hide) {
				char *none[] = { NULL };
				execle("/bin/sleep", "sleep", "300", (char *)NULL,
						none);
				_exit(127);
			}
			for (;;)
				pause();
		}
		_exit(0);
	}
	while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Log the descriptors this process has open. */
static void
cmd_fds(void)
{
	char line[1024];
	int n = snprintf(line, sizeof(line), "%s fds", tag);
	for (int fd = 0; fd < 1024 && n < (int)sizeof(line) - 8; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n += snprintf(line + n, sizeof(line) - (size_t)n, " %d", fd);
	logline("%s", line);
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		die("%s", "usage: hr_member DIR COMMAND...");
	dir = argv[1];
	for (int i = 2; i < argc;) {
		const char *c = argv[i++];
		int left = argc - i;
#define NEED(n) do { if (left < (n)) die("%s: missing argument", c); } \
		while (0)
		if (strcmp(c, "start") == 0) {
			NEED(1);
			cmd_start(argv[i++], argc, argv);
		} else if (strcmp(c, "crash") == 0) {
			NEED(1);
			crash(argv[i++]);
		} else if (strcmp(c, "crashfirst") == 0) {
			NEED(2);
			long n = number(argv[i++]);
			const char *kind = argv[i++];
			if ((long)starts <= n)
				crash(kind);
		} else if (strcmp(c, "alloc") == 0) {
			NEED(2);
			cmd_alloc(argv[i], argv[i + 1]);
			i += 2;
		} else if (strcmp(c, "lookup") == 0) {
			NEED(1);
			cmd_lookup(argv[i++]);
		} else if (strcmp(c, "spawn") == 0) {
			i += cmd_spawn(argc - i, argv + i);
		} else if (strcmp(c, "clean") == 0) {
			int rc = HR_EXIT_HDL();
			if (rc == 0)
				logline("%s clean 0", tag);
			else
				logline("%s clean errno=%d", tag, errno);
		} else if (strcmp(c, "group") == 0) {
			pid_t pid = 0;
			if (left >= 1 && argv[i][0] >= '0' && argv[i][0] <= '9')
				pid = (pid_t)number(argv[i++]);
			int g = hrGetActorGroup(pid);
			if (g >= 0)
				logline("%s group %d", tag, g);
			else
				logline("%s group errno=%d", tag, errno);
		} else if (strcmp(c, "killgroup") == 0) {
			NEED(1);
			int g = (int)number(argv[i++]);
			int rc = hrKillGroup(g);
			if (rc == 0)
				logline("%s killgroup %d 0", tag, g);
			else
				logline("%s killgroup %d errno=%d", tag, g, errno);
		} else if (strcmp(c, "spawnbig") == 0) {
			NEED(3);
			cmd_spawnbig(argv[i], argv[i + 1], number(argv[i + 2]));
			i += 3;
		} else if (strcmp(c, "escape") == 0) {
			NEED(1);
			cmd_escape(argv[i++], 0);
		} else if (strcmp(c, "hide") == 0) {
			NEED(1);
			cmd_escape(argv[i++], 1);
		} else if (strcmp(c, "fds") == 0) {
			cmd_fds();
		} else if (strcmp(c, "touch") == 0) {
			NEED(1);
			put_file(argv[i++], "");
		} else if (strcmp(c, "wait") == 0) {
			NEED(1);
			cmd_wait(argv[i++]);
		} else if (strcmp(c, "sleep") == 0) {
			NEED(1);
			long ms = number(argv[i++]);
			struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
			while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
				;
		} else if (strcmp(c, "stamp") == 0) {
			cmd_stamp();
		} else if (strcmp(c, "child") == 0) {
			cmd_child();
		} else if (strcmp(c, "pause") == 0) {
			for (;;)
				pause();
		} else if (strcmp(c, "exit") == 0) {
			NEED(1);
			exit((int)number(argv[i++]));
		} else if (strcmp(c, "outside") == 0) {
			return cmd_outside();
		} else {
			die("unknown command %s", c);
		}
#undef NEED
	}
	return 0;
}
