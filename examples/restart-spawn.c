/*
 * restart-spawn -- a direct parent and an indirect child of one restart
 * group, each advancing a checkpointed computation in persistent memory,
 * in the spirit of ChorusOS's restartSpawn example.  Crashes injected in
 * either process restart the whole group; the result printed at the end
 * is the one of a run without crashes.
 *
 *   hrctl run -g 1 -- restart-spawn [-n STEPS] [-m CHILD_STEPS]
 *                     [-d DELAY_US] [-c ROLE:STEP:KIND]...
 *   restart-spawn --expect [-n STEPS] [-m CHILD_STEPS]
 *
 * ROLE is parent or child; KIND is segv, abort, exit (exit() without
 * HR_EXIT_HDL) or kill (SIGKILL to itself).  Crash point i (counting from
 * 0 in the order given) fires in the i-th restart of the group
 * (HRCTL_RESTARTS = i), at the first step from STEP on: so each restart
 * has exactly one cause, and a run with N crash points restarts N times
 * (STEP is at most the role's steps: a point due when ROLE has already
 * done them, because the other process ran late, fires then, at the end).  A
 * process marks the point in persistent memory before it fires it, so it
 * fires once.
 * --expect prints the crash-free result, computed in ordinary memory.
 *
 * The parent allocates its state block, then starts the child with
 * hrfexecvp() under the registered name RAM:restart-spawn.child; after a
 * group restart it calls hrfexecvp() again with the same name, and the
 * controller brings the child back from the image it captured first.
 * Both state blocks use HR_GROUP_KEY: they go when the group ends.
 *
 * How a step survives a crash at any instant: the state holds two value
 * slots and one commit word, (step << 1) | slot.  A step computes the next
 * value from the committed one into the other slot, persists it, then
 * stores and persists the commit word: one 8-byte store.  A crash before
 * the commit leaves the step undone, and redoing it writes the same value.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hr/hr.h>
#include <libpmem.h>

#define MAX_CRASH 16
#define PARENT_BLOCK "restart-spawn.parent"
#define CHILD_BLOCK "restart-spawn.child.state"
#define CHILD_NAME "restart-spawn.child"

/* One process's persistent state. */
struct state {
	uint64_t commit;	/* (step << 1) | slot of the value */
	uint64_t value[2];
	uint64_t fired;		/* bit i: crash point i has fired */
	uint64_t starts;	/* how many times the process started */
};

struct crash {
	int child;		/* the role it is injected in */
	uint64_t step;		/* before this step */
	char kind[16];
};

struct opts {
	uint64_t steps, child_steps;
	uint64_t generation;	/* HRCTL_RESTARTS: the group's restarts */
	long delay_us;
	int ncrash;
	struct crash crash[MAX_CRASH];
};

/* One step of the computation: a pure function of the previous value,
 * the step number and the role, so a lost or doubled step shows. */
static uint64_t
next_value(uint64_t v, uint64_t step, int child)
{
	uint64_t h = v ^ (child ? 0xc41d5eedULL : 0x9a7e5eedULL);
	h ^= (step + 1) * 0x9e3779b97f4a7c15ULL;
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 29;
	return h;
}

/* The result both runs print: the two final values combined. */
static uint64_t
combine(uint64_t parent, uint64_t child)
{
	return parent ^ ((child << 17) | (child >> 47));
}

/* Die the way the crash point says. */
static void
crash_now(const char *kind)
{
	if (strcmp(kind, "segv") == 0) {
		volatile uintptr_t bad = 16;	/* opaque to the compiler */
		*(volatile int *)bad = 1;
	} else if (strcmp(kind, "abort") == 0) {
		abort();
	} else if (strcmp(kind, "exit") == 0) {
		exit(4);
	}
	raise(SIGKILL);
	_exit(5);
}

/* Allocate (or find again) a state block of the group. */
static struct state *
state_block(const char *name)
{
	PmmName n;
	VmAddr a;
	memset(&n, 0, sizeof(n));
	strcpy(n.medium, "RAM");
	strcpy(n.name, name);
	int rc = pmmAllocate(&a, &n, sizeof(struct state), HR_GROUP_KEY,
			HR_GROUP_KEYSIZE);
	if (rc != K_OK) {
		fprintf(stderr, "restart-spawn: pmmAllocate(%s): %s\n", name,
				pmmErrorMsg());
		HR_EXIT_HDL();
		exit(1);
	}
	return (struct state *)a;
}

/* Run the role's steps from its checkpoint to the end. */
static void
advance(struct state *s, const struct opts *o, int child)
{
	uint64_t total = child ? o->child_steps : o->steps;
	for (;;) {
		uint64_t c = s->commit, step = c >> 1;
		unsigned slot = (unsigned)(c & 1);
		/* a point due in this restart fires even if the role has
		 * done its steps meanwhile (the other process ran late) */
		for (int i = 0; i < o->ncrash; i++) {
			const struct crash *k = &o->crash[i];
			if (k->child != child || step < k->step ||
					o->generation != (uint64_t)i ||
					(s->fired & (1ULL << i)))
				continue;
			s->fired |= 1ULL << i;
			pmem_persist(&s->fired, sizeof(s->fired));
			printf("%s: crash %d (%s) before step %llu\n",
					child ? "child" : "parent", i, k->kind,
					(unsigned long long)step);
			fflush(stdout);
			crash_now(k->kind);
		}
		if (step >= total)
			return;
		s->value[slot ^ 1] = next_value(s->value[slot], step, child);
		pmem_persist(&s->value[slot ^ 1], sizeof(uint64_t));
		s->commit = ((step + 1) << 1) | (slot ^ 1);
		pmem_persist(&s->commit, sizeof(s->commit));
		if (o->delay_us > 0) {
			struct timespec ts = { o->delay_us / 1000000,
				(o->delay_us % 1000000) * 1000 };
			nanosleep(&ts, NULL);
		}
	}
}

/* The value a state holds once its role has finished. */
static uint64_t
final_value(const struct state *s)
{
	return s->value[s->commit & 1];
}

/* The crash-free result, in ordinary memory. */
static int
expect(const struct opts *o)
{
	uint64_t p = 0, c = 0;
	for (uint64_t i = 0; i < o->steps; i++)
		p = next_value(p, i, 0);
	for (uint64_t i = 0; i < o->child_steps; i++)
		c = next_value(c, i, 1);
	printf("result: parent %llu steps, child %llu steps, %016llx\n",
			(unsigned long long)o->steps,
			(unsigned long long)o->child_steps,
			(unsigned long long)combine(p, c));
	return 0;
}

/* The child: its own block and steps, then a clean exit. */
static int
child_main(const struct opts *o)
{
	struct state *s = state_block(CHILD_BLOCK);
	s->starts++;
	pmem_persist(&s->starts, sizeof(s->starts));
	printf("child: start %llu at step %llu\n",
			(unsigned long long)s->starts,
			(unsigned long long)(s->commit >> 1));
	advance(s, o, 1);
	HR_EXIT_HDL();
	exit(0);
}

/* The parent: its block, the child, its steps, then the child's result. */
static int
parent_main(const struct opts *o, char **argv)
{
	struct state *s = state_block(PARENT_BLOCK);
	s->starts++;
	pmem_persist(&s->starts, sizeof(s->starts));
	const char *r = getenv("HRCTL_RESTARTS");
	printf("parent: start %llu at step %llu (group restarts: %s)\n",
			(unsigned long long)s->starts,
			(unsigned long long)(s->commit >> 1), r ? r : "?");

	/* the child gets the same options, and --child */
	char *cav[8 + 2 * MAX_CRASH];
	char nbuf[32], mbuf[32], dbuf[32];
	int k = 0;
	snprintf(nbuf, sizeof(nbuf), "%llu", (unsigned long long)o->steps);
	snprintf(mbuf, sizeof(mbuf), "%llu",
			(unsigned long long)o->child_steps);
	snprintf(dbuf, sizeof(dbuf), "%ld", o->delay_us);
	cav[k++] = argv[0];
	cav[k++] = "--child";
	cav[k++] = "-n";
	cav[k++] = nbuf;
	cav[k++] = "-m";
	cav[k++] = mbuf;
	cav[k++] = "-d";
	cav[k++] = dbuf;
	char spec[MAX_CRASH][48];
	for (int i = 0; i < o->ncrash; i++) {
		snprintf(spec[i], sizeof(spec[i]), "%s:%llu:%s",
				o->crash[i].child ? "child" : "parent",
				(unsigned long long)o->crash[i].step,
				o->crash[i].kind);
		cav[k++] = "-c";
		cav[k++] = spec[i];
	}
	cav[k] = NULL;
	PmmName cn;
	memset(&cn, 0, sizeof(cn));
	strcpy(cn.medium, "RAM");
	strcpy(cn.name, CHILD_NAME);
	pid_t pid = hrfexecvp(&cn, argv[0], cav);
	if (pid < 0) {
		fprintf(stderr, "restart-spawn: hrfexecvp: %s\n", pmmErrorMsg());
		HR_EXIT_HDL();
		exit(1);
	}

	advance(s, o, 0);

	/* the child's block exists once it has started; its result is
	 * final when its step count is complete */
	PmmName sn;
	memset(&sn, 0, sizeof(sn));
	strcpy(sn.medium, "RAM");
	strcpy(sn.name, CHILD_BLOCK);
	const struct state *c = NULL;
	for (;;) {
		VmAddr a;
		if (c == NULL && pmmAllocate(&a, &sn, 0, NULL, 0) == K_OK)
			c = (const struct state *)a;
		if (c != NULL && (c->commit >> 1) >= o->child_steps)
			break;
		usleep(1000);
	}
	printf("result: parent %llu steps, child %llu steps, %016llx\n",
			(unsigned long long)o->steps,
			(unsigned long long)o->child_steps,
			(unsigned long long)combine(final_value(s),
				final_value(c)));
	HR_EXIT_HDL();
	exit(0);
}

/* A whole number option. */
static uint64_t
number(const char *s, const char *what)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *s == 0 || *end != 0 || s[0] == '-') {
		fprintf(stderr, "restart-spawn: bad %s \"%s\"\n", what, s);
		exit(2);
	}
	return v;
}

/* ROLE:STEP:KIND. */
static void
parse_crash(struct opts *o, const char *arg)
{
	char role[16], step[24], kind[16];
	if (o->ncrash == MAX_CRASH ||
			sscanf(arg, "%15[a-z]:%23[0-9]:%15s", role, step, kind) != 3 ||
			(strcmp(role, "parent") != 0 && strcmp(role, "child") != 0) ||
			(strcmp(kind, "segv") != 0 && strcmp(kind, "abort") != 0 &&
			 strcmp(kind, "exit") != 0 && strcmp(kind, "kill") != 0)) {
		fprintf(stderr, "restart-spawn: bad crash \"%s\" (at most %d of parent|child:STEP:segv|abort|exit|kill)\n",
				arg, MAX_CRASH);
		exit(2);
	}
	struct crash *k = &o->crash[o->ncrash++];
	k->child = strcmp(role, "child") == 0;
	k->step = number(step, "crash step");
	snprintf(k->kind, sizeof(k->kind), "%s", kind);
}

/* Parse the options, then be the parent, the child or --expect. */
int
main(int argc, char **argv)
{
	struct opts o = { .steps = 1000, .child_steps = 800, .delay_us = 200 };
	int child = 0, want_expect = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--child") == 0) {
			child = 1;
		} else if (strcmp(a, "--expect") == 0) {
			want_expect = 1;
		} else if (i + 1 < argc && strcmp(a, "-n") == 0) {
			o.steps = number(argv[++i], "step count");
		} else if (i + 1 < argc && strcmp(a, "-m") == 0) {
			o.child_steps = number(argv[++i], "step count");
		} else if (i + 1 < argc && strcmp(a, "-d") == 0) {
			o.delay_us = (long)number(argv[++i], "delay");
		} else if (i + 1 < argc && strcmp(a, "-c") == 0) {
			parse_crash(&o, argv[++i]);
		} else {
			fprintf(stderr, "usage: restart-spawn [--expect] [-n STEPS] [-m CHILD_STEPS] [-d DELAY_US] [-c parent|child:STEP:segv|abort|exit|kill]...\n");
			return 2;
		}
	}
	for (int i = 0; i < o.ncrash; i++) {
		uint64_t total = o.crash[i].child ? o.child_steps : o.steps;
		if (o.crash[i].step > total) {
			fprintf(stderr, "restart-spawn: crash point %d is at step %llu, past the %s's %llu steps\n",
					i, (unsigned long long)o.crash[i].step,
					o.crash[i].child ? "child" : "parent",
					(unsigned long long)total);
			return 2;
		}
	}
	if (want_expect)
		return expect(&o);
	const char *g = getenv("HRCTL_RESTARTS");
	o.generation = g != NULL ? strtoull(g, NULL, 10) : 0;
	return child ? child_main(&o) : parent_main(&o, argv);
}
