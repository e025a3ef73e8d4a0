/*
 * pmm_stress.c -- processes x threads on one bank, SIGKILLed at random.
 *
 * P worker processes of T threads each allocate, fill, check, retrieve
 * and free blocks (and freeAll their keys) through the public API, racing
 * on one bank (its creation included), while the parent SIGKILLs a random
 * worker every few milliseconds and starts a new one in its place.  Each
 * thread slot owns its names and keys and publishes in shared memory what
 * it knows of them (absent, present at an address with a generation, or
 * unknown while an operation is in flight), so a replacement checks what
 * its predecessor left: a block it knew is still at its address with its
 * pattern, a block that appears new reads zero, a failed free really had
 * nothing to free.  At the end everyone stops (a worker that cannot is a
 * deadlock), and a fresh process takes every lock, runs pmm__check() and
 * compares every block with what its slot knew.  The bank has four arenas
 * (16 MiB, 1,024 entries), so the workers' calls take different arenas'
 * locks and name buckets' writer bits at once, and are killed holding
 * them; then the same on a bank of one arena (4 MiB), whose calls take
 * its lock alone.
 *
 * Retrievals of other slots' names go through libpmm's lock-free lookup
 * while their owners allocate and free them; each worker also runs a
 * thread doing only that.  Every name has a version, odd while its owner
 * has an operation in flight: when it is even and the same before and
 * after a retrieval (and a scan of the block), the retrieval must agree
 * with the owner exactly: a block the owner has freed, or not yet
 * allocated, is never found, and a block it has is found at its address,
 * reading zero or its owner's pattern, nothing else.
 *
 * tests/pmm_stress runs 5 seconds; tests/pmm_stress SECONDS runs longer.
 */
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include <libpmem.h>
#include "pmm.h"
#include "common.h"

#define MAXP 4
#define MAXT 4
#define NNAMES 6		/* names per thread slot */
#define PAT_MAGIC 0x5354524553532121ULL

enum { S_UNKNOWN, S_ABSENT, S_PRESENT };

/* What a slot knows of one of its names. */
struct known {
	_Atomic uint64_t ver;	/* odd while an operation is in flight */
	_Atomic int st;
	int full;		/* the pattern is written and persisted */
	unsigned key;		/* 0: none, 1 or 2: the slot's keys */
	uint64_t addr, gen, npages;
};

/* Counters of one thread slot. */
struct slot {
	struct known k[NNAMES];
	_Atomic uint64_t ops, allocs, frees, freealls, retrieves, foreign;
	_Atomic uint64_t zero_checks, pattern_checks, nomem;
	_Atomic uint64_t lockfree_checks;
};

/* Everything the parent and the workers share. */
struct shared {
	_Atomic int stop;
	_Atomic int failed;
	char fail[512];
	unsigned nprocs, nthreads;
	uint64_t page_size;
	struct slot s[MAXP][MAXT];
};

static struct shared *sh;

/* splitmix64. */
static uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Record the first failure (any process, any thread). */
static void
failf(const char *fmt, ...)
{
	int expect = 0;
	if (!atomic_compare_exchange_strong(&sh->failed, &expect, 1))
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sh->fail, sizeof(sh->fail), fmt, ap);
	va_end(ap);
}

/* Name j of slot (p, t). */
static void
name_of(unsigned p, unsigned t, unsigned j, PmmName *nm)
{
	memset(nm, 0, sizeof(*nm));
	strcpy(nm->medium, "RAM");
	snprintf(nm->name, sizeof(nm->name), "s%u.%u.%u", p, t, j);
}

/* Key k (1 or 2) of slot (p, t). */
static size_t
key_of(unsigned p, unsigned t, unsigned k, char out[32])
{
	memset(out, 0, 32);
	return (size_t)snprintf(out, 32, "key-%u.%u.%c", p, t, 'a' + k - 1);
}

/* Word w of line l of generation gen's pattern: never zero, and
 * telling its generation and place by itself, so that a line the owner
 * was killed writing (8-byte stores) still checks word by word. */
static uint64_t
pat_word(uint64_t gen, uint64_t l, unsigned w)
{
	return ((gen << 16) | ((l & 0x1fff) << 3) | w) ^ PAT_MAGIC;
}

/* How a block reads, word by word. */
struct content {
	uint64_t zero, pat, bad, gen;	/* words */
	int mixed;		/* pattern words of different generations */
};

/* Sort the words of [p, p+len) into zero, pattern and other. */
static void
scan(const unsigned char *p, uint64_t len, struct content *c)
{
	memset(c, 0, sizeof(*c));
	for (uint64_t i = 0; i < len / 8; i++) {
		uint64_t v;
		memcpy(&v, p + 8 * i, 8);
		if (v == 0) {
			c->zero++;
			continue;
		}
		uint64_t g = ((v ^ PAT_MAGIC) >> 16) & 0xffffffffffffULL;
		if (v != pat_word(g, i / 8, (unsigned)(i % 8))) {
			c->bad++;
			continue;
		}
		if (c->pat > 0 && g != c->gen)
			c->mixed = 1;
		c->gen = g;
		c->pat++;
	}
}

/* Write generation gen's pattern over a block and persist it. */
static void
fill(unsigned char *p, uint64_t len, uint64_t gen)
{
	for (uint64_t i = 0; i < len / 8; i++) {
		uint64_t v = pat_word(gen, i / 8, (unsigned)(i % 8));
		memcpy(p + 8 * i, &v, 8);
	}
	pmem_persist(p, len);
}

/* Publish what the slot knows of a name (st last: it validates); the
 * version turns odd when an operation starts, even when it is known how
 * it ended (only the slot's one thread writes it). */
static void
publish(struct known *k, int st)
{
	uint64_t v = atomic_load_explicit(&k->ver, memory_order_relaxed);
	if ((st == S_UNKNOWN) != (v & 1))
		atomic_store_explicit(&k->ver, v + 1, memory_order_seq_cst);
	atomic_store_explicit(&k->st, st, memory_order_release);
}

/* The slot's thread context. */
struct thr {
	unsigned p, t;
	uint64_t rng;
};

/* A block's pages and key (0, 1 or 2 of slot (p, t)) as the bank's table
 * has them: a new process knows neither.  0 pages: no such block. */
static uint64_t
table_info(unsigned p, unsigned t, const PmmName *nm, unsigned *key)
{
	struct pmm__bank *b;
	uint32_t idx;
	char name[64] = { 0 }, k[32];
	uint64_t n = 0;
	*key = 0;
	if (pmm__bank_get("RAM", &b) != K_OK || pmm__lock(b) != K_OK)
		return 0;
	strcpy(name, nm->name);
	if (pmm__name_find(b, name, &idx) == K_OK) {
		const struct pmm__entry *e = &b->table[idx];
		n = e->npages;
		for (unsigned kk = 1; kk <= 2; kk++)
			if (e->keysize == key_of(p, t, kk, k) &&
					memcmp(e->key, k, 32) == 0)
				*key = kk;
	}
	pmm__unlock(b);
	return n;
}

/* Check a block that pmmAllocate returned for name j against what the
 * slot knew; then make it full with a generation of its own.  key and
 * npages: those asked for a new block. */
static void
got_block(struct thr *x, unsigned j, uint64_t addr, uint64_t npages,
		int was, unsigned key)
{
	struct slot *s = &sh->s[x->p][x->t];
	struct known *k = &s->k[j];
	unsigned tkey;
	PmmName nm;
	name_of(x->p, x->t, j, &nm);
	uint64_t tpages = table_info(x->p, x->t, &nm, &tkey);
	if (tpages == 0) {
		failf("s%u.%u.%u returned, not in the table", x->p, x->t, j);
		return;
	}
	if (was == S_ABSENT && (tpages != npages || tkey != key))
		failf("new s%u.%u.%u: %llu pages key %u, asked %llu key %u",
				x->p, x->t, j, (unsigned long long)tpages, tkey,
				(unsigned long long)npages, key);
	if (was == S_PRESENT && (tpages != k->npages || tkey != k->key))
		failf("s%u.%u.%u: %llu pages key %u, was %llu key %u", x->p,
				x->t, j, (unsigned long long)tpages, tkey,
				(unsigned long long)k->npages, k->key);
	npages = tpages;
	key = tkey;
	uint64_t len = npages * sh->page_size;
	unsigned char *p = (unsigned char *)(uintptr_t)addr;
	struct content c;
	scan(p, len, &c);
	uint64_t words = len / 8;
	if (c.bad || c.mixed)
		failf("s%u.%u.%u at 0x%llx: %llu foreign words%s", x->p, x->t,
				j, (unsigned long long)addr,
				(unsigned long long)c.bad,
				c.mixed ? ", generations mixed" : "");
	if (was == S_ABSENT) {
		/* a new block: zero where never written */
		if (c.zero != words)
			failf("new block s%u.%u.%u: %llu of %llu words not zero",
					x->p, x->t, j,
					(unsigned long long)(words - c.zero),
					(unsigned long long)words);
		atomic_fetch_add(&s->zero_checks, 1);
	} else if (was == S_PRESENT) {
		if (k->addr != addr)
			failf("s%u.%u.%u moved from 0x%llx to 0x%llx", x->p,
					x->t, j, (unsigned long long)k->addr,
					(unsigned long long)addr);
		if (c.pat > 0 && c.gen != k->gen)
			failf("s%u.%u.%u: generation %llx, wrote %llx", x->p,
					x->t, j, (unsigned long long)c.gen,
					(unsigned long long)k->gen);
		if (k->full && c.pat != words)
			failf("s%u.%u.%u: %llu of %llu written words lost",
					x->p, x->t, j,
					(unsigned long long)(words - c.pat),
					(unsigned long long)words);
		atomic_fetch_add(&s->pattern_checks, 1);
	}
	if (was == S_PRESENT && k->full)
		return;
	uint64_t gen = c.pat > 0 ? c.gen : (rnd(&x->rng) | 1) & 0xffffffffffffULL;
	k->addr = addr;
	k->gen = gen;
	k->npages = npages;
	k->full = 0;
	k->key = key;
	publish(k, S_PRESENT);
	fill(p, len, gen);
	k->full = 1;
	publish(k, S_PRESENT);
}

/* Retrieve someone else's name, racing with its owner (lock-free in
 * libpmm); when the owner had no operation in flight throughout, the
 * answer must be exactly what the owner knows (see the file comment). */
static void
foreign_read(struct thr *x, struct slot *s)
{
	unsigned p = (unsigned)(rnd(&x->rng) % sh->nprocs);
	unsigned t = (unsigned)(rnd(&x->rng) % sh->nthreads);
	unsigned j = (unsigned)(rnd(&x->rng) % NNAMES);
	struct known *k = &sh->s[p][t].k[j];
	PmmName nm;
	VmAddr a = 0;
	name_of(p, t, j, &nm);
	uint64_t v1 = atomic_load(&k->ver);
	int st = atomic_load(&k->st);
	uint64_t addr = k->addr, npages = k->npages;
	int rc = pmmAllocate(&a, &nm, 0, NULL, 0);
	atomic_fetch_add(&s->foreign, 1);
	if (rc != K_OK && rc != K_ESIZE) {
		failf("retrieve %s: %d %s", nm.name, rc, pmmErrorMsg());
		return;
	}
	struct content c = { 0 };
	if (rc == K_OK && st == S_PRESENT && (uint64_t)a == addr)
		scan((const unsigned char *)a, npages * sh->page_size, &c);
	if ((v1 & 1) || atomic_load(&k->ver) != v1)
		return;			/* the owner was at work: no verdict */
	atomic_fetch_add(&s->lockfree_checks, 1);
	if (st == S_ABSENT && rc == K_OK)
		failf("%s found at 0x%llx while its owner had it freed", nm.name,
				(unsigned long long)a);
	else if (st == S_PRESENT && (rc != K_OK || (uint64_t)a != addr))
		failf("%s: %d at 0x%llx while its owner had it at 0x%llx",
				nm.name, rc, (unsigned long long)a,
				(unsigned long long)addr);
	else if (st == S_PRESENT && (c.bad || c.mixed))
		failf("%s at 0x%llx read by another: %llu foreign words%s",
				nm.name, (unsigned long long)a,
				(unsigned long long)c.bad,
				c.mixed ? ", generations mixed" : "");
}

/* A worker's reader thread: lock-free retrievals of others' names. */
static void *
reader_main(void *arg)
{
	struct thr *x = arg;
	struct slot *s = &sh->s[x->p][0];
	while (!atomic_load(&sh->stop) && !atomic_load(&sh->failed))
		foreign_read(x, s);
	return NULL;
}

/* One random operation of a thread slot. */
static void
one_op(struct thr *x)
{
	struct slot *s = &sh->s[x->p][x->t];
	unsigned j = (unsigned)(rnd(&x->rng) % NNAMES);
	struct known *k = &s->k[j];
	unsigned r = (unsigned)(rnd(&x->rng) % 100);
	PmmName nm;
	VmAddr a = 0;
	char key[32];
	int rc, was = atomic_load_explicit(&k->st, memory_order_acquire);
	name_of(x->p, x->t, j, &nm);
	if (r < 40) {
		unsigned kk = (unsigned)(rnd(&x->rng) % 3);
		size_t ks = kk ? key_of(x->p, x->t, kk, key) : 0;
		uint64_t np = 1 + rnd(&x->rng) % 8;
		publish(k, S_UNKNOWN);
		rc = pmmAllocate(&a, &nm, np * sh->page_size - rnd(&x->rng) %
				sh->page_size, kk ? key : NULL, ks);
		atomic_fetch_add(&s->allocs, 1);
		if (rc == K_ENOMEM || rc == K_ETOOMUCH) {
			if (was == S_PRESENT)
				failf("allocate of present s%u.%u.%u: %s", x->p,
						x->t, j, pmmErrorMsg());
			atomic_fetch_add(&s->nomem, 1);
			publish(k, S_ABSENT);
		} else if (rc != K_OK) {
			failf("allocate s%u.%u.%u: %d %s", x->p, x->t, j, rc,
					pmmErrorMsg());
		} else {
			got_block(x, j, a, np, was, kk);
		}
	} else if (r < 65) {
		publish(k, S_UNKNOWN);
		rc = pmmFree(&nm);
		atomic_fetch_add(&s->frees, 1);
		if ((was == S_PRESENT && rc != K_OK) ||
				(was == S_ABSENT && rc != K_EUNKNOWN) ||
				(rc != K_OK && rc != K_EUNKNOWN))
			failf("free s%u.%u.%u (%s): %d %s", x->p, x->t, j,
					was == S_PRESENT ? "present" :
					was == S_ABSENT ? "absent" : "unknown", rc,
					pmmErrorMsg());
		publish(k, S_ABSENT);
	} else if (r < 72) {
		unsigned kk = 1 + (unsigned)(rnd(&x->rng) % 2);
		size_t ks = key_of(x->p, x->t, kk, key);
		int sure = 1, some = 0, st[NNAMES];
		for (unsigned i = 0; i < NNAMES; i++) {
			st[i] = atomic_load(&s->k[i].st);
			if (st[i] == S_UNKNOWN)
				sure = 0;
			if (st[i] == S_PRESENT && s->k[i].key == kk) {
				some = 1;
				publish(&s->k[i], S_UNKNOWN);
			}
		}
		rc = pmmFreeAll(key, ks);
		atomic_fetch_add(&s->freealls, 1);
		if ((some && rc != K_OK) || (sure && !some && rc != K_EUNKNOWN) ||
				(rc != K_OK && rc != K_EUNKNOWN))
			failf("freeAll %s: %d %s", key, rc, pmmErrorMsg());
		for (unsigned i = 0; i < NNAMES; i++)
			if (st[i] == S_PRESENT && s->k[i].key == kk)
				publish(&s->k[i], S_ABSENT);
	} else if (r < 90) {
		rc = pmmAllocate(&a, &nm, 0, NULL, 0);
		atomic_fetch_add(&s->retrieves, 1);
		if ((was == S_PRESENT && rc != K_OK) ||
				(was == S_ABSENT && rc != K_ESIZE) ||
				(rc != K_OK && rc != K_ESIZE))
			failf("retrieve s%u.%u.%u: %d %s", x->p, x->t, j, rc,
					pmmErrorMsg());
		if (rc == K_OK)
			got_block(x, j, a, 0, was, 0);
		else if (rc == K_ESIZE)
			publish(k, S_ABSENT);
	} else {
		foreign_read(x, s);
	}
	atomic_fetch_add(&s->ops, 1);
}

/* A thread of a worker: operations until told to stop. */
static void *
thread_main(void *arg)
{
	struct thr *x = arg;
	while (!atomic_load(&sh->stop) && !atomic_load(&sh->failed))
		one_op(x);
	return NULL;
}

/* Worker process p: its threads, until the parent says stop. */
static void
worker(unsigned p)
{
	pthread_t th[MAXT + 1];
	struct thr x[MAXT + 1];
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	x[MAXT].p = p;
	x[MAXT].t = 0;
	x[MAXT].rng = (uint64_t)now.tv_nsec * 0x51ed + (uint64_t)getpid();
	if (pthread_create(&th[MAXT], NULL, reader_main, &x[MAXT]) != 0)
		_exit(80);
	for (unsigned t = 0; t < sh->nthreads; t++) {
		x[t].p = p;
		x[t].t = t;
		x[t].rng = (uint64_t)now.tv_nsec * 0x9e37 + (uint64_t)getpid() *
			131 + t;
		if (pthread_create(&th[t], NULL, thread_main, &x[t]) != 0)
			_exit(80);
	}
	for (unsigned t = 0; t < sh->nthreads; t++)
		pthread_join(th[t], NULL);
	pthread_join(th[MAXT], NULL);
	pmm__banks_reset();
	_exit(0);
}

/* Start worker p. */
static pid_t
spawn(unsigned p)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		worker(p);
	return pid;
}

/* Total operations done so far. */
static uint64_t
total_ops(void)
{
	uint64_t n = 0;
	for (unsigned p = 0; p < sh->nprocs; p++)
		for (unsigned t = 0; t < sh->nthreads; t++)
			n += atomic_load(&sh->s[p][t].ops);
	return n;
}

/* 1 if thread tid belongs to process pid. */
static int
thread_of(pid_t pid, pid_t t)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/task/%d", (int)pid, (int)t);
	return t > 0 && stat(path, &st) == 0;
}

/* 1 if a thread of pid holds one of the bank's locks (an arena's or the
 * keys'), read from the file. */
static int
holds_lock(const char *bank, pid_t pid)
{
	struct pmm__hdr h;
	int fd = open(bank, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = pread(fd, &h, sizeof(h), 0);
	close(fd);
	if (n != (ssize_t)sizeof(h))
		return 0;
	int held = thread_of(pid, h.keys.lock.__data.__lock & 0x3fffffff);
	for (unsigned a = 0; a < PMM__ARENAS; a++)
		held |= thread_of(pid, h.arena[a].lock.__data.__lock & 0x3fffffff);
	return held;
}

/* Seconds on the monotonic clock. */
static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* In a fresh process: take the lock, check the bank whole, and compare
 * every block with what its slot knows. */
static void
final_check(void)
{
	struct pmm__bank *b;
	char report[256];
	alarm(test_under_valgrind() ? 600 : 30);
	int rc = pmm__bank_get("RAM", &b);
	if (rc != K_OK) {
		failf("final open: %s", pmmErrorMsg());
		_exit(0);
	}
	if ((rc = pmm__lock(b)) != K_OK) {
		failf("final lock: %s", pmmErrorMsg());
		_exit(0);
	}
	if (pmm__check(b, report, sizeof(report)) != K_OK)
		failf("final pmm__check: %s", report);
	uint64_t seen[MAXP][MAXT] = { { 0 } };
	for (uint64_t i = 0; i < b->g.max_blocks; i++) {
		const struct pmm__entry *e = &b->table[i];
		unsigned p, t, j;
		char c;
		if (e->state != PMM__USED)
			continue;
		if (sscanf(e->name, "s%u.%u.%u%c", &p, &t, &j, &c) != 3 ||
				p >= sh->nprocs || t >= sh->nthreads ||
				j >= NNAMES) {
			failf("foreign block \"%.64s\"", e->name);
			continue;
		}
		seen[p][t] |= 1ULL << j;
		struct known *k = &sh->s[p][t].k[j];
		uint64_t addr = (uint64_t)(uintptr_t)b->data +
			((uint64_t)e->page << b->page_shift);
		uint64_t len = (uint64_t)e->npages << b->page_shift;
		struct content ct;
		scan((unsigned char *)(uintptr_t)addr, len, &ct);
		int st = atomic_load(&k->st);
		if (ct.bad || ct.mixed)
			failf("%s: %llu foreign words%s", e->name,
					(unsigned long long)ct.bad,
					ct.mixed ? ", generations mixed" : "");
		if (st == S_ABSENT)
			failf("%s exists; its slot freed it", e->name);
		if (st == S_PRESENT && (k->addr != addr ||
				(ct.pat > 0 && ct.gen != k->gen) ||
				(k->full && ct.pat != len / 8)))
			failf("%s: at 0x%llx with %llu pattern words; its slot wrote %s at 0x%llx",
					e->name, (unsigned long long)addr,
					(unsigned long long)ct.pat,
					k->full ? "all" : "some",
					(unsigned long long)k->addr);
	}
	for (unsigned p = 0; p < sh->nprocs; p++)
		for (unsigned t = 0; t < sh->nthreads; t++)
			for (unsigned j = 0; j < NNAMES; j++)
				if (atomic_load(&sh->s[p][t].k[j].st) ==
						S_PRESENT &&
						!(seen[p][t] >> j & 1))
					failf("s%u.%u.%u lost", p, t, j);
	pmm__unlock(b);
	pmm__banks_reset();
	_exit(0);
}

static double duration = 5;
static char workdir[PATH_MAX - 64];

/* Make the bank directory (runner side, so a timeout leaves nothing). */
static void
make_workdir(void)
{
	snprintf(workdir, sizeof(workdir), "%s/pmm-test-stress-%d",
			test_dir(), (int)getpid());
	ck_assert_int_eq(mkdir(workdir, 0700), 0);
}

/* Remove the bank directory and everything in it. */
static void
remove_workdir(void)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "rm -rf '%s'", workdir);
	if (system(p) != 0)
		fprintf(stderr, "cannot remove %s\n", workdir);
}

/* P processes x T threads for a while, with random SIGKILLs. */
START_TEST(test_stress)
{
	int vg = test_under_valgrind();
	pid_t pid[MAXP];
	char bank[PATH_MAX];
	uint64_t kills = 0, held = 0, seed = (uint64_t)time(NULL);
	snprintf(bank, sizeof(bank), "%s/RAM.pmm", workdir);
	setenv("PMM_DIR", workdir, 1);
	setenv("PMM_CONF", "", 1);
	/* _i 0: 4 arenas (a bank of 16 MiB and 1,024 entries); 1: one
	 * arena (4 MiB), whose calls mark no bucket */
	setenv("PMM_TUNABLES", _i == 0 ?
		"pmm.maxBlocks=1024;pmm.rambankSize=0x1000000" :
		"pmm.maxBlocks=1024;pmm.rambankSize=0x400000", 1);
	unlink(bank);			/* the other geometry's */
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(sh, MAP_FAILED);
	memset(sh, 0, sizeof(*sh));
	sh->nprocs = vg ? 2 : 3;
	sh->nthreads = vg ? 2 : 3;
	sh->page_size = (uint64_t)sysconf(_SC_PAGESIZE);
	for (unsigned p = 0; p < MAXP; p++)
		for (unsigned t = 0; t < MAXT; t++)
			for (unsigned j = 0; j < NNAMES; j++)
				sh->s[p][t].k[j].st = S_ABSENT;
	/* they race to create the bank, too */
	for (unsigned p = 0; p < sh->nprocs; p++)
		pid[p] = spawn(p);
	double start = now_s(), last_progress = start;
	double stall = vg ? 120 : 10;
	uint64_t last_ops = 0;
	while (now_s() - start < duration && !atomic_load(&sh->failed)) {
		uint64_t ms = vg ? 200 + rnd(&seed) % 800 : 2 + rnd(&seed) % 40;
		struct timespec ts = { (time_t)(ms / 1000),
			(long)(ms % 1000) * 1000000 };
		nanosleep(&ts, NULL);
		uint64_t ops = total_ops();
		if (ops != last_ops) {
			last_ops = ops;
			last_progress = now_s();
		} else if (now_s() - last_progress > stall) {
			failf("no operation completed for %.0f s: a deadlock",
					stall);
			break;
		}
		/* stop a worker, see whether it holds the lock, kill it; every
		 * other time, retry a few times for a moment when it does */
		unsigned p = (unsigned)(rnd(&seed) % sh->nprocs);
		int st, h = 0, tries = rnd(&seed) % 2 ? 20 : 1;
		for (int i = 0; i < tries && !h; i++) {
			if (i > 0) {
				kill(pid[p], SIGCONT);
				sched_yield();
			}
			kill(pid[p], SIGSTOP);
			ck_assert_int_eq(waitpid(pid[p], &st, WUNTRACED),
					pid[p]);
			if (!WIFSTOPPED(st))
				break;
			h = holds_lock(bank, pid[p]);
		}
		if (WIFEXITED(st) && atomic_load(&sh->failed)) {
			pid[p] = spawn(p);	/* it saw the failure */
			break;
		}
		held += h;
		kill(pid[p], SIGKILL);
		if (WIFSTOPPED(st))
			ck_assert_int_eq(waitpid(pid[p], &st, 0), pid[p]);
		ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
				"worker %u ended by itself (status 0x%x)", p, st);
		kills++;
		pid[p] = spawn(p);
	}
	/* everyone stops by itself, or it is stuck */
	atomic_store(&sh->stop, 1);
	double until = now_s() + (vg ? 300 : 20);
	for (unsigned p = 0; p < sh->nprocs; p++) {
		int st;
		pid_t w;
		while ((w = waitpid(pid[p], &st, WNOHANG)) == 0 &&
				now_s() < until) {
			struct timespec ts = { 0, 10000000 };
			nanosleep(&ts, NULL);
		}
		if (w == 0) {
			failf("worker %u did not stop: a deadlock", p);
			kill(pid[p], SIGKILL);
			waitpid(pid[p], &st, 0);
		} else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			failf("worker %u ended with status 0x%x", p, st);
		}
	}
	uint64_t ops = total_ops();
	if (!atomic_load(&sh->failed)) {
		int st;
		pid_t c = fork();
		ck_assert_int_ge(c, 0);
		if (c == 0)
			final_check();
		ck_assert_int_eq(waitpid(c, &st, 0), c);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failf("final check: status 0x%x (SIGALRM: the lock is stuck)",
					st);
	}
	ck_assert_msg(!atomic_load(&sh->failed), "%s", sh->fail);
	uint64_t zc = 0, pc = 0, nomem = 0, fa = 0, lf = 0;
	for (unsigned p = 0; p < sh->nprocs; p++)
		for (unsigned t = 0; t < sh->nthreads; t++) {
			zc += sh->s[p][t].zero_checks;
			pc += sh->s[p][t].pattern_checks;
			nomem += sh->s[p][t].nomem;
			fa += sh->s[p][t].freealls;
			lf += sh->s[p][t].lockfree_checks;
		}
	ck_assert_uint_gt(ops, 0);
	ck_assert_uint_gt(kills, 0);
	ck_assert_uint_gt(lf, 0);
	printf("stress (%s): %u processes x %u threads, %.0f s: %llu operations (%llu freeAll, %llu out of memory), %llu SIGKILLs, %llu of them holding a lock; %llu new blocks read zero, %llu blocks kept their pattern; %llu retrievals by others checked exactly; pmm__check passed\n",
			_i == 0 ? "four arenas" : "one arena",
			sh->nprocs, sh->nthreads, duration,
			(unsigned long long)ops, (unsigned long long)fa,
			(unsigned long long)nomem, (unsigned long long)kills,
			(unsigned long long)held, (unsigned long long)zc,
			(unsigned long long)pc, (unsigned long long)lf);
	fflush(stdout);
}
END_TEST

/* Builds the suite. */
static Suite *
suite(void)
{
	Suite *s = suite_create("pmm_stress");
	TCase *tc = test_case(s, "stress", duration + 60);
	tcase_add_unchecked_fixture(tc, make_workdir, remove_workdir);
	tcase_add_loop_test(tc, test_stress, 0, 2);
	return s;
}

/* Runs the suite: 5 seconds, or as many as the first argument says. */
int
main(int argc, char **argv)
{
	if (argc > 1)
		duration = atof(argv[1]);
	if (duration <= 0)
		duration = 5;
	return test_run(suite());
}
