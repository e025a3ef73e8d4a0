/*
 * index.c -- the derived name buckets, key hash and free-entry stack.
 *
 * Names: a table of 64-byte buckets (layout.h) of three slots, each with
 * the name's first PMM__NS_NAME bytes, its entry and its first page.  A
 * name lives in its home bucket or, when that is full, in the next one
 * with room; the home counts the names that went past it ("over"), so a
 * lookup stops at the first bucket whose count is 0 and deletion needs
 * no shifting.  A name of at most PMM__NS_NAME bytes is decided within
 * its bucket's line; a longer one is confirmed in its entry.
 *
 * A writer holds an arena's lock and the writer bit of each bucket whose
 * slots it changes (lock.c; in a bank of one arena, its lock alone); the
 * name's home bucket's bit also makes it the only one to enter or remove
 * that name.  A name enters an empty slot by its name and page first and
 * its entry last (a release store), so a reader sees the slot empty or
 * whole; a removal empties the slot, and one is counted in the bucket's
 * sequence before any writer can fill it again (with the writer bit's
 * release), so that a reader that read the slot before and its contents
 * after (the slot reused) sees the count change.
 * Lock-free readers (pmm__name_peek) read the sequence, the slots, the
 * sequence again, and the index generation around it all (odd, or
 * changed, while pmm__recover rebuilds or after a lock's holder died).  A
 * name enters its bucket after its entry's commit and leaves it before
 * its free's commit, so a reader that validates never sees a half-made or
 * a freed block.
 *
 * Keys: open addressing (the home slot is the hash scaled to the slots,
 * at most two thirds full) with linear probing and backward-shift
 * deletion.
 * Slots hold an entry index + 1; every value read from the bank is
 * bounds-checked, so a damaged index yields K_ECORRUPT, never a wild
 * access.
 */
#include "pmm.h"

#define LD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define ST(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/* The hash of a zero-padded name (a lookup's 64 bytes or an entry's 63,
 * whose next byte is the key size): only its words that hold characters. */
uint64_t
pmm__name_hash(const char *name)
{
	size_t nw = (strnlen(name, PMM__NAME_LEN) + 7) / 8;
	if (nw < 8)
		return pmm__hash_words(name, nw, 0x6e616d65 + nw);
	char w[64];
	memcpy(w, name, PMM__NAME_LEN);
	w[PMM__NAME_LEN] = 0;
	return pmm__hash_words(w, 8, 0x6e616d65 + 8);
}

static uint64_t
key_hash(const uint8_t key[32], uint32_t keysize)
{
	return pmm__hash_words(key, 4, keysize);
}

static int
corrupt(const char *what)
{
	return pmm__fail(K_ECORRUPT, "bank index damaged (%s)", what);
}

/* ------------------------------------------------------------ names */

/* The home bucket of hash h. */
static uint64_t
home(const struct pmm__bank *b, uint64_t h)
{
	return pmm__name_home(b, h);
}

static uint64_t
next_bucket(const struct pmm__bank *b, uint64_t i)
{
	return pmm__wrap_next(i, b->g.name_buckets);
}

/* What a slot holds of name: its idx1 flag (long or not). */
static uint32_t
long_flag(const char *name)
{
	return name[PMM__NS_NAME] != 0 ? PMM__NS_LONG : 0;
}

/* Add d (+1 or -1) to bucket k's count of names gone past it; 255
 * sticks until the next rebuild. */
static void
over_add(struct pmm__nbucket *k, int d)
{
	uint32_t m = __atomic_load_n(&k->meta, __ATOMIC_RELAXED), o, n;
	do {
		o = m >> PMM__NB_OVER_SHIFT;
		if (o == 255 || (d < 0 && o == 0))
			return;
		n = (m & ~(0xffu << PMM__NB_OVER_SHIFT)) |
			((uint32_t)((int)o + d) << PMM__NB_OVER_SHIFT);
	} while (!__atomic_compare_exchange_n(&k->meta, &m, n, 1,
				__ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

/* Bucket k's count of names gone past it. */
static uint32_t
over_of(const struct pmm__nbucket *k)
{
	return LD(&k->meta) >> PMM__NB_OVER_SHIFT;
}

/* Whether the first PMM__NS_NAME (12) bytes of a and b agree: two loads
 * each, where a call to memcmp cost as much as the rest of a bucket's
 * read. */
static int
prefix_eq(const char *a, const char *b)
{
	uint64_t x, y;
	uint32_t u, v;
	_Static_assert(PMM__NS_NAME == 12, "prefix_eq compares 8 + 4 bytes");
	memcpy(&x, a, 8);
	memcpy(&y, b, 8);
	memcpy(&u, a + 8, 4);
	memcpy(&v, b + 8, 4);
	return ((x ^ y) | (u ^ v)) == 0;
}

/* Whether slot s may hold name (prefix and length class agree). */
static int
slot_may_be(const struct pmm__nslot *s, uint32_t idx1, const char *name)
{
	return idx1 != 0 && (idx1 & PMM__NS_LONG) == long_flag(name) &&
		prefix_eq(s->name, name);
}

/* Holding bucket k (or every lock): entry of name in bucket k. */
static int
bucket_find(struct pmm__bank *b, const struct pmm__nbucket *k,
		const char *name, uint32_t *idx)
{
	for (int j = 0; j < PMM__NS_SLOTS; j++) {
		uint32_t v = LD(&k->s[j].idx1);
		if (!slot_may_be(&k->s[j], v, name))
			continue;
		uint32_t e = (v & ~PMM__NS_LONG) - 1;
		if (e >= b->g.max_blocks)
			return corrupt("name slot out of range");
		if (!(v & PMM__NS_LONG) || pmm__entry_is(&b->table[e], name)) {
			*idx = e;
			return K_OK;
		}
	}
	return K_EUNKNOWN;
}

/* Without bucket k: its verdict on name, validated by its sequence
 * (K_OK with *idx and *page, K_EUNKNOWN, or PMM__AGAIN: being written);
 * *over is its count of names gone past it. */
static inline __attribute__((always_inline)) int
bucket_read(struct pmm__bank *b, const struct pmm__nbucket *k,
		const char *name, uint32_t *idx, uint32_t *page, uint32_t *over)
{
	uint32_t m1 = __atomic_load_n(&k->meta, __ATOMIC_ACQUIRE);
	int rc = K_EUNKNOWN;
	for (int j = 0; j < PMM__NS_SLOTS && rc == K_EUNKNOWN; j++) {
		const struct pmm__nslot *s = &k->s[j];
		/* the entry last written, first read: the rest is its */
		uint32_t v = __atomic_load_n(&s->idx1, __ATOMIC_ACQUIRE);
		uint32_t p = LD(&s->page);
		if (!slot_may_be(s, v, name))
			continue;
		uint32_t e = (v & ~PMM__NS_LONG) - 1;
		if (e >= b->g.max_blocks)
			continue;
		if ((v & PMM__NS_LONG) && !pmm__entry_is(&b->table[e], name))
			continue;
		*idx = e;
		*page = p;
		rc = K_OK;
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	uint32_t m2 = LD(&k->meta);
	if ((m1 ^ m2) & PMM__NB_SEQ)
		return PMM__AGAIN;
	*over = m1 >> PMM__NB_OVER_SHIFT;
	return rc;
}

/* Holding name's home bucket (l; NULL: every lock): the entry named
 * name (64 zero-padded bytes).  Buckets held by others are read
 * validated; PMM__WIDE (l still held) when one stays busy. */
int
pmm__name_find_l(struct pmm__bank *b, struct pmm__locks *l, const char *name,
		uint64_t h, uint32_t *idx)
{
	uint64_t i = home(b, h);
	for (uint64_t n = 0; n < b->g.name_buckets; n++) {
		const struct pmm__nbucket *k = &b->nb[i];
		int rc;
		uint32_t over = 0, page;
		if (pmm__bucket_held(b, l, i)) {
			rc = bucket_find(b, k, name, idx);
			over = over_of(k);
		} else {
			int tries = 0;
			while ((rc = bucket_read(b, k, name, idx, &page,
						&over)) == PMM__AGAIN) {
				if (++tries == 4096)
					return PMM__WIDE;
				pmm__cpu_relax();
			}
		}
		if (rc != K_EUNKNOWN)
			return rc;
		if (over == 0)
			break;
		i = next_bucket(b, i);
	}
	return K_EUNKNOWN;
}

/* Holding every lock: the entry named name. */
int
pmm__name_find(struct pmm__bank *b, const char *name, uint32_t *idx)
{
	return pmm__name_find_l(b, NULL, name, pmm__name_hash(name), idx);
}

/* Without a lock: block name (hash h), when it surely is one, looked
 * for in at most reach buckets from its home; see index.c's head for
 * why this is safe. */
static int
peek_upto(struct pmm__bank *b, const char *name, uint64_t h, uint64_t reach,
		uint32_t *page, uint32_t *idx)
{
	uint64_t g1 = __atomic_load_n(&b->ix->gen, __ATOMIC_ACQUIRE);
	uint64_t i = home(b, h);
	uint32_t over = 0;
	int rc = PMM__AGAIN;
	if (g1 & 1)
		return PMM__AGAIN;
	for (uint64_t n = 0; n < reach; n++) {
		rc = bucket_read(b, &b->nb[i], name, idx, page, &over);
		if (rc != K_EUNKNOWN || over == 0)
			break;
		rc = PMM__AGAIN;
		i = next_bucket(b, i);
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (LD(&b->ix->gen) != g1)
		return PMM__AGAIN;
	if (rc == K_OK && *page >= b->g.npages)
		return PMM__AGAIN;
	return rc;
}

/* Without a lock: the first page and entry of block name (hash h), when
 * it surely is one.  A long run of full buckets is left to the locked
 * path: a retrieval's latency stays bounded. */
int
pmm__name_peek(struct pmm__bank *b, const char *name, uint64_t h,
		uint32_t *page, uint32_t *idx)
{
	return peek_upto(b, name, h, 8, page, idx);
}

/* The same along the whole run of buckets: a free needs its block's
 * entry to know which arenas to lock. */
int
pmm__name_locate(struct pmm__bank *b, const char *name, uint64_t h,
		uint32_t *page, uint32_t *idx)
{
	return peek_upto(b, name, h, b->g.name_buckets, page, idx);
}

/* Without a lock, before a free takes its locks: start loading what it
 * will read holding them (entry idx, the page records around its first
 * page), so that these misses are not spent holding a lock.  Only hints:
 * every address is within the bank. */
void
pmm__entry_prefetch(const struct pmm__bank *b, uint32_t idx, uint32_t p)
{
	if (idx < b->g.max_blocks) {
		__builtin_prefetch(&b->table[idx], 1);
		__builtin_prefetch((const char *)&b->table[idx] + 64, 1);
	}
	if (p < b->g.npages) {
		__builtin_prefetch(&b->pg[p > 0 ? p - 1 : 0], 1);
		__builtin_prefetch(&b->pg[p + 1 < b->g.npages ? p + 1 : p], 1);
	}
}

/* Whether bucket k seems to have an empty slot (read without it). */
static int
has_room(const struct pmm__nbucket *k)
{
	for (int j = 0; j < PMM__NS_SLOTS; j++)
		if (LD(&k->s[j].idx1) == 0)
			return 1;
	return 0;
}

/* See pmm.h. */
int
pmm__name_insert_l(struct pmm__bank *b, struct pmm__locks *l, uint32_t idx,
		uint64_t h)
{
	const struct pmm__entry *e = &b->table[idx];
	uint64_t i = home(b, h);
	for (uint64_t n = 0; n < b->g.name_buckets; n++) {
		struct pmm__nbucket *k = &b->nb[i];
		if (!has_room(k)) {
			i = next_bucket(b, i);
			continue;
		}
		int rc = pmm__bucket_take(b, l, i);
		if (rc != K_OK)
			return rc;
		for (int j = 0; j < PMM__NS_SLOTS; j++) {
			struct pmm__nslot *s = &k->s[j];
			if (s->idx1 != 0)
				continue;
			memcpy(s->name, e->name, PMM__NS_NAME);
			ST(&s->page, e->page);
			__atomic_store_n(&s->idx1, (idx + 1) | long_flag(e->name),
					__ATOMIC_RELEASE);
			/* counted only now: a failed insert leaves no trace */
			for (uint64_t q = home(b, h); q != i; q = next_bucket(b, q))
				over_add(&b->nb[q], +1);
			return K_OK;
		}
		/* filled meanwhile by another writer: on */
		i = next_bucket(b, i);
	}
	return corrupt("name buckets full");
}

/* Holding every lock: enter entry idx in the name buckets. */
int
pmm__name_insert(struct pmm__bank *b, uint32_t idx)
{
	return pmm__name_insert_l(b, NULL, idx,
			pmm__name_hash(b->table[idx].name));
}

/* See pmm.h.  Only the holder of a name's home bucket enters or removes
 * it, so its slot, once seen, stays put. */
int
pmm__name_remove_l(struct pmm__bank *b, struct pmm__locks *l, uint32_t idx,
		uint64_t h)
{
	uint64_t h0 = home(b, h), i = h0;
	for (uint64_t n = 0; n < b->g.name_buckets; n++) {
		struct pmm__nbucket *k = &b->nb[i];
		for (int j = 0; j < PMM__NS_SLOTS; j++) {
			struct pmm__nslot *s = &k->s[j];
			if ((LD(&s->idx1) & ~PMM__NS_LONG) != idx + 1)
				continue;
			int rc = pmm__bucket_take(b, l, i);
			if (rc != K_OK)
				return rc;
			ST(&s->idx1, 0);
			pmm__bucket_removed(b, l, i);
			for (uint64_t q = h0; q != i; q = next_bucket(b, q))
				over_add(&b->nb[q], -1);
			return K_OK;
		}
		if (over_of(k) == 0)
			break;
		i = next_bucket(b, i);
	}
	return corrupt("name missing from its bucket");
}

/* Holding every lock: take entry idx out of the name buckets. */
int
pmm__name_remove(struct pmm__bank *b, uint32_t idx)
{
	return pmm__name_remove_l(b, NULL, idx,
			pmm__name_hash(b->table[idx].name));
}

/* Begin a rebuild: lock-free readers fall back to the lock until
 * pmm__ix_end_rebuild (odd generation; a rebuild cut short by a crash
 * leaves it odd, and the next one makes it odd anew). */
void
pmm__ix_begin_rebuild(struct pmm__bank *b)
{
	uint64_t g = b->ix->gen;
	__atomic_store_n(&b->ix->gen, (g + 1) | 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* End a rebuild: readers may trust the index again. */
void
pmm__ix_end_rebuild(struct pmm__bank *b)
{
	__atomic_store_n(&b->ix->gen, b->ix->gen + 1, __ATOMIC_RELEASE);
}

/* Empty slot i of the key hash and shift later members of its cluster
 * back. */
static int
slot_delete(struct pmm__bank *b, uint64_t i)
{
	uint32_t *slots = b->key_slot;
	uint64_t j = i;
	for (uint64_t n = 0; n + 1 < b->g.key_slots; n++) {
		j = pmm__wrap_next(j, b->g.key_slots);
		uint32_t v = slots[j];
		if (v == 0)
			break;
		if (v - 1 >= b->g.max_blocks)
			return corrupt("slot out of range");
		const struct pmm__entry *e = &b->table[v - 1];
		uint64_t k = pmm__scale(key_hash(e->key, e->keysize),
				b->g.key_slots);
		/* move v back unless its home lies cyclically in (i, j] */
		int stays = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
		if (!stays) {
			slots[i] = v;
			i = j;
		}
	}
	slots[i] = 0;
	return K_OK;
}

/* See pmm.h. */
int
pmm__key_slot(struct pmm__bank *b, const uint8_t key[32], uint32_t keysize,
		uint64_t *slot)
{
	uint64_t ns = b->g.key_slots, i = pmm__scale(key_hash(key, keysize), ns);
	for (uint64_t n = 0; n < ns; n++, i = pmm__wrap_next(i, ns)) {
		uint32_t v = b->key_slot[i];
		*slot = i;
		if (v == 0)
			return K_EUNKNOWN;
		if (v - 1 >= b->g.max_blocks)
			return corrupt("key slot out of range");
		const struct pmm__entry *e = &b->table[v - 1];
		if (e->keysize == keysize && memcmp(e->key, key, 32) == 0)
			return K_OK;
	}
	return corrupt("key hash full");
}

/* The first entry on key's list. */
int
pmm__key_find(struct pmm__bank *b, const uint8_t key[32], uint32_t keysize,
		uint32_t *idx)
{
	uint64_t s;
	int rc = pmm__key_slot(b, key, keysize, &s);
	if (rc == K_OK)
		*idx = b->key_slot[s] - 1;
	return rc;
}

/* Put entry idx at the head of its key's list. */
int
pmm__key_insert(struct pmm__bank *b, uint32_t idx)
{
	const struct pmm__entry *e = &b->table[idx];
	uint64_t s;
	int rc = pmm__key_slot(b, e->key, e->keysize, &s);
	if (rc == K_OK) {
		uint32_t head = b->key_slot[s] - 1;
		b->knext[idx] = head + 1;
		b->kprev[head] = idx + 1;
	} else if (rc == K_EUNKNOWN) {
		b->knext[idx] = 0;
		b->ix->nkeys++;
	} else {
		return rc;
	}
	b->kprev[idx] = 0;
	b->key_slot[s] = idx + 1;
	return K_OK;
}

/* Unlink entry idx from its key's list (and drop an emptied key). */
int
pmm__key_remove(struct pmm__bank *b, uint32_t idx)
{
	uint32_t p = b->kprev[idx], n = b->knext[idx];
	if (p > b->g.max_blocks || n > b->g.max_blocks)
		return corrupt("key link out of range");
	if (n != 0)
		b->kprev[n - 1] = p;
	if (p != 0) {
		b->knext[p - 1] = n;
		return K_OK;
	}
	const struct pmm__entry *e = &b->table[idx];
	uint64_t s;
	int rc = pmm__key_slot(b, e->key, e->keysize, &s);
	if (rc != K_OK || b->key_slot[s] != idx + 1)
		return rc == K_ECORRUPT ? rc : corrupt("key head mismatch");
	if (n != 0) {
		b->key_slot[s] = n;
		return K_OK;
	}
	b->ix->nkeys--;
	return slot_delete(b, s);
}

/* Take a free entry of arena a: the head of its free entries' chain,
 * which runs through knext (a free entry is on no key list). */
int
pmm__entry_pop(struct pmm__bank *b, unsigned a, uint32_t *idx)
{
	struct pmm__arena *A = &b->hdr->arena[a];
	uint64_t h = A->free_head;
	if (h == 0)
		return K_ETOOMUCH;
	uint64_t lo = pmm__arena_entry_lo(&b->g, a),
		hi = pmm__arena_entry_lo(&b->g, a + 1);
	if (h <= lo || h > hi)
		return corrupt("free-entry chain head out of its arena");
	uint32_t v = (uint32_t)h - 1, n = b->knext[v];
	if (b->table[v].state != PMM__FREE)
		return corrupt("free-entry chain holds a block");
	if (n != 0 && (n <= lo || n > hi))
		return corrupt("free-entry chain link out of its arena");
	A->free_head = n;
	if (n != 0)
		__builtin_prefetch(&b->table[n - 1], 1);
	*idx = v;
	return K_OK;
}

/* Return a free entry to its arena's chain (the caller holds it). */
void
pmm__entry_push(struct pmm__bank *b, uint32_t idx)
{
	struct pmm__arena *A =
		&b->hdr->arena[pmm__arena_of_entry(&b->g, idx)];
	b->knext[idx] = (uint32_t)A->free_head;
	A->free_head = idx + 1;
}
