/*
 * pmm_crash.c -- the crash campaign of libpmm.
 *
 * A seeded random workload (allocate, free, freeAll, retrieve over a small
 * space of names and keys) runs over several processes that take turns in
 * an order fixed by the seed, so the k-th persist call (flush, drain or
 * non-temporal memset through pmm__pers) is the same event in every run.
 * Each worker replaces pmm__pers with recorders that keep a durable image
 * of the bank file in shared memory: a line reaches the image only when a
 * drain follows its flush.  Run k stops the world at persist point k:
 *
 *   power failure  the crashing worker writes the durable image (plus none,
 *                  all or some of its flushed-but-undrained lines, or any
 *                  dirty lines a cache might have evicted), with the boot id
 *                  cleared as a reboot would; a fresh process opens it.
 *   process kill   the worker SIGKILLs itself holding the bank lock; a
 *                  survivor or a fresh process takes the lock (EOWNERDEAD,
 *                  recovery), and the rest of the workload goes on.
 *
 * Either way pmm__check() must pass and the set of blocks must equal the
 * model just before or just after the interrupted operation; a name that
 * the lock-free lookup finds just after the crash (before anyone takes
 * the lock) must be one of those blocks, at its page, with every
 * block at its address, reading its owner's pattern where the owner wrote
 * it and zero where nobody did.  Sampled instruction points do the same
 * for a worker stopped after N single-steps of one operation (ptrace).
 *
 * The campaign's banks have one arena; a second campaign runs on a bank
 * of four (16 MiB, 1,024 entries), where the workers, being processes of
 * their own, take different arenas' locks and mark name buckets, and are
 * stopped holding them.
 *
 * tests/pmm_crash runs the short campaigns; tests/pmm_crash --long (or
 * PMM_CRASH_LONG=1) runs thousands of points over several seeds.
 */
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/user.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>

#include <libpmem.h>
#include "pmm.h"
#include "common.h"

#define LINE 64
#define MAXNAMES 128
#define MAXOPS 256
#define MAXPROCS 4
#define DUMP_MAX 1024
#define PAT_MAGIC 0x5041545445524e21ULL
#define NO_PAGE UINT32_MAX

/* ------------------------------------------------------------ settings */

/* One campaign: the workload's shape and the bank's tunables. */
struct cfg {
	uint64_t seed;
	unsigned nops, nprocs, nnames, nkeys, max_pages;
	uint64_t bank_size, max_blocks;
	unsigned every;			/* run one persist point in every */
	unsigned ipoints;		/* sampled instruction points */
};

enum { OP_ALLOC, OP_FREE, OP_FREEALL, OP_RETRIEVE };
static const char *const op_names[] = {
	"allocate", "free", "freeAll", "retrieve"
};

struct op {
	int kind;
	unsigned name, key, proc;	/* key 0: none */
	uint64_t size;
};

/* ---------------------------------------------------- shared with workers */

/* A block as a checker saw it in a bank. */
struct drec {
	char name[64];
	uint32_t page, npages, keysize;
	uint8_t key[32];
	uint64_t zero, pat, bad, gmin, gmax;
};

enum { P_FLUSH, P_DRAIN, P_MEMSET };
static const char *const point_names[] = { "flush", "drain", "memset" };

/* The campaign's state that every process of a run sees. */
struct shared {
	_Atomic uint64_t points;	/* persist points passed */
	uint64_t target;		/* crash at this point; 0: never */
	int armed;			/* count points and record the image */
	int drop;			/* fault injection: lose entry line 1 */
	uint64_t base, file_size, table_off, max_blocks, page_size;
	unsigned cur_op;
	/* the crash */
	int crashed, crash_kind, crash_held, variant;
	uint64_t crash_point;
	uint64_t unlocked_points;	/* persist calls without the lock */
	int _Atomic bank_cached;	/* a worker's bank took the tmpfs path */
	/* a traced operation's result */
	int res_rc;
	uint64_t res_addr;
	/* a checker's findings */
	int check_rc;
	char report[512];
	unsigned ndump;
	struct drec dump[DUMP_MAX];
	char image_path[PATH_MAX - 64];	/* the power failure's image */
	char crash_path[PATH_MAX];	/* where crash_now writes */
};

static struct shared *sh;
static unsigned char *durable;	/* the durable image: MAP_SHARED */

/* -------------------------------------------------------------- helpers */

/* splitmix64: the campaign's only random source. */
static uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* One word of the pattern a block's owner writes: never zero. */
static uint64_t
pat_word(unsigned name, uint64_t gen, uint64_t line, unsigned w)
{
	uint64_t s = ((uint64_t)name << 48) ^ (gen << 20) ^ (line << 3) ^ w;
	return rnd(&s) | 1;
}

/* Deletion key k (1..): 1 to 32 bytes, distinct for each k. */
static void
key_bytes(unsigned k, uint8_t out[32], size_t *len)
{
	memset(out, 0, 32);
	*len = (k * 13) % 32 + 1;
	for (size_t i = 0; i < *len; i++)
		out[i] = (uint8_t)('A' + (k * 7 + i) % 26);
}

/* The PmmName of block n. */
static void
name_of(unsigned n, PmmName *nm)
{
	memset(nm, 0, sizeof(*nm));
	strcpy(nm->medium, "RAM");
	snprintf(nm->name, sizeof(nm->name), "blk-%03u", n);
}

/* The calling thread's id. */
static pid_t
tid(void)
{
	return (pid_t)gettid();
}

/* ------------------------------------------------------------- recorder */

/* A worker's view of its own persists: lines flushed since its last drain,
 * with their contents when flushed. */
static struct {
	unsigned char *base, *shadow;
	uint8_t *pend;
	uint32_t *list;
	uint64_t npend, nlines;
} rec;

static struct pmm__persist_ops real_pers;

/* Size the recorder for the run's bank (in a worker). */
static void
rec_init(void)
{
	rec.base = (unsigned char *)(uintptr_t)sh->base;
	rec.nlines = sh->file_size / LINE;
	rec.shadow = malloc(sh->file_size);
	rec.pend = calloc(rec.nlines, 1);
	rec.list = malloc(rec.nlines * sizeof(*rec.list));
	rec.npend = 0;
	if (rec.shadow == NULL || rec.pend == NULL || rec.list == NULL)
		_exit(90);
}

/* Note the lines of [a, a+n) as flushed, as they are now. */
static void
rec_flushed(const void *a, size_t n)
{
	uintptr_t lo = (uintptr_t)a, hi = lo + n;
	uintptr_t b = (uintptr_t)rec.base;
	if (n == 0 || lo < b || hi > b + sh->file_size)
		return;
	for (uint64_t l = (lo - b) / LINE; l < (hi - b + LINE - 1) / LINE; l++) {
		uint64_t off = l * LINE;
		/* fault injection: the second line of a table entry is lost */
		if (sh->drop && off >= sh->table_off && off < sh->table_off +
				sh->max_blocks * sizeof(struct pmm__entry) &&
				((off - sh->table_off) / LINE) % 2 == 1)
			continue;
		if (!rec.pend[l]) {
			rec.pend[l] = 1;
			rec.list[rec.npend++] = (uint32_t)l;
		}
		memcpy(rec.shadow + off, rec.base + off, LINE);
	}
}

/* A drain: every line this process flushed is durable now. */
static void
rec_drained(void)
{
	for (uint64_t i = 0; i < rec.npend; i++) {
		uint64_t off = (uint64_t)rec.list[i] * LINE;
		memcpy(durable + off, rec.shadow + off, LINE);
		rec.pend[rec.list[i]] = 0;
	}
	rec.npend = 0;
}

/* Write what a power failure now could leave, then die holding its
 * locks. */
static void
crash_now(int kind, uint64_t k)
{
	uint64_t size = sh->file_size, s = k * 0x51ed2701ULL + sh->base;
	unsigned char *img = malloc(size);
	if (img == NULL)
		_exit(91);
	memcpy(img, durable, size);
	int v = (int)(k % 4);
	/* 0: no flushed line reached; 1: all did; 2: some did */
	for (uint64_t i = 0; (v == 1 || v == 2) && i < rec.npend; i++) {
		uint64_t off = (uint64_t)rec.list[i] * LINE;
		if (v == 1 || (rnd(&s) & 1))
			memcpy(img + off, rec.shadow + off, LINE);
	}
	if (v == 3) {
		/* a cache may have written back any dirty line, whole */
		for (uint64_t l = 0; l < rec.nlines; l++) {
			uint64_t off = l * LINE;
			if (memcmp(rec.base + off, durable + off, LINE) == 0 &&
					!rec.pend[l])
				continue;
			uint64_t r = rnd(&s) % 3;
			if (r == 1)
				memcpy(img + off, rec.base + off, LINE);
			else if (r == 2 && rec.pend[l])
				memcpy(img + off, rec.shadow + off, LINE);
		}
	}
	/* a reboot changes the boot id: the lock is reinitialised */
	memset(((struct pmm__hdr *)img)->boot_id, 0, PMM__BOOT_ID);
	int fd = open(sh->crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, img, size) != (ssize_t)size || close(fd) != 0)
		_exit(92);
	free(img);
	sh->variant = v;
	sh->crash_kind = kind;
	sh->crash_point = k;
	sh->crashed = 1;
	kill(getpid(), SIGKILL);
	_exit(93);
}

/* Count a persist point; stop the world at the target. */
static void
point(int kind)
{
	if (!sh->armed)
		return;
	uint64_t k = atomic_fetch_add(&sh->points, 1) + 1;
	/* every persist is made holding an arena's lock */
	const struct pmm__hdr *h = (const struct pmm__hdr *)rec.base;
	int held = 0;
	for (unsigned a = 0; a < PMM__ARENAS; a++)
		held |= h->arena[a].lock.__data.__owner == tid();
	if (!held)
		sh->unlocked_points++;
	if (k == sh->target) {
		sh->crash_held = held;
		crash_now(kind, k);
	}
}

/* pmm__pers.flush in a worker. */
static void
rec_flush(const void *a, size_t n)
{
	point(P_FLUSH);
	real_pers.flush(a, n);
	if (sh->armed)
		rec_flushed(a, n);
}

/* pmm__pers.drain in a worker. */
static void
rec_drain(void)
{
	point(P_DRAIN);
	real_pers.drain();
	if (sh->armed)
		rec_drained();
}

/* pmm__pers.memset_nodrain in a worker: its lines count as flushed. */
static void
rec_memset(void *a, int c, size_t n)
{
	point(P_MEMSET);
	real_pers.memset_nodrain(a, c, n);
	if (sh->armed)
		rec_flushed(a, n);
}

/* ------------------------------------------------------------ checking */

/* Sort a block's lines into zero, its owner's pattern, and other. */
static void
summarize(const unsigned char *p, uint64_t len, unsigned name,
		struct drec *d)
{
	d->zero = d->pat = d->bad = d->gmax = 0;
	d->gmin = UINT64_MAX;
	for (uint64_t l = 0; l < len / LINE; l++) {
		uint64_t w[8];
		memcpy(w, p + l * LINE, LINE);
		int zero = 1, ok = 1;
		for (unsigned j = 0; j < 8; j++)
			zero &= w[j] == 0;
		if (zero) {
			d->zero++;
			continue;
		}
		uint64_t gen = w[0] ^ PAT_MAGIC;
		for (unsigned j = 1; j < 8; j++)
			ok &= w[j] == pat_word(name, gen, l, j);
		if (!ok) {
			d->bad++;
			continue;
		}
		d->pat++;
		d->gmin = gen < d->gmin ? gen : d->gmin;
		d->gmax = gen > d->gmax ? gen : d->gmax;
	}
}

/* Lock-free lookups of every name the workload may use, before anyone
 * takes the lock: peeked[n] = page + 1 of "blk-n" when found, else 0. */
static void
peek_names(struct pmm__bank *b, uint32_t peeked[MAXNAMES])
{
	for (unsigned n = 0; n < MAXNAMES; n++) {
		char nm[64] = { 0 };
		uint32_t pg, idx;
		snprintf(nm, sizeof(nm), "blk-%03u", n);
		peeked[n] = pmm__name_peek(b, nm, pmm__name_hash(nm), &pg, &idx) ==
			K_OK ? pg + 1 : 0;
	}
}

/* Every name found lock-free is a block of the dump, at its page. */
static void
judge_peeks(const uint32_t peeked[MAXNAMES])
{
	for (unsigned n = 0; n < MAXNAMES && sh->check_rc == K_OK; n++) {
		char nm[64] = { 0 };
		unsigned i;
		if (peeked[n] == 0)
			continue;
		snprintf(nm, sizeof(nm), "blk-%03u", n);
		for (i = 0; i < sh->ndump; i++)
			if (strcmp(sh->dump[i].name, nm) == 0)
				break;
		if (i < sh->ndump && sh->dump[i].page == peeked[n] - 1)
			continue;
		sh->check_rc = K_ECORRUPT;
		snprintf(sh->report, sizeof(sh->report),
				"lock-free lookup after the crash found %s at page %u: %s",
				nm, peeked[n] - 1, i < sh->ndump ?
				"the block is elsewhere" : "no such block");
	}
}

/* Take the bank's lock, check it whole and list its blocks into sh. */
static void
dump_bank(struct pmm__bank *b)
{
	uint32_t peeked[MAXNAMES];
	sh->ndump = 0;
	sh->report[0] = 0;
	peek_names(b, peeked);
	int rc = pmm__lock(b);
	if (rc != K_OK) {
		sh->check_rc = rc;
		snprintf(sh->report, sizeof(sh->report), "lock: %s",
				pmmErrorMsg());
		return;
	}
	rc = pmm__check(b, sh->report, sizeof(sh->report));
	sh->check_rc = rc;
	for (uint64_t i = 0; rc == K_OK && i < b->g.max_blocks; i++) {
		const struct pmm__entry *e = &b->table[i];
		if (e->state != PMM__USED)
			continue;
		if (sh->ndump == DUMP_MAX)
			break;
		struct drec *d = &sh->dump[sh->ndump++];
		unsigned n = UINT_MAX;
		pmm__entry_name(e, d->name);
		d->page = e->page;
		d->npages = e->npages;
		d->keysize = e->keysize;
		memcpy(d->key, e->key, sizeof(d->key));
		if (sscanf(d->name, "blk-%u", &n) != 1)
			n = UINT_MAX;
		summarize(b->data + ((uint64_t)e->page << b->page_shift),
				(uint64_t)e->npages << b->page_shift, n, d);
	}
	pmm__unlock(b);
	judge_peeks(peeked);
}

/* ------------------------------------------------------------- workers */

enum { C_OP, C_TRACED, C_CHECK, C_EXIT };

struct cmd {
	int what;
	struct op op;
	uint64_t fill_gen;	/* fill a new block with this generation */
	long steps;		/* C_TRACED: kill after so many; 0: count */
};

struct reply {
	int rc, killed, no_ptrace;
	uint64_t addr;
	long steps;
};

/* Run one operation through the public API. */
static int
run_op(const struct op *o, uint64_t *addr)
{
	PmmName nm;
	uint8_t key[32];
	size_t ks = 0;
	VmAddr a = 0;
	int rc = K_OK;
	name_of(o->name, &nm);
	if (o->key != 0)
		key_bytes(o->key, key, &ks);
	switch (o->kind) {
	case OP_ALLOC:
		rc = pmmAllocate(&a, &nm, o->size, ks ? key : NULL, ks);
		break;
	case OP_RETRIEVE:
		rc = pmmAllocate(&a, &nm, 0, NULL, 0);
		break;
	case OP_FREE:
		rc = pmmFree(&nm);
		break;
	case OP_FREEALL:
		rc = pmmFreeAll(key, ks);
		break;
	}
	*addr = a;
	return rc;
}

/* The owner writes its pattern over a new block and persists it. */
static void
fill(const struct op *o, uint64_t addr, uint64_t gen)
{
	uint64_t len = (o->size + sh->page_size - 1) / sh->page_size *
		sh->page_size;
	unsigned char *p = (unsigned char *)(uintptr_t)addr;
	for (uint64_t l = 0; l < len / LINE; l++) {
		uint64_t w[8];
		w[0] = gen ^ PAT_MAGIC;
		for (unsigned j = 1; j < 8; j++)
			w[j] = pat_word(o->name, gen, l, j);
		memcpy(p + l * LINE, w, LINE);
	}
	pmem_persist(p, len);
	if (sh->armed) {
		rec_flushed(p, len);
		rec_drained();
	}
}

/* Let the stopped, traced pid run to the entry of fn (a breakpoint
 * planted and removed): 0 there, 1 if it stopped (SIGSTOP) first, -1
 * where this is not done. */
static int
run_to(pid_t pid, uintptr_t fn)
{
#if !defined(__x86_64__)
	(void)pid;
	(void)fn;
	return -1;		/* the breakpoint is x86-64's int3 */
#else
	struct user_regs_struct regs;
	void *at = (void *)fn;
	int st;
	errno = 0;
	long orig = ptrace(PTRACE_PEEKTEXT, pid, at, NULL);
	if (errno != 0 || ptrace(PTRACE_POKETEXT, pid, at,
				(void *)((orig & ~0xffL) | 0xcc)) != 0 ||
			ptrace(PTRACE_CONT, pid, NULL, NULL) != 0 ||
			waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st) ||
			ptrace(PTRACE_POKETEXT, pid, at, (void *)orig) != 0)
		_exit(98);
	if (WSTOPSIG(st) == SIGSTOP)
		return 1;
	if (WSTOPSIG(st) != SIGTRAP ||
			ptrace(PTRACE_GETREGS, pid, NULL, &regs) != 0)
		_exit(98);
	regs.rip = (uintptr_t)at;	/* back over the int3 */
	if (ptrace(PTRACE_SETREGS, pid, NULL, &regs) != 0)
		_exit(98);
	return 0;
#endif
}

/* Run c's operation in a traced child, freely up to its first lock
 * (pmm__arena_take: every call's first lock is taken there), then by
 * single steps: kill it after c->steps instructions, or count them all
 * when c->steps is 0. */
static void
traced(const struct cmd *c, struct reply *rp)
{
	int st;
	pid_t pid = fork();
	if (pid < 0)
		_exit(94);
	if (pid == 0) {
		uint64_t a;
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
			_exit(77);
		raise(SIGSTOP);
		int rc = run_op(&c->op, &a);
		sh->res_rc = rc;
		sh->res_addr = a;
		raise(SIGSTOP);
		if (rc == K_OK && c->fill_gen != 0)
			fill(&c->op, a, c->fill_gen);
		_exit(0);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st)) {
		rp->no_ptrace = 1;
		return;
	}
	long n = 0;
	int done = run_to(pid, (uintptr_t)pmm__arena_take);
	if (done < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		rp->no_ptrace = 1;
		return;
	}
	while (!done && (c->steps == 0 || n < c->steps)) {
		if (ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) != 0 ||
				waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st))
			_exit(95);
		if (WSTOPSIG(st) == SIGSTOP) {
			done = 1;
			break;
		}
		n++;
	}
	rp->steps = n;
	if (!done) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		rp->killed = 1;
		return;
	}
	ptrace(PTRACE_CONT, pid, NULL, NULL);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
			WEXITSTATUS(st) != 0)
		_exit(96);
	rp->rc = sh->res_rc;
	rp->addr = sh->res_addr;
}

/* A worker: runs the commands of its socket until told to exit. */
static void
worker(int fd)
{
	rec_init();
	real_pers = pmm__pers;
	pmm__pers.flush = rec_flush;
	pmm__pers.drain = rec_drain;
	pmm__pers.memset_nodrain = rec_memset;
	/* open the bank now (no persist call): a traced child then runs
	 * just its operation */
	struct pmm__bank *b;
	if (pmm__bank_get("RAM", &b) != K_OK)
		_exit(97);
	atomic_store(&sh->bank_cached, b->cached);
	for (;;) {
		struct cmd c;
		struct reply rp;
		if (read(fd, &c, sizeof(c)) != (ssize_t)sizeof(c))
			_exit(0);
		memset(&rp, 0, sizeof(rp));
		switch (c.what) {
		case C_OP:
			rp.rc = run_op(&c.op, &rp.addr);
			if (rp.rc == K_OK && c.fill_gen != 0)
				fill(&c.op, rp.addr, c.fill_gen);
			break;
		case C_TRACED:
			traced(&c, &rp);
			break;
		case C_CHECK:
			alarm(test_under_valgrind() ? 600 : 30);
			rp.rc = pmm__bank_get("RAM", &b);
			if (rp.rc == K_OK)
				dump_bank(b);
			else
				snprintf(sh->report, sizeof(sh->report),
						"open: %s", pmmErrorMsg());
			alarm(0);
			break;
		default:
			free(rec.shadow);
			free(rec.pend);
			free(rec.list);
			pmm__banks_reset();
			_exit(0);
		}
		if (write(fd, &rp, sizeof(rp)) != (ssize_t)sizeof(rp))
			_exit(0);
	}
}

/* ---------------------------------------------------------------- model */

struct mblk {
	int used, filled;
	uint32_t page, npages;
	unsigned key;
	uint64_t gen;
};

struct model {
	struct mblk b[MAXNAMES];
};

/* One run of the campaign: its processes, its model, its verdict. */
struct run {
	const struct cfg *c;
	const struct op *ops;
	char dir[PATH_MAX - 128], bank[PATH_MAX];
	pid_t pid[MAXPROCS];
	int fd[MAXPROCS];
	uint64_t data_base, npages;
	struct model m;
	char fail[1024];
};

/* Record the first failure of a run. */
static void
failf(struct run *r, const char *fmt, ...)
{
	if (r->fail[0] != 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->fail, sizeof(r->fail), fmt, ap);
	va_end(ap);
}

/* Blocks in the model. */
static unsigned
model_count(const struct run *r, const struct model *m)
{
	unsigned n = 0;
	for (unsigned i = 0; i < r->c->nnames; i++)
		n += m->b[i].used;
	return n;
}

/* The longest run of free pages in the model's bank. */
static uint64_t
model_longest_free(const struct run *r, const struct model *m)
{
	uint8_t *used = calloc(r->npages, 1);
	uint64_t best = 0, cur = 0;
	ck_assert_ptr_nonnull(used);
	for (unsigned i = 0; i < r->c->nnames; i++)
		if (m->b[i].used && m->b[i].page != NO_PAGE)
			memset(used + m->b[i].page, 1, m->b[i].npages);
	for (uint64_t p = 0; p < r->npages; p++) {
		cur = used[p] ? 0 : cur + 1;
		best = cur > best ? cur : best;
	}
	free(used);
	return best;
}

/* What operation i does to model m: its return code, and in *after the
 * model once it took effect (a new block's page unknown yet). */
static int
predict(const struct run *r, const struct model *m, unsigned i,
		struct model *after)
{
	const struct op *o = &r->ops[i];
	const struct mblk *b = &m->b[o->name];
	*after = *m;
	switch (o->kind) {
	case OP_RETRIEVE:
		return b->used ? K_OK : K_ESIZE;
	case OP_FREE:
		if (!b->used)
			return K_EUNKNOWN;
		after->b[o->name].used = 0;
		return K_OK;
	case OP_FREEALL: {
		int any = 0;
		for (unsigned n = 0; n < r->c->nnames; n++)
			if (m->b[n].used && m->b[n].key == o->key) {
				after->b[n].used = 0;
				any = 1;
			}
		return any ? K_OK : K_EUNKNOWN;
	}
	default:
		break;
	}
	if (b->used)
		return K_OK;
	if (o->size > r->c->bank_size)
		return K_ETOOBIG;
	uint32_t np = (uint32_t)((o->size + sh->page_size - 1) / sh->page_size);
	if (model_count(r, m) == r->c->max_blocks)
		return K_ETOOMUCH;
	if (model_longest_free(r, m) < np)
		return K_ENOMEM;
	struct mblk *nb = &after->b[o->name];
	nb->used = 1;
	nb->filled = 0;
	nb->page = NO_PAGE;
	nb->npages = np;
	nb->key = o->key;
	nb->gen = i + 1;
	return K_OK;
}

/* Does the checker's dump in sh equal model m?  A block whose page is not
 * known yet takes the dumped one.  *why says what differs. */
static int
matches(const struct run *r, struct model *m, char *why, size_t len)
{
	unsigned seen = 0;
	if (sh->check_rc != K_OK) {
		snprintf(why, len, "check failed (%d): %s", sh->check_rc,
				sh->report);
		return 0;
	}
	for (unsigned i = 0; i < sh->ndump; i++) {
		const struct drec *d = &sh->dump[i];
		unsigned n;
		uint8_t key[32];
		size_t ks = 0;
		if (sscanf(d->name, "blk-%u", &n) != 1 || n >= r->c->nnames) {
			snprintf(why, len, "foreign block \"%.64s\"", d->name);
			return 0;
		}
		struct mblk *b = &m->b[n];
		if (!b->used) {
			snprintf(why, len, "block %s exists, should not",
					d->name);
			return 0;
		}
		seen++;
		if (b->key != 0)
			key_bytes(b->key, key, &ks);
		else
			memset(key, 0, sizeof(key));
		if (d->npages != b->npages || d->keysize != ks ||
				memcmp(d->key, key, 32) != 0) {
			snprintf(why, len, "block %s: %u pages key size %u, model %u pages key %u",
					d->name, d->npages, d->keysize, b->npages,
					b->key);
			return 0;
		}
		if (b->page != NO_PAGE && d->page != b->page) {
			snprintf(why, len, "block %s moved from page %u to %u",
					d->name, b->page, d->page);
			return 0;
		}
		uint64_t lines = (uint64_t)d->npages * sh->page_size / LINE;
		if (b->filled ? d->pat != lines || d->gmin != b->gen ||
				d->gmax != b->gen : d->zero != lines) {
			snprintf(why, len, "block %s (gen %llu, %s): %llu zero, %llu pattern (gen %llu..%llu), %llu other lines of %llu",
					d->name, (unsigned long long)b->gen,
					b->filled ? "written" : "never written",
					(unsigned long long)d->zero,
					(unsigned long long)d->pat,
					(unsigned long long)d->gmin,
					(unsigned long long)d->gmax,
					(unsigned long long)d->bad,
					(unsigned long long)lines);
			return 0;
		}
	}
	if (seen != model_count(r, m)) {
		snprintf(why, len, "%u blocks, model has %u", seen,
				model_count(r, m));
		return 0;
	}
	for (unsigned i = 0; i < sh->ndump; i++) {
		unsigned n;
		if (sscanf(sh->dump[i].name, "blk-%u", &n) == 1 &&
				m->b[n].page == NO_PAGE)
			m->b[n].page = sh->dump[i].page;
	}
	return 1;
}

/* ---------------------------------------------------------- processes */

/* Wait for a reply of worker w: 0, 1 when it died, -1 on a timeout. */
static int
get_reply(struct run *r, unsigned w, struct reply *rp)
{
	struct pollfd p = { r->fd[w], POLLIN, 0 };
	int ms = test_under_valgrind() ? 600000 : 30000;
	if (poll(&p, 1, ms) != 1)
		return -1;
	ssize_t n = read(r->fd[w], rp, sizeof(*rp));
	if (n == (ssize_t)sizeof(*rp))
		return 0;
	return 1;
}

/* Start worker w. */
static void
spawn_worker(struct run *r, unsigned w)
{
	int sv[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (unsigned j = 0; j < r->c->nprocs; j++)
			if (r->fd[j] >= 0)
				close(r->fd[j]);
		close(sv[0]);
		worker(sv[1]);
	}
	close(sv[1]);
	r->fd[w] = sv[0];
	r->pid[w] = pid;
}

/* Reap worker w after its death; 1 if SIGKILL ended it. */
static int
reap_worker(struct run *r, unsigned w, int *status)
{
	int st = 0;
	waitpid(r->pid[w], &st, 0);
	close(r->fd[w]);
	r->fd[w] = -1;
	r->pid[w] = -1;
	*status = st;
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
}

/* Stop every worker; each must exit cleanly. */
static void
stop_workers(struct run *r)
{
	struct cmd c;
	memset(&c, 0, sizeof(c));
	c.what = C_EXIT;
	for (unsigned w = 0; w < r->c->nprocs; w++) {
		int st;
		if (r->pid[w] <= 0)
			continue;
		if (write(r->fd[w], &c, sizeof(c)) != (ssize_t)sizeof(c))
			kill(r->pid[w], SIGKILL);
		reap_worker(r, w, &st);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failf(r, "worker %u ended with status 0x%x", w, st);
	}
}

/* A fresh process opens the bank (the real one, or the image at path)
 * and dumps it into sh. */
static void
fresh_check(struct run *r, const char *path)
{
	int st;
	sh->check_rc = K_ESYS;
	snprintf(sh->report, sizeof(sh->report), "checker did not report");
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct pmm__bank *b;
		for (unsigned j = 0; j < r->c->nprocs; j++)
			if (r->fd[j] >= 0)
				close(r->fd[j]);
		alarm(test_under_valgrind() ? 600 : 30);
		int rc = path != NULL ? pmm__bank_open(path, &b) :
			pmm__bank_get("RAM", &b);
		if (rc != K_OK) {
			sh->check_rc = rc;
			snprintf(sh->report, sizeof(sh->report), "open: %s",
					pmmErrorMsg());
			_exit(0);
		}
		dump_bank(b);
		if (path != NULL)
			pmm__bank_close(b);
		else
			pmm__banks_reset();
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		sh->check_rc = K_ESYS;
		snprintf(sh->report, sizeof(sh->report),
				"checker %s %d (a deadlock if SIGALRM)",
				WIFSIGNALED(st) ? "killed by signal" : "exited",
				WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	}
}

/* The image at path with ".r" or ".rr" appended. */
static void
image_variant(char *out, size_t len, const char *suffix)
{
	snprintf(out, len, "%s%s", sh->image_path, suffix);
}

/* Copy file from to file to. */
static void
copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n;
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT |
			O_TRUNC, 0600);
	ck_assert_int_ge(in, 0);
	ck_assert_int_ge(out, 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(write(out, buf, (size_t)n), n);
	ck_assert_int_eq(n, 0);
	close(in);
	ck_assert_int_eq(close(out), 0);
}

/* The persist points that opening a rebooted image runs: the freeAll
 * redo (one flush per block of its key, a drain, the record's
 * persist) when its record is valid, then the boot id's persist. */
static uint64_t
recovery_points(const char *path)
{
	struct pmm__hdr h;
	struct pmm__entry e;
	uint64_t n = 2;
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	if (h.log.valid == PMM__LOG_FREEALL) {
		n += 3;
		for (uint64_t i = 0; i < h.max_blocks; i++) {
			ck_assert_int_eq(pread(fd, &e, sizeof(e), (off_t)(h.table_off +
							i * sizeof(e))), (ssize_t)sizeof(e));
			n += e.state == PMM__USED && e.keysize == h.log.keysize &&
				memcmp(e.key, h.log.key, sizeof(e.key)) == 0;
		}
	}
	close(fd);
	return n;
}

/* A power failure during the recovery from one: a process opens a copy
 * of the image with the recorder on (its durable image: the file), and
 * power fails again at its j-th persist point; a fresh process checks
 * what that leaves.  1 if the second failure happened. */
static int
nested_check(struct run *r, uint64_t j)
{
	char first[PATH_MAX], second[PATH_MAX];
	int st;
	image_variant(first, sizeof(first), ".r");
	image_variant(second, sizeof(second), ".rr");
	snprintf(sh->crash_path, sizeof(sh->crash_path), "%s", second);
	sh->crashed = 0;
	sh->check_rc = K_ESYS;
	snprintf(sh->report, sizeof(sh->report), "checker did not report");
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct pmm__bank *b;
		for (unsigned w = 0; w < r->c->nprocs; w++)
			if (r->fd[w] >= 0)
				close(r->fd[w]);
		alarm(test_under_valgrind() ? 600 : 30);
		int fd = open(first, O_RDONLY);
		if (fd < 0 || pread(fd, durable, sh->file_size, 0) !=
				(ssize_t)sh->file_size)
			_exit(81);
		close(fd);
		rec_init();
		real_pers = pmm__pers;
		pmm__pers.flush = rec_flush;
		pmm__pers.drain = rec_drain;
		pmm__pers.memset_nodrain = rec_memset;
		atomic_store(&sh->points, 0);
		sh->target = j;
		sh->armed = 1;
		int rc = pmm__bank_open(first, &b);
		sh->armed = 0;
		if (rc != K_OK) {
			sh->check_rc = rc;
			snprintf(sh->report, sizeof(sh->report), "open: %s",
					pmmErrorMsg());
			_exit(0);
		}
		dump_bank(b);
		pmm__bank_close(b);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	sh->armed = 0;
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && sh->crashed) {
		fresh_check(r, second);
		return 1;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		sh->check_rc = K_ESYS;
		snprintf(sh->report, sizeof(sh->report),
				"recovering checker ended with status 0x%x", st);
	}
	return 0;
}

/* Worker w dumps the bank into sh, taking the lock in its own way. */
static void
worker_check(struct run *r, unsigned w)
{
	struct cmd c;
	struct reply rp;
	memset(&c, 0, sizeof(c));
	c.what = C_CHECK;
	sh->check_rc = K_ESYS;
	snprintf(sh->report, sizeof(sh->report), "worker did not report");
	if (write(r->fd[w], &c, sizeof(c)) != (ssize_t)sizeof(c) ||
			get_reply(r, w, &rp) != 0)
		snprintf(sh->report, sizeof(sh->report),
				"worker %u died or hung checking", w);
}

/* --------------------------------------------------------------- a run */

/* What one run does. */
struct spec {
	uint64_t target;	/* crash at this persist point (armed) */
	int armed;		/* count points (and record) */
	int trace_op;		/* op run under ptrace, -1 none */
	long steps;		/* its kill point; 0: count them all */
	int measure;		/* trace every op, counting (0 steps) */
	int fresh;		/* a fresh process (not a survivor) checks */
};

/* What one run found. */
struct outcome {
	uint64_t points;
	long icount[MAXOPS];
	int crashed, crash_op, power_which, kill_which, no_ptrace, nested;
	uint64_t unlocked;
};

/* Start a run: a new bank, its durable image, the workers. */
static void
run_start(struct run *r, const struct cfg *c, const struct op *ops)
{
	memset(r, 0, sizeof(*r));
	r->c = c;
	r->ops = ops;
	snprintf(r->dir, sizeof(r->dir), "%s", getenv("PMM_DIR"));
	snprintf(r->bank, sizeof(r->bank), "%s/RAM.pmm", r->dir);
	snprintf(sh->image_path, sizeof(sh->image_path), "%s/image.pmm",
			r->dir);
	snprintf(sh->crash_path, sizeof(sh->crash_path), "%s",
			sh->image_path);
	unlink(r->bank);
	unlink(sh->image_path);
	ck_assert_msg(pmm__bank_create(r->bank, "RAM", c->bank_size,
				c->max_blocks) == K_OK, "%s", pmmErrorMsg());
	int fd = open(r->bank, O_RDONLY);
	struct pmm__hdr h;
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	ck_assert_uint_le(h.file_size, (uint64_t)64 << 20);
	ck_assert_uint_le(c->max_blocks, DUMP_MAX);
	if (durable != NULL)
		munmap(durable, sh->file_size);
	durable = mmap(NULL, h.file_size, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(durable, MAP_FAILED);
	ck_assert_int_eq(pread(fd, durable, h.file_size, 0),
			(ssize_t)h.file_size);
	close(fd);
	atomic_store(&sh->points, 0);
	sh->target = 0;
	sh->armed = 0;
	sh->crashed = 0;
	sh->unlocked_points = 0;
	sh->base = h.base;
	sh->file_size = h.file_size;
	sh->table_off = h.table_off;
	sh->max_blocks = h.max_blocks;
	sh->page_size = h.page_size;
	r->data_base = h.base + h.data_off;
	r->npages = h.npages;
	for (unsigned w = 0; w < MAXPROCS; w++)
		r->fd[w] = -1;
	for (unsigned w = 0; w < c->nprocs; w++)
		spawn_worker(r, w);
}

/* Check op i's reply against the model's prediction; apply it. */
static void
settle(struct run *r, unsigned i, const struct reply *rp)
{
	const struct op *o = &r->ops[i];
	struct model after;
	int want = predict(r, &r->m, i, &after);
	if (rp->rc != want) {
		failf(r, "op %u (%s blk-%03u): returned %d, model says %d (%s)",
				i, op_names[o->kind], o->name, rp->rc, want,
				pmmErrorMsg());
		return;
	}
	struct mblk *b = &after.b[o->name];
	if (want == K_OK && (o->kind == OP_ALLOC || o->kind == OP_RETRIEVE)) {
		if (b->page == NO_PAGE) {
			uint64_t off = rp->addr - r->data_base;
			if (rp->addr < r->data_base || off % sh->page_size ||
					off / sh->page_size + b->npages > r->npages) {
				failf(r, "op %u: address 0x%llx outside the bank",
						i, (unsigned long long)rp->addr);
				return;
			}
			b->page = (uint32_t)(off / sh->page_size);
			b->filled = 1;
		} else if (rp->addr != r->data_base + b->page * sh->page_size) {
			failf(r, "op %u: blk-%03u at 0x%llx, was at page %u", i,
					o->name, (unsigned long long)rp->addr,
					b->page);
			return;
		}
	}
	r->m = after;
}

/* The command for op i. */
static void
op_cmd(const struct run *r, unsigned i, struct cmd *c)
{
	memset(c, 0, sizeof(*c));
	c->what = C_OP;
	c->op = r->ops[i];
	if (r->ops[i].kind == OP_ALLOC && !r->m.b[r->ops[i].name].used)
		c->fill_gen = i + 1;
}

/* After op i was interrupted: the bank (the image for a power failure, or
 * the real one) must hold the model before it or after it; 0 or 1 says
 * which, and with apply the run goes on from that model. */
static int
judge(struct run *r, unsigned i, const char *what, int apply)
{
	struct model before = r->m, after;
	char why0[600], why1[600];
	predict(r, &r->m, i, &after);
	if (matches(r, &before, why0, sizeof(why0))) {
		if (apply)
			r->m = before;
		return 0;
	}
	if (matches(r, &after, why1, sizeof(why1))) {
		if (apply)
			r->m = after;
		return 1;
	}
	char opd[64];
	if (r->ops[i].kind == OP_FREEALL)
		snprintf(opd, sizeof(opd), "freeAll key %u", r->ops[i].key);
	else
		snprintf(opd, sizeof(opd), "%s blk-%03u",
				op_names[r->ops[i].kind], r->ops[i].name);
	failf(r, "%s during op %u (%s): neither before (%s) nor after (%s)",
			what, i, opd, why0, why1);
	return -1;
}

/* The kill model after op i died in worker w: a survivor or a fresh
 * process recovers, the bank holds one of the two models. */
static int
kill_check(struct run *r, unsigned i, unsigned w, int fresh)
{
	unsigned s = w;
	if (!fresh) {
		/* the next living worker takes the lock: EOWNERDEAD */
		for (unsigned j = 1; j <= r->c->nprocs; j++) {
			s = (w + j) % r->c->nprocs;
			if (r->pid[s] > 0)
				break;
		}
	}
	if (fresh || r->pid[s] <= 0)
		fresh_check(r, NULL);
	else
		worker_check(r, s);
	return judge(r, i, "process kill", 1);
}

/* One run: the workload, one crash as spec says, every check. */
static void
run_one(const struct cfg *c, const struct op *ops, const struct spec *sp,
		struct outcome *out, char *fail, size_t faillen)
{
	struct run *r = malloc(sizeof(*r));
	ck_assert_ptr_nonnull(r);
	memset(out, 0, sizeof(*out));
	run_start(r, c, ops);
	sh->armed = sp->armed;
	sh->target = sp->target;
	out->crash_op = -1;
	for (unsigned i = 0; i < c->nops && r->fail[0] == 0; i++) {
		unsigned w = ops[i].proc;
		struct cmd cmd;
		struct reply rp;
		int st;
		if (r->pid[w] <= 0)
			spawn_worker(r, w);
		op_cmd(r, i, &cmd);
		int tr = sp->measure || (int)i == sp->trace_op;
		if (tr) {
			cmd.what = C_TRACED;
			cmd.steps = sp->measure ? 0 : sp->steps;
		}
		sh->cur_op = i;
		if (write(r->fd[w], &cmd, sizeof(cmd)) != (ssize_t)sizeof(cmd)) {
			failf(r, "op %u: cannot reach worker %u", i, w);
			break;
		}
		int g = get_reply(r, w, &rp);
		if (g < 0) {
			failf(r, "op %u (%s): worker %u hung (deadlock?)", i,
					op_names[ops[i].kind], w);
			break;
		}
		if (g == 1) {
			int killed = reap_worker(r, w, &st);
			if (!killed || !sh->crashed) {
				failf(r, "op %u: worker %u died, status 0x%x", i,
						w, st);
				break;
			}
			sh->armed = 0;
			out->crashed = 1;
			out->crash_op = (int)i;
			if (!sh->crash_held)
				failf(r, "persist point %llu without the bank lock",
						(unsigned long long)sh->crash_point);
			char copy[PATH_MAX];
			image_variant(copy, sizeof(copy), ".r");
			copy_file(sh->image_path, copy);
			fresh_check(r, sh->image_path);
			out->power_which = judge(r, i, "power failure", 0);
			if (out->power_which < 0)
				break;
			/* and once more, during the recovery */
			uint64_t s = sh->crash_point * 0x9e3779b97f4a7c15ULL;
			uint64_t j = 1 + rnd(&s) % recovery_points(copy);
			out->nested = nested_check(r, j);
			char what[64];
			snprintf(what, sizeof(what),
					"power failure at recovery point %llu",
					(unsigned long long)j);
			if (judge(r, i, what, 0) < 0)
				break;
			out->kill_which = kill_check(r, i, w, sp->fresh);
			continue;
		}
		if (tr && rp.no_ptrace) {
			out->no_ptrace = 1;
			break;
		}
		if (tr && sp->measure)
			out->icount[i] = rp.steps;
		if (tr && rp.killed) {
			out->crashed = 1;
			out->crash_op = (int)i;
			out->kill_which = kill_check(r, i, w, sp->fresh);
			continue;
		}
		settle(r, i, &rp);
	}
	if (r->fail[0] == 0 && !out->no_ptrace) {
		/* the end: one more check, against the model exactly */
		char why[600];
		unsigned w = 0;
		while (w + 1 < c->nprocs && r->pid[w] <= 0)
			w++;
		if (r->pid[w] <= 0)
			spawn_worker(r, w);
		worker_check(r, w);
		if (!matches(r, &r->m, why, sizeof(why)))
			failf(r, "at the end: %s", why);
	}
	sh->armed = 0;
	out->points = atomic_load(&sh->points);
	out->unlocked = sh->unlocked_points;
	stop_workers(r);
	for (unsigned w = 0; w < c->nprocs; w++)
		if (r->pid[w] > 0)
			kill(r->pid[w], SIGKILL);
	snprintf(fail, faillen, "%s", r->fail);
	unlink(r->bank);
	unlink(sh->image_path);
	char p[PATH_MAX];
	image_variant(p, sizeof(p), ".r");
	unlink(p);
	image_variant(p, sizeof(p), ".rr");
	unlink(p);
	free(r);
}

/* ------------------------------------------------------------ campaign */

/* The seeded workload of a campaign. */
static void
make_ops(const struct cfg *c, struct op *ops)
{
	uint64_t s = c->seed * 0x2545f4914f6cdd1dULL + 1;
	for (unsigned i = 0; i < c->nops; i++) {
		struct op *o = &ops[i];
		uint64_t r = rnd(&s) % 100;
		memset(o, 0, sizeof(*o));
		o->proc = (unsigned)(rnd(&s) % c->nprocs);
		o->name = (unsigned)(rnd(&s) % c->nnames);
		o->kind = r < 45 ? OP_ALLOC : r < 70 ? OP_FREE :
			r < 80 ? OP_FREEALL : OP_RETRIEVE;
		o->key = (unsigned)(rnd(&s) % (c->nkeys + 1));
		if (o->kind == OP_FREEALL && o->key == 0)
			o->key = 1;
		uint64_t ps = (uint64_t)sysconf(_SC_PAGESIZE);
		o->size = 1 + rnd(&s) % (c->max_pages * ps);
		if (rnd(&s) % 40 == 0)
			o->size = c->bank_size + 1;	/* too big */
	}
}

/* Totals over a campaign. */
struct totals {
	uint64_t points, ipoints, ipoints_cached, runs, applied, nested,
		 skipped_ptrace;
};

/* Whether dir is on tmpfs (where a bank is kept by its stores' order). */
static int
tmpfs_dir(const char *dir)
{
	struct statfs s;
	return dir != NULL && statfs(dir, &s) == 0 &&
		(unsigned long)s.f_type == 0x01021994UL;
}

/* c->ipoints / 2 sampled instruction points of the workload (cached:
 * on the path of a tmpfs bank, where no persist call is made). */
static void
ipoints(const struct cfg *c, const struct op *ops, int cached, uint64_t *s,
		struct totals *t, int dbg)
{
	struct spec sp = { 0, 0, -1, 0, 1, 0 };
	struct outcome *out = malloc(sizeof(*out));
	char fail[1024];
	ck_assert_ptr_nonnull(out);
	run_one(c, ops, &sp, out, fail, sizeof(fail));
	if (out->no_ptrace) {
		t->skipped_ptrace = 1;
		free(out);
		return;
	}
	ck_assert_msg(fail[0] == 0, "seed %llu, traced (%s): %s",
			(unsigned long long)c->seed,
			cached ? "tmpfs path" : "flushed", fail);
	/* the path asked for is the one that ran */
	ck_assert_msg(atomic_load(&sh->bank_cached) == cached,
			"seed %llu: the bank took the %s path, not the %s one",
			(unsigned long long)c->seed,
			cached ? "flushed" : "tmpfs", cached ? "tmpfs" : "flushed");
	long icount[MAXOPS];
	memcpy(icount, out->icount, sizeof(icount));
	if (dbg)
		for (unsigned i = 0; i < c->nops; i++)
			fprintf(stderr, "op %u %s: %ld instructions (%s)\n", i,
					op_names[ops[i].kind], icount[i],
					cached ? "tmpfs" : "flushed");
	for (unsigned j = 0; j < (c->ipoints + 1) / 2; j++) {
		unsigned i = (unsigned)(rnd(s) % c->nops);
		if (icount[i] < 2)
			continue;
		sp = (struct spec){ 0, 0, (int)i, 1 + (long)(rnd(s) %
				(uint64_t)(icount[i] - 1)), 0, (int)(j % 2) };
		run_one(c, ops, &sp, out, fail, sizeof(fail));
		ck_assert_msg(fail[0] == 0,
				"seed %llu, op %u (%s) killed after %ld of %ld instructions (%s path): %s",
				(unsigned long long)c->seed, i,
				op_names[ops[i].kind], sp.steps, icount[i],
				cached ? "tmpfs" : "flushed", fail);
		t->ipoints += out->crashed;
		t->ipoints_cached += cached && out->crashed;
	}
	free(out);
}

/* Every (or every c->every-th) persist point of a workload, each under
 * both models, then c->ipoints sampled instruction points. */
static void
campaign(const struct cfg *c, struct totals *t, int expect_fail,
		unsigned *nfailed)
{
	struct op *ops = calloc(MAXOPS, sizeof(*ops));
	struct outcome *out = malloc(sizeof(*out));
	char fail[1024];
	ck_assert_ptr_nonnull(ops);
	ck_assert_ptr_nonnull(out);
	ck_assert_uint_le(c->nops, MAXOPS);
	ck_assert_uint_le(c->nnames, MAXNAMES);
	make_ops(c, ops);
	struct spec sp = { 0, 1, -1, 0, 0, 0 };
	/* a dry run counts the persist points */
	run_one(c, ops, &sp, out, fail, sizeof(fail));
	ck_assert_msg(fail[0] == 0, "seed %llu, no crash: %s",
			(unsigned long long)c->seed, fail);
	ck_assert_msg(out->unlocked == 0,
			"%llu persist calls outside the bank lock",
			(unsigned long long)out->unlocked);
	uint64_t npoints = out->points;
	ck_assert_uint_gt(npoints, 0);
	int dbg = getenv("PMM_CRASH_DEBUG") != NULL;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint64_t s = c->seed ^ 0x706f696e74ULL;
	for (uint64_t k = 1 + rnd(&s) % c->every; k <= npoints;
			k += c->every) {
		sp.target = k;
		sp.fresh = (int)((k / 4) % 2);
		run_one(c, ops, &sp, out, fail, sizeof(fail));
		t->runs++;
		if (fail[0] == 0 && !out->crashed)
			snprintf(fail, sizeof(fail), "no crash happened");
		if (fail[0] != 0) {
			(*nfailed)++;
			if (!expect_fail)
				ck_abort_msg("seed %llu, persist point %llu of %llu (%s, op %d, image variant %d): %s",
						(unsigned long long)c->seed,
						(unsigned long long)k,
						(unsigned long long)npoints,
						point_names[sh->crash_kind],
						out->crash_op, sh->variant, fail);
			continue;
		}
		t->points++;
		t->applied += out->kill_which == 1;
		t->nested += (uint64_t)out->nested;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (dbg)
		fprintf(stderr, "seed %llu: %llu persist points in %.1f s\n",
				(unsigned long long)c->seed,
				(unsigned long long)npoints,
				(double)(t1.tv_sec - t0.tv_sec) +
				(double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (c->ipoints == 0 || expect_fail || test_under_valgrind())
		goto out;
	/* instruction points: count each op's instructions, then kill ops
	 * at random instructions; half on the flushed path, half on the
	 * path of a medium that keeps the CPU's stores (tmpfs), whose
	 * only crash is a process's */
	for (int cached = 0; cached < 2; cached++) {
		if (cached && !tmpfs_dir(getenv("PMM_DIR")))
			break;
		if (cached)
			unsetenv("PMEM_IS_PMEM_FORCE");
		ipoints(c, ops, cached, &s, t, dbg);
		setenv("PMEM_IS_PMEM_FORCE", "1", 1);
		if (t->skipped_ptrace)
			break;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (dbg)
		fprintf(stderr, "seed %llu: instruction points in %.1f s\n",
				(unsigned long long)c->seed,
				(double)(t0.tv_sec - t1.tv_sec) +
				(double)(t0.tv_nsec - t1.tv_nsec) / 1e9);
out:
	free(ops);
	free(out);
}

static int long_mode;

/* The campaigns' bank directory: made and removed by the runner (an
 * unchecked fixture), so that a test that fails or times out leaves
 * nothing behind. */
static char workdir[PATH_MAX - 64];

/* Make the bank directory. */
static void
make_workdir(void)
{
	snprintf(workdir, sizeof(workdir), "%s/pmm-test-crash-%d", test_dir(),
			(int)getpid());
	ck_assert_int_eq(mkdir(workdir, 0700), 0);
}

/* Remove the bank directory and whatever a run left in it. */
static void
remove_workdir(void)
{
	char p[PATH_MAX];
	const char *files[] = {
		"RAM.pmm", "image.pmm", "image.pmm.r", "image.pmm.rr"
	};
	for (unsigned i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/%s", workdir, files[i]);
		unlink(p);
	}
	rmdir(workdir);
}

/* In the test: the environment and the shared area. */
static void
setup(void)
{
	setenv("PMM_DIR", workdir, 1);
	setenv("PMM_CONF", "", 1);
	/* the durable-image model is a power failure: the bank takes the
	 * flushed path even on tmpfs (the instruction points try both) */
	setenv("PMEM_IS_PMEM_FORCE", "1", 1);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(sh, MAP_FAILED);
	memset(sh, 0, sizeof(*sh));
}

/* The tunables of a configuration, for processes that open the bank. */
static void
set_tunables(const struct cfg *c)
{
	char t[128];
	snprintf(t, sizeof(t), "pmm.maxBlocks=%llu;pmm.rambankSize=0x%llx",
			(unsigned long long)c->max_blocks,
			(unsigned long long)c->bank_size);
	setenv("PMM_TUNABLES", t, 1);
}

/* Print what a campaign did. */
static void
report(const char *what, const struct totals *t, int vg)
{
	printf("%s: %llu persist points x 2 models, %llu instruction points (%llu on the tmpfs path), all passed",
			what, (unsigned long long)t->points,
			(unsigned long long)t->ipoints,
			(unsigned long long)t->ipoints_cached);
	printf(" (%llu runs; the interrupted op took effect in %llu; %llu more power failures during the recovery)%s\n",
			(unsigned long long)t->runs,
			(unsigned long long)t->applied,
			(unsigned long long)t->nested,
			vg ? "; instruction points skipped under valgrind" :
			t->skipped_ptrace ? "; instruction points skipped: no ptrace single-stepping here" : "");
	fflush(stdout);
}

/* The campaign of c with n seeds from c's own, adding to t. */
static void
campaign_seeds(const struct cfg *c, unsigned n, struct totals *t)
{
	unsigned nfailed = 0;
	for (unsigned k = 0; k < n; k++) {
		struct cfg one = *c;
		one.seed = c->seed + k;
		set_tunables(&one);
		campaign(&one, t, 0, &nfailed);
	}
}

/* The short or long campaign over a small bank and a larger one. */
START_TEST(test_campaign)
{
	int vg = test_under_valgrind();
	struct cfg small = { 1, 40, 3, 20, 3, 6, 0x40000, 16, 1, 40 };
	struct cfg large = { 101, 60, 3, 100, 5, 8, 0x100000, 128, 3, 20 };
	struct totals t = { 0 };
	unsigned seeds = long_mode ? 8 : vg ? 1 : 2;
	if (vg) {
		small.nops = 16;
		small.every = 4;
		large.nops = 20;
		large.every = 12;
	}
	if (long_mode) {
		small.nops = 90;
		small.ipoints = 150;
		large.nops = 120;
		large.every = 1;
		large.ipoints = 100;
	}
	setup();
	campaign_seeds(&small, seeds, &t);
	campaign_seeds(&large, long_mode ? 3u : 1u, &t);
	report("crash campaign", &t, vg);
}
END_TEST

/* The campaign on a bank of four arenas: one seed (two in the long
 * campaign), fewer points than on the small banks (each image is 16 MiB). */
START_TEST(test_campaign_arenas)
{
	int vg = test_under_valgrind();
	struct cfg c = { 201, 60, 3, 100, 5, 8, 0x1000000, 1024, 6, 10 };
	struct totals t = { 0 };
	struct pmm__geom g;
	ck_assert_int_eq(pmm__geom_compute(c.bank_size, c.max_blocks,
		(uint64_t)sysconf(_SC_PAGESIZE), &g), K_OK);
	ck_assert_uint_eq(g.narenas, 4);
	if (vg) {
		c.nops = 20;
		c.every = 8;
	}
	if (long_mode) {
		c.nops = 120;
		c.every = 1;
		c.ipoints = 60;
	}
	setup();
	campaign_seeds(&c, long_mode ? 2u : 1u, &t);
	report("crash campaign, four arenas", &t, vg);
}
END_TEST

/* The power model is not vacuous: losing the second line of every table
 * entry from the durable image (a missing flush) must be caught. */
START_TEST(test_campaign_catches_lost_flush)
{
	struct cfg c = { 7, 24, 2, 8, 2, 4, 0x40000, 16, 1, 0 };
	struct totals t = { 0 };
	unsigned nfailed = 0;
	if (test_under_valgrind())
		c.every = 4;
	setup();
	set_tunables(&c);
	sh->drop = 1;
	campaign(&c, &t, 1, &nfailed);
	ck_assert_msg(nfailed > 0,
			"no persist point caught the lost entry line (%llu passed)",
			(unsigned long long)t.points);
	printf("lost-flush injection: caught at %u of %llu persist points\n",
			nfailed, (unsigned long long)(t.points + nfailed));
	fflush(stdout);
}
END_TEST

/* Builds the suite. */
static Suite *
suite(void)
{
	Suite *s = suite_create("pmm_crash");
	TCase *tc = test_case(s, "campaign", long_mode ? 36000 : 300);
	tcase_add_unchecked_fixture(tc, make_workdir, remove_workdir);
	tcase_add_test(tc, test_campaign);
	tc = test_case(s, "arenas", long_mode ? 36000 : 300);
	tcase_add_unchecked_fixture(tc, make_workdir, remove_workdir);
	tcase_add_test(tc, test_campaign_arenas);
	tc = test_case(s, "sensitivity", 120);
	tcase_add_unchecked_fixture(tc, make_workdir, remove_workdir);
	tcase_add_test(tc, test_campaign_catches_lost_flush);
	return s;
}

/* Runs the suite: the short campaign, or the long one with --long. */
int
main(int argc, char **argv)
{
	const char *l = getenv("PMM_CRASH_LONG");
	long_mode = (argc > 1 && strcmp(argv[1], "--long") == 0) ||
		(l != NULL && l[0] == '1');
	return test_run(suite());
}
