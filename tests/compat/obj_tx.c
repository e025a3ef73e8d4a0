/*
 * obj_tx.c -- a libpmemobj program for tests/compat-pmemobj.sh.
 *
 * The test compiles this against the system's libpmemobj headers and
 * -lpmemobj (never against our include/), so it is an ordinary program
 * "built against Debian's PMDK"; it then runs with our libpmem.so.1 first
 * on the library path, under libpmemobj.
 *
 *   obj_tx create POOL   create the pool; committed, aborted and failed
 *                        transactions; close, reopen, check
 *   obj_tx verify POOL   open the pool and check every invariant
 *   obj_tx crash POOL    a child is SIGKILLed in the middle of a
 *                        transaction; the parent reopens the pool (which
 *                        runs recovery) and checks the transaction was
 *                        rolled back, then commits one more
 *
 * Invariants of the pool (check_pool):
 *   - fields[] sums to TOTAL (every transaction moves amounts between
 *     fields, so a torn transaction breaks the sum);
 *   - the node list from head has nnodes nodes, head's value is
 *     generation and values strictly decrease along the list;
 *   - the pool holds exactly nnodes objects of the node type and one
 *     blob (allocations of rolled-back transactions were freed);
 *   - the blob has its pattern and msg its text.
 *
 * Exit status: 0 all well, 1 an invariant or a call failed, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpmemobj.h>

#define LAYOUT "compat-obj-tx"
#define POOL_SIZE ((size_t)16 << 20)
#define NFIELDS 8
#define TOTAL 1000000
#define BLOB_LEN 3000
#define MSG "hello, pmemobj"
#define MAX_NODES 6	/* steps drop the oldest node beyond this */
#define NSTEPS 20	/* committed steps run by "create" */

#define TYPE_NODE 1
#define TYPE_BLOB 2
#define TYPE_HUGE 3	/* an allocation that can never succeed */

struct node;
TOID_DECLARE(struct node, TYPE_NODE);

struct node {
	uint64_t value;
	TOID(struct node) next;
};

struct root {
	int64_t fields[NFIELDS];
	uint64_t generation;
	uint64_t nnodes;
	TOID(struct node) head;
	PMEMoid blob;
	char msg[32];
};

/* What the crashing child tells its parent once the transaction is torn. */
struct crash_msg {
	uint64_t root_off;
	uint64_t generation;
};

static const char *prog = "obj_tx";

static void
die(const char *what)
{
	fprintf(stderr, "%s: %s: %s (errno %d: %s)\n", prog, what,
		pmemobj_errormsg(), errno, strerror(errno));
	exit(1);
}

static unsigned char
blob_byte(size_t i)
{
	return (unsigned char)(i * 7 + 3);
}

static struct root *
get_root(PMEMobjpool *pop, PMEMoid *oidp)
{
	PMEMoid oid = pmemobj_root(pop, sizeof(struct root));

	if (OID_IS_NULL(oid))
		die("pmemobj_root");
	if (oidp)
		*oidp = oid;
	return pmemobj_direct(oid);
}

/* Returns the number of broken invariants, each reported on stderr. */
static int
check_pool(PMEMobjpool *pop, const char *when)
{
	struct root *r = get_root(pop, NULL);
	int bad = 0;
	int64_t sum = 0;
	uint64_t n = 0, prev = 0, nodes = 0, blobs = 0, others = 0;
	TOID(struct node) it;
	PMEMoid oid;

	for (int i = 0; i < NFIELDS; i++)
		sum += r->fields[i];
	if (sum != TOTAL) {
		fprintf(stderr, "%s: %s: fields sum to %lld, not %d\n",
			prog, when, (long long)sum, TOTAL);
		bad++;
	}

	for (it = r->head; !TOID_IS_NULL(it); it = D_RO(it)->next) {
		uint64_t v = D_RO(it)->value;

		if (n == 0 && v != r->generation) {
			fprintf(stderr, "%s: %s: head value %llu, generation "
				"%llu\n", prog, when, (unsigned long long)v,
				(unsigned long long)r->generation);
			bad++;
		}
		if (n > 0 && v >= prev) {
			fprintf(stderr, "%s: %s: node %llu value %llu after "
				"%llu\n", prog, when, (unsigned long long)n,
				(unsigned long long)v,
				(unsigned long long)prev);
			bad++;
		}
		prev = v;
		if (++n > MAX_NODES + 2)
			break;	/* a loop or a runaway list */
	}
	if (n != r->nnodes) {
		fprintf(stderr, "%s: %s: list has %llu nodes, nnodes %llu\n",
			prog, when, (unsigned long long)n,
			(unsigned long long)r->nnodes);
		bad++;
	}

	POBJ_FOREACH(pop, oid) {
		switch (pmemobj_type_num(oid)) {
		case TYPE_NODE:
			nodes++;
			break;
		case TYPE_BLOB:
			blobs++;
			break;
		case POBJ_ROOT_TYPE_NUM:
			break;
		default:
			others++;
		}
	}
	if (nodes != r->nnodes || blobs != 1 || others != 0) {
		fprintf(stderr, "%s: %s: pool holds %llu nodes (nnodes %llu), "
			"%llu blobs (want 1), %llu other objects (want 0)\n",
			prog, when, (unsigned long long)nodes,
			(unsigned long long)r->nnodes,
			(unsigned long long)blobs, (unsigned long long)others);
		bad++;
	}

	if (OID_IS_NULL(r->blob) ||
	    pmemobj_alloc_usable_size(r->blob) < BLOB_LEN) {
		fprintf(stderr, "%s: %s: blob missing or too small\n", prog,
			when);
		bad++;
	} else {
		const unsigned char *b = pmemobj_direct(r->blob);

		for (size_t i = 0; i < BLOB_LEN; i++)
			if (b[i] != blob_byte(i)) {
				fprintf(stderr, "%s: %s: blob byte %zu is %u, "
					"not %u\n", prog, when, i, b[i],
					blob_byte(i));
				bad++;
				break;
			}
	}

	if (strcmp(r->msg, MSG) != 0) {
		fprintf(stderr, "%s: %s: msg is \"%.32s\"\n", prog, when,
			r->msg);
		bad++;
	}
	return bad;
}

/*
 * One committed step to generation g: push a node, move an amount between
 * two fields, drop the oldest node when there are too many.
 */
static void
step(PMEMobjpool *pop, uint64_t g)
{
	PMEMoid root_oid;
	struct root *r = get_root(pop, &root_oid);

	TX_BEGIN(pop) {
		TOID(struct node) nn;
		int from = (int)(g % NFIELDS), to = (int)((g * 3 + 1) % NFIELDS);
		int64_t amount = (int64_t)(g * 37 % 1000) + 1;

		pmemobj_tx_add_range(root_oid, 0,
			offsetof(struct root, blob));
		nn = TX_ZNEW(struct node);
		D_RW(nn)->value = g;
		D_RW(nn)->next = r->head;
		r->head = nn;
		r->nnodes++;
		r->fields[from] -= amount;
		r->fields[to] += amount;
		r->generation = g;

		if (r->nnodes > MAX_NODES) {
			TOID(struct node) p = r->head;

			while (!TOID_IS_NULL(D_RO(D_RO(p)->next)->next))
				p = D_RO(p)->next;
			TX_ADD_FIELD(p, next);
			TX_FREE(D_RO(p)->next);
			D_RW(p)->next = TOID_NULL(struct node);
			r->nnodes--;
		}
	} TX_ONABORT {
		die("committed step aborted");
	} TX_END
}

static PMEMobjpool *
open_pool(const char *path)
{
	PMEMobjpool *pop = pmemobj_open(path, LAYOUT);

	if (pop == NULL)
		die("pmemobj_open");
	return pop;
}

static int
do_create(const char *path)
{
	PMEMobjpool *pop;
	PMEMoid root_oid;
	struct root *r;
	volatile int aborted;
	int bad;

	pop = pmemobj_create(path, LAYOUT, POOL_SIZE, 0666);
	if (pop == NULL)
		die("pmemobj_create");
	r = get_root(pop, &root_oid);

	/* initial state, with an allocation made in the transaction */
	TX_BEGIN(pop) {
		PMEMoid blob;
		unsigned char *b;

		pmemobj_tx_add_range(root_oid, 0, sizeof(struct root));
		blob = pmemobj_tx_alloc(BLOB_LEN, TYPE_BLOB);
		b = pmemobj_direct(blob);
		for (size_t i = 0; i < BLOB_LEN; i++)
			b[i] = blob_byte(i);
		r->blob = blob;
		memset(r->fields, 0, sizeof(r->fields));
		r->fields[0] = TOTAL;
		r->generation = 0;
		r->nnodes = 0;
		r->head = TOID_NULL(struct node);
		strcpy(r->msg, MSG);
	} TX_ONABORT {
		die("initial transaction aborted");
	} TX_END

	for (uint64_t g = 1; g <= NSTEPS; g++)
		step(pop, g);
	if ((bad = check_pool(pop, "after committed steps")) != 0)
		return 1;

	/* explicit abort after changes and allocations */
	aborted = 0;
	errno = 0;
	TX_BEGIN(pop) {
		TOID(struct node) nn;

		pmemobj_tx_add_range(root_oid, 0, sizeof(struct root));
		for (int i = 0; i < NFIELDS; i++)
			r->fields[i] += 1000 + i;
		nn = TX_ZNEW(struct node);
		D_RW(nn)->value = r->generation + 1;
		D_RW(nn)->next = r->head;
		r->head = nn;
		r->nnodes++;
		r->generation++;
		r->blob = pmemobj_tx_alloc(BLOB_LEN, TYPE_BLOB);
		strcpy(r->msg, "this must be rolled back");
		pmemobj_tx_abort(ECANCELED);
		fprintf(stderr, "%s: pmemobj_tx_abort returned\n", prog);
		exit(1);
	} TX_ONCOMMIT {
		fprintf(stderr, "%s: aborted transaction committed\n", prog);
		exit(1);
	} TX_ONABORT {
		aborted = 1;
	} TX_END
	if (!aborted || errno != ECANCELED) {
		fprintf(stderr, "%s: explicit abort: onabort %d, errno %d "
			"(want 1, ECANCELED)\n", prog, aborted, errno);
		return 1;
	}
	if (check_pool(pop, "after explicit abort") != 0)
		return 1;

	/* an allocation that cannot succeed aborts the transaction */
	aborted = 0;
	errno = 0;
	TX_BEGIN(pop) {
		pmemobj_tx_add_range(root_oid, offsetof(struct root, fields),
			sizeof(r->fields));
		r->fields[NFIELDS - 1] += 12345;
		(void) TX_ZNEW(struct node);
		(void) pmemobj_tx_alloc((size_t)1 << 30, TYPE_HUGE);
		fprintf(stderr, "%s: 1 GiB allocation in a 16 MiB pool "
			"succeeded\n", prog);
		exit(1);
	} TX_ONABORT {
		aborted = 1;
	} TX_END
	if (!aborted || errno != ENOMEM) {
		fprintf(stderr, "%s: failed allocation: onabort %d, errno %d "
			"(want 1, ENOMEM)\n", prog, aborted, errno);
		return 1;
	}
	if (check_pool(pop, "after failed allocation") != 0)
		return 1;

	pmemobj_close(pop);

	pop = open_pool(path);
	bad = check_pool(pop, "after reopen");
	r = get_root(pop, NULL);
	if (!bad && r->generation != NSTEPS) {
		fprintf(stderr, "%s: generation %llu after reopen, want %d\n",
			prog, (unsigned long long)r->generation, NSTEPS);
		bad++;
	}
	if (!bad)
		printf("create: ok, generation %llu, %llu nodes\n",
			(unsigned long long)r->generation,
			(unsigned long long)r->nnodes);
	pmemobj_close(pop);
	return bad ? 1 : 0;
}

static int
do_verify(const char *path)
{
	PMEMobjpool *pop = open_pool(path);
	struct root *r = get_root(pop, NULL);
	int bad = check_pool(pop, "verify");

	if (!bad)
		printf("verify: ok, generation %llu, %llu nodes\n",
			(unsigned long long)r->generation,
			(unsigned long long)r->nnodes);
	pmemobj_close(pop);
	return bad ? 1 : 0;
}

/* The child: tear a transaction, tell the parent, wait to be killed. */
static void
crash_child(const char *path, int wfd)
{
	PMEMobjpool *pop = open_pool(path);
	PMEMoid root_oid;
	struct root *r = get_root(pop, &root_oid);
	struct crash_msg msg;

	msg.root_off = root_oid.off;
	msg.generation = r->generation;

	TX_BEGIN(pop) {
		TOID(struct node) nn;

		pmemobj_tx_add_range(root_oid, 0, sizeof(struct root));
		nn = TX_ZNEW(struct node);
		D_RW(nn)->value = r->generation + 1;
		D_RW(nn)->next = r->head;
		r->head = nn;
		r->nnodes++;
		r->generation++;
		r->blob = pmemobj_tx_alloc(BLOB_LEN, TYPE_BLOB);
		strcpy(r->msg, "torn");
		/* half the fields: the sum is now off */
		for (int i = 0; i < NFIELDS / 2; i++)
			r->fields[i] += 100 + i;
		if (write(wfd, &msg, sizeof(msg)) != (ssize_t)sizeof(msg))
			_exit(3);
		alarm(30);	/* never outlive a parent that failed */
		for (;;)
			pause();
		/* the other half, never reached */
	} TX_END
	_exit(4);
}

static int
do_crash(const char *path)
{
	int fds[2], status, fd;
	pid_t pid;
	struct crash_msg msg;
	ssize_t n;
	int64_t torn[NFIELDS], sum = 0;
	PMEMobjpool *pop;
	struct root *r;
	int bad;

	if (pipe(fds) != 0)
		die("pipe");
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(fds[0]);
		crash_child(path, fds[1]);
	}
	close(fds[1]);
	n = read(fds[0], &msg, sizeof(msg));
	close(fds[0]);
	if (n != (ssize_t)sizeof(msg)) {
		waitpid(pid, &status, 0);
		fprintf(stderr, "%s: crash child died before the transaction "
			"was torn (status 0x%x)\n", prog, status);
		return 1;
	}
	if (kill(pid, SIGKILL) != 0)
		die("kill");
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
		fprintf(stderr, "%s: crash child not killed by SIGKILL "
			"(status 0x%x)\n", prog, status);
		return 1;
	}

	/* the file, before recovery, must hold the torn state */
	fd = open(path, O_RDONLY);
	if (fd < 0)
		die("open pool file");
	if (pread(fd, torn, sizeof(torn), (off_t)(msg.root_off +
			offsetof(struct root, fields))) != (ssize_t)sizeof(torn))
		die("pread pool file");
	close(fd);
	for (int i = 0; i < NFIELDS; i++)
		sum += torn[i];
	if (sum == TOTAL) {
		fprintf(stderr, "%s: the pool file does not show the torn "
			"transaction (fields sum to %d): nothing to recover?\n",
			prog, TOTAL);
		return 1;
	}

	/* reopening recovers: the transaction must be gone entirely */
	pop = open_pool(path);
	bad = check_pool(pop, "after crash recovery");
	r = get_root(pop, NULL);
	if (r->generation != msg.generation) {
		fprintf(stderr, "%s: generation %llu after recovery, want "
			"%llu\n", prog, (unsigned long long)r->generation,
			(unsigned long long)msg.generation);
		bad++;
	}
	if (bad) {
		pmemobj_close(pop);
		return 1;
	}

	/* and the pool is still usable */
	step(pop, msg.generation + 1);
	bad = check_pool(pop, "after post-recovery step");
	if (!bad)
		printf("crash: ok, torn sum %lld rolled back, generation "
			"%llu, %llu nodes\n", (long long)sum,
			(unsigned long long)r->generation,
			(unsigned long long)r->nnodes);
	pmemobj_close(pop);
	return bad ? 1 : 0;
}

int
main(int argc, char *argv[])
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s create|verify|crash POOL\n", prog);
		return 2;
	}
	if (strcmp(argv[1], "create") == 0)
		return do_create(argv[2]);
	if (strcmp(argv[1], "verify") == 0)
		return do_verify(argv[2]);
	if (strcmp(argv[1], "crash") == 0)
		return do_crash(argv[2]);
	fprintf(stderr, "%s: unknown command %s\n", prog, argv[1]);
	return 2;
}
