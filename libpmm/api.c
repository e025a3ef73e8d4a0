/*
 * api.c -- pmmAllocate, pmmFree, pmmFreeAll.
 *
 * Every change holds the bank lock and commits with one persisted aligned
 * store (an entry's 4-byte state word, or the freeAll redo record's 8-byte
 * mark); the index is rebuilt by whoever finds it torn.  A retrieval
 * first looks without the lock (pmm__name_peek): a name enters the name
 * buckets after its allocation's commit and leaves them before its
 * free's commit.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "hr/hr.h"
#include "pmm.h"
#include "badranges.h"

static int
take_name(const PmmName *name, char nm[64])
{
	if (name == NULL)
		return pmm__fail(K_EFAULT, "PmmName pointer is NULL");
	if (memchr(name->medium, 0, sizeof(name->medium)) == NULL)
		return pmm__fail(K_ENOTERM,
				"medium has no NUL within its %zu bytes",
				sizeof(name->medium));
	if (memchr(name->name, 0, sizeof(name->name)) == NULL)
		return pmm__fail(K_ENOTERM,
				"name has no NUL within its %zu bytes",
				sizeof(name->name));
	if (name->medium[0] == 0)
		return pmm__fail(K_EEMPTY, "empty medium");
	if (name->name[0] == 0)
		return pmm__fail(K_EEMPTY, "empty block name");
	memset(nm, 0, 64);
	strcpy(nm, name->name);
	return K_OK;
}

static int
is_sys(const uint8_t *key, size_t ks)
{
	return ks >= 5 && memcmp(key, PMM__SYS_PREFIX, 5) == 0;
}

static int
is_group_key(const void *key, size_t ks)
{
	return ks == HR_GROUP_KEYSIZE && memcmp(key, HR_GROUP_KEY, ks) == 0;
}

/* Copy a deletion key into k (zero-padded); HR_GROUP_KEY becomes the
 * caller's group's own key. */
static int
take_key(PmmDelKey key, size_t ks, uint8_t k[32], uint32_t *kslen,
		unsigned flags)
{
	if (ks > PMM_DELKEY_MAX)
		return pmm__fail(K_EKEYSIZE,
				"deletion key of %zu bytes; at most %d", ks,
				PMM_DELKEY_MAX);
	if (ks > 0 && key == NULL)
		return pmm__fail(K_EFAULT, "deletion key pointer is NULL");
	memset(k, 0, 32);
	if (ks > 0 && is_group_key(key, ks)) {
		const char *g = hr__self_group();
		if (g == NULL)
			return pmm__fail(K_ENOGROUP,
					"HR_GROUP_KEY used outside a restart group");
		int n = snprintf((char *)k, 32, PMM__HRG_PREFIX "%s", g);
		if (n < 0 || n >= 32)
			return pmm__fail(K_ENOGROUP, "restart group id too long");
		*kslen = (uint32_t)n + 1;
		return K_OK;
	}
	if (ks > 0)
		memcpy(k, key, ks);
	if (is_sys(k, ks) && !(flags & PMM__F_SYSTEM))
		return pmm__fail(K_EPRIV,
				"keys starting with \"__SYS\" are reserved");
	*kslen = (uint32_t)ks;
	return K_OK;
}

static VmAddr
block_addr(const struct pmm__bank *b, const struct pmm__entry *e)
{
	return (VmAddr)(b->data + ((uint64_t)e->page << b->page_shift));
}

/* The used pages of every arena (for messages). */
static uint64_t
used_pages(const struct pmm__bank *b)
{
	uint64_t n = 0;
	for (unsigned a = 0; a < b->g.narenas; a++)
		n += b->hdr->arena[a].used_pages;
	return n;
}

/* Blocks of at most this many pages have their lines hinted before the
 * lookup, and are the ones guessed new. */
#define SMALL_PAGES 64

/* How many of this thread's last pmmAllocate calls made new blocks in a
 * row, up to NEW_RUN: calls come in runs of new names or of existing
 * ones, and after two new ones the next is guessed new (an alternation
 * is never guessed so: a retrieval guessed wrong costs a page's fill). */
#define NEW_RUN 2
static __thread unsigned char new_run __attribute__((tls_model("initial-exec")));

/* Start loading what a new block of npages will touch in this thread's
 * arena (the free entry and its chain link, its free list's head and the
 * head's tags and links, its first data line; ahead, when the call is
 * likely to make a block, every line of the first PMM__FILL_AHEAD bytes
 * it fills with plain stores) while the name's bucket is read: read
 * without the lock, these are only hints, bounds-checked. */
static void
prefetch_new(const struct pmm__bank *b, uint32_t npages, int ahead)
{
	if (npages > SMALL_PAGES)
		return;
	const struct pmm__arena *A = &b->hdr->arena[pmm__arena_pick(b)];
	uint64_t v = __atomic_load_n(&A->free_head, __ATOMIC_RELAXED);
	uint32_t h = __atomic_load_n(&A->class_head[npages - 1],
			__ATOMIC_RELAXED);
	if (v != 0 && v <= b->g.max_blocks) {
		__builtin_prefetch(&b->table[v - 1], 1);
		__builtin_prefetch(&b->knext[v - 1]);
	}
	if (h == 0 || h > b->g.npages)
		return;
	__builtin_prefetch(&b->pg[h - 1], 1);
	/* a retrieval would only spend the bandwidth: its first line */
	size_t n = (size_t)npages << b->page_shift;
	pmm__want_lines(b->data + ((uint64_t)(h - 1) << b->page_shift),
			!ahead ? 64 : n < PMM__FILL_AHEAD ? n : PMM__FILL_AHEAD);
}

/* Before a commit: release l and do the call again wide (PMM__WIDE). */
static int
go_wide(struct pmm__bank *b, struct pmm__locks *l)
{
	if (l == NULL)			/* wide calls never wait for a bucket */
		return pmm__fail(K_ECORRUPT, "%s: a wide call was sent wide",
				b->path);
	pmm__unlock_narrow(b, l);
	return PMM__WIDE;
}

/* Before a commit, the derived index was found damaged.  Wide (l NULL):
 * rebuild it now.  Narrow: mark it untrusted and release l; the call is
 * made again wide, whose locker rebuilds it first (PMM__WIDE). */
static int
repair(struct pmm__bank *b, struct pmm__locks *l)
{
	if (l == NULL)
		return pmm__recover(b);
	pmm__ix_begin_rebuild(b);
	pmm__unlock_narrow(b, l);
	return PMM__WIDE;
}

/* After a committed change, an index update failed (or waited too
 * long): rebuild the index from the table, which holds the change. */
static int
repair_committed(struct pmm__bank *b, struct pmm__locks *l)
{
	int rc = repair(b, l);
	if (rc == PMM__WIDE && (rc = pmm__lock(b)) == K_OK)
		pmm__unlock(b);		/* it rebuilt the untrusted index */
	return rc;
}

/* Holding nm's home bucket (l; NULL: every lock): the block named nm
 * (64 zero-padded bytes, hash h), its entry checked against the table.  The
 * index is derived: one that names a free entry or another block, or is
 * out of range, is rebuilt from the table and asked again.  A damaged
 * entry is the truth damaged: never trusted (its pages might be outside
 * the bank or another block's); narrow, it is judged again wide, where
 * no other writer can be making it. */
static int
find_live(struct pmm__bank *b, struct pmm__locks *l, const char nm[64],
		uint64_t h, uint32_t *idx)
{
	for (int again = 0;; again = 1) {
		int rc = pmm__name_find_l(b, l, nm, h, idx), used = 0;
		if (rc == PMM__WIDE)
			return go_wide(b, l);
		if (rc == K_OK && (rc = pmm__entry_validate(b, *idx, &used)) !=
				K_OK) {
			if (l != NULL)
				return go_wide(b, l);
			char msg[300];
			snprintf(msg, sizeof(msg), "%s", pmmErrorMsg());
			return pmm__fail(rc, "%s: %s", b->path, msg);
		}
		if (rc == K_OK && used && pmm__entry_is(&b->table[*idx], nm))
			return K_OK;
		if (rc == K_EUNKNOWN)
			return rc;
		if (again)
			return pmm__fail(K_ECORRUPT,
					"%s: the index still sends \"%s\" to entry %u after its rebuild",
					b->path, nm, *idx);
		if ((rc = repair(b, l)) != K_OK)
			return rc;
	}
}

/* Wide: a free entry and npages free pages from any arena, arena a's
 * first, then pages across arenas' boundaries. */
static int
take_space_wide(struct pmm__bank *b, unsigned a, uint32_t npages,
		uint32_t *idx, uint32_t *page)
{
	unsigned n = (unsigned)b->g.narenas, ea = a, pa = a;
	int rc = K_ETOOMUCH;
	for (unsigned i = 0; i < n && rc == K_ETOOMUCH; i++)
		rc = pmm__entry_pop(b, ea = (a + i) % n, idx);
	if (rc != K_OK)
		return rc;
	rc = K_ENOMEM;
	for (unsigned i = 0; i < n && rc == K_ENOMEM; i++)
		rc = pmm__space_alloc(b, pa = (a + i) % n, npages, page);
	if (rc == K_ENOMEM && used_pages(b) + npages <= b->g.npages) {
		rc = pmm__space_alloc_span(b, npages, page);
		pa = n;
	}
	if (rc != K_OK)
		pmm__entry_push(b, *idx);
	else if (ea == pa && ea != a)
		pmm__arena_keep(ea);		/* it has room; ours had not */
	return rc;
}

/* Holding arena a (l; NULL: every lock): a free entry and npages free
 * pages for a new block.  Both come from the derived index: one found
 * damaged (nothing is committed yet) is rebuilt from the table and
 * asked once more.  Narrow, an arena without room sends the call wide. */
static int
take_space(struct pmm__bank *b, struct pmm__locks *l, unsigned a,
		uint32_t npages, uint32_t *idx, uint32_t *page)
{
	for (int again = 0;; again = 1) {
		int rc;
		if (l == NULL) {
			rc = take_space_wide(b, a, npages, idx, page);
		} else {
			rc = pmm__entry_pop(b, a, idx);
			if (rc == K_OK && (rc = pmm__space_alloc(b, a, npages,
						page)) != K_OK)
				pmm__entry_push(b, *idx);
			if (rc == K_ETOOMUCH || rc == K_ENOMEM)
				return go_wide(b, l);
		}
		if (rc != K_ECORRUPT || again)
			return rc;
		if ((rc = repair(b, l)) != K_OK)
			return rc;
	}
}

/* A new block's request, checked. */
struct request {
	const char *nm;			/* 64 zero-padded bytes */
	uint64_t h;			/* its hash */
	const char *medium;
	size_t size;
	const uint8_t *key;		/* 32 zero-padded bytes */
	uint32_t ks;
	int ahead;			/* likely new: space taken first */
};

/* The pages of a request of size bytes. */
static uint32_t
pages_of(const struct pmm__bank *b, size_t size)
{
	return (uint32_t)((size + b->g.page_size - 1) >> b->page_shift);
}

/* Whether a call for size bytes takes and fills its space before it
 * looks at its name (a small block, in a run of new ones, on a cached
 * medium: a flushed bank guessing measured 1.25 times slower at 30
 * blocks, its streamed zeros waited for, it seems, at the bucket's
 * atomic). */
static int
guess_new(const struct pmm__bank *b, size_t size)
{
	return new_run >= NEW_RUN && b->cached && size != 0 &&
		size <= SMALL_PAGES * b->g.page_size && size <= b->g.bank_size;
}

/* Holding arena a (narrow l): a free entry and pages for r taken and
 * filled before r's name is looked at, so that the bucket's line comes
 * while the page is written (1) or nothing taken (0: any trouble is
 * left to the ordinary order, which reports or repairs it). */
static int
take_ahead(struct pmm__bank *b, unsigned a, const struct request *r,
		uint32_t *idx, uint32_t *page)
{
	if (pmm__entry_pop(b, a, idx) != K_OK)
		return 0;
	if (pmm__space_alloc(b, a, pages_of(b, r->size), page) != K_OK) {
		pmm__entry_push(b, *idx);
		return 0;
	}
	pmm__fill_nodrain(b, b->data + ((uint64_t)*page << b->page_shift), 0,
			(size_t)pages_of(b, r->size) << b->page_shift);
	return 1;
}

/* Holding arena a (narrow l): return what take_ahead took, nothing of it
 * committed (its pages were only zeroed). */
static int
give_back(struct pmm__bank *b, struct pmm__locks *l,
		const struct request *r, uint32_t idx, uint32_t page)
{
	/* the zeros land before the pages can be another's, whose writes
	 * they must never follow: every persist of a call is drained
	 * before its locks are released (a compiler barrier while only
	 * cached banks guess, the order kept should a streamed fill) */
	pmm__drain(b);
	pmm__entry_push(b, idx);
	if (pmm__space_free(b, page, pages_of(b, r->size)) != K_OK)
		return repair(b, l);
	return K_OK;
}

/* Holding arena a (l; NULL: every lock) and r's home bucket: make block
 * r->nm in entry idx and the pages from page on, already filled. */
static int
commit_new(struct pmm__bank *b, struct pmm__locks *l,
		const struct request *r, uint32_t idx, uint32_t page,
		VmAddr *addr)
{
	struct pmm__entry *e = &b->table[idx];
	e->page = page;
	e->npages = pages_of(b, r->size);
	memcpy(e->name, r->nm, sizeof(e->name));
	e->keysize = (uint8_t)r->ks;
	memcpy(e->key, r->key, sizeof(e->key));
	e->checksum = pmm__entry_checksum(e, idx);
	pmm__flush(b, e, sizeof(*e));
	pmm__drain(b);
	e->state = PMM__USED;			/* the commit */
	pmm__persist(b, &e->state, sizeof(e->state));
	b->hdr->arena[pmm__arena_of_entry(&b->g, idx)].used_blocks++;
	*addr = block_addr(b, e);
	if (new_run < NEW_RUN)
		new_run++;
	if (pmm__name_insert_l(b, l, idx, r->h) != K_OK ||
			(r->ks > 0 && pmm__key_insert(b, idx) != K_OK))
		return repair_committed(b, l);
	return K_OK;
}

/* allocate_in's "the name guessed new exists; all it took is given back:
 * retrieve it as an unguessed call does", by its slot without the lock
 * (never returned to callers; apart from pmm.h's PMM__ codes).  The
 * locked way validates the block's entry, a line the lock-free way never
 * reads: in a large bank a cold one, which a VM's host may hold 100-200
 * us (bench/README.md, "Issue 14: what slowed the retrieve runs"). */
#define GUESSED_WRONG (-1100)

/* Holding arena a (l; NULL: every lock): retrieve or allocate block
 * r->nm; PMM__WIDE when it must be done again wide (l released);
 * GUESSED_WRONG (l held). */
static int
allocate_in(struct pmm__bank *b, struct pmm__locks *l, unsigned a,
		const struct request *r, VmAddr *addr)
{
	uint32_t idx, page;
	int rc;
	if (l != NULL && r->ks > 0 && (rc = pmm__lock_keys(b, l)) != K_OK)
		return rc;
	int ahead = l != NULL && r->ahead && take_ahead(b, a, r, &idx, &page);
	if (pmm__bucket_take(b, l, pmm__name_home(b, r->h)) != K_OK) {
		if (ahead && (rc = give_back(b, l, r, idx, page)) != K_OK)
			return rc;
		return go_wide(b, l);
	}
	if (ahead) {
		uint32_t other;
		int found = pmm__name_find_l(b, l, r->nm, r->h, &other);
		if (found == K_EUNKNOWN)
			return commit_new(b, l, r, idx, page, addr);
		if ((rc = give_back(b, l, r, idx, page)) != K_OK)
			return rc;
		if (found == K_OK)
			return GUESSED_WRONG;
		/* the index needs a look: the ordinary way */
	}
	rc = find_live(b, l, r->nm, r->h, &idx);
	if (rc == K_OK) {
		rc = pmm__bad_retrieve(b, &b->table[idx], r->nm);
		if (rc == K_OK)
			*addr = block_addr(b, &b->table[idx]);
		new_run = 0;
		return rc;
	}
	if (rc != K_EUNKNOWN)
		return rc;
	if (r->size == 0)
		return pmm__fail(K_ESIZE,
				"no block \"%s\" in %s, and size 0 only retrieves",
				r->nm, r->medium);
	if (r->size > b->g.bank_size)
		return pmm__fail(K_ETOOBIG,
				"%zu bytes asked; the whole %s bank holds %llu",
				r->size, r->medium,
				(unsigned long long)b->g.bank_size);
	uint32_t npages = pages_of(b, r->size);
	if ((rc = take_space(b, l, a, npages, &idx, &page)) != K_OK) {
		if (rc == K_ETOOMUCH)
			pmm__fail(rc, "pmm.maxBlocks = %llu blocks exist in %s",
					(unsigned long long)b->g.max_blocks,
					r->medium);
		if (rc == K_ENOMEM)
			pmm__fail(rc,
					"no %u free contiguous pages in %s (%llu of %llu pages used)",
					npages, r->medium,
					(unsigned long long)used_pages(b),
					(unsigned long long)b->g.npages);
		return rc;
	}
	pmm__fill_nodrain(b, b->data + ((uint64_t)page << b->page_shift), 0,
			(size_t)npages << b->page_shift);
	return commit_new(b, l, r, idx, page, addr);
}

/* Allocate or retrieve a block (flags: PMM__F_SYSTEM allows __SYS keys). */
int
pmm__allocate(VmAddr *addr, const PmmName *name, size_t size,
		PmmDelKey delKey, size_t delKeySize, unsigned flags)
{
	char nm[64];
	uint8_t key[32];
	uint32_t ks = 0, idx, page;
	struct pmm__bank *b;
	int rc;
	if (addr == NULL)
		return pmm__fail(K_EFAULT, "address pointer is NULL");
	if ((rc = take_name(name, nm)) != K_OK ||
			(rc = take_key(delKey, delKeySize, key, &ks, flags)) != K_OK ||
			(rc = pmm__bank_get(name->medium, &b)) != K_OK)
		return rc;
	uint64_t h = pmm__name_hash(nm);
	int ahead = guess_new(b, size);
	/* the bucket's line first: the block's lines must not delay it */
	if (ahead)
		__builtin_prefetch(&b->nb[pmm__name_home(b, h)]);
	if (size != 0 && size <= SMALL_PAGES * b->g.page_size)
		prefetch_new(b, pages_of(b, size), ahead);
	struct request r = { nm, h, name->medium, size, key, ks, ahead };
	struct pmm__locks lk;
	unsigned a;
	do {
		/* a likely new name is looked for under the lock only, after
		 * its space is taken and filled: the lookup's miss then costs
		 * nothing */
		if (!r.ahead && atomic_load_explicit(&b->bad_none,
					memory_order_relaxed) &&
				pmm__name_peek(b, nm, h, &page, &idx) == K_OK) {
			*addr = (VmAddr)(b->data +
					((uint64_t)page << b->page_shift));
			new_run = 0;
			return K_OK;
		}
		if ((rc = pmm__lock_any_arena(b, &lk, &a)) == K_OK) {
			rc = allocate_in(b, &lk, a, &r, addr);
			if (rc != PMM__WIDE)
				pmm__unlock_narrow(b, &lk);
		}
		if (rc == GUESSED_WRONG) {
			r.ahead = 0;
			new_run = 0;
		}
	} while (rc == GUESSED_WRONG);
	if (rc == PMM__WIDE && (rc = pmm__lock(b)) == K_OK) {
		rc = allocate_in(b, NULL, pmm__arena_pick(b), &r, addr);
		pmm__unlock(b);
	}
	return rc;
}

/* Whether entry idx is a sound block named nm (64 zero-padded bytes). */
static int
still_named(struct pmm__bank *b, uint32_t idx, const char nm[64])
{
	int used = 0;
	return idx < b->g.max_blocks && b->table[idx].state == PMM__USED &&
		pmm__entry_is(&b->table[idx], nm) &&
		pmm__entry_validate(b, idx, &used) == K_OK && used;
}

/* A free's expected entry when it looked for none before its lock. */
#define ANY_ENTRY UINT32_MAX

/* Undo entry idx's index records (but its name's, gone before the
 * commit) after its free was committed, holding its arenas and (keyed)
 * the keys' lock. */
static int
unindex(struct pmm__bank *b, uint32_t idx)
{
	struct pmm__entry *e = &b->table[idx];
	int rc = K_OK;
	if (e->keysize > 0)
		rc = pmm__key_remove(b, idx);
	if (rc == K_OK)
		rc = pmm__space_free(b, e->page, e->npages);
	if (rc != K_OK)
		return rc;
	pmm__entry_push(b, idx);
	b->hdr->arena[pmm__arena_of_entry(&b->g, idx)].used_blocks--;
	return K_OK;
}

/* The arenas entry idx's block lies in (its entry's and its pages'). */
static unsigned
arenas_of(const struct pmm__bank *b, uint32_t idx)
{
	const struct pmm__entry *e = &b->table[idx];
	return (1u << pmm__arena_of_entry(&b->g, idx)) |
		pmm__space_arenas(b, __atomic_load_n(&e->page, __ATOMIC_RELAXED),
				__atomic_load_n(&e->npages, __ATOMIC_RELAXED));
}

/* Holding what l says (NULL: every lock): free block nm, whose entry
 * the caller expects to be want (narrow: the locks were chosen for it;
 * ANY_ENTRY: l holds the bank's one arena); PMM__WIDE when it must be
 * done again wide (l released). */
static int
free_locked(struct pmm__bank *b, struct pmm__locks *l, const char nm[64],
		uint64_t h, const char *label, unsigned flags, uint32_t want)
{
	uint32_t idx = want;
	int rc;
	if (pmm__bucket_take(b, l, pmm__name_home(b, h)) != K_OK)
		return go_wide(b, l);
	/* holding nm's home bucket, nobody else frees or makes nm: when the
	 * lock-free lookup's entry is still nm's, it stays so, and another
	 * walk of the buckets would only find it again */
	if (l == NULL || want == ANY_ENTRY || !still_named(b, want, nm)) {
		/* a damaged entry is never freed: its pages might be
		 * another's */
		rc = find_live(b, l, nm, h, &idx);
		if (rc == K_EUNKNOWN)
			return pmm__fail(rc, "no block \"%s\" in %s", nm,
					label);
		if (rc != K_OK)
			return rc;
	}
	struct pmm__entry *e = &b->table[idx];
	if (l != NULL && want != ANY_ENTRY && (idx != want ||
				(arenas_of(b, idx) & ~l->arenas))) {
		/* freed and made again, elsewhere, since the peek */
		return go_wide(b, l);
	}
	if (l != NULL && e->keysize > 0 && !l->keys) {
		if (l->nbkt > 0)		/* the keys' lock comes first */
			return go_wide(b, l);
		if ((rc = pmm__lock_keys(b, l)) != K_OK)
			return rc;		/* l released */
	}
	if (is_sys(e->key, e->keysize) && !(flags & PMM__F_SYSTEM) &&
			memcmp(e->key, PMM__HRG_PREFIX,
				sizeof(PMM__HRG_PREFIX) - 1) != 0)
		return pmm__fail(K_ESYSTEM, "block \"%s\" is internal to the system",
				nm);
	/* readers without the lock must not find it once it is freed (a
	 * damaged bucket: they stop trusting the index until the repair) */
	rc = pmm__name_remove_l(b, l, idx, h);
	if (rc == PMM__WIDE)
		return go_wide(b, l);
	int torn = rc != K_OK;
	if (torn)
		pmm__ix_begin_rebuild(b);
	e->state = PMM__FREE;			/* the commit */
	pmm__persist(b, &e->state, sizeof(e->state));
	if (torn || unindex(b, idx) != K_OK)
		return repair_committed(b, l);
	return K_OK;
}

/* Free the block named nm (64 zero-padded bytes) in bank b, whose medium
 * is shown as label: holding only its arenas when the lock-free lookup
 * finds it (a bank of one arena: that one, no lookup first), else every
 * lock. */
int
pmm__free_in(struct pmm__bank *b, const char nm[64], const char *label,
		unsigned flags)
{
	uint32_t idx = ANY_ENTRY, page;
	int rc = PMM__WIDE;
	uint64_t h = pmm__name_hash(nm);
	if (b->g.narenas == 1 ||
			pmm__name_locate(b, nm, h, &page, &idx) == K_OK) {
		struct pmm__locks lk;
		unsigned ks = 0, mask = 1;
		if (idx != ANY_ENTRY) {
			pmm__entry_prefetch(b, idx, page);
			ks = __atomic_load_n(&b->table[idx].keysize,
					__ATOMIC_RELAXED);
			mask = arenas_of(b, idx);
		}
		rc = pmm__lock_arenas(b, &lk, mask);
		if (rc == K_OK && ks > 0)
			rc = pmm__lock_keys(b, &lk);
		if (rc == K_OK)
			rc = free_locked(b, &lk, nm, h, label, flags, idx);
		if (rc != PMM__WIDE)
			pmm__unlock_narrow(b, &lk);
	}
	if (rc == PMM__WIDE && (rc = pmm__lock(b)) == K_OK) {
		rc = free_locked(b, NULL, nm, h, label, flags, 0);
		pmm__unlock(b);
	}
	return rc;
}

/* Free one block by name. */
int
pmm__free(const PmmName *name, unsigned flags)
{
	char nm[64];
	struct pmm__bank *b;
	int rc;
	if ((rc = take_name(name, nm)) != K_OK)
		return rc;
	/* freeing never creates a bank: no bank, no such block */
	rc = pmm__bank_get_existing(name->medium, &b);
	if (rc == K_EUNKNOWN)
		return pmm__fail(rc, "no block \"%s\" in %s (no bank yet)", nm,
				name->medium);
	if (rc != K_OK)
		return rc;
	return pmm__free_in(b, nm, name->medium, flags);
}

/* The blocks of a key the table still holds. */
static uint64_t
count_keyed(struct pmm__bank *b, const uint8_t key[32], uint32_t ks)
{
	uint64_t n = 0;
	for (uint64_t i = 0; i < b->g.max_blocks; i++) {
		const struct pmm__entry *e = &b->table[i];
		n += e->state == PMM__USED && e->keysize == ks &&
			memcmp(e->key, key, sizeof(e->key)) == 0;
	}
	return n;
}

/* Before a pmmFreeAll's commit, take the blocks on key's list (from
 * entry head) out of the name buckets, so that readers without the lock
 * cannot find them once freed; a damaged list: out of the whole index.
 * Whether the list is damaged. */
static int
unname_list(struct pmm__bank *b, uint32_t head, const uint8_t key[32],
		uint32_t ks)
{
	int damaged = 0;
	uint64_t n = 0;
	for (uint32_t idx = head + 1; idx != 0 && !damaged; n++) {
		const struct pmm__entry *e = &b->table[idx - 1];
		if (n == b->g.max_blocks || e->state != PMM__USED ||
				e->keysize != ks ||
				memcmp(e->key, key, sizeof(e->key)) != 0 ||
				pmm__name_remove(b, idx - 1) != K_OK ||
				(idx = b->knext[idx - 1]) > b->g.max_blocks)
			damaged = 1;
	}
	if (damaged)
		pmm__ix_begin_rebuild(b);
	return damaged;
}

/* Free every block of one key in one bank; *freed counts them. */
static int
free_all_in(struct pmm__bank *b, const uint8_t key[32], uint32_t ks,
		uint64_t *freed)
{
	uint32_t head, idx;
	int rc = pmm__lock(b);
	if (rc != K_OK)
		return rc;
	rc = pmm__key_find(b, key, ks, &head);
	if (rc != K_OK) {
		if (rc == K_EUNKNOWN)
			rc = K_OK;
		goto out;
	}
	int damaged = unname_list(b, head, key, ks);
	struct pmm__log *l = &b->hdr->log;
	l->keysize = ks;
	memcpy(l->key, key, sizeof(l->key));
	l->seq++;
	l->checksum = pmm__log_checksum(l);
	pmm__flush(b, l, sizeof(*l));
	pmm__drain(b);
	l->valid = PMM__LOG_FREEALL;		/* the commit */
	pmm__persist(b, &l->valid, sizeof(l->valid));
	/* every block freed is counted, even the one whose link out of the
	 * list turns out damaged; a damaged list is never trusted further */
	uint64_t n = 0;
	for (idx = head + 1; idx != 0; ) {
		if (n == b->g.max_blocks) {
			damaged = 1;		/* a cycle */
			break;
		}
		struct pmm__entry *e = &b->table[idx - 1];
		if (e->state != PMM__USED || e->keysize != ks ||
				memcmp(e->key, key, sizeof(e->key)) != 0) {
			damaged = 1;		/* a cycle, or a foreign block */
			break;
		}
		e->state = PMM__FREE;
		pmm__flush(b, &e->state, sizeof(e->state));
		n++;
		idx = b->knext[idx - 1];
		if (idx > b->g.max_blocks) {
			damaged = 1;
			break;
		}
	}
	pmm__drain(b);
	if (damaged) {
		/* the list lost blocks: the committed redo record frees them
		 * all by a scan of the table, then the index is rebuilt */
		n += count_keyed(b, key, ks);
		rc = pmm__recover(b);
		*freed += n;
		goto out;
	}
	l->valid = 0;
	pmm__persist(b, &l->valid, sizeof(l->valid));
	/* the key's list is intact until now: unindex from its head on */
	uint64_t m = 0;
	for (idx = head + 1; !damaged && idx != 0 && m < n; m++) {
		uint32_t next = b->knext[idx - 1];
		if (next > b->g.max_blocks || unindex(b, idx - 1) != K_OK)
			damaged = 1;
		idx = next;
	}
	if (damaged || m != n)
		rc = pmm__recover(b);
	*freed += n;
out:
	pmm__unlock(b);
	return rc;
}

/* Check and copy a key for pmmFreeAll (HR_GROUP_KEY, "__SYS" refused). */
static int
free_all_key(PmmDelKey delKey, size_t delKeySize, uint8_t key[32],
		uint32_t *ks, unsigned flags)
{
	if (delKey == NULL)
		return pmm__fail(K_EFAULT, "deletion key pointer is NULL");
	if (delKeySize == 0)
		return pmm__fail(K_EKEYSIZE, "empty deletion key");
	if (is_group_key(delKey, delKeySize) && !(flags & PMM__F_SYSTEM))
		return pmm__fail(K_EPRIV,
				"HR_GROUP_KEY blocks are freed with their restart group");
	return take_key(delKey, delKeySize, key, ks, flags);
}

/* Free every block of a key in bank b alone. */
int
pmm__free_all_in(struct pmm__bank *b, PmmDelKey delKey, size_t delKeySize,
		unsigned flags)
{
	uint8_t key[32];
	uint32_t ks;
	uint64_t freed = 0;
	int rc = free_all_key(delKey, delKeySize, key, &ks, flags);
	if (rc != K_OK || (rc = free_all_in(b, key, ks, &freed)) != K_OK)
		return rc;
	if (freed == 0)
		return pmm__fail(K_EUNKNOWN, "no block has this deletion key");
	return K_OK;
}

/* Free every block of a key, in every medium whose bank exists. */
int
pmm__free_all(PmmDelKey delKey, size_t delKeySize, unsigned flags)
{
	uint8_t key[32];
	uint32_t ks;
	int rc = free_all_key(delKey, delKeySize, key, &ks, flags);
	if (rc != K_OK)
		return rc;
	struct pmm__config c;
	if ((rc = pmm__config_load(&c)) != K_OK)
		return rc;
	uint64_t freed = 0;
	for (unsigned i = 0; i <= c.nmedia; i++) {
		const char *medium = i == 0 ? "RAM" : c.media_name[i - 1];
		if (i > 0 && strcmp(medium, "RAM") == 0)
			continue;
		struct pmm__bank *b;
		rc = pmm__bank_get_existing(medium, &b);
		if (rc == K_EUNKNOWN)
			continue;
		if (rc != K_OK || (rc = free_all_in(b, key, ks, &freed)) != K_OK)
			return rc;
	}
	if (freed == 0)
		return pmm__fail(K_EUNKNOWN, "no block has this deletion key");
	return K_OK;
}

PMM_EXPORT KnError
pmmAllocate(VmAddr *addr, PmmName *name, size_t size, PmmDelKey delKey,
		size_t delKeySize)
{
	return pmm__allocate(addr, name, size, delKey, delKeySize, 0);
}

PMM_EXPORT int
pmmFree(PmmName *name)
{
	return pmm__free(name, 0);
}

PMM_EXPORT int
pmmFreeAll(PmmDelKey delKey, size_t delKeySize)
{
	return pmm__free_all(delKey, delKeySize, 0);
}
